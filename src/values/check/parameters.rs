//! `postgres.parameters`: what CloudNativePG's Cluster webhook refuses, mirrored from its code at
//! v1.30.0 (commit 4b5e244a): `validateConfiguration` and `validateWalSizeConfiguration` in
//! `internal/webhook/v1/cluster_webhook.go`, the lists in `pkg/postgres/configuration.go`
//! (`FixedConfigurationParameters`, `GlobalDefaultSettings`) and `pkg/postgres/booleans.go`.
//!
//! Parameter values are the strings CloudNativePG receives (`true` is written `on`).

use super::Findings;
use super::syntax::quantity_value;
use crate::values::Values;

/// `FixedConfigurationParameters` (fixed and blocked alike: the webhook treats them the same).
const FIXED: &[&str] = &[
    "allow_system_table_mods",
    "archive_cleanup_command",
    "archive_command",
    "archive_mode",
    "bonjour",
    "bonjour_name",
    "cluster_name",
    "config_file",
    "data_directory",
    "data_sync_retry",
    "event_source",
    "external_pid_file",
    "hba_file",
    "hot_standby",
    "ident_file",
    "jit_provider",
    "listen_addresses",
    "log_destination",
    "log_directory",
    "log_file_mode",
    "log_filename",
    "log_rotation_age",
    "log_rotation_size",
    "log_truncate_on_rotation",
    "logging_collector",
    "pg_failover_slots.primary_dsn",
    "pg_failover_slots.standby_slot_names",
    "port",
    "primary_conninfo",
    "primary_slot_name",
    "promote_trigger_file",
    "recovery_end_command",
    "recovery_min_apply_delay",
    "recovery_target",
    "recovery_target_action",
    "recovery_target_inclusive",
    "recovery_target_lsn",
    "recovery_target_name",
    "recovery_target_time",
    "recovery_target_timeline",
    "recovery_target_xid",
    "restart_after_crash",
    "restore_command",
    "shared_preload_libraries",
    "ssl",
    "ssl_ca_file",
    "ssl_cert_file",
    "ssl_crl_file",
    "ssl_dh_params_file",
    "ssl_ecdh_curve",
    "ssl_key_file",
    "ssl_passphrase_command",
    "ssl_passphrase_command_supports_reload",
    "ssl_prefer_server_ciphers",
    "stats_temp_directory",
    "synchronized_standby_slots",
    "synchronous_standby_names",
    "syslog_facility",
    "syslog_ident",
    "syslog_sequence_numbers",
    "syslog_split_messages",
    "temp_tablespaces",
    "unix_socket_directories",
    "unix_socket_group",
    "unix_socket_permissions",
];

/// Fixed parameters the webhook accepts at exactly CloudNativePG's own value (they are in the
/// configuration it compares with); `archive_mode` it overwrites without complaint.
const FIXED_SAME_VALUE: &[(&str, &str)] = &[
    ("logging_collector", "on"),
    ("log_destination", "csvlog"),
    ("log_directory", "/controller/log"),
    ("log_filename", "postgres"),
    ("log_rotation_age", "0"),
    ("log_rotation_size", "0"),
    ("log_truncate_on_rotation", "false"),
    ("shared_preload_libraries", ""),
];

/// `ParsePostgresConfigBoolean`: PostgreSQL's unique prefixes of on/off/yes/no/true/false, 1, 0.
fn postgres_boolean(value: &str) -> Option<bool> {
    let lower = value.to_ascii_lowercase();
    if ["1", "on", "y", "ye", "yes", "t", "tr", "tru", "true"].contains(&lower.as_str()) {
        Some(true)
    } else if [
        "0", "of", "off", "n", "no", "f", "fa", "fal", "fals", "false",
    ]
    .contains(&lower.as_str())
    {
        Some(false)
    } else {
        None
    }
}

/// `parsePostgresQuantityValue`: a bare integer is MB; otherwise a number and `B`, `kB`/`KB`,
/// `MB`, `GB`, `TB` or `PB`. In bytes.
fn postgres_size(value: &str) -> Option<f64> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.is_empty() && compact.bytes().all(|b| b.is_ascii_digit()) {
        return compact.parse::<f64>().ok().map(|mb| mb * 1024.0 * 1024.0);
    }
    let number = compact.strip_suffix('B')?;
    let digits = number
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (amount, unit) = number.split_at(digits);
    let amount: f64 = amount.parse().ok()?;
    let scale = match unit {
        "" => 1.0,
        "k" | "K" => 1024.0,
        "M" => 1024.0_f64.powi(2),
        "G" => 1024.0_f64.powi(3),
        "T" => 1024.0_f64.powi(4),
        "P" => 1024.0_f64.powi(5),
        _ => return None,
    };
    Some(amount * scale)
}

/// The webhook's parameter-name rule: a GUC name, optionally namespaced with one dot.
fn is_parameter_name(key: &str) -> bool {
    key.split('.').count() <= 2
        && key.split('.').all(|part| {
            part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        })
}

pub(super) fn check(values: &Values, f: &mut Findings) {
    let pg = &values.postgres;
    let params = &pg.parameters;
    let at = "postgres.parameters";
    for (key, value) in params {
        if !is_parameter_name(key) {
            f.error_key(
                at,
                key,
                "must be a valid PostgreSQL configuration parameter name (a GUC name, optionally namespaced with a single dot)",
                "e.g. `max_connections` or `pg_stat_statements.track`",
            );
        } else if FIXED.contains(&key.as_str())
            && !FIXED_SAME_VALUE.contains(&(key.as_str(), value.0.as_str()))
        {
            let fix = match key.as_str() {
                "shared_preload_libraries" => {
                    "move it to `postgres.sharedPreloadLibraries` (CloudNativePG's own field); it loads pg_stat_statements, pgaudit, auto_explain and pg_failover_slots itself when their parameters are set"
                }
                "synchronous_standby_names" => {
                    "remove it; synchronous replication is configured by CloudNativePG"
                }
                k if k.starts_with("ssl") => {
                    "remove it; CloudNativePG configures TLS from the certificates it is given"
                }
                _ => "remove it: CloudNativePG sets it itself",
            };
            f.error_key(
                at,
                key,
                "Can't set fixed configuration parameter (CloudNativePG manages it)",
                fix,
            );
        }
    }
    let value = |key: &str| params.get(key).map(|v| v.0.as_str());
    for key in [
        "hot_standby_feedback",
        "sync_replication_slots",
        "wal_log_hints",
    ] {
        if let Some(text) = value(key)
            && postgres_boolean(text).is_none()
        {
            f.error_key(
                at,
                key,
                format!("invalid `{key}` value. Must be a postgres boolean"),
                "use on or off",
            );
        }
    }
    if value("wal_log_hints").and_then(postgres_boolean) == Some(false) && pg.instances > 1 {
        f.error_key(
            at,
            "wal_log_hints",
            "`wal_log_hints` must be set to `on` when `instances` > 1",
            "remove it (CloudNativePG's default is on)",
        );
    }
    match value("wal_level") {
        None | Some("logical" | "replica") => {}
        Some("minimal") => f.error_key(
            at,
            "wal_level",
            "`wal_level` should be set at `logical` or `replica` when `archive_mode` is `on`, '.instances' field is greater than 1, or this is a replica cluster",
            "use replica or logical (CloudNativePG always archives WAL)",
        ),
        Some(_) => f.error_key(at, "wal_level", "unrecognized `wal_level` value - allowed values: `logical`, `replica`, `minimal`", "use replica or logical"),
    }
    if params.keys().any(|k| k.starts_with("pg_failover_slots."))
        && value("hot_standby_feedback").and_then(postgres_boolean) != Some(true)
    {
        f.error_key(
            at,
            "hot_standby_feedback",
            "`hot_standby_feedback` must be enabled to use the pg_failover_slots extension",
            "set hot_standby_feedback: \"on\"",
        );
    }
    if let Some(text) = value("shared_buffers") {
        match postgres_size(text) {
            None => f.error_key(at, "shared_buffers", "invalid value for shared_buffers: CloudNativePG needs a number with a unit in B, kB, MB, GB or TB", "e.g. 2GB"),
            Some(bytes) => {
                if text.bytes().all(|b| b.is_ascii_digit()) {
                    f.warn(&format!("{at}.shared_buffers"), "`shared_buffers` has no unit: CloudNativePG reads it as MB (PostgreSQL would read 8kB pages)", format!("write {text}MB"));
                }
                if let Some(request) = pg.resources.memory.as_deref().and_then(quantity_value)
                    && request > 0.0
                    && bytes > request
                {
                    f.error_pair(
                        "postgres.resources.memory",
                        "postgres.parameters.shared_buffers",
                        "Memory request is lower than PostgreSQL `shared_buffers` value",
                        "request more memory than shared_buffers (a quarter of the memory is usual)",
                    );
                }
            }
        }
    }
    wal_sizes(values, f);
}

/// `validateWalSizeConfiguration`: min_wal_size below max_wal_size, each below the WAL volume.
fn wal_sizes(values: &Values, f: &mut Findings) {
    let params = &values.postgres.parameters;
    let at = "postgres.parameters";
    let mut sizes = [
        ("min_wal_size", 80.0 * 1024.0 * 1024.0, false),
        ("max_wal_size", 1024.0_f64.powi(3), false),
    ];
    for (key, size, set) in &mut sizes {
        if let Some(text) = params.get(*key).map(|v| v.0.as_str()) {
            match postgres_size(text) {
                Some(bytes) => {
                    *size = bytes;
                    *set = true;
                }
                None => f.error_key(
                    at,
                    key,
                    format!("invalid value for configuration parameter {key}"),
                    "e.g. 1GB",
                ),
            }
        }
    }
    let [(_, min, _), (_, max, _)] = sizes;
    if min >= max {
        f.error_key(at, "min_wal_size", "Parameter min_wal_size (default 80MB) should be smaller than parameter max_wal_size (default 1GB)", "lower min_wal_size or raise max_wal_size");
    }
    if let Some(volume) = values
        .postgres
        .wal_storage
        .size
        .as_deref()
        .and_then(quantity_value)
    {
        for (key, size, set) in sizes {
            if set && size >= volume {
                f.error_key(
                    at,
                    key,
                    format!("Parameter {key} should be smaller than WAL volume size"),
                    "lower it, or raise postgres.walStorage.size",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_parameter_name, postgres_boolean, postgres_size};

    #[test]
    fn values_as_cloudnativepg_parses_them() {
        assert_eq!(postgres_boolean("ye"), Some(true));
        assert_eq!(postgres_boolean("OFF"), Some(false));
        assert_eq!(postgres_boolean("enabled"), None);
        assert_eq!(postgres_size("128"), Some(128.0 * 1024.0 * 1024.0));
        assert_eq!(postgres_size("2GB"), Some(2.0 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(postgres_size("8kB"), Some(8192.0));
        assert_eq!(postgres_size("1G"), None);
        assert_eq!(postgres_size("8kb"), None);
        assert!(is_parameter_name("pg_stat_statements.track"));
        assert!(!is_parameter_name("a.b.c"));
        assert!(!is_parameter_name("1work_mem"));
    }
}
