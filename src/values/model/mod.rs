//! The typed values model: what a user may write in a values file.
//!
//! Every field is required here because the embedded defaults file (`values/defaults.yaml`) is
//! always the first layer: a key the defaults do not set is a bug caught by the test suite, and
//! the JSON Schema printed by `cnpgtp schema` lists every key with its documentation.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

mod backup;
mod databases;
mod monitoring;
mod network;
mod patches;
mod scheduling;
mod services;
mod teleport;
mod tls;

pub use backup::*;
pub use databases::*;
pub use monitoring::*;
pub use network::*;
pub use patches::*;
pub use scheduling::*;
pub use services::*;
pub use teleport::*;
pub use tls::*;

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
    /// Databases besides the bootstrap one, created by CloudNativePG's Database controller and
    /// reachable through Teleport like the bootstrap database.
    pub databases: Vec<ExtraDatabase>,
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
    /// Backups: WAL archiving and base backups through the Barman Cloud plugin, snapshots.
    pub backup: Backup,
    /// Bootstrap from a backup (a point-in-time restore into this new cluster).
    pub recovery: Recovery,
    /// Replica cluster of another cluster, or member of a distributed topology.
    pub replica: Replica,
    /// Keep the Cluster, its ObjectStores and backups when ArgoCD prunes or deletes the app.
    pub deletion_protection: DeletionProtection,
    /// Metrics, PodMonitors, alerts and a dashboard.
    pub monitoring: Monitoring,
    /// NetworkPolicies admitting only the named sources to the instances and poolers.
    pub network_policy: NetworkPolicy,
    /// Patches of rendered objects (the escape hatch for fields cnpgtp has no key for).
    pub patches: Vec<Patch>,
    /// Whole manifests rendered beside the rest (namespace defaulted).
    pub extra_objects: Vec<serde_json::Value>,
    /// Where each of `extra_objects` was written, for errors found at render time.
    #[serde(skip)]
    #[schemars(skip)]
    pub extra_object_origins: Vec<crate::yaml::Origin>,
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
    /// Take the image from an ImageCatalog or ClusterImageCatalog (its entry for `major`)
    /// instead of `image`/`imageFlavour`; null: a pinned image.
    pub image_catalog_ref: Option<ImageCatalogRef>,
    /// The cluster's Services (`spec.managed.services`): default ones to leave out, extra ones.
    pub services: Services,
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
    /// Tolerations of instance pods.
    pub tolerations: Vec<Toleration>,
    /// Node affinity of instance pods.
    pub node_affinity: NodeAffinity,
    /// Priority class of instance pods; null for none.
    pub priority_class_name: Option<String>,
    /// Labels and annotations CloudNativePG puts on every object it creates for the cluster
    /// (pods, services, PVCs): `spec.inheritedMetadata`.
    pub inherited_metadata: Metadata,
    /// Labels and annotations of the instances' ServiceAccount (workload identity): merged with
    /// those backups' `workloadIdentity` credentials need.
    pub service_account_template: Metadata,
    /// Secrets (`kubernetes.io/dockerconfigjson`) to pull the PostgreSQL image with.
    pub image_pull_secrets: Vec<String>,
    /// Libraries to preload (`spec.postgresql.shared_preload_libraries`), besides those
    /// CloudNativePG adds itself; the parameter of that name is refused.
    pub shared_preload_libraries: Vec<String>,
    /// User name maps (`spec.postgresql.pg_ident`), lines `MAP SYSTEM-USERNAME PG-USERNAME`,
    /// after CloudNativePG's own maps.
    pub pg_ident: Vec<String>,
    /// Extensions mounted from their own images (`spec.postgresql.extensions`, PostgreSQL 18+).
    pub extensions: Vec<Extension>,
    /// Synchronous replication (`spec.postgresql.synchronous`); null for asynchronous.
    pub synchronous: Option<Synchronous>,
    /// How a primary update (new image, restart-requiring parameter) is carried out: null leaves
    /// CloudNativePG's default (`unsupervised`).
    pub primary_update_strategy: Option<PrimaryUpdateStrategy>,
    /// `restart` the primary in place or `switchover` to an updated replica first; null leaves
    /// CloudNativePG's default (`restart`).
    pub primary_update_method: Option<PrimaryUpdateMethod>,
}

/// Labels and annotations of an object.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// Labels (label keys and values).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations (qualified-name keys, any string values).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// Quorum-based (`any`) or priority-based (`first`) synchronous replication.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Synchronous {
    /// `any` (quorum: any `number` replicas confirm) or `first` (the first `number` in order).
    pub method: SyncMethod,
    /// Replicas that must confirm each commit: at least 1, fewer than `postgres.instances`.
    pub number: u32,
    /// `required`: commits wait when too few replicas are up; `preferred`: CloudNativePG lowers
    /// the number to the replicas available. Null leaves CloudNativePG's default (`required`).
    #[serde(default)]
    pub data_durability: Option<DataDurability>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SyncMethod {
    Any,
    First,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DataDurability {
    Required,
    Preferred,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PrimaryUpdateStrategy {
    Unsupervised,
    Supervised,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PrimaryUpdateMethod {
    Restart,
    Switchover,
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
// Each flag is one PostgreSQL role attribute or one pg_hba/Teleport switch, as users write them.
#[allow(clippy::struct_excessive_bools)]
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
    /// With `certificateLogin`: Teleport users may log in as this role (added to the Teleport
    /// role's `db_users`). Otherwise the Teleport role denies it: its certificate rule admits
    /// any certificate the bundle trusts, Teleport's included.
    #[serde(default)]
    pub teleport_access: bool,
    /// `CREATEDB` attribute.
    #[serde(default)]
    pub createdb: bool,
}

fn no_limit() -> i64 {
    -1
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
    /// The PgBouncer pods of each Pooler (`spec.template`).
    pub template: PoolerTemplate,
    /// The Service of each Pooler (`spec.serviceTemplate`).
    pub service_template: PoolerService,
    /// A PodDisruptionBudget per Pooler (CloudNativePG makes them for instances, not poolers).
    pub pod_disruption_budget: PoolerDisruptionBudget,
}

/// The PodDisruptionBudget of each Pooler's pods.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolerDisruptionBudget {
    /// Render one (only when the Pooler has more than one pod: one pod cannot stay up).
    pub enabled: bool,
    /// PgBouncer pods a drain may take down at once (at least 1, fewer than `instances`).
    pub max_unavailable: u32,
}

/// What cnpgtp sets in a Pooler's pod template.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolerTemplate {
    /// Resources of the `pgbouncer` container; both null leaves CloudNativePG's.
    pub resources: Resources,
    /// Node selector of PgBouncer pods.
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations of PgBouncer pods (as `postgres.tolerations`).
    pub tolerations: Vec<Toleration>,
    /// Node affinity of PgBouncer pods (as `postgres.nodeAffinity`).
    pub node_affinity: NodeAffinity,
    /// Spread a Pooler's pods over nodes: `preferred`, `required` (a pod stays pending rather
    /// than share a node), or null for none.
    pub pod_anti_affinity: Option<AntiAffinity>,
}

/// What cnpgtp sets in a Pooler's Service.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolerService {
    /// `ClusterIP`, `NodePort` or `LoadBalancer`; null leaves CloudNativePG's (`ClusterIP`).
    #[serde(rename = "type")]
    pub kind: Option<ServiceType>,
    /// Labels and annotations of the Service (e.g. a cloud load balancer's annotations).
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ServiceType {
    ClusterIP,
    NodePort,
    LoadBalancer,
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
