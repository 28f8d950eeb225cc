//! Values of the Teleport integration: registration mode, operator, job, agent, joining and role.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::CaSource;

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Teleport {
    /// Teleport's database client CA (`tctl auth export --type=db-client`), trusted by PostgreSQL.
    pub database_client_ca: CaSource,
    /// How the rw and ro endpoints are registered in Teleport.
    pub registration: Registration,
    /// Which PostgreSQL users Teleport users log in as.
    pub access: TeleportAccess,
    /// Teleport database name prefix (`<prefix>-rw`, `<prefix>-ro`); null is `<namespace>-<name>`.
    pub database_name: Option<String>,
    /// Value of the `kubernetes_cluster` label that identifies this Kubernetes cluster.
    pub kubernetes_cluster: String,
    /// Extra static labels on the Teleport databases.
    pub labels: BTreeMap<String, String>,
    /// Teleport version of the tbot, tctl and agent images; keep it <= the cluster's version.
    pub version: String,
    /// Teleport proxy address `host:port` (job and agent modes).
    pub proxy_address: Option<String>,
    /// Operator mode settings.
    pub operator: TeleportOperator,
    /// Job mode settings.
    pub job: TeleportJob,
    /// Agent mode settings.
    pub agent: TeleportAgent,
    /// How the Job's tbot and the agent join Teleport (the `kubernetes` join method).
    pub join: TeleportJoin,
    /// The Teleport read and write roles.
    pub role: TeleportRole,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TeleportAccess {
    /// `staticUsers` (the read and write users of `access`) or `autoUsers` (Teleport creates a
    /// PostgreSQL user per Teleport user).
    pub model: AccessModel,
    /// Automatic user provisioning (`model: autoUsers`).
    pub auto_users: AutoUsers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AccessModel {
    /// Two certificate-only users shared by every Teleport user (`access.readUser`/`writeUser`).
    StaticUsers,
    /// Teleport creates a user named after each Teleport user on connect, with the roles its
    /// Teleport roles grant, and locks or drops it when the session ends.
    AutoUsers,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AutoUsers {
    /// The PostgreSQL user Teleport provisions as (LOGIN CREATEROLE, not a superuser), created by
    /// the bootstrap SQL.
    pub admin_user: String,
    /// What happens to a user when its last session ends: `keep` (locked, roles revoked) or
    /// `bestEffortDrop` (dropped unless it owns objects, else locked).
    pub create_db_user_mode: CreateDbUserMode,
    /// PostgreSQL roles the read role hands out (`db_roles`).
    pub read_roles: Vec<String>,
    /// PostgreSQL roles the write role hands out (`db_roles`).
    pub write_roles: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CreateDbUserMode {
    /// Teleport's `keep`.
    Keep,
    /// Teleport's `best_effort_drop`.
    BestEffortDrop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Registration {
    /// `TeleportDatabaseV3` resources for the Teleport Kubernetes operator (>= 18.1.5).
    Operator,
    /// A Job applying `kind: db` resources with `tctl create -f`, plus a deletion hook.
    Job,
    /// A dedicated Teleport database agent with the endpoints in its static configuration.
    Agent,
    /// No registration (register the databases another way).
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TeleportOperator {
    /// Namespace of the Teleport operator (it only watches its own namespace).
    pub namespace: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TeleportJob {
    /// Where the Job's Teleport identity comes from.
    pub identity: JobIdentity,
    /// Name of the Teleport join token (`join_method: kubernetes`, `roles: [Bot]`) tbot uses.
    pub join_token: String,
    /// The Teleport bot the join token grants (`bot_name`; create it with `tctl bots add`).
    pub bot_name: String,
    /// Existing Secret with a Teleport identity file under key `identity` (identity: existingSecret).
    pub identity_secret: Option<String>,
    /// Which ArgoCD hook removes the databases when the Application is deleted.
    pub deletion_hook: DeletionHook,
    /// Image with a POSIX shell, used only to embed a CA generated in the cluster.
    pub shell_image: String,
}

/// The `kubernetes` join method: how Teleport checks the ServiceAccount token of the Job's tbot
/// or of the agent, and whether the join token is rendered for the Teleport operator.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TeleportJoin {
    /// `inCluster` (Teleport Auth runs in this Kubernetes cluster), `staticJwks` (the cluster's
    /// public keys pasted into the token) or `oidc` (Teleport fetches them from the issuer).
    #[serde(rename = "type")]
    pub kind: JoinType,
    /// `type: staticJwks`: the JSON of `kubectl get --raw /openid/v1/jwks`.
    pub static_jwks: Option<String>,
    /// `type: oidc`: the cluster's service account issuer, an https URL (Teleport >= 18.1.5).
    pub oidc_issuer: Option<String>,
    /// `type: staticJwks` and `oidc`: the Teleport cluster name, which Teleport requires as the
    /// audience of the ServiceAccount token (projected into the joining pods).
    pub cluster_name: Option<String>,
    /// Also render the join token as a `TeleportProvisionToken` in the operator's namespace (job
    /// mode with Machine ID, and agent mode).
    pub render_token: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum JoinType {
    /// Teleport's `in_cluster`: a TokenReview against the Kubernetes cluster Auth runs in.
    InCluster,
    /// Teleport's `static_jwks`: the token holds the cluster's JWKS.
    StaticJwks,
    /// Teleport's `oidc`: Teleport fetches the JWKS from the issuer's discovery document.
    Oidc,
}

impl JoinType {
    /// The name Teleport's `spec.kubernetes.type` takes.
    pub fn teleport_name(self) -> &'static str {
        match self {
            JoinType::InCluster => "in_cluster",
            JoinType::StaticJwks => "static_jwks",
            JoinType::Oidc => "oidc",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum JobIdentity {
    /// Machine ID: `tbot start --oneshot` with the kubernetes join method.
    MachineId,
    /// An identity file from an existing Secret.
    ExistingSecret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeletionHook {
    /// ArgoCD >= 3.3 (`PreDelete`), Helm `pre-delete`.
    PreDelete,
    /// ArgoCD >= 2.10 (`PostDelete`), Helm `post-delete`.
    PostDelete,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TeleportAgent {
    /// Name of the join token (`join_method: kubernetes`, `roles: [Db]`) the agent uses.
    pub join_token: String,
    /// Agent replicas.
    pub replicas: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TeleportRole {
    /// Prefix of the role names `<name>-read` and `<name>-write`; null is the database name
    /// prefix.
    pub name: Option<String>,
    /// `v7` (works with mixed-version agents) or `v8` (all agents on Teleport >= 18).
    pub version: RoleVersion,
    /// In operator mode, also render both roles as `TeleportRoleV7`/`TeleportRoleV8` resources.
    pub render: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RoleVersion {
    V7,
    V8,
}
