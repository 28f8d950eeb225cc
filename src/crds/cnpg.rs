//! CloudNativePG `postgresql.cnpg.io/v1` Cluster and Pooler (the fields cnpgtp writes).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ResourceRequirements, TopologySpreadConstraint};
use serde::{Deserialize, Serialize};

use super::{NameRef, custom_resource};

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
    pub image_name: String,
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
    pub certificates: CertificatesConfiguration,
    pub managed: ManagedConfiguration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfiguration {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pg_hba: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bootstrap {
    pub initdb: BootstrapInitDb,
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
