//! `recovery` and `replica`: bootstrapping a new cluster from a backup, replica clusters and the
//! distributed topology.
//!
//! Mirrors CloudNativePG's Cluster webhook (one recovery target, `backupID` where the target
//! needs it, `enabled` and `primary` exclusive, every topology name an external cluster,
//! `promotionToken` only on the designated primary and not with `minApplyDelay`), and adds the
//! guard the webhook cannot make: a cluster must never archive into the WAL archive it restores
//! or replicates from (CloudNativePG stops with "Expected empty archive", or worse, two clusters
//! write one timeline history).

use super::Findings;
use super::backup::object_store;
use crate::values::{CredentialSource, ObjectStore, RecoverySource, Values};

/// Where a store writes: its destination without trailing `/`, and its server name.
pub(super) fn archive_of<'a>(
    store: &'a ObjectStore,
    default_server: &'a str,
) -> Option<(&'a str, &'a str)> {
    let destination = store.destination_path.as_deref()?.trim_end_matches('/');
    Some((
        destination,
        store.server_name.as_deref().unwrap_or(default_server),
    ))
}

pub(super) fn check(values: &Values, f: &mut Findings) {
    recovery(values, f);
    super::replica::check(values, f);
    one_identity(values, f);
}

/// The pods have one service account, so one cloud identity per provider: every object store
/// that uses workload identity must name the same one.
fn one_identity(values: &Values, f: &mut Findings) {
    let mut stores: Vec<(String, &ObjectStore)> = Vec::new();
    if values.backup.enabled {
        stores.push(("backup.objectStore".into(), &values.backup.object_store));
    }
    if values.recovery.enabled {
        stores.push(("recovery.objectStore".into(), &values.recovery.object_store));
    }
    if values.replica.enabled || values.replica.primary.is_some() {
        for (index, member) in values.replica.external_clusters.iter().enumerate() {
            stores.push((
                format!("replica.externalClusters[{index}].objectStore"),
                &member.object_store,
            ));
        }
    }
    let with_identity: Vec<_> = stores
        .iter()
        .filter(|(_, s)| s.credentials.source == CredentialSource::WorkloadIdentity)
        .collect();
    for (index, (path, store)) in with_identity.iter().enumerate() {
        if let Some((first, _)) = with_identity[..index].iter().find(|(_, other)| {
            other.provider == store.provider
                && other.credentials.workload_identity != store.credentials.workload_identity
        }) {
            f.error(
                &format!("{path}.credentials.workloadIdentity"),
                format!("differs from {first}.credentials.workloadIdentity: the pods have one service account and so one identity"),
                "use one identity with access to every bucket, or a Secret for one of the stores",
            );
        }
    }
}

fn recovery(values: &Values, f: &mut Findings) {
    let r = &values.recovery;
    if !r.enabled {
        return;
    }
    let wal_from_store =
        r.source == RecoverySource::ObjectStore || r.object_store.destination_path.is_some();
    if wal_from_store {
        object_store(f, "recovery.objectStore", &r.object_store);
        if r.object_store.server_name.is_none() {
            f.error_at(
                "recovery.objectStore.serverName",
                "recovery.objectStore.destinationPath",
                "the source's server name is needed: the plugin would otherwise look for this \
                 cluster's own name in the bucket",
                "set it to the source cluster's name (or its backup.objectStore.serverName)",
            );
        }
    }
    if r.source == RecoverySource::VolumeSnapshot {
        if r.volume_snapshots.storage.is_none() {
            f.error(
                "recovery.volumeSnapshots.storage",
                "a snapshot recovery needs the PGDATA VolumeSnapshot",
                "name the VolumeSnapshot of the source's data volume",
            );
        }
        if values.postgres.wal_storage.size.is_some() != r.volume_snapshots.wal_storage.is_some() {
            f.error(
                "recovery.volumeSnapshots.walStorage",
                "the WAL snapshot must be given exactly when the cluster has a WAL volume",
                "name the WAL VolumeSnapshot, or set postgres.walStorage.size to null (or the reverse)",
            );
        }
    }
    if values.replica.enabled {
        f.error(
            "recovery.enabled",
            "a replica cluster bootstraps from its source already",
            "use either recovery (a new, independent cluster) or replica.enabled",
        );
    }
    target(values, f, wal_from_store);
    // The guard: archiving into the source's archive.
    if values.backup.enabled
        && let (Some(own), Some(source)) = (
            archive_of(&values.backup.object_store, &values.name),
            archive_of(&r.object_store, &values.name),
        )
        && own == source
        && wal_from_store
    {
        f.error_at(
            "backup.objectStore.serverName",
            "backup.objectStore.destinationPath",
            format!(
                "this cluster would archive into the archive it restores from ({}, server `{}`): \
                 CloudNativePG stops with \"Expected empty archive\", and a forced start would \
                 overwrite the source's WAL",
                own.0, own.1
            ),
            "give the restored cluster its own backup.objectStore.destinationPath or serverName (e.g. append -v2)",
        );
    }
}

fn target(values: &Values, f: &mut Findings, wal_from_store: bool) {
    let t = &values.recovery.target;
    let set: Vec<&str> = [
        ("time", t.time.is_some()),
        ("lsn", t.lsn.is_some()),
        ("name", t.name.is_some()),
        ("xid", t.xid.is_some()),
        ("immediate", t.immediate),
    ]
    .into_iter()
    .filter_map(|(key, on)| on.then_some(key))
    .collect();
    if set.len() > 1 {
        f.error(
            &format!("recovery.target.{}", set[1]),
            format!(
                "recovery targets are mutually exclusive, but {} are set",
                set.join(" and ")
            ),
            "keep one target",
        );
    }
    if !set.is_empty() && !set.contains(&"immediate") && !wal_from_store {
        f.error(
            &format!("recovery.target.{}", set[0]),
            "a point-in-time target needs WAL, and this snapshot recovery has no object store",
            "set recovery.objectStore with the source's WAL archive",
        );
    }
    if let Some(time) = &t.time {
        match target_time_zone(time) {
            None => f.error(
                "recovery.target.time",
                "not a timestamp CloudNativePG reads",
                "e.g. 2026-11-30T14:00:00Z (RFC 3339) or 2026-11-30 14:00:00+01",
            ),
            Some(false) => f.warn(
                "recovery.target.time",
                "a time without a zone is read as UTC",
                "add the zone, e.g. 2026-11-30T14:00:00Z",
            ),
            Some(true) => {}
        }
    }
    if let Some(lsn) = &t.lsn {
        let valid = lsn.split_once('/').is_some_and(|(hi, lo)| {
            [hi, lo]
                .iter()
                .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_hexdigit()))
        });
        if !valid {
            f.error(
                "recovery.target.lsn",
                "not a WAL location",
                "e.g. 0/3000060",
            );
        }
    }
    if let Some(name) = &t.name
        && (name.is_empty() || name.len() >= 64 || name.chars().any(char::is_control))
    {
        f.error(
            "recovery.target.name",
            "a restore point name has 1 to 63 bytes and no control characters",
            "use the name given to pg_create_restore_point()",
        );
    }
    // `strconv.ParseUint(xid, 10, 32)` (validateRecoveryTarget, CloudNativePG v1.30.0): digits
    // only, no sign, at most 2^32-1.
    if let Some(xid) = &t.xid
        && (!xid.bytes().all(|b| b.is_ascii_digit()) || xid.parse::<u32>().is_err())
    {
        f.error(
            "recovery.target.xid",
            "not a transaction ID: CloudNativePG reads it as an unsigned 32-bit number (digits only, no sign, at most 4294967295)",
            "e.g. 1234567",
        );
    }
    let needs_backup_id = set
        .iter()
        .find(|k| matches!(**k, "name" | "xid" | "immediate"));
    let snapshots = values.recovery.source == RecoverySource::VolumeSnapshot;
    if snapshots && t.backup_id.is_some() {
        f.error(
            "recovery.target.backupId",
            "Cannot specify a backupID when recovering using a DataSource: the snapshots are the base backup",
            "remove backupId",
        );
    }
    if let Some(key) = needs_backup_id
        && t.backup_id.is_none()
        && !snapshots
    {
        f.error_at(
            "recovery.target.backupId",
            &format!("recovery.target.{key}"),
            format!("a `{key}` target needs the base backup to start from: CloudNativePG picks one only for time and LSN targets"),
            "set it to a backup ID such as 20261130T020000 (`barman-cloud-backup-list`)",
        );
    }
    if let Some(id) = &t.backup_id {
        let valid = id.len() == 15
            && id.as_bytes()[8] == b'T'
            && id
                .bytes()
                .enumerate()
                .all(|(i, b)| i == 8 || b.is_ascii_digit());
        if !valid {
            f.error(
                "recovery.target.backupId",
                "not a Barman backup ID",
                "e.g. 20261130T020000",
            );
        }
    }
    if let Some(timeline) = &t.timeline
        && timeline != "latest"
        // `strconv.Atoi` (a 64-bit int, sign allowed) and at least 1, as the webhook reads it.
        && !timeline.parse::<i64>().is_ok_and(|n| n > 0)
    {
        f.error(
            "recovery.target.timeline",
            "not a timeline",
            "use latest or a positive number",
        );
    }
    if t.exclusive && (set.is_empty() || set == ["immediate"]) {
        f.warn(
            "recovery.target.exclusive",
            "`exclusive` has no target to stop before",
            "set a time, LSN, name or xid target, or remove it",
        );
    }
}

/// Whether `text` is a `targetTime` CloudNativePG accepts (machinery's `ParseTargetTime`: a
/// PostgreSQL timestamp, RFC 3339, or `YYYY-MM-DDTHH:MM:SS`), and if so whether it has a zone.
fn target_time_zone(text: &str) -> Option<bool> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
            .then(|| text[r].parse::<u32>().unwrap_or(u32::MAX))
    };
    let (month, day) = (digits(5..7)?, digits(8..10)?);
    if digits(0..4).is_none()
        || b[4] != b'-'
        || b[7] != b'-'
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
    {
        return None;
    }
    let rest = text[10..].strip_suffix(" BC").unwrap_or(&text[10..]);
    if rest.is_empty() {
        return Some(false);
    }
    let t = rest.as_bytes();
    if t.len() < 9 || !matches!(t[0], b'T' | b't' | b' ') || t[3] != b':' || t[6] != b':' {
        return None;
    }
    let field = |r: std::ops::Range<usize>, max: u32| {
        rest.get(r)
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|n| *n <= max)
    };
    field(1..3, 23)?;
    field(4..6, 59)?;
    field(7..9, 60)?;
    let mut zone = &rest[9..];
    if let Some(fraction) = zone.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        zone = &fraction[n..];
    }
    if zone.is_empty() {
        return Some(false);
    }
    if matches!(zone, "Z" | "z") {
        return Some(true);
    }
    let sign = zone.strip_prefix('+').or_else(|| zone.strip_prefix('-'))?;
    let parts: Vec<&str> = sign.split(':').collect();
    let valid = !parts.is_empty()
        && parts.len() <= 3
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|c| c.is_ascii_digit()))
        && parts[0].parse::<u32>().is_ok_and(|h| h <= 23)
        && parts[1..]
            .iter()
            .all(|p| p.parse::<u32>().is_ok_and(|m| m <= 59));
    valid.then_some(true)
}

#[cfg(test)]
mod tests {
    use super::target_time_zone;

    #[test]
    fn target_times_as_cloudnativepg_reads_them() {
        for (text, zone) in [
            ("2026-11-30T14:00:00Z", Some(true)),
            ("2026-11-30 14:00:00+01:00", Some(true)),
            ("2026-11-30 14:00:00.123456+01", Some(true)),
            ("2026-11-30T14:00:00.5-05:30", Some(true)),
            ("2026-11-30T14:00:00", Some(false)),
            ("2026-11-30", Some(false)),
            ("2026-13-30T14:00:00Z", None),
            ("yesterday", None),
            ("2026-11-30T25:00:00Z", None),
            ("30/11/2026 14:00", None),
            ("2026-11-30T14:00:00+1", None),
        ] {
            assert_eq!(target_time_zone(text), zone, "{text}");
        }
    }
}
