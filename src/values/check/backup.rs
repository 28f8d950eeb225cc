//! `backup`: the Barman Cloud object store, scheduled backups and volume snapshots.
//!
//! The rules mirror what fails later and far from the values: the ObjectStore CRD's enums and
//! patterns (compression, encryption, `retentionPolicy`), the ScheduledBackup's six-field cron,
//! and the backup controller's prerequisites (a `plugin` backup needs the plugin on the Cluster,
//! a `volumeSnapshot` one needs `spec.backup.volumeSnapshot`). Object stores are checked the
//! same way wherever they appear (backup, recovery source, replica members).

use super::Findings;
use super::cron::schedule_problem;
use super::syntax::{is_dns_name, is_placeholder, is_quantity};
use crate::naming::is_dns_label;
use crate::values::{BackupMethod, CredentialSource, ObjectStore, Provider, Values};

/// ObjectStore `wal.compression` and `data.compression` (barmancloud.cnpg.io_objectstores.yaml).
const WAL_COMPRESSION: &[&str] = &["bzip2", "gzip", "lz4", "snappy", "xz", "zstd"];
const DATA_COMPRESSION: &[&str] = &["bzip2", "gzip", "lz4", "snappy"];
const ENCRYPTION: &[&str] = &["AES256", "aws:kms"];

/// The scheme `destinationPath` starts with, by provider.
fn schemes(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::S3 => &["s3://"],
        Provider::Gcs => &["gs://"],
        Provider::Azure => &["https://", "http://"],
    }
}

/// Checks one object store at `path` (e.g. `backup.objectStore`).
pub(super) fn object_store(f: &mut Findings, path: &str, store: &ObjectStore) {
    match &store.destination_path {
        None => f.error(
            &format!("{path}.destinationPath"),
            "an object store needs a destination path",
            "set it, e.g. s3://my-bucket/postgres/ (one path per cluster)",
        ),
        Some(destination) => {
            let scheme = schemes(store.provider)
                .iter()
                .find(|s| destination.starts_with(**s));
            let rest = scheme.map_or("", |s| &destination[s.len()..]);
            if scheme.is_none() || rest.split('/').next().is_none_or(str::is_empty) {
                f.error(
                    &format!("{path}.destinationPath"),
                    format!(
                        "not a {} destination with a bucket",
                        provider_name(store.provider)
                    ),
                    format!(
                        "start it with {} followed by the bucket (or set `provider`)",
                        schemes(store.provider).join(" or ")
                    ),
                );
            } else if rest.split('/').any(|s| s == "..")
                || destination.contains(char::is_whitespace)
            {
                f.error(
                    &format!("{path}.destinationPath"),
                    "a destination path with `..` segments or white space",
                    "write the path plainly, e.g. s3://bucket/postgres/orders/",
                );
            }
        }
    }
    if let Some(url) = &store.endpoint_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        f.error(
            &format!("{path}.endpointUrl"),
            "not an http(s) URL",
            "e.g. https://minio.storage.svc:9000",
        );
    }
    if let Some(ca) = &store.endpoint_ca {
        if !is_dns_name(&ca.secret_name) {
            f.error(
                &format!("{path}.endpointCa.secretName"),
                "not a valid Secret name",
                "name an existing Secret holding the CA bundle",
            );
        }
        if ca.key.is_empty() {
            f.error(
                &format!("{path}.endpointCa.key"),
                "empty key",
                "name the key holding the CA, e.g. ca.crt",
            );
        }
    }
    if let Some(server) = &store.server_name
        && (server.is_empty() || server.contains('/') || server.contains(char::is_whitespace))
    {
        f.error(
            &format!("{path}.serverName"),
            "a server name is one folder name: not empty, no `/`, no white space",
            "use the cluster's name",
        );
    }
    credentials(f, path, store);
    compression(
        f,
        &format!("{path}.wal"),
        store.wal.compression.as_deref(),
        WAL_COMPRESSION,
    );
    compression(
        f,
        &format!("{path}.data"),
        store.data.compression.as_deref(),
        DATA_COMPRESSION,
    );
    for (part, encryption) in [
        ("wal", &store.wal.encryption),
        ("data", &store.data.encryption),
    ] {
        if let Some(encryption) = encryption {
            if !ENCRYPTION.contains(&encryption.as_str()) {
                f.error(
                    &format!("{path}.{part}.encryption"),
                    "unknown server-side encryption",
                    "use AES256 or aws:kms, or null for the bucket's default",
                );
            } else if store.provider != Provider::S3 {
                f.error(
                    &format!("{path}.{part}.encryption"),
                    "server-side encryption options exist only for S3",
                    "set it to null; the store encrypts at rest by its own settings",
                );
            }
        }
    }
    if store.wal.max_parallel < 1 {
        f.error(
            &format!("{path}.wal.maxParallel"),
            "must be at least 1",
            "use 1 or more",
        );
    }
    if store.data.jobs < 1 {
        f.error(
            &format!("{path}.data.jobs"),
            "must be at least 1",
            "use 1 or more",
        );
    }
}

fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::S3 => "S3",
        Provider::Gcs => "Google Cloud Storage",
        Provider::Azure => "Azure Blob Storage",
    }
}

fn compression(f: &mut Findings, path: &str, value: Option<&str>, allowed: &[&str]) {
    if let Some(value) = value
        && !allowed.contains(&value)
    {
        f.error(
            &format!("{path}.compression"),
            format!("`{value}` is not a compression the plugin offers here"),
            format!("use one of {}, or null for none", allowed.join(", ")),
        );
    }
}

fn credentials(f: &mut Findings, path: &str, store: &ObjectStore) {
    let c = &store.credentials;
    let path = format!("{path}.credentials");
    let fields = store.provider.credential_fields();
    match c.source {
        CredentialSource::WorkloadIdentity => {
            if !c.placeholders.is_empty() || c.keys.is_some() || c.secret_name.is_some() {
                f.error(
                    &format!("{path}.source"),
                    "workload identity reads no Secret, but secretName, keys or placeholders are set",
                    "remove them, or use `source: secret`",
                );
            }
            let identity = c.workload_identity.as_deref().unwrap_or("");
            let (valid, example) = match store.provider {
                Provider::S3 => (
                    identity.starts_with("arn:aws") && identity.contains(":role/"),
                    "arn:aws:iam::123456789012:role/orders-db-backup",
                ),
                Provider::Gcs => (
                    identity.contains('@') && identity.ends_with(".iam.gserviceaccount.com"),
                    "orders-db@my-project.iam.gserviceaccount.com",
                ),
                Provider::Azure => (
                    is_uuid(identity),
                    "the managed identity's client ID (a UUID)",
                ),
            };
            if !valid {
                f.error(
                    &format!("{path}.workloadIdentity"),
                    "workload identity needs the identity the pods take on",
                    format!("set it, e.g. {example}"),
                );
            }
        }
        CredentialSource::Secret => {
            if c.workload_identity.is_some() {
                f.error(
                    &format!("{path}.workloadIdentity"),
                    "set with `source: secret`",
                    "use `source: workloadIdentity`, or remove it",
                );
            }
            if let Some(name) = &c.secret_name
                && !is_dns_name(name)
            {
                f.error(
                    &format!("{path}.secretName"),
                    "not a valid Secret name",
                    "name a Secret",
                );
            }
            if let Some(keys) = &c.keys {
                for field in keys.keys() {
                    if !fields.iter().any(|(known, _, _)| known == field) {
                        let known: Vec<&str> = fields.iter().map(|(k, _, _)| *k).collect();
                        f.error_key(
                            &format!("{path}.keys"),
                            field,
                            format!("not a credential of {}", provider_name(store.provider)),
                            format!("use {}", known.join(", ")),
                        );
                    }
                }
                if store.provider == Provider::Azure && !azure_keys_complete(keys) {
                    f.error(
                        &format!("{path}.keys"),
                        "Azure needs connectionString, or storageAccount with storageKey or storageSasToken",
                        "name those keys",
                    );
                }
            }
            let needed = secret_keys(store);
            for (key, value) in &c.placeholders {
                if !is_placeholder(value) {
                    f.error_key(
                        &format!("{path}.placeholders"),
                        key,
                        "not an argocd-vault-plugin placeholder: a plain credential would be committed with the values",
                        "write <path:kv/data/...#key>, or put the keys in an existing Secret (`secretName`)",
                    );
                }
                if !needed.contains(key) {
                    f.error_key(
                        &format!("{path}.placeholders"),
                        key,
                        "the object store reads no such key",
                        format!("use the keys it reads: {}", needed.join(", ")),
                    );
                }
            }
            if !c.placeholders.is_empty()
                && let Some(missing) = required_keys(store)
                    .into_iter()
                    .find(|k| !c.placeholders.contains_key(k))
            {
                f.error(
                    &format!("{path}.placeholders"),
                    format!("the rendered Secret would lack `{missing}`"),
                    format!("add a placeholder for `{missing}`"),
                );
            }
        }
    }
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn azure_keys_complete(keys: &std::collections::BTreeMap<String, String>) -> bool {
    keys.contains_key("connectionString")
        || (keys.contains_key("storageAccount")
            && (keys.contains_key("storageKey") || keys.contains_key("storageSasToken")))
}

fn secret_keys(store: &ObjectStore) -> Vec<String> {
    store
        .referenced_keys()
        .into_iter()
        .map(|(_, key)| key)
        .collect()
}

fn required_keys(store: &ObjectStore) -> Vec<String> {
    secret_keys(store)
}

pub(super) fn check(values: &Values, f: &mut Findings) {
    let b = &values.backup;
    if b.enabled {
        object_store(f, "backup.objectStore", &b.object_store);
    }
    if let Some(policy) = &b.retention_policy {
        // Split on a character boundary: the last character may be more than one byte.
        let unit_at = policy.char_indices().last().map_or(0, |(at, _)| at);
        let (number, unit) = policy.split_at(unit_at);
        let valid = matches!(unit, "d" | "w" | "m")
            && !number.is_empty()
            && !number.starts_with('0')
            && number.bytes().all(|c| c.is_ascii_digit());
        if !valid {
            f.error(
                "backup.retentionPolicy",
                "not a recovery window the ObjectStore accepts (a number and d, w or m)",
                "e.g. 30d, 4w or 6m; null keeps every backup",
            );
        }
    }
    for (field, value) in [
        ("cpu", &b.sidecar_resources.cpu),
        ("memory", &b.sidecar_resources.memory),
    ] {
        if let Some(value) = value
            && !is_quantity(value)
        {
            f.error(
                &format!("backup.sidecarResources.{field}"),
                "not a Kubernetes quantity",
                "e.g. 100m CPU, 256Mi memory",
            );
        }
    }
    if b.disabled_reason.is_some() && b.enabled {
        f.warn(
            "backup.disabledReason",
            "a reason for having no backup, but backups are enabled",
            "remove disabledReason",
        );
    }
    let snapshots = &b.volume_snapshot;
    for (field, class) in [
        ("className", &snapshots.class_name),
        ("walClassName", &snapshots.wal_class_name),
    ] {
        if let Some(class) = class
            && !is_dns_name(class)
        {
            f.error(
                &format!("backup.volumeSnapshot.{field}"),
                "not a valid VolumeSnapshotClass name",
                "name an existing VolumeSnapshotClass",
            );
        }
    }
    if snapshots.wal_class_name.is_some() && snapshots.class_name.is_none() {
        f.error(
            "backup.volumeSnapshot.walClassName",
            "a WAL snapshot class without `className`",
            "set backup.volumeSnapshot.className",
        );
    }
    schedules(values, f);
}

fn schedules(values: &Values, f: &mut Findings) {
    let b = &values.backup;
    let mut seen = Vec::new();
    for (index, schedule) in b.schedules.iter().enumerate() {
        let at = |key: &str| format!("backup.schedules[{index}].{key}");
        let full = format!("{}-{}", values.name, schedule.name);
        // An invalid cluster name is reported once, at `name`, not again here.
        let too_long = is_dns_label(&values.name) && !is_dns_label(&full);
        if !is_dns_label(&schedule.name) || too_long {
            f.error(
                &at("name"),
                "not a DNS label, or too long with the cluster name in front",
                "use lower-case letters, digits and `-`, e.g. daily",
            );
        } else if seen.contains(&schedule.name) {
            f.error(
                &at("name"),
                "two schedules with one name",
                "name each schedule once",
            );
        }
        seen.push(schedule.name.clone());
        if let Some(problem) = schedule_problem(&schedule.schedule) {
            f.error(
                &at("schedule"),
                problem,
                "e.g. \"0 0 3 * * *\" (every day at 03:00:00)",
            );
        }
        if !matches!(schedule.target.as_str(), "prefer-standby" | "primary") {
            f.error(
                &at("target"),
                "unknown backup target",
                "use prefer-standby or primary",
            );
        }
        match schedule.method {
            // The default schedule waits for `backup.enabled`; one the user wrote is a mistake.
            BackupMethod::Plugin if !b.enabled && f.is_default("backup.schedules") => {}
            BackupMethod::Plugin => {
                if !b.enabled {
                    f.error(
                        &at("method"),
                        "an object store backup, but `backup.enabled` is false: CloudNativePG \
                         fails it (\"the cluster has no plugin configured\")",
                        "enable backup.enabled with an objectStore, or use method volumeSnapshot",
                    );
                }
                if schedule.online.is_some() {
                    f.error(
                        &at("online"),
                        "`online` applies to volume snapshots only",
                        "remove it",
                    );
                }
            }
            BackupMethod::VolumeSnapshot => {
                if b.volume_snapshot.class_name.is_none() {
                    f.error(
                        &at("method"),
                        "a volume snapshot backup without backup.volumeSnapshot.className: \
                         CloudNativePG fails it (\"no volumeSnapshot section defined\")",
                        "set backup.volumeSnapshot.className",
                    );
                }
            }
        }
    }
}
