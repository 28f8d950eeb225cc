//! The typed values model: what a user may write in a values file.
//!
//! Every field is required here because the embedded defaults file (`values/defaults.yaml`) is
//! always the first layer: a key the defaults do not set is a bug caught by the test suite, and
//! the JSON Schema printed by `cnpgtp schema` lists every key with its documentation.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// Root of the values file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Values {
    /// Cluster (release) name; prefixes every object name. DNS-1123 label. `--name` and
    /// `ARGOCD_APP_NAME` override the default.
    pub name: String,
    /// Namespace of every namespaced object. `-n` and `ARGOCD_APP_NAMESPACE` override the default.
    pub namespace: String,
    /// Deployment stage (e.g. `production`), written into labels and Teleport labels.
    pub stage: String,
    /// Extra labels added to every object.
    pub labels: BTreeMap<String, String>,
    /// The PostgreSQL cluster itself.
    pub postgres: Postgres,
    /// The application database created at bootstrap.
    pub database: Database,
    /// The two Teleport login roles (certificate-only).
    pub access: Access,
    /// Extra roles managed by CloudNativePG.
    pub roles: Vec<ExtraRole>,
    /// Certificates issued by cert-manager.
    pub tls: Tls,
    /// How the client-CA bundle (cluster client CA + Teleport database client CA) is built.
    pub client_ca_bundle: ClientCaBundle,
    /// Teleport integration.
    pub teleport: Teleport,
    /// The PgBouncer connection pooler.
    pub pooler: Pooler,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Postgres {
    /// PostgreSQL major version (14-18).
    pub major: u32,
    /// Full image reference; `null` picks the pinned CloudNativePG image for `major` and `imageFlavour`.
    pub image: Option<String>,
    /// CloudNativePG image flavour used when `image` is null.
    pub image_flavour: ImageFlavour,
    /// Number of PostgreSQL instances (1 primary + replicas).
    pub instances: u32,
    /// PostgreSQL parameters (`postgresql.conf`). Values are written as strings.
    pub parameters: BTreeMap<String, ParamValue>,
    /// Allow the `postgres` superuser to log in with a password (CNPG `enableSuperuserAccess`).
    pub enable_superuser_access: bool,
    /// PGDATA volume.
    pub storage: Storage,
    /// Separate WAL volume; `size: null` keeps WAL on the data volume.
    pub wal_storage: WalStorage,
    /// Resources of the postgres container.
    pub resources: Resources,
    /// Pod anti-affinity between instances.
    pub pod_anti_affinity: AntiAffinity,
    /// Spread instances across zones.
    pub topology_spread: TopologySpread,
    /// Node selector for instance pods.
    pub node_selector: BTreeMap<String, String>,
    /// Priority class of instance pods; null for none.
    pub priority_class_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ImageFlavour {
    Minimal,
    Standard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AntiAffinity {
    Preferred,
    Required,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Storage {
    /// Volume size, a Kubernetes quantity such as `10Gi`.
    pub size: String,
    /// Storage class; null uses the cluster default.
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WalStorage {
    /// Volume size, a Kubernetes quantity; null disables the separate WAL volume.
    pub size: Option<String>,
    /// Storage class; null uses the cluster default.
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    /// CPU request (quantity), null for none.
    pub cpu: Option<String>,
    /// Memory request and limit (quantity); the same value is used for both so PostgreSQL is
    /// never OOM-killed for using memory it was promised.
    pub memory: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopologySpread {
    /// Add a topology spread constraint on `cnpg.io/podRole: instance` pods.
    pub enabled: bool,
    /// Node label to spread over.
    pub topology_key: String,
    /// `ScheduleAnyway` (soft) or `DoNotSchedule` (hard).
    pub when_unsatisfiable: WhenUnsatisfiable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum WhenUnsatisfiable {
    ScheduleAnyway,
    DoNotSchedule,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Database {
    /// Application database name (SQL identifier: lower case, digits, `_`).
    pub name: String,
    /// Owner role of the database (SQL identifier); CloudNativePG creates it.
    pub owner: String,
    /// Database encoding.
    pub encoding: String,
    /// `LC_COLLATE` of the database.
    pub locale_collate: String,
    /// `LC_CTYPE` of the database.
    pub locale_c_type: String,
    /// Enable data page checksums at initdb.
    pub data_checksums: bool,
    /// Owner password source. Both null: CloudNativePG generates it in Secret `<name>-app`.
    pub owner_password: SecretSource,
}

/// A secret value that is either a Secret that already exists or a value rendered into a new
/// Secret (a literal, or an argocd-vault-plugin placeholder such as `<path:kv/data/db#password>`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretSource {
    /// Name of an existing Secret (for passwords: type `kubernetes.io/basic-auth`).
    pub existing_secret: Option<String>,
    /// The value itself; prefer an argocd-vault-plugin placeholder over plain text.
    pub value: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Access {
    /// Read-only Teleport role: member of `pg_read_all_data`, read-only transactions by default.
    pub read_user: LoginRole,
    /// Read-write Teleport role: member of `pg_read_all_data` and `pg_write_all_data`.
    pub write_user: LoginRole,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoginRole {
    /// Role name (SQL identifier); Teleport users log in as this database user.
    pub name: String,
    /// Maximum concurrent connections; -1 for no limit.
    pub connection_limit: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtraRole {
    /// Role name (SQL identifier, not `postgres`, `streaming_replica`, `pg_*` or `cnpg_*`).
    pub name: String,
    /// Comment stored on the role.
    #[serde(default)]
    pub comment: Option<String>,
    /// Whether the role can log in.
    #[serde(default)]
    pub login: bool,
    /// Roles this role is a member of (reconciled by CloudNativePG).
    #[serde(default)]
    pub in_roles: Vec<String>,
    /// Maximum concurrent connections; -1 for no limit.
    #[serde(default = "no_limit")]
    pub connection_limit: i64,
    /// Existing `kubernetes.io/basic-auth` Secret with the role's password; null means no password.
    #[serde(default)]
    pub password_secret: Option<String>,
    /// Allow login with a client certificate (adds a `hostssl ... cert` pg_hba rule).
    #[serde(default)]
    pub certificate_login: bool,
    /// `CREATEDB` attribute.
    #[serde(default)]
    pub createdb: bool,
}

fn no_limit() -> i64 {
    -1
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Tls {
    /// The cluster's own client CA (self-signed, issues the replication and PgBouncer certs).
    pub client_ca: CertLifetime,
    /// Lifetime of the `streaming_replica` and PgBouncer client certificates.
    pub client_certificates: CertLifetime,
    /// The PostgreSQL server certificate.
    pub server: ServerTls,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CertLifetime {
    /// Certificate lifetime, a Go duration (`87600h`).
    pub duration: String,
    /// Renew this long before expiry, a Go duration.
    pub renew_before: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerTls {
    /// Who signs the server certificate.
    pub issuer: ServerIssuerKind,
    /// Lifetime of the server certificate.
    pub duration: String,
    /// Renew this long before expiry.
    pub renew_before: String,
    /// Extra DNS names for the server certificate (besides every service name).
    pub extra_dns_names: Vec<String>,
    /// For `issuer: existing`: the Issuer or ClusterIssuer to use.
    pub existing_issuer: ExistingIssuer,
    /// For `issuer: vault`: a cert-manager Vault Issuer rendered for this cluster.
    pub vault: Vault,
    /// The CA that signed the server certificate (CNPG `serverCASecret`). Both null: the `ca.crt`
    /// the issuer writes into the server certificate's Secret.
    pub ca: CaSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ServerIssuerKind {
    /// A self-signed server CA generated by cert-manager in the namespace.
    SelfSigned,
    /// A Vault PKI Issuer rendered from `tls.server.vault`.
    Vault,
    /// An existing Issuer or ClusterIssuer (`tls.server.existingIssuer`).
    Existing,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExistingIssuer {
    /// Issuer name.
    pub name: Option<String>,
    /// `Issuer` or `ClusterIssuer`.
    pub kind: IssuerKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum IssuerKind {
    Issuer,
    ClusterIssuer,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Vault {
    /// Vault address, e.g. `https://vault.example.com:8200`.
    pub server: Option<String>,
    /// PKI sign endpoint, e.g. `pki_int/sign/postgres`.
    pub path: Option<String>,
    /// Base64-encoded PEM bundle to verify Vault's TLS certificate; null uses system roots.
    pub ca_bundle: Option<String>,
    /// How cert-manager authenticates to Vault.
    pub auth: VaultAuthKind,
    /// AppRole authentication.
    pub app_role: VaultAppRole,
    /// Kubernetes authentication with a bound ServiceAccount token.
    pub kubernetes: VaultKubernetes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum VaultAuthKind {
    AppRole,
    Kubernetes,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultAppRole {
    /// Mount path of the AppRole auth method.
    pub path: String,
    /// AppRole role ID (not secret; a placeholder works too).
    pub role_id: Option<String>,
    /// The AppRole secret ID: an existing Secret (key `secretId`) or a value/placeholder.
    pub secret_id: SecretSource,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultKubernetes {
    /// Vault role bound to the issuer's ServiceAccount.
    pub role: Option<String>,
    /// Mount path of the Kubernetes auth method.
    pub mount_path: String,
    /// Name of the cert-manager ServiceAccount (for the token RoleBinding).
    pub cert_manager_service_account: String,
    /// Namespace cert-manager runs in.
    pub cert_manager_namespace: String,
}

/// A CA certificate given as PEM (or placeholder) or as an existing Secret key.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CaSource {
    /// PEM text, or an argocd-vault-plugin placeholder.
    pub pem: Option<String>,
    /// Existing Secret holding the PEM under `ca.crt`.
    pub existing_secret: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientCaBundle {
    /// `externalSecrets` (an ExternalSecret builds the bundle) or `syncWorkload` (a small
    /// Deployment watches the source Secrets).
    pub mechanism: BundleMechanism,
    /// How often external-secrets re-reads the sources (ESO polls; it does not watch).
    pub refresh_interval: String,
    /// The Deployment that keeps the bundle in sync (`mechanism: syncWorkload`).
    pub sync_workload: SyncWorkload,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncWorkload {
    /// Image with kubectl and a POSIX shell with busybox or GNU utilities; pin a tag, ideally
    /// with its digest (`repo:tag@sha256:...`).
    pub image: String,
    /// Resources of the sync container.
    pub resources: SyncResources,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncResources {
    /// CPU request (quantity).
    pub cpu: String,
    /// Memory request (quantity).
    pub memory: String,
    /// Memory limit (quantity).
    pub memory_limit: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BundleMechanism {
    ExternalSecrets,
    SyncWorkload,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Teleport {
    /// Teleport's database client CA (`tctl auth export --type=db-client`), trusted by PostgreSQL.
    pub database_client_ca: CaSource,
    /// How the rw and ro endpoints are registered in Teleport.
    pub registration: Registration,
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
    /// The Teleport role granting access to the two database users.
    pub role: TeleportRole,
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
    /// Existing Secret with a Teleport identity file under key `identity` (identity: existingSecret).
    pub identity_secret: Option<String>,
    /// Which ArgoCD hook removes the databases when the Application is deleted.
    pub deletion_hook: DeletionHook,
    /// Image with a POSIX shell, used only to embed a CA generated in the cluster.
    pub shell_image: String,
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
    /// Role name; null is `<databaseName>-access`.
    pub name: Option<String>,
    /// `v7` (works with mixed-version agents) or `v8` (all agents on Teleport >= 18).
    pub version: RoleVersion,
    /// In operator mode, also render the role as a `TeleportRoleV7`/`TeleportRoleV8` resource.
    pub render: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RoleVersion {
    V7,
    V8,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Pooler {
    /// Render a read-write PgBouncer Pooler.
    pub enabled: bool,
    /// Also render a read-only Pooler (on the `-ro` service).
    pub read_only: bool,
    /// PgBouncer pods per Pooler.
    pub instances: u32,
    /// `session` or `transaction`.
    pub pool_mode: PoolMode,
    /// PgBouncer parameters; only the keys CloudNativePG accepts.
    pub parameters: BTreeMap<String, ParamValue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PoolMode {
    Session,
    Transaction,
}

/// A configuration value: YAML strings, numbers and booleans are all accepted and written out
/// as strings, which is what PostgreSQL and PgBouncer parameters are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ParamValue(pub String);

impl<'de> Deserialize<'de> for ParamValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Str(String),
            Int(i64),
            Float(f64),
            Bool(bool),
        }
        Ok(ParamValue(match Raw::deserialize(deserializer)? {
            Raw::Str(s) => s,
            Raw::Int(i) => i.to_string(),
            Raw::Float(x) => x.to_string(),
            Raw::Bool(b) => if b { "on" } else { "off" }.to_string(),
        }))
    }
}

impl JsonSchema for ParamValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ParamValue".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A parameter value; numbers and booleans are written as strings (true -> \"on\").",
            "type": ["string", "integer", "number", "boolean"]
        })
    }
}
