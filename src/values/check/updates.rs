//! `spec.postgresql` beyond parameters: synchronous replication and primary updates against the
//! number of instances, preloaded libraries and user name maps.
//!
//! Mirrors CloudNativePG's `validateSynchronousReplicaConfiguration` and
//! `validatePrimaryUpdateStrategy` (internal/webhook/v1/cluster_webhook.go at a95a534dbe08) and
//! the CRD's `self > 0` rule on `synchronous.number`. cnpgtp renders no standby names, so the
//! webhook's bound (`number < instances + standby names`) is `number < instances`.

use super::Findings;
use crate::values::{PrimaryUpdateStrategy, Values};

pub(super) fn check(values: &Values, f: &mut Findings) {
    let pg = &values.postgres;
    if let Some(sync) = &pg.synchronous {
        if sync.number == 0 {
            f.error(
                "postgres.synchronous.number",
                "the number of synchronous replicas must be greater than zero",
                "write 1 or more, or `synchronous: null` for asynchronous replication",
            );
        } else if sync.number >= pg.instances {
            f.error_pair(
                "postgres.synchronous.number",
                "postgres.instances",
                format!(
                    "the number of synchronous replicas must be less than the number of instances ({})",
                    pg.instances
                ),
                "lower `number`, or raise `postgres.instances` (a primary and at least `number` replicas)",
            );
        }
    }
    if pg.primary_update_strategy == Some(PrimaryUpdateStrategy::Supervised) && pg.instances == 1 {
        f.error_pair(
            "postgres.primaryUpdateStrategy",
            "postgres.instances",
            "supervised update strategy is not allowed for clusters with a single instance",
            "use `unsupervised` (or null), or run more than one instance",
        );
    }
}

/// CloudNativePG's own pg_ident maps (pkg/postgres/configuration.go at a95a534dbe08): a user
/// line in one of them would let another certificate or OS user log in as `streaming_replica`,
/// `cnpg_pooler_pgbouncer` or the superuser through CloudNativePG's fixed `cert`/`peer` rules.
const RESERVED_MAPS: &[&str] = &[
    "local",
    "cnpg_streaming_replica",
    "cnpg_pooler_pgbouncer",
    "cnpg_metrics_exporter",
];

/// `sharedPreloadLibraries` and `pgIdent`. CloudNativePG's webhook checks neither; it joins the
/// libraries with commas into one parameter and writes each pg_ident entry as a line, so a
/// comma, quote or line break would smuggle in another library or map line.
pub(super) fn check_libraries_and_maps(values: &Values, f: &mut Findings) {
    let pg = &values.postgres;
    for (i, library) in pg.shared_preload_libraries.iter().enumerate() {
        let ok = !library.is_empty()
            && library
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '$'));
        if !ok {
            f.error(
                &format!("postgres.sharedPreloadLibraries[{i}]"),
                "not a library name (letters, digits, `_-./$`; one library per entry)",
                "write one library per list entry, e.g. `pg_cron` or `timescaledb`",
            );
        }
    }
    for (i, line) in pg.pg_ident.iter().enumerate() {
        let at = format!("postgres.pgIdent[{i}]");
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if line.contains(['\n', '\r', '#']) || fields.len() != 3 {
            f.error(
                &at,
                "a pg_ident line is three fields: MAP SYSTEM-USERNAME PG-USERNAME",
                "write one mapping per entry, e.g. `teleport alice@example.com analyst`",
            );
        } else if RESERVED_MAPS.contains(&fields[0]) {
            f.error(
                &at,
                format!("`{}` is one of CloudNativePG's own maps", fields[0]),
                "use a map name of your own and refer to it with `map=` in a pg_hba rule",
            );
        }
    }
}
