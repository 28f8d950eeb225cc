//! Data safety: the Barman Cloud plugin's ObjectStores, scheduled backups, restores and replica
//! clusters, and the Cluster fields that wire them together.
//!
//! Every ObjectStore is a plain resource synced before the Cluster (wave -1), never a hook:
//! ArgoCD prunes hooks after the sync, and WAL archiving would stop silently (charts#964).
//! ScheduledBackups always say `method` (the CRD's default, `barmanObjectStore`, is the
//! deprecated in-tree method and fails at run time for a plugin cluster) and the plugin.
//! `serverName` is always written: the plugin's fallback is the *restoring* cluster's name,
//! not the source's. Recovery reads its source through `externalClusters[].plugin` with
//! `bootstrap.recovery.source`; `bootstrap.recovery.backup` is broken for plugin backups
//! (cloudnative-pg#7989).

use serde_json::{Value as Json, json};

use crate::manifest::Kind;
use crate::plan::{Common, Planned, container_resources};
use crate::values::{
    BackupMethod, CredentialSource, ObjectStore, Provider, RecoverySource, Values,
};

/// The plugin's name, as it registers with CloudNativePG.
pub const PLUGIN: &str = "barman-cloud.cloudnative-pg.io";
/// The `externalClusters` entry a recovery reads from.
pub const RECOVERY_SOURCE: &str = "origin";
/// ArgoCD keeps an object with this annotation when pruning and when the app is deleted.
pub const SYNC_OPTIONS_KEY: &str = "argocd.argoproj.io/sync-options";
pub const KEEP_ON_DELETE: &str = "Prune=false,Delete=false";
/// Why a Cluster has no backup (`backup.disabledReason`), for `cnpgtp lint`.
pub const NO_BACKUP_REASON: &str = "cnpgtp.io/no-backup-reason";

/// The `serverName` a store is read or written under.
fn server_name(store: &ObjectStore, default: &str) -> String {
    store
        .server_name
        .clone()
        .unwrap_or_else(|| default.to_string())
}

fn key_ref(secret: &str, key: &str) -> Json {
    json!({"name": secret, "key": key})
}

/// `spec.configuration` of an ObjectStore: credentials from `secret` unless workload identity.
fn configuration(store: &ObjectStore, secret: &str) -> Json {
    let credentials = match store.credentials.source {
        CredentialSource::WorkloadIdentity => match store.provider {
            Provider::S3 => json!({"s3_credentials": {"inheritFromIAMRole": true}}),
            Provider::Gcs => json!({"google_credentials": {"gkeEnvironment": true}}),
            Provider::Azure => json!({"azure_credentials": {"inheritFromAzureAD": true}}),
        },
        CredentialSource::Secret => {
            let refs: serde_json::Map<String, Json> = store
                .referenced_keys()
                .into_iter()
                .map(|(field, key)| (field.to_string(), key_ref(secret, &key)))
                .collect();
            let slot = match store.provider {
                Provider::S3 => "s3_credentials",
                Provider::Gcs => "google_credentials",
                Provider::Azure => "azure_credentials",
            };
            json!({ slot: refs })
        }
    };
    let mut wal = json!({"maxParallel": store.wal.max_parallel});
    let mut data =
        json!({"jobs": store.data.jobs, "immediateCheckpoint": store.data.immediate_checkpoint});
    for (target, compression, encryption) in [
        (&mut wal, &store.wal.compression, &store.wal.encryption),
        (&mut data, &store.data.compression, &store.data.encryption),
    ] {
        if let Some(c) = compression {
            target["compression"] = json!(c);
        }
        if let Some(e) = encryption {
            target["encryption"] = json!(e);
        }
    }
    let mut fields = json!({
        "destination_path": store.destination_path,
        "endpoint_url": store.endpoint_url,
        "endpoint_ca": store.endpoint_ca.as_ref().map(|ca| key_ref(&ca.secret_name, &ca.key)),
        "s3_credentials": null, "google_credentials": null, "azure_credentials": null,
        "wal": wal,
        "data": data,
    });
    if let (Json::Object(target), Json::Object(extra)) = (&mut fields, credentials) {
        target.extend(extra);
    }
    fields
}

/// The ObjectStore `name` (and its credentials Secret, when rendered from placeholders).
fn store_objects(
    common: &Common,
    name: &str,
    default_secret: &str,
    store: &ObjectStore,
    archive: bool,
) -> Vec<Planned> {
    let values = common.values;
    let secret = store
        .credentials
        .secret_name
        .clone()
        .unwrap_or_else(|| default_secret.to_string());
    let mut planned = Vec::new();
    if store.credentials.source == CredentialSource::Secret
        && !store.credentials.placeholders.is_empty()
    {
        planned.push(common.object(
            "opaque-secret.json",
            Kind::Secret,
            &secret,
            "backup",
            json!({"data": store.credentials.placeholders}),
        ));
    }
    let mut fields = configuration(store, &secret);
    // Retention and the sidecar belong to the store this cluster writes; a store it only
    // reads must not prune another cluster's backups.
    fields["retention_policy"] = json!(values.backup.retention_policy.as_ref().filter(|_| archive));
    fields["sidecar_resources"] = if archive {
        container_resources(&values.backup.sidecar_resources)
    } else {
        Json::Null
    };
    planned.push(protect(
        values,
        common.object(
            "object-store.json",
            Kind::ObjectStore,
            name,
            "backup",
            fields,
        ),
    ));
    planned
}

/// Adds ArgoCD's keep-on-prune-and-delete option when deletion protection is on.
pub fn protect(values: &Values, planned: Planned) -> Planned {
    if values.deletion_protection.enabled {
        planned.with_annotation(SYNC_OPTIONS_KEY, KEEP_ON_DELETE)
    } else {
        planned
    }
}

/// Whether WAL of a recovery comes from the source's object store.
fn recovery_reads_store(values: &Values) -> bool {
    values.recovery_reads_store()
}

pub fn plan(common: &Common) -> Vec<Planned> {
    let values = common.values;
    let names = &common.names;
    let mut planned = Vec::new();
    if values.backup.enabled {
        planned.extend(store_objects(
            common,
            &names.backup_store,
            &names.backup_credentials,
            &values.backup.object_store,
            true,
        ));
    }
    if recovery_reads_store(values) {
        planned.extend(store_objects(
            common,
            &names.recovery_store,
            &names.recovery_credentials,
            &values.recovery.object_store,
            false,
        ));
    }
    if replica_active(values) {
        for member in &values.replica.external_clusters {
            planned.extend(store_objects(
                common,
                &names.member_store(&member.name),
                &names.member_credentials(&member.name),
                &member.object_store,
                false,
            ));
        }
    }
    for schedule in &values.backup.schedules {
        let plugin = schedule.method == BackupMethod::Plugin;
        if (plugin && !values.backup.enabled)
            || (!plugin && values.backup.volume_snapshot.class_name.is_none())
        {
            continue;
        }
        planned.push(protect(
            values,
            common.object(
                "scheduled-backup.json",
                Kind::ScheduledBackup,
                &format!("{}-{}", names.cluster, schedule.name),
                "backup",
                json!({
                    "cluster": names.cluster,
                    "schedule": schedule.schedule,
                    "method": if plugin { "plugin" } else { "volumeSnapshot" },
                    "plugin": plugin.then_some(PLUGIN),
                    "target": schedule.target,
                    "immediate": schedule.immediate,
                    "online": if plugin { None } else { Some(schedule.online.unwrap_or(values.backup.volume_snapshot.online)) },
                }),
            ),
        ));
    }
    planned
}

fn replica_active(values: &Values) -> bool {
    values.replica_active()
}

fn external_plugin(name: &str, store_object: &str, server: &str) -> Json {
    json!({"name": name, "plugin": {"name": PLUGIN, "parameters": {"barmanObjectName": store_object, "serverName": server}}})
}

/// The Cluster's fields for backups, recovery and replication, as the Cluster template takes them.
pub fn cluster_fields(common: &Common) -> Json {
    let values = common.values;
    let names = &common.names;
    let own_server = server_name(&values.backup.object_store, &values.name);
    let plugins = if values.backup.enabled {
        json!([{"name": PLUGIN, "isWALArchiver": true, "parameters": {"barmanObjectName": names.backup_store, "serverName": own_server}}])
    } else {
        json!([])
    };
    let snapshots = &values.backup.volume_snapshot;
    let backup = snapshots.class_name.as_ref().map(|class| {
        let mut snapshot = json!({"className": class, "online": snapshots.online});
        if let Some(wal) = &snapshots.wal_class_name {
            snapshot["walClassName"] = json!(wal);
        }
        json!({"volumeSnapshot": snapshot})
    });
    let mut external = Vec::new();
    let mut recovery = None;
    if values.recovery.enabled {
        let r = &values.recovery;
        let mut bootstrap = serde_json::Map::new();
        if recovery_reads_store(values) {
            external.push(external_plugin(
                RECOVERY_SOURCE,
                &names.recovery_store,
                &server_name(&r.object_store, &values.name),
            ));
            bootstrap.insert("source".into(), json!(RECOVERY_SOURCE));
        }
        if r.source == RecoverySource::VolumeSnapshot {
            let snapshot = |name: &String| json!({"name": name, "kind": "VolumeSnapshot", "apiGroup": "snapshot.storage.k8s.io"});
            let mut volumes = json!({"storage": r.volume_snapshots.storage.as_ref().map(snapshot)});
            if let Some(wal) = &r.volume_snapshots.wal_storage {
                volumes["walStorage"] = snapshot(wal);
            }
            bootstrap.insert("volumeSnapshots".into(), volumes);
        }
        if let Some(target) = recovery_target(values) {
            bootstrap.insert("recoveryTarget".into(), target);
        }
        recovery = Some(Json::Object(bootstrap));
    }
    let mut replica = None;
    if replica_active(values) {
        let r = &values.replica;
        if r.primary.is_some() {
            external.push(external_plugin(
                &values.name,
                &names.backup_store,
                &own_server,
            ));
        }
        for member in &r.external_clusters {
            external.push(external_plugin(
                &member.name,
                &names.member_store(&member.name),
                &server_name(&member.object_store, &member.name),
            ));
        }
        let mut spec = serde_json::Map::new();
        if r.enabled {
            spec.insert("enabled".into(), json!(true));
        }
        if let Some(primary) = &r.primary {
            spec.insert("primary".into(), json!(primary));
            spec.insert("self".into(), json!(values.name));
        }
        spec.insert("source".into(), json!(r.source));
        if let Some(token) = &r.promotion_token {
            spec.insert("promotionToken".into(), json!(token));
        }
        if let Some(delay) = &r.min_apply_delay {
            spec.insert("minApplyDelay".into(), json!(delay));
        }
        replica = Some(Json::Object(spec));
        // A replica starts from its source's backup and WAL.
        if r.primary.as_deref() != Some(values.name.as_str()) {
            recovery = Some(json!({"source": r.source}));
        }
    }
    json!({
        "plugins": plugins,
        "backup": backup,
        "external_clusters": external,
        "recovery": recovery,
        "replica": replica,
    })
}

fn recovery_target(values: &Values) -> Option<Json> {
    let t = &values.recovery.target;
    let mut target = serde_json::Map::new();
    for (key, value) in [
        ("targetTime", &t.time),
        ("targetLSN", &t.lsn),
        ("targetName", &t.name),
        ("targetXID", &t.xid),
        ("targetTLI", &t.timeline),
        ("backupID", &t.backup_id),
    ] {
        if let Some(value) = value {
            target.insert(key.into(), json!(value));
        }
    }
    if t.immediate {
        target.insert("targetImmediate".into(), json!(true));
    }
    if t.exclusive {
        target.insert("exclusive".into(), json!(true));
    }
    (!target.is_empty()).then_some(Json::Object(target))
}
