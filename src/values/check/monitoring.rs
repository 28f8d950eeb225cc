//! `monitoring`: custom queries, PodMonitor and alert settings, the dashboard's labels.
//!
//! CloudNativePG's webhook checks none of `spec.monitoring` beyond a warning for a zero TTL,
//! and prometheus-operator's CRDs only the `for` pattern; a bad expression or label would be
//! accepted by the API server and then silently dropped by the Prometheus that loads it. So these
//! rules are Prometheus' own: durations as `model.ParseDuration` reads them, label names as its
//! data model allows, and thresholds that can fire at all.

use super::metadata::labels;
use super::syntax::{is_object_name, prometheus_duration_seconds};
use super::{Findings, closest};
use crate::naming::Names;
use crate::values::{ALERT_NAMES, ColumnUsage, Values};

/// CloudNativePG's default queries (`config/manager/default-monitoring.yaml` at v1.30.0): a
/// custom query of the same name replaces one the alerts read.
const DEFAULT_QUERIES: &[&str] = &[
    "backends",
    "backends_waiting",
    "pg_database",
    "pg_postmaster",
    "pg_replication",
    "pg_replication_slots",
    "pg_stat_archiver",
    "pg_stat_bgwriter",
    "pg_stat_checkpointer",
    "pg_stat_database",
    "pg_stat_replication",
    "pg_settings",
    "pg_extensions",
];

/// Labels every rule sets itself; a user label of the same name would replace it.
const RULE_LABELS: &[&str] = &[
    "alertname",
    "severity",
    "namespace",
    "cnpg_cluster",
    "pooler",
];

/// Prometheus' metric and label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_prometheus_name(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub(super) fn check(values: &Values, names: &Names, f: &mut Findings) {
    let m = &values.monitoring;
    custom_queries(values, names, f);
    let fix = "use a label such as `release: monitoring`";
    labels(f, "monitoring.labels", &m.labels, fix);
    labels(f, "monitoring.dashboard.labels", &m.dashboard.labels, fix);
    if let Some(interval) = &m.pod_monitors.interval {
        duration(f, "monitoring.podMonitors.interval", interval, false);
    }
    if m.disable_default_queries && m.alerts.enabled {
        f.warn(
            "monitoring.disableDefaultQueries",
            "most alerts read metrics of CloudNativePG's default queries: without them they never fire",
            "keep the default queries, or exclude the alerts you replace (monitoring.alerts.exclude)",
        );
    }
    alerts(values, f);
}

fn custom_queries(values: &Values, names: &Names, f: &mut Findings) {
    let m = &values.monitoring;
    for (name, query) in &m.custom_queries {
        let at = format!("monitoring.customQueries.{name}");
        if !is_prometheus_name(name) {
            f.error_key(
                "monitoring.customQueries",
                name,
                "a query name becomes part of metric names (`cnpg_<name>_<column>`): letters, digits and `_`, not starting with a digit",
                "rename it, e.g. `pg_stat_user_tables`",
            );
            continue;
        }
        if DEFAULT_QUERIES.contains(&name.as_str()) {
            f.warn(
                &at,
                "replaces CloudNativePG's default query of this name (and the metrics alerts may read)",
                "give the query another name",
            );
        }
        if query.query.trim().is_empty() {
            f.error(
                &format!("{at}.query"),
                "the query is empty",
                "write the SELECT whose columns `metrics` describes",
            );
        }
        if query.metrics.is_empty() {
            f.error(
                &format!("{at}.metrics"),
                "a query needs at least one column in `metrics`",
                "list each result column: `- <column>: {usage: GAUGE, description: ...}`",
            );
        }
        let mut measured = false;
        // CloudNativePG matches columns by name (collector.go at v1.30.0), so one entry may
        // describe several.
        for (index, columns) in query.metrics.iter().enumerate() {
            for (column, c) in columns {
                if !is_prometheus_name(column) {
                    f.error_key(
                        &format!("{at}.metrics[{index}]"),
                        column,
                        "a column name becomes part of a metric or label name: letters, digits and `_`",
                        "alias the column in the query (`AS seq_scans`)",
                    );
                }
                measured |= !matches!(c.usage, ColumnUsage::Label | ColumnUsage::Discard);
            }
        }
        if !query.metrics.is_empty() && !measured {
            f.error(
                &format!("{at}.metrics"),
                "no column is a metric (every one is LABEL or DISCARD): the query exports nothing",
                "mark the measured columns GAUGE or COUNTER",
            );
        }
    }
    for (index, config_map) in m.custom_queries_config_maps.iter().enumerate() {
        let at = format!("monitoring.customQueriesConfigMaps[{index}]");
        if !is_object_name(&config_map.name) {
            f.error(
                &format!("{at}.name"),
                "not a ConfigMap name (a DNS subdomain)",
                "use the name of the ConfigMap in the cluster's namespace",
            );
        } else if config_map.name == names.monitoring_queries {
            f.error(
                &format!("{at}.name"),
                "this is the ConfigMap cnpgtp renders from monitoring.customQueries",
                "write the queries under monitoring.customQueries instead",
            );
        }
        let key_ok = !config_map.key.is_empty()
            && config_map.key.len() <= 253
            && config_map
                .key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !key_ok {
            f.error(
                &format!("{at}.key"),
                "not a ConfigMap key (alphanumerics, `-`, `_`, `.`)",
                "use the key that holds the queries, e.g. `queries`",
            );
        }
    }
}

/// A Prometheus duration; `positive` refuses `0`.
fn duration(f: &mut Findings, at: &str, text: &str, positive: bool) {
    match prometheus_duration_seconds(text) {
        None => f.error(
            at,
            format!("`{text}` is not a Prometheus duration"),
            "write whole numbers with units y, w, d, h, m, s, ms in that order, e.g. `5m` or `1h30m`",
        ),
        Some(seconds) if positive && seconds <= 0.0 => {
            f.error(at, "must be longer than 0", "give a duration such as `15m`");
        }
        Some(_) => {}
    }
}

fn alerts(values: &Values, f: &mut Findings) {
    let a = &values.monitoring.alerts;
    let url = &a.runbook_base_url;
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.contains('#')
        || url.contains(char::is_whitespace)
    {
        f.error(
            "monitoring.alerts.runbookBaseUrl",
            "not an http(s) URL without a fragment (each alert appends `#<alert>`)",
            "give the address of docs/runbooks.md as published, e.g. https://git.example.com/platform/cnpgtp/blob/main/docs/runbooks.md",
        );
    }
    for key in a.labels.keys() {
        if !is_prometheus_name(key) {
            f.error_key(
                "monitoring.alerts.labels",
                key,
                "not a Prometheus label name (letters, digits, `_`)",
                "use a name such as `team`",
            );
        } else if RULE_LABELS.contains(&key.as_str()) {
            f.error_key(
                "monitoring.alerts.labels",
                key,
                "every rule sets this label itself",
                "use another label name",
            );
        }
    }
    let known: Vec<String> = ALERT_NAMES.iter().map(ToString::to_string).collect();
    for (index, name) in a.exclude.iter().enumerate() {
        if !ALERT_NAMES.contains(&name.as_str()) {
            let fix = closest(name, &known).map_or_else(
                || format!("one of: {}", ALERT_NAMES.join(", ")),
                |best| format!("did you mean `{best}`?"),
            );
            f.error(
                &format!("monitoring.alerts.exclude[{index}]"),
                format!("no alert is called `{name}`"),
                fix,
            );
        }
    }
    let ns = &a.namespace_labels;
    for (key, label) in [
        ("certManager", &ns.cert_manager),
        ("externalSecrets", &ns.external_secrets),
        ("kubernetes", &ns.kubernetes),
    ] {
        if !is_prometheus_name(label) {
            f.error(
                &format!("monitoring.alerts.namespaceLabels.{key}"),
                "not a Prometheus label name",
                "`namespace` or `exported_namespace`",
            );
        }
    }
    let fors = [
        ("instancesDown", &a.instances_down.for_),
        ("replicationLag", &a.replication_lag.for_),
        ("connections", &a.connections.for_),
        ("xidAge", &a.xid_age.for_),
        ("longTransaction", &a.long_transaction.for_),
        ("dataVolume", &a.data_volume.for_),
        ("walVolume", &a.wal_volume.for_),
        ("walArchiving", &a.wal_archiving.for_),
        ("lastBackup", &a.last_backup.for_),
        ("poolerWaiting", &a.pooler_waiting.for_),
        ("poolerDown", &a.pooler_down.for_),
        ("certificates", &a.certificates.for_),
        ("clientCaBundle", &a.client_ca_bundle.for_),
    ];
    for (key, text) in fors {
        duration(f, &format!("monitoring.alerts.{key}.for"), text, false);
    }
    duration(
        f,
        "monitoring.alerts.failover.window",
        &a.failover.window,
        true,
    );
    duration(
        f,
        "monitoring.alerts.lastBackup.maxAge",
        &a.last_backup.max_age,
        true,
    );
    let percentages = [
        ("connections", a.connections.threshold),
        ("dataVolume", a.data_volume.threshold),
        ("walVolume", a.wal_volume.threshold),
    ];
    for (key, value) in percentages {
        if !(value > 0.0 && value < 100.0) {
            f.error(&format!("monitoring.alerts.{key}.threshold"), format!("{value} is not a percentage between 0 and 100 (exclusive): the alert would never fire, or always"), "use a percentage such as 85");
        }
    }
    let positives = [
        ("replicationLag", a.replication_lag.threshold),
        ("longTransaction", a.long_transaction.threshold),
        ("poolerWaiting", a.pooler_waiting.threshold),
    ];
    for (key, value) in positives {
        if !(value.is_finite() && value >= 0.0) {
            f.error(
                &format!("monitoring.alerts.{key}.threshold"),
                format!("{value} can never be exceeded meaningfully"),
                "use a number of 0 or more",
            );
        }
    }
    // PostgreSQL refuses new XIDs 3 million short of 2^31 (the wraparound stop).
    let xid_stop = 2_147_483_647.0 - 3_000_000.0;
    if !(a.xid_age.threshold > 0.0 && a.xid_age.threshold < xid_stop) {
        f.error(
            "monitoring.alerts.xidAge.threshold",
            format!(
                "{} is not below the age where PostgreSQL stops accepting writes ({xid_stop})",
                a.xid_age.threshold
            ),
            "alert well before it, e.g. 1000000000",
        );
    }
}
