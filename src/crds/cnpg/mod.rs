//! CloudNativePG `postgresql.cnpg.io/v1` Cluster, Pooler and Database (the fields cnpgtp writes).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    NodeAffinity, PodTemplateSpec, ResourceRequirements, ServiceSpec, Toleration,
    TopologySpreadConstraint,
};
use serde::{Deserialize, Serialize};

use super::barman::PluginConfiguration;
use super::{NameRef, SecretKeyRef, custom_resource};

mod database;

pub use database::*;

custom_resource!(
    /// A CloudNativePG PostgreSQL cluster.
    Cluster, ClusterSpec, "postgresql.cnpg.io/v1", "Cluster"
);
custom_resource!(
    /// A CloudNativePG PgBouncer pooler.
    Pooler, PoolerSpec, "postgresql.cnpg.io/v1", "Pooler"
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub instances: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_catalog_ref: Option<ImageCatalogRef>,
    pub enable_superuser_access: bool,
    pub postgresql: PostgresConfiguration,
    pub bootstrap: Bootstrap,
    pub storage: StorageConfiguration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_storage: Option<StorageConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    pub affinity: AffinityConfiguration,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_update_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_update_method: Option<String>,
    pub certificates: CertificatesConfiguration,
    pub managed: ManagedConfiguration,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<PluginConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfiguration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_clusters: Vec<ExternalCluster>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<ReplicaConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_template: Option<ServiceAccountTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherited_metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<NameRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<ClusterMonitoring>,
}

/// `spec.monitoring` of a Cluster (never the deprecated `enablePodMonitor`: cnpgtp renders its
/// own PodMonitors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterMonitoring {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<MetricsTls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_default_queries: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_queries_config_map: Vec<SecretKeyRef>,
}

/// `spec.monitoring` of a Pooler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolerMonitoring {
    pub tls: MetricsTls,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricsTls {
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackupConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshot: Option<VolumeSnapshotConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VolumeSnapshotConfiguration {
    pub class_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_class_name: Option<String>,
    pub online: bool,
}

/// `spec.externalClusters[]`, reached through the Barman Cloud plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalCluster {
    pub name: String,
    pub plugin: PluginConfiguration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplicaConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_name: Option<String>,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_apply_delay: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountTemplate {
    pub metadata: Metadata,
}

/// Labels and annotations (`inheritedMetadata`, `serviceAccountTemplate.metadata`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfiguration {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pg_hba: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronous: Option<SynchronousReplicaConfiguration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<ExtensionConfiguration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_preload_libraries: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pg_ident: Vec<String>,
}

/// `spec.postgresql.synchronous`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SynchronousReplicaConfiguration {
    pub method: String,
    pub number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_durability: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bootstrap {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initdb: Option<BootstrapInitDb>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<BootstrapRecovery>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BootstrapRecovery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshots: Option<RecoverySnapshots>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_target: Option<RecoveryTarget>,
    pub database: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<NameRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RecoverySnapshots {
    pub storage: SnapshotRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_storage: Option<SnapshotRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SnapshotRef {
    pub name: String,
    pub kind: String,
    pub api_group: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryTarget {
    #[serde(rename = "backupID", default, skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    #[serde(rename = "targetTLI", default, skip_serializing_if = "Option::is_none")]
    pub target_tli: Option<String>,
    #[serde(rename = "targetXID", default, skip_serializing_if = "Option::is_none")]
    pub target_xid: Option<String>,
    #[serde(
        rename = "targetName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub target_name: Option<String>,
    #[serde(rename = "targetLSN", default, skip_serializing_if = "Option::is_none")]
    pub target_lsn: Option<String>,
    #[serde(
        rename = "targetTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub target_time: Option<String>,
    #[serde(
        rename = "targetImmediate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub target_immediate: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BootstrapInitDb {
    pub database: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<NameRef>,
    pub encoding: String,
    pub locale_collate: String,
    #[serde(rename = "localeCType")]
    pub locale_c_type: String,
    pub data_checksums: bool,
    #[serde(rename = "postInitSQL", default, skip_serializing_if = "Vec::is_empty")]
    pub post_init_sql: Vec<String>,
    #[serde(
        rename = "postInitTemplateSQL",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub post_init_template_sql: Vec<String>,
    #[serde(
        rename = "postInitApplicationSQL",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub post_init_application_sql: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StorageConfiguration {
    pub size: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AffinityConfiguration {
    pub enable_pod_anti_affinity: bool,
    pub topology_key: String,
    pub pod_anti_affinity_type: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity: Option<NodeAffinity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificatesConfiguration {
    #[serde(rename = "serverCASecret")]
    pub server_ca_secret: String,
    #[serde(rename = "serverTLSSecret")]
    pub server_tls_secret: String,
    #[serde(rename = "clientCASecret")]
    pub client_ca_secret: String,
    #[serde(rename = "replicationTLSSecret")]
    pub replication_tls_secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedConfiguration {
    pub roles: Vec<RoleConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<ManagedServices>,
}

/// `spec.imageCatalogRef`: the catalog's entry for `major` is the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageCatalogRef {
    pub api_group: String,
    pub kind: String,
    pub name: String,
    pub major: u32,
}

/// An additional Service's template: a name is required here (`validateServiceTemplate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedServiceTemplate {
    pub metadata: NamedMetadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ServiceSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedMetadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// One of `spec.postgresql.extensions` (the CRD spells the paths in snake case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionConfiguration {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ExtensionImage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension_control_path: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic_library_path: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ld_library_path: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtensionImage {
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<String>,
}

/// `spec.managed.services`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManagedServices {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled_default_services: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional: Vec<ManagedService>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManagedService {
    pub selector_type: String,
    pub service_template: ManagedServiceTemplate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<String>,
}

/// `spec.managed.roles[]`; note CloudNativePG's lower-case `createdb`, `createrole`, `bypassrls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleConfiguration {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub ensure: String,
    pub login: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherit: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superuser: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub createdb: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub createrole: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypassrls: Option<bool>,
    pub connection_limit: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_password: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<NameRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolerSpec {
    pub cluster: NameRef,
    pub instances: u32,
    #[serde(rename = "type")]
    pub kind: String,
    pub pgbouncer: PgBouncerSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<PodTemplateSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_template: Option<PoolerServiceTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<PoolerMonitoring>,
}

/// `spec.serviceTemplate` of a Pooler (CloudNativePG's `ServiceTemplateSpec`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolerServiceTemplate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ServiceSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PgBouncerSpec {
    pub pool_mode: String,
    pub auth_query: String,
    #[serde(rename = "serverTLSSecret")]
    pub server_tls_secret: NameRef,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
}
