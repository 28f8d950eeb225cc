//! The Teleport role that grants access to this cluster's databases, printed by `cnpgtp teleport
//! role` and rendered as a `TeleportRoleV7`/`V8` in operator mode.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::cluster_labels;
use crate::values::{RoleVersion, Values};

/// The labels the role grants: this cluster's databases, in this namespace and Kubernetes cluster.
fn role_selector(values: &Values) -> BTreeMap<String, String> {
    let all = cluster_labels(values);
    ["kubernetes_cluster", "kubernetes_namespace", "cnpg_cluster"]
        .into_iter()
        .map(|key| (key.to_string(), all[key].clone()))
        .collect()
}

/// Database users no Teleport user may ever become. PostgreSQL checks client certificates against
/// the whole bundle and CloudNativePG's fixed `cert` rules for these users come first, so a
/// Teleport-issued certificate for `streaming_replica` would get a replication connection and one
/// for `cnpg_pooler_pgbouncer` could read password hashes. Deny rules apply across all of a user's
/// roles, so this also protects against another role that allows `db_users: ["*"]`.
pub const DENIED_DATABASE_USERS: &[&str] = &[
    "postgres",
    "streaming_replica",
    "cnpg_pooler_pgbouncer",
    "^cnpg_.*$",
];

pub(super) fn role_spec(values: &Values) -> Json {
    let certificate_roles = values
        .roles
        .iter()
        .filter(|r| r.login && r.certificate_login);
    let mut allowed = vec![
        values.access.read_user.name.clone(),
        values.access.write_user.name.clone(),
    ];
    let mut denied: Vec<String> = DENIED_DATABASE_USERS
        .iter()
        .map(ToString::to_string)
        .collect();
    // A role admitted by certificate accepts any certificate the bundle trusts, Teleport's CA
    // included: Teleport users reach it only when the values say so.
    for role in certificate_roles {
        if role.teleport_access {
            allowed.push(role.name.clone());
        } else {
            denied.push(role.name.clone());
        }
    }
    json!({
        "allow": {
            "db_labels": role_selector(values),
            "db_names": [values.database.name],
            "db_users": allowed,
        },
        "deny": {
            "db_users": denied,
        }
    })
}

pub(super) fn role_version(values: &Values) -> &'static str {
    match values.teleport.role.version {
        RoleVersion::V7 => "v7",
        RoleVersion::V8 => "v8",
    }
}

/// The `kind: role` resource for `tctl create -f` (`cnpgtp teleport role`).
pub fn role_document(values: &Values) -> Json {
    json!({
        "kind": "role",
        "version": role_version(values),
        "metadata": {
            "name": values.teleport_role_name(),
            "description": format!("Access to PostgreSQL {} in {} as {} or {}", values.name, values.namespace, values.access.read_user.name, values.access.write_user.name),
        },
        "spec": role_spec(values),
    })
}
