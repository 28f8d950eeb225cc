//! Values of data safety: backups through the Barman Cloud plugin and volume snapshots, restores
//! into a new cluster, replica clusters, and the protection against accidental deletion.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Resources;

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Backup {
    /// Archive WAL and take base backups through the Barman Cloud plugin (CNPG-I), into
    /// `objectStore`. Needs the plugin installed in the operator's namespace.
    pub enabled: bool,
    /// Why this cluster has no backup, when that is intended (lint reports a production cluster
    /// without backups as an error unless this says why).
    pub disabled_reason: Option<String>,
    /// Where WAL and base backups go (an `ObjectStore`, barmancloud.cnpg.io/v1).
    pub object_store: ObjectStore,
    /// `retentionPolicy` of the ObjectStore: a recovery window such as `30d`, `4w`, `6m`.
    pub retention_policy: Option<String>,
    /// Resources of the plugin's sidecar in every instance pod.
    pub sidecar_resources: Resources,
    /// Scheduled base backups (`ScheduledBackup`).
    pub schedules: Vec<Schedule>,
    /// Volume snapshot backups (`spec.backup.volumeSnapshot`); needs the CSI snapshot CRDs.
    pub volume_snapshot: VolumeSnapshot,
}

/// A Barman Cloud object store: the bucket path, the endpoint, credentials, compression.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectStore {
    /// `s3` (AWS and S3-compatible stores: MinIO, Ceph, ...), `gcs` or `azure`.
    pub provider: Provider,
    /// `s3://bucket/path/`, `gs://bucket/path/` or
    /// `https://ACCOUNT.blob.core.windows.net/CONTAINER/path/`.
    pub destination_path: Option<String>,
    /// Endpoint of an S3-compatible store (e.g. `https://minio.storage.svc:9000`).
    pub endpoint_url: Option<String>,
    /// CA bundle that signs the endpoint's certificate: a key in an existing Secret.
    pub endpoint_ca: Option<SecretKey>,
    /// The folder in the bucket for this cluster's WAL and backups (`serverName`); null: the
    /// cluster name. For a restore or replica source: the source cluster's server name.
    pub server_name: Option<String>,
    /// How the sidecar authenticates to the store.
    pub credentials: Credentials,
    /// WAL archiving options.
    pub wal: WalOptions,
    /// Base backup options.
    pub data: DataOptions,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Provider {
    #[default]
    S3,
    Gcs,
    Azure,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretKey {
    pub secret_name: String,
    pub key: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Credentials {
    /// `secret`: keys of a Secret (`secretName`, or rendered from `placeholders`);
    /// `workloadIdentity`: the pods' cloud identity (S3 IRSA, GKE or Azure workload identity).
    pub source: CredentialSource,
    /// The Secret holding the keys. null: `<cluster>-backup-credentials`.
    pub secret_name: Option<String>,
    /// Key names in the Secret, by field: s3 `accessKeyId`, `secretAccessKey`, `region`,
    /// `sessionToken`; gcs `applicationCredentials`; azure `connectionString`, `storageAccount`,
    /// `storageKey`, `storageSasToken`. null: the provider's defaults.
    pub keys: Option<BTreeMap<String, String>>,
    /// argocd-vault-plugin placeholders by Secret key: cnpgtp renders the Secret with them.
    /// Only placeholders: a plain secret never belongs in a values file.
    pub placeholders: BTreeMap<String, String>,
    /// With `workloadIdentity`: the IAM role ARN (s3), the Google service account (gcs) or the
    /// managed identity's client ID (azure), written on the Cluster's service account.
    pub workload_identity: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CredentialSource {
    #[default]
    Secret,
    WorkloadIdentity,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct WalOptions {
    /// bzip2, gzip, lz4, snappy, xz, zstd, or null for none.
    pub compression: Option<String>,
    /// Server-side encryption: `AES256` or `aws:kms` (s3 only), or null.
    pub encryption: Option<String>,
    /// WAL files archived or restored in parallel.
    pub max_parallel: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct DataOptions {
    /// bzip2, gzip, lz4, snappy, or null for none.
    pub compression: Option<String>,
    /// Server-side encryption: `AES256` or `aws:kms` (s3 only), or null.
    pub encryption: Option<String>,
    /// Files uploaded in parallel.
    pub jobs: u32,
    /// Request an immediate checkpoint when a backup starts.
    pub immediate_checkpoint: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Schedule {
    /// Suffix of the ScheduledBackup's name (`<cluster>-<name>`).
    pub name: String,
    /// Six-field cron, seconds first: `0 0 3 * * *` is every day at 03:00:00.
    pub schedule: String,
    /// `plugin` (object store) or `volumeSnapshot`.
    #[serde(default = "default_method")]
    pub method: BackupMethod,
    /// `prefer-standby` or `primary`.
    #[serde(default = "default_target")]
    pub target: String,
    /// Take a backup as soon as the schedule is created.
    #[serde(default)]
    pub immediate: bool,
    /// Volume snapshots only: hot (true) or cold (false) backup; null: `volumeSnapshot.online`.
    #[serde(default)]
    pub online: Option<bool>,
}

fn default_method() -> BackupMethod {
    BackupMethod::Plugin
}

fn default_target() -> String {
    "prefer-standby".to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BackupMethod {
    Plugin,
    VolumeSnapshot,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VolumeSnapshot {
    /// VolumeSnapshotClass for PGDATA; null: no volume snapshot backups.
    pub class_name: Option<String>,
    /// VolumeSnapshotClass for the WAL volume; null: `className`.
    pub wal_class_name: Option<String>,
    /// Hot backups (true) or cold (false: the instance is fenced while it is snapshotted).
    pub online: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Recovery {
    /// Bootstrap this (new) cluster from a backup instead of an empty database.
    pub enabled: bool,
    /// `objectStore` (base backup and WAL from `objectStore`) or `volumeSnapshot` (the snapshots
    /// in `volumeSnapshots`, WAL from `objectStore` when its `destinationPath` is set).
    pub source: RecoverySource,
    /// The source cluster's object store; `serverName` is the source cluster's server name.
    pub object_store: ObjectStore,
    /// VolumeSnapshot names to restore (source `volumeSnapshot`).
    pub volume_snapshots: SnapshotNames,
    /// Point-in-time target; all null: replay every WAL available.
    pub target: RecoveryTarget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RecoverySource {
    ObjectStore,
    VolumeSnapshot,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SnapshotNames {
    pub storage: Option<String>,
    pub wal_storage: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RecoveryTarget {
    /// RFC 3339 timestamp with a zone, e.g. `2026-11-30T14:00:00Z`.
    pub time: Option<String>,
    /// A WAL location, e.g. `0/3000060`.
    pub lsn: Option<String>,
    /// A restore point created with `pg_create_restore_point()`.
    pub name: Option<String>,
    /// A transaction ID.
    pub xid: Option<String>,
    /// Stop as soon as the backup is consistent.
    pub immediate: bool,
    /// Stop just before the target instead of just after it.
    pub exclusive: bool,
    /// The base backup to start from (`backup-YYYYMMDDTHHMMSS`); needed with `name`, `xid` and
    /// `immediate`.
    pub backup_id: Option<String>,
    /// Timeline to follow: `latest` or a number; null: CloudNativePG's default.
    pub timeline: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Replica {
    /// A standalone replica cluster of `source`. Setting it to false later promotes this
    /// cluster, which cannot be undone.
    pub enabled: bool,
    /// Distributed topology: the member that is primary now (this cluster's name or one of
    /// `externalClusters`). Mutually exclusive with `enabled`.
    pub primary: Option<String>,
    /// The member this cluster replicates from while it is a replica.
    pub source: Option<String>,
    /// The demotion token of the old primary, set together with `primary` on a switchover.
    pub promotion_token: Option<String>,
    /// Delay applying changes, e.g. `1h` (not with `promotionToken`).
    pub min_apply_delay: Option<String>,
    /// The other members (or the source), each reached through its object store.
    pub external_clusters: Vec<ExternalCluster>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalCluster {
    /// The member's cluster name (its `serverName` unless `objectStore.serverName` says otherwise).
    pub name: String,
    /// Where that member archives.
    pub object_store: ObjectStore,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeletionProtection {
    /// ArgoCD `Prune=false,Delete=false` on the Cluster, its ObjectStores and backups, and the
    /// Databases with `databaseReclaimPolicy: delete`, so that removing them from Git or deleting
    /// the Application leaves the data in place.
    pub enabled: bool,
}

// List items (`replica.externalClusters[]`) get no layer of defaults, so object stores default
// field by field; these match `values/defaults.yaml`, which a test proves.
impl Default for ObjectStore {
    fn default() -> Self {
        Self {
            provider: Provider::S3,
            destination_path: None,
            endpoint_url: None,
            endpoint_ca: None,
            server_name: None,
            credentials: Credentials::default(),
            wal: WalOptions::default(),
            data: DataOptions::default(),
        }
    }
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            source: CredentialSource::Secret,
            secret_name: None,
            keys: None,
            placeholders: BTreeMap::new(),
            workload_identity: None,
        }
    }
}

impl Default for WalOptions {
    fn default() -> Self {
        Self {
            compression: Some("gzip".to_string()),
            encryption: None,
            max_parallel: 2,
        }
    }
}

impl Default for DataOptions {
    fn default() -> Self {
        Self {
            compression: Some("gzip".to_string()),
            encryption: None,
            jobs: 2,
            immediate_checkpoint: false,
        }
    }
}

impl Provider {
    /// The Secret keys an object store reads, by provider: (field, default key, required).
    pub fn credential_fields(self) -> &'static [(&'static str, &'static str, bool)] {
        match self {
            Provider::S3 => &[
                ("accessKeyId", "ACCESS_KEY_ID", true),
                ("secretAccessKey", "ACCESS_SECRET_KEY", true),
                ("region", "REGION", false),
                ("sessionToken", "SESSION_TOKEN", false),
            ],
            Provider::Gcs => &[("applicationCredentials", "credentials.json", true)],
            Provider::Azure => &[
                ("connectionString", "AZURE_CONNECTION_STRING", false),
                ("storageAccount", "AZURE_STORAGE_ACCOUNT", false),
                ("storageKey", "AZURE_STORAGE_KEY", false),
                ("storageSasToken", "AZURE_STORAGE_SAS_TOKEN", false),
            ],
        }
    }
}

impl ObjectStore {
    /// The (field, Secret key) pairs an object store with `source: secret` references.
    pub fn referenced_keys(&self) -> Vec<(&'static str, String)> {
        let store = self;
        let fields = store.provider.credential_fields();
        match &store.credentials.keys {
            Some(keys) => fields
                .iter()
                .filter_map(|(field, _, _)| keys.get(*field).map(|key| (*field, key.clone())))
                .collect(),
            None => fields
                .iter()
                .filter(|(_, _, required)| *required)
                .map(|(field, key, _)| (*field, (*key).to_string()))
                .chain(
                    (store.provider == Provider::Azure)
                        .then(|| ("connectionString", "AZURE_CONNECTION_STRING".to_string())),
                )
                .collect(),
        }
    }
}
