//! The Teleport roles that grant access to this cluster's databases, one for reading and one
//! for writing, printed by `cnpgtp teleport role` and rendered as `TeleportRoleV7`/`V8` in
//! operator mode.
//!
//! Two roles rather than one, so that writing can be granted on its own (an access request for
//! the write role, say) while reading stays a standing grant. Roles combine with a logical OR for
//! `allow` and deny wins across all of a user's roles, so neither role denies what the other
//! allows: a user holding both gets both.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::{AUTO_USERS_LABEL, auto_users, cluster_labels, database_names};
use crate::values::{RoleVersion, Values};

/// Which of the two roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub const BOTH: [Access; 2] = [Access::Read, Access::Write];

    /// The role name's suffix and the `--access` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// The labels the roles grant: this cluster's databases, in this namespace and Kubernetes
/// cluster.
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

/// The database users the role allows. Extra certificate roles open to Teleport
/// (`teleportAccess: true`) go with the write role: cnpgtp cannot tell what their memberships
/// let them do, so they are reachable only through the role that is granted sparingly.
fn allowed_users(values: &Values, access: Access) -> Vec<String> {
    match access {
        Access::Read => vec![values.access.read_user.name.clone()],
        Access::Write => {
            let mut users = vec![values.access.write_user.name.clone()];
            users.extend(
                values
                    .roles
                    .iter()
                    .filter(|r| r.login && r.certificate_login && r.teleport_access)
                    .map(|r| r.name.clone()),
            );
            users
        }
    }
}

/// CloudNativePG's users, and every role admitted by certificate that Teleport is not meant to
/// reach: such a role accepts any certificate the bundle trusts, Teleport's CA included.
fn denied_users(values: &Values) -> Vec<String> {
    let mut denied: Vec<String> = DENIED_DATABASE_USERS
        .iter()
        .map(ToString::to_string)
        .collect();
    denied.extend(
        values
            .roles
            .iter()
            .filter(|r| r.login && r.certificate_login && !r.teleport_access)
            .map(|r| r.name.clone()),
    );
    denied
}

pub(super) fn role_spec(values: &Values, access: Access) -> Json {
    let Some(auto) = auto_users::enabled(values) else {
        return json!({
            "allow": {
                "db_labels": role_selector(values),
                "db_names": database_names(values),
                "db_users": allowed_users(values, access),
            },
            "deny": {
                "db_users": denied_users(values),
            }
        });
    };
    // Provisioned users log in as their Teleport user name and Teleport then matches neither
    // `allow.db_users` nor `deny.db_users` (`GetDatabaseRoleMatchers`); the deny list stays for
    // databases where the role's user is not provisioned. A Teleport user named like a
    // CloudNativePG user is stopped by PostgreSQL: activation refuses an existing role that is not
    // a member of `teleport-auto-user` (proven in tests/postgres.rs).
    let mut selector = role_selector(values);
    selector.insert(AUTO_USERS_LABEL.0.into(), AUTO_USERS_LABEL.1.into());
    let db_roles = match access {
        Access::Read => &auto.read_roles,
        Access::Write => &auto.write_roles,
    };
    json!({
        "options": {"create_db_user_mode": auto_users::create_db_user_mode(auto.create_db_user_mode)},
        "allow": {
            "db_labels": selector,
            "db_names": database_names(values),
            "db_roles": db_roles,
        },
        "deny": {
            "db_users": denied_users(values),
        }
    })
}

pub(super) fn role_version(values: &Values) -> &'static str {
    match values.teleport.role.version {
        RoleVersion::V7 => "v7",
        RoleVersion::V8 => "v8",
    }
}

fn description(values: &Values, access: Access) -> String {
    let what = match access {
        Access::Read => "Read",
        Access::Write => "Write",
    };
    if let Some(auto) = auto_users::enabled(values) {
        let roles = match access {
            Access::Read => &auto.read_roles,
            Access::Write => &auto.write_roles,
        };
        return format!(
            "{what} access to PostgreSQL {} in {} as an automatically provisioned user with {}",
            values.name,
            values.namespace,
            roles.join(", ")
        );
    }
    format!(
        "{what} access to PostgreSQL {} in {} as {}",
        values.name,
        values.namespace,
        allowed_users(values, access).join(", ")
    )
}

/// The `kind: role` resources for `tctl create -f` (`cnpgtp teleport role`): both, or the one
/// asked for.
pub fn role_documents(values: &Values, only: Option<Access>) -> Vec<Json> {
    Access::BOTH
        .into_iter()
        .filter(|access| only.is_none_or(|o| o == *access))
        .map(|access| {
            json!({
                "kind": "role",
                "version": role_version(values),
                "metadata": {
                    "name": values.teleport_role_name(access.as_str()),
                    "description": description(values, access),
                },
                "spec": role_spec(values, access),
            })
        })
        .collect()
}
