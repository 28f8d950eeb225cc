//! Teleport operator resources: databases and roles (`resources.teleport.dev/v1`) and join
//! tokens (`resources.teleport.dev/v2`).
//!
//! The CR name becomes the Teleport resource name, the CR labels its labels and the
//! `description` annotation its description; the spec is Teleport's own `kind: db` / `kind: role`
//! spec, so the same spec types serve the `tctl create` documents of the job mode.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::custom_resource;

custom_resource!(
    /// A Teleport database registered by the Teleport Kubernetes operator.
    TeleportDatabaseV3, DatabaseSpec, "resources.teleport.dev/v1", "TeleportDatabaseV3"
);
custom_resource!(
    /// A Teleport role v7.
    TeleportRoleV7, RoleSpec, "resources.teleport.dev/v1", "TeleportRoleV7"
);
custom_resource!(
    /// A Teleport role v8.
    TeleportRoleV8, RoleSpec, "resources.teleport.dev/v1", "TeleportRoleV8"
);

custom_resource!(
    /// A Teleport join token (`kind: token`, `version: v2`) managed by the operator.
    TeleportProvisionToken, ProvisionTokenSpec, "resources.teleport.dev/v2", "TeleportProvisionToken"
);

/// `kind: token` v2 spec for the `kubernetes` join method (the fields cnpgtp writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionTokenSpec {
    /// `[Bot]` for the Job's tbot, `[Db]` for the agent.
    pub roles: Vec<String>,
    pub join_method: String,
    /// The bot a `Bot` token grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_name: Option<String>,
    pub kubernetes: KubernetesJoin,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesJoin {
    /// `in_cluster`, `static_jwks` or `oidc`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_jwks: Option<StaticJwks>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<KubernetesOidc>,
    /// The ServiceAccounts allowed to join, `<namespace>:<name>`, exact match.
    pub allow: Vec<KubernetesAllow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticJwks {
    /// The cluster's JWKS as JSON text, as Teleport stores it.
    pub jwks: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesOidc {
    /// The service account issuer Teleport fetches the JWKS from.
    pub issuer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesAllow {
    pub service_account: String,
}

/// `kind: db` v3 spec (the fields cnpgtp writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    pub protocol: String,
    pub uri: String,
    pub tls: DatabaseTls,
    /// The database admin user for automatic user provisioning (only on the primary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_user: Option<DatabaseAdminUser>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseAdminUser {
    /// The privileged database user Teleport provisions users as.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseTls {
    /// `verify-full`: Teleport checks the server certificate and its name.
    pub mode: String,
    /// PEM of the CA that signed the PostgreSQL server certificate (never the deprecated
    /// top-level `spec.ca_cert`); absent when the client-CA sync workload writes it in the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
}

/// `kind: role` spec (the database part).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<RoleOptions>,
    pub allow: RoleConditions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<RoleConditions>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleOptions {
    /// Automatic database user provisioning: `keep` or `best_effort_drop` (cnpgtp never renders
    /// `off`: it leaves the option out).
    pub create_db_user_mode: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConditions {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub db_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub db_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub db_users: Vec<String>,
    /// PostgreSQL roles an automatically provisioned user is granted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub db_roles: Vec<String>,
}
