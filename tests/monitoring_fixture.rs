//! The metric names CloudNativePG exports from its default monitoring queries
//! (`tests/fixtures/cnpg-default-monitoring.yaml`, v1.30.0), without a server: the list an alert
//! expression is checked against (`support/cnpg_metrics.rs` builds it the way the instance
//! manager names metrics). `tests/postgres.rs` runs the same queries on PostgreSQL 15-18.

#[path = "support/cnpg_metrics.rs"]
mod cnpg_metrics;

use cnpg_metrics::{FIXTURE, Usage};

/// Names alerts commonly use are exported; name overrides, DURATION-free defaults and version
/// splits come out as CloudNativePG builds them; made-up names are not.
#[test]
fn cnpg_default_monitoring_exports_the_well_known_metric_names() {
    let names = cnpg_metrics::exported_metric_names(FIXTURE);
    let listing = names.iter().cloned().collect::<Vec<_>>().join("\n");
    for wanted in [
        "cnpg_backends_total",
        "cnpg_backends_max_tx_duration_seconds",
        "cnpg_backends_waiting_total",
        "cnpg_pg_replication_lag",
        "cnpg_pg_replication_streaming_replicas",
        "cnpg_pg_database_xid_age",
        "cnpg_pg_database_size_bytes",
        "cnpg_pg_stat_archiver_failed_count",
        "cnpg_pg_stat_archiver_seconds_since_last_archival",
        "cnpg_pg_replication_slots_pg_wal_lsn_diff",
        // pg_settings is one metric with the setting's name as the `name` label
        // (`cnpg_pg_settings_setting{name="max_connections"}`), not a metric per setting.
        "cnpg_pg_settings_setting",
        // pg_stat_bgwriter_17 has `name: pg_stat_bgwriter`: its metrics share that namespace.
        "cnpg_pg_stat_bgwriter_buffers_alloc",
        "cnpg_pg_stat_bgwriter_stats_reset_time",
        "cnpg_pg_stat_checkpointer_checkpoints_req",
        "cnpg_pg_extensions_update_available",
    ] {
        assert!(
            names.contains(wanted),
            "{wanted} is not exported by the fixture's queries; they export:\n{listing}"
        );
    }
    for absent in [
        "cnpg_made_up_metric_total",
        // The key of a query with a `name:` override is not a namespace.
        "cnpg_pg_stat_bgwriter_17_buffers_alloc",
        // LABEL columns are labels, not metrics.
        "cnpg_backends_datname",
        "cnpg_pg_settings_name",
        "cnpg_pg_settings_max_connections",
        // The hard-coded collector query is not in the ConfigMap (see support/cnpg_metrics.rs).
        "cnpg_collector_lo_pages",
    ] {
        assert!(
            !names.contains(absent),
            "{absent} should not be exported, yet it is listed"
        );
    }
    // The fixture has no DURATION, MAPPEDMETRIC or HISTOGRAM column at v1.30.0; if a newer one
    // does, their naming (`_milliseconds`; `_bucket`/`_sum`/`_count`) is already handled, and
    // this says so to whoever updates the fixture.
    let queries = cnpg_metrics::parse_queries(FIXTURE).expect("the fixture parses");
    let usages: Vec<Usage> = queries
        .values()
        .flat_map(|q| q.columns().map(|(_, m)| m.usage))
        .collect();
    assert!(
        !usages
            .iter()
            .any(|u| matches!(u, Usage::Duration | Usage::Mappedmetric | Usage::Histogram)),
        "the fixture now uses DURATION, MAPPEDMETRIC or HISTOGRAM: add well-known names of those to this test"
    );
}

/// Which names exist depends on the major: PostgreSQL 17 moved the checkpoint counters from
/// pg_stat_bgwriter to pg_stat_checkpointer, so an alert on the old name goes silent there.
#[test]
fn cnpg_default_monitoring_names_follow_runonserver() {
    let before = cnpg_metrics::exported_metric_names_for_major(FIXTURE, 16);
    let after = cnpg_metrics::exported_metric_names_for_major(FIXTURE, 17);
    for (major, names, present, absent) in [
        (
            16,
            &before,
            "cnpg_pg_stat_bgwriter_checkpoints_req",
            "cnpg_pg_stat_checkpointer_checkpoints_req",
        ),
        (
            17,
            &after,
            "cnpg_pg_stat_checkpointer_checkpoints_req",
            "cnpg_pg_stat_bgwriter_checkpoints_req",
        ),
    ] {
        assert!(names.contains(present), "{present} missing on {major}");
        assert!(!names.contains(absent), "{absent} exported on {major}");
        // Both sides of the split keep these.
        for kept in ["cnpg_pg_stat_bgwriter_buffers_alloc", "cnpg_backends_total"] {
            assert!(names.contains(kept), "{kept} missing on {major}");
        }
    }
    let all = cnpg_metrics::exported_metric_names(FIXTURE);
    assert!(before.is_subset(&all) && after.is_subset(&all));
}

/// The constraint evaluator agrees with Masterminds semver on the forms it accepts and refuses
/// the rest.
#[test]
fn cnpg_runonserver_constraints_evaluate_like_masterminds_semver() {
    use cnpg_metrics::{run_on_server_matches as m, version_from_num};
    assert_eq!(version_from_num(170_002), (17, 0, 2));
    assert_eq!(version_from_num(150_014), (15, 0, 14));
    assert_eq!(m("<17.0.0", (16, 0, 9)), Ok(true));
    assert_eq!(m("<17.0.0", (17, 0, 0)), Ok(false));
    assert_eq!(m(">=17.0.0", (17, 0, 6)), Ok(true));
    assert_eq!(m(">= 15.0.0, < 17.0.0", (16, 0, 1)), Ok(true));
    assert_eq!(m(">=18.0.0 || <16.0.0", (15, 0, 3)), Ok(true));
    assert_eq!(m(">=18.0.0 || <16.0.0", (17, 0, 3)), Ok(false));
    assert!(m("~17", (17, 0, 0)).is_err());
    assert!(m(">=17", (17, 0, 0)).is_err());
    assert!(cnpg_metrics::pattern_matches("*", "app").unwrap());
    assert!(cnpg_metrics::pattern_matches("app_?", "app_1").unwrap());
    assert!(!cnpg_metrics::pattern_matches("app_?", "app_12").unwrap());
    assert!(cnpg_metrics::pattern_matches("[a]", "a").is_err());
}
