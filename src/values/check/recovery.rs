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
use super::syntax::is_go_duration;
use crate::naming::is_dns_label;
use crate::values::{ObjectStore, RecoverySource, Values};

/// Where a store writes: its destination without trailing `/`, and its server name.
fn archive_of<'a>(store: &'a ObjectStore, default_server: &'a str) -> Option<(&'a str, &'a str)> {
    let destination = store.destination_path.as_deref()?.trim_end_matches('/');
    Some((
        destination,
        store.server_name.as_deref().unwrap_or(default_server),
    ))
}

pub(super) fn check(values: &Values, f: &mut Findings) {
    recovery(values, f);
    replica(values, f);
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
            f.error(
                "recovery.objectStore.serverName",
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
        f.error(
            "backup.objectStore.serverName",
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
    if let Some(time) = &t.time
        && !is_rfc3339(time)
    {
        f.error(
            "recovery.target.time",
            "not an RFC 3339 timestamp with a zone",
            "e.g. 2026-11-30T14:00:00Z (a time without a zone would be read as UTC)",
        );
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
        && (name.is_empty() || name.len() >= 64)
    {
        f.error(
            "recovery.target.name",
            "a restore point name has 1 to 63 bytes",
            "use the name given to pg_create_restore_point()",
        );
    }
    if let Some(xid) = &t.xid
        && xid.parse::<u32>().is_err()
    {
        f.error(
            "recovery.target.xid",
            "not a transaction ID (a 32-bit number)",
            "e.g. 1234567",
        );
    }
    let needs_backup_id = set
        .iter()
        .find(|k| matches!(**k, "name" | "xid" | "immediate"));
    if let Some(key) = needs_backup_id
        && t.backup_id.is_none()
    {
        f.error(
            "recovery.target.backupId",
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
        && !timeline.parse::<u32>().is_ok_and(|n| n > 0)
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

/// `2026-11-30T14:00:00Z`, `2026-11-30T14:00:00.123+01:00`, with `T` or a space.
fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't' | b' ')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let number = |r: std::ops::Range<usize>| text[r].parse::<u32>().unwrap_or(99);
    if !(1..=12).contains(&number(5..7))
        || !(1..=31).contains(&number(8..10))
        || number(11..13) > 23
        || number(14..16) > 59
        || number(17..19) > 60
    {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    matches!(rest, "Z" | "z")
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':'
            && rest[1..3].parse::<u32>().is_ok_and(|h| h <= 23)
            && rest[4..6].parse::<u32>().is_ok_and(|m| m <= 59))
}

fn replica(values: &Values, f: &mut Findings) {
    let r = &values.replica;
    let names: Vec<&str> = r
        .external_clusters
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    for (index, member) in r.external_clusters.iter().enumerate() {
        let at = format!("replica.externalClusters[{index}]");
        if !is_dns_label(&member.name) || member.name == values.name {
            f.error(
                &format!("{at}.name"),
                "not a DNS label, or this cluster's own name",
                "name the other cluster (this cluster is `self` already)",
            );
        } else if names[..index].contains(&member.name.as_str()) {
            f.error(
                &format!("{at}.name"),
                "two external clusters with one name",
                "list each cluster once",
            );
        }
        object_store(f, &format!("{at}.objectStore"), &member.object_store);
    }
    let in_topology = |name: &str| name == values.name || names.contains(&name);
    if r.enabled && r.primary.is_some() {
        f.error(
            "replica.primary",
            "replica mode enabled is not compatible with the primary field",
            "a standalone replica sets `enabled: true`; a distributed topology sets `primary` only",
        );
    }
    let active = r.enabled || r.primary.is_some();
    if !active {
        for key in ["source", "promotionToken", "minApplyDelay"] {
            let set = match key {
                "source" => r.source.is_some(),
                "promotionToken" => r.promotion_token.is_some(),
                _ => r.min_apply_delay.is_some(),
            };
            if set {
                f.error(
                    &format!("replica.{key}"),
                    "set, but this is no replica cluster",
                    "set replica.enabled or replica.primary, or remove it",
                );
            }
        }
        return;
    }
    match &r.source {
        None => f.error(
            "replica.source",
            "a replica cluster needs the cluster it follows",
            "name one of replica.externalClusters",
        ),
        Some(source) if !names.contains(&source.as_str()) => f.error(
            "replica.source",
            format!("external cluster {source} not found"),
            "add it to replica.externalClusters (with its object store)",
        ),
        Some(_) => {}
    }
    if let Some(primary) = &r.primary {
        if !in_topology(primary) {
            f.error(
                "replica.primary",
                format!("`{primary}` is neither this cluster nor one of replica.externalClusters"),
                "name a member of the topology",
            );
        }
        if !values.backup.enabled {
            f.error(
                "replica.primary",
                "in a distributed topology every member archives to its own object store, which the others read",
                "enable backup with this cluster's own backup.objectStore",
            );
        }
    }
    let designated_primary = r.primary.as_deref() == Some(values.name.as_str());
    if r.promotion_token.is_some() {
        if !designated_primary {
            f.error(
                "replica.promotionToken",
                "a promotion token applies only on the cluster `primary` names",
                "set replica.primary to this cluster in the same change, or remove the token",
            );
        }
        if r.min_apply_delay.is_some() {
            f.error(
                "replica.promotionToken",
                "a promotion token cannot be combined with minApplyDelay",
                "remove minApplyDelay for the switchover",
            );
        }
    }
    if let Some(delay) = &r.min_apply_delay
        && !is_go_duration(delay)
    {
        f.error("replica.minApplyDelay", "not a duration", "e.g. 1h or 30m");
    }
    // The guard, for replicas: this cluster's own archive must not be a member's.
    if values.backup.enabled
        && let Some(own) = archive_of(&values.backup.object_store, &values.name)
    {
        for (index, member) in r.external_clusters.iter().enumerate() {
            if archive_of(&member.object_store, &member.name) == Some(own) {
                f.error(
                    &format!("replica.externalClusters[{index}].objectStore.serverName"),
                    format!("`{}` archives where this cluster does ({}, server `{}`): two clusters would write one archive", member.name, own.0, own.1),
                    "give each cluster its own destinationPath or serverName",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_rfc3339;

    #[test]
    fn timestamps() {
        for ok in [
            "2026-11-30T14:00:00Z",
            "2026-11-30 14:00:00+01:00",
            "2026-11-30T14:00:00.5-05:30",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2026-11-30T14:00:00",
            "2026-13-30T14:00:00Z",
            "yesterday",
            "2026-11-30T25:00:00Z",
            "2026-11-30T14:00:00+1",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }
}
