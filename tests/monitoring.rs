//! Monitoring, proven on Prometheus' own tools: the rendered rules pass `promtool check rules`;
//! every alert fires on series that should fire it, only once its `for` has passed, and stays
//! silent on series that should not fire it (`promtool test rules`); every metric a rule or a
//! dashboard panel reads exists in its exporter (CloudNativePG's default queries, or the sources
//! in `fixtures/exporter-metrics.txt`); every alert has a severity, a summary and a runbook
//! section; the instance PodMonitor selects no pooler pod.

#[path = "support/cnpg_metrics.rs"]
mod cnpg_metrics;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value as Json, json};

/// The values files whose rules are tested: production (TLS, backups, WAL volume, two poolers,
/// the ExternalSecret bundle) and ok-monitoring (the sync workload, other namespace labels).
const PRODUCTION: &str = "values/production.yaml";
const LEDGER: &str = "tests/inputs/ok-monitoring.yaml";

fn objects(file: &str) -> Vec<Json> {
    let out = common::cnpgtp(&["render", "-f", file]).unwrap_or_else(|e| panic!("{file}: {}", e.0));
    cnpgtp::yaml::large_documents(&out).unwrap()
}

fn of_kind(objects: &[Json], kind: &str) -> Vec<Json> {
    objects
        .iter()
        .filter(|o| o["kind"] == kind)
        .cloned()
        .collect()
}

fn rules(file: &str) -> Vec<Json> {
    let rules = of_kind(&objects(file), "PrometheusRule");
    assert_eq!(rules.len(), 1, "{file}: one PrometheusRule");
    rules[0]["spec"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .clone()
}

/// promtool from PATH (Debian's `prometheus` package; `.ci/run` installs it), or None outside CI.
fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("promtool"))
            .find(|p| p.is_file())
    });
    match found {
        Some(path) => Some(path),
        None if std::env::var_os("CI").is_some() => {
            panic!("promtool is missing, and CI must run the rule tests")
        }
        None => {
            eprintln!("\n!!! SKIPPED: promtool not found (apt install prometheus) !!!\n");
            None
        }
    }
}

fn write_rules(dir: &tempfile::TempDir, file: &str) -> PathBuf {
    let rules = of_kind(&objects(file), "PrometheusRule");
    let path = dir.path().join("rules.yaml");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&json!({"groups": rules[0]["spec"]["groups"]})).unwrap(),
    )
    .unwrap();
    path
}

fn run(command: &mut Command) -> (bool, String) {
    common::outcome(&command.output().expect("promtool runs"))
}

#[test]
fn rendered_rules_pass_promtool_check_rules() {
    let Some(promtool) = promtool() else { return };
    for file in [PRODUCTION, LEDGER] {
        let dir = tempfile::tempdir().unwrap();
        let rules = write_rules(&dir, file);
        let (ok, out) = run(Command::new(&promtool).args(["check", "rules"]).arg(&rules));
        assert!(ok, "{file}: promtool check rules:\n{out}");
        assert!(out.contains("SUCCESS"), "{out}");
    }
}

/// One promtool test group: series, and what must (or must not) fire at given times.
struct Case {
    alert: &'static str,
    /// Tells rules of one alert apart (the Pooler's name).
    pooler: Option<String>,
    series: Vec<(String, String)>,
    /// (eval time, labels the expression keeps; None: nothing fires).
    expect: Vec<(&'static str, Option<BTreeMap<String, String>>)>,
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn series(metric: &str, pairs: &[(&str, &str)], values: &str) -> (String, String) {
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    (
        format!("{metric}{{{}}}", body.join(", ")),
        values.to_string(),
    )
}

fn case(
    alert: &'static str,
    series: Vec<(String, String)>,
    expect: Vec<(&'static str, Option<BTreeMap<String, String>>)>,
) -> Case {
    Case {
        alert,
        pooler: None,
        series,
        expect,
    }
}

/// `{{ $labels.x }}` in an annotation, as Prometheus expands it from the expression's labels.
fn expand(template: &str, kept: &BTreeMap<String, String>) -> String {
    let mut out = template.to_string();
    for (key, value) in kept {
        out = out.replace(&format!("{{{{ $labels.{key} }}}}"), value);
    }
    assert!(
        !out.contains("{{"),
        "an annotation template the test does not expand: {template}"
    );
    out
}

/// The promtool test file for `cases` against `rules`.
fn test_file(rules: &[Json], cases: &[Case]) -> Json {
    let tests: Vec<Json> = cases
        .iter()
        .map(|c| {
            let rule = rules
                .iter()
                .find(|r| r["alert"] == c.alert && r["labels"]["pooler"].as_str() == c.pooler.as_deref())
                .unwrap_or_else(|| panic!("no rendered rule {} {:?}", c.alert, c.pooler));
            let checks: Vec<Json> = c
                .expect
                .iter()
                .map(|(at, kept)| {
                    let alerts = match kept {
                        None => json!([]),
                        Some(kept) => {
                            let mut all: BTreeMap<String, String> = serde_json::from_value(rule["labels"].clone()).unwrap();
                            all.extend(kept.clone());
                            let annotations: BTreeMap<String, String> = rule["annotations"]
                                .as_object()
                                .unwrap()
                                .iter()
                                .map(|(k, v)| (k.clone(), expand(v.as_str().unwrap(), kept)))
                                .collect();
                            json!([{"exp_labels": all, "exp_annotations": annotations}])
                        }
                    };
                    json!({"eval_time": at, "alertname": c.alert, "exp_alerts": alerts})
                })
                .collect();
            json!({
                "interval": "1m",
                "input_series": c.series.iter().map(|(s, v)| json!({"series": s, "values": v})).collect::<Vec<_>>(),
                "alert_rule_test": checks,
            })
        })
        .collect();
    json!({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests})
}

fn run_cases(file: &str, cases: &[Case]) {
    let Some(promtool) = promtool() else { return };
    let rules = rules(file);
    // Every rendered rule has a case that fires it and one that leaves it silent.
    for rule in &rules {
        let pooler = rule["labels"]["pooler"].as_str();
        let mine: Vec<&Case> = cases
            .iter()
            .filter(|c| rule["alert"] == c.alert && c.pooler.as_deref() == pooler)
            .collect();
        let fires = mine
            .iter()
            .any(|c| c.expect.iter().any(|(_, k)| k.is_some()));
        let silent = mine
            .iter()
            .any(|c| c.expect.iter().any(|(_, k)| k.is_none()));
        assert!(
            fires && silent,
            "{file}: {} {pooler:?} needs a firing and a silent case",
            rule["alert"]
        );
    }
    let dir = tempfile::tempdir().unwrap();
    write_rules(&dir, file);
    let tests = dir.path().join("tests.yaml");
    std::fs::write(
        &tests,
        serde_json::to_string_pretty(&test_file(&rules, cases)).unwrap(),
    )
    .unwrap();
    let (ok, out) =
        run(Command::new(&promtool)
            .current_dir(dir.path())
            .args(["test", "rules", "tests.yaml"]));
    assert!(ok, "{file}: promtool test rules:\n{out}");
}

const NS: &str = "billing-prod";

/// Series of instance `pod` (billing-N) with extra labels.
fn on(metric: &str, pod: &str, extra: &[(&str, &str)], values: &str) -> (String, String) {
    let mut pairs: Vec<(&str, &str)> = vec![("namespace", NS), ("pod", pod)];
    pairs.extend_from_slice(extra);
    series(metric, &pairs, values)
}

fn cluster_cases() -> Vec<Case> {
    let up = |v1: &str, v2: &str, v3: &str| {
        vec![
            on("cnpg_collector_up", "billing-1", &[], v1),
            on("cnpg_collector_up", "billing-2", &[], v2),
            on("cnpg_collector_up", "billing-3", &[], v3),
        ]
    };
    let volume = |pvc: &str, used: &str| {
        let l = [
            ("namespace", NS),
            ("persistentvolumeclaim", pvc),
            ("node", "n1"),
        ];
        vec![
            series("kubelet_volume_stats_used_bytes", &l, used),
            series("kubelet_volume_stats_capacity_bytes", &l, "100x30"),
        ]
    };
    let backends = |n: &str| {
        vec![
            on(
                "cnpg_backends_total",
                "billing-1",
                &[
                    ("datname", "billing"),
                    ("usename", "app"),
                    ("application_name", ""),
                    ("state", "active"),
                ],
                n,
            ),
            on(
                "cnpg_pg_settings_setting",
                "billing-1",
                &[("name", "max_connections")],
                "400x20",
            ),
        ]
    };
    let archiver = |failed: &str| {
        vec![
            on(
                "cnpg_pg_stat_archiver_last_failed_time",
                "billing-1",
                &[],
                failed,
            ),
            on(
                "cnpg_pg_stat_archiver_last_archived_time",
                "billing-1",
                &[],
                "1000x20",
            ),
        ]
    };
    let backup = |available: &str, failed: &str| {
        vec![
            on(
                "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp",
                "billing-1",
                &[],
                available,
            ),
            on(
                "barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp",
                "billing-1",
                &[],
                failed,
            ),
        ]
    };
    let none = None;
    vec![
        // All instances down: critical after `for` (5m), not before.
        case(
            "CnpgtpClusterDown",
            up("0x20", "0x20", "0x20"),
            vec![("4m", none.clone()), ("10m", Some(labels(&[])))],
        ),
        case(
            "CnpgtpClusterDown",
            up("1x20", "0x20", "0x20"),
            vec![("10m", none.clone())],
        ),
        // No series at all (the exporters are gone) is down too.
        case(
            "CnpgtpClusterDown",
            vec![on(
                "cnpg_collector_up",
                "billing-pooler-rw-6d9f7b-x2x4z",
                &[],
                "1x20",
            )],
            vec![("10m", Some(labels(&[])))],
        ),
        case(
            "CnpgtpInstancesDown",
            up("1x20", "1x20", "0x20"),
            vec![("4m", none.clone()), ("10m", Some(labels(&[])))],
        ),
        case(
            "CnpgtpInstancesDown",
            up("1x20", "1x20", "1x20"),
            vec![("10m", none.clone())],
        ),
        // billing-2 promoted at 10m: fires at once and for the 15m window, then clears.
        case(
            "CnpgtpFailover",
            vec![on(
                "cnpg_pg_replication_in_recovery",
                "billing-2",
                &[],
                "1x10 0x30",
            )],
            vec![
                ("5m", none.clone()),
                ("12m", Some(labels(&[]))),
                ("27m", none.clone()),
            ],
        ),
        case(
            "CnpgtpFailover",
            vec![on(
                "cnpg_pg_replication_in_recovery",
                "billing-2",
                &[],
                "1x30",
            )],
            vec![("12m", none.clone())],
        ),
        case(
            "CnpgtpReplicationLag",
            vec![on("cnpg_pg_replication_lag", "billing-2", &[], "60x20")],
            vec![
                ("4m", none.clone()),
                ("10m", Some(labels(&[("pod", "billing-2")]))),
            ],
        ),
        // A lagging pooler pod (it has no such metric; its name must not match anyway) is not an instance.
        case(
            "CnpgtpReplicationLag",
            vec![
                on("cnpg_pg_replication_lag", "billing-2", &[], "10x20"),
                on(
                    "cnpg_pg_replication_lag",
                    "billing-pooler-rw-6d9f7b-x2x4z",
                    &[],
                    "100x20",
                ),
            ],
            vec![("10m", none.clone())],
        ),
        // 350 of 400 connections is 87.5 % (> 85); 300 is 75 %.
        case(
            "CnpgtpConnectionsNearLimit",
            backends("350x20"),
            vec![("10m", Some(labels(&[("pod", "billing-1")])))],
        ),
        case(
            "CnpgtpConnectionsNearLimit",
            backends("300x20"),
            vec![("10m", none.clone())],
        ),
        case(
            "CnpgtpXidWraparound",
            vec![on(
                "cnpg_pg_database_xid_age",
                "billing-1",
                &[("datname", "billing")],
                "1500000000x30",
            )],
            vec![
                ("14m", none.clone()),
                ("20m", Some(labels(&[("datname", "billing")]))),
            ],
        ),
        case(
            "CnpgtpXidWraparound",
            vec![on(
                "cnpg_pg_database_xid_age",
                "billing-1",
                &[("datname", "billing")],
                "500000000x30",
            )],
            vec![("20m", none.clone())],
        ),
        case(
            "CnpgtpLongTransaction",
            vec![on(
                "cnpg_backends_max_tx_duration_seconds",
                "billing-1",
                &[
                    ("datname", "billing"),
                    ("usename", "app"),
                    ("application_name", "psql"),
                    ("state", "idle in transaction"),
                ],
                "7200x10",
            )],
            vec![
                ("1m", none.clone()),
                (
                    "5m",
                    Some(labels(&[
                        ("pod", "billing-1"),
                        ("datname", "billing"),
                        ("usename", "app"),
                    ])),
                ),
            ],
        ),
        case(
            "CnpgtpLongTransaction",
            vec![on(
                "cnpg_backends_max_tx_duration_seconds",
                "billing-1",
                &[
                    ("datname", "billing"),
                    ("usename", "app"),
                    ("application_name", "psql"),
                    ("state", "active"),
                ],
                "60x10",
            )],
            vec![("5m", none.clone())],
        ),
        case(
            "CnpgtpDataVolumeFilling",
            volume("billing-1", "90x30"),
            vec![
                ("9m", none.clone()),
                (
                    "15m",
                    Some(labels(&[("persistentvolumeclaim", "billing-1")])),
                ),
            ],
        ),
        // A full WAL volume is the WAL alert's, not this one's.
        case(
            "CnpgtpDataVolumeFilling",
            [
                volume("billing-1", "50x30"),
                volume("billing-1-wal", "95x30"),
            ]
            .concat(),
            vec![("15m", none.clone())],
        ),
        case(
            "CnpgtpWalVolumeFilling",
            volume("billing-1-wal", "90x30"),
            vec![
                ("4m", none.clone()),
                (
                    "10m",
                    Some(labels(&[("persistentvolumeclaim", "billing-1-wal")])),
                ),
            ],
        ),
        case(
            "CnpgtpWalVolumeFilling",
            [
                volume("billing-1", "95x30"),
                volume("billing-1-wal", "50x30"),
            ]
            .concat(),
            vec![("10m", none.clone())],
        ),
        case(
            "CnpgtpWalArchivingFailing",
            archiver("2000x20"),
            vec![
                ("9m", none.clone()),
                ("15m", Some(labels(&[("pod", "billing-1")]))),
            ],
        ),
        // -1: never failed (CloudNativePG's COALESCE).
        case(
            "CnpgtpWalArchivingFailing",
            archiver("-1x20"),
            vec![("15m", none.clone())],
        ),
        // promtool's clock starts at 0: at 27h a backup from 0 is 27h old (> 26h), one from 90000 s is 2h old.
        case(
            "CnpgtpBackupTooOld",
            backup("0x1700", "0x1700"),
            vec![("27h", Some(labels(&[])))],
        ),
        case(
            "CnpgtpBackupTooOld",
            backup("90000x1700", "0x1700"),
            vec![("27h", none.clone())],
        ),
        case(
            "CnpgtpBackupFailed",
            backup("1000x20", "2000x20"),
            vec![("5m", none.clone()), ("15m", Some(labels(&[])))],
        ),
        case(
            "CnpgtpBackupFailed",
            backup("2000x20", "1000x20"),
            vec![("15m", none.clone())],
        ),
    ]
}

fn pooler_cases() -> Vec<Case> {
    let pod = |pooler: &str| format!("{pooler}-6d9f7b-x2x4z");
    let mut cases = Vec::new();
    for (pooler, other) in [
        ("billing-pooler-rw", "billing-pooler-ro"),
        ("billing-pooler-ro", "billing-pooler-rw"),
    ] {
        let (p, o) = (pod(pooler), pod(other));
        let up = |mine: &str| {
            vec![
                on("cnpg_pgbouncer_up", &p, &[], mine),
                on("cnpg_pgbouncer_up", &o, &[], "1x20"),
            ]
        };
        let waiting = |n: &str| {
            vec![on(
                "cnpg_pgbouncer_pools_cl_waiting",
                &p,
                &[("database", "billing"), ("user", "billing_app")],
                n,
            )]
        };
        let mut add = |alert, series, expect| {
            cases.push(Case {
                alert,
                pooler: Some(pooler.to_string()),
                series,
                expect,
            });
        };
        add(
            "CnpgtpPoolerDown",
            up("0x20"),
            vec![("4m", None), ("10m", Some(labels(&[])))],
        );
        add("CnpgtpPoolerDown", up("1x20"), vec![("10m", None)]);
        add(
            "CnpgtpPoolerClientsWaiting",
            waiting("20x10"),
            vec![("1m", None), ("5m", Some(labels(&[("pod", &p)])))],
        );
        add(
            "CnpgtpPoolerClientsWaiting",
            waiting("5x10"),
            vec![("5m", None)],
        );
    }
    cases
}

fn certificate_cases() -> Vec<Case> {
    let cert = |metric: &str, name: &str, extra: &[(&str, &str)], values: &str| {
        let mut l: Vec<(&str, &str)> = vec![
            ("exported_namespace", NS),
            ("name", name),
            ("issuer_name", "platform-ca"),
            ("issuer_kind", "ClusterIssuer"),
            ("issuer_group", "cert-manager.io"),
        ];
        l.extend_from_slice(extra);
        series(metric, &l, values)
    };
    let ready = |name: &str, ready: bool| {
        vec![
            cert(
                "certmanager_certificate_ready_status",
                name,
                &[("condition", "True")],
                if ready { "1x30" } else { "0x30" },
            ),
            cert(
                "certmanager_certificate_ready_status",
                name,
                &[("condition", "False")],
                if ready { "0x30" } else { "1x30" },
            ),
        ]
    };
    let expiry = |name: &str, at: &str| {
        cert(
            "certmanager_certificate_expiration_timestamp_seconds",
            name,
            &[],
            at,
        )
    };
    let kept = |name: &str| {
        labels(&[
            ("exported_namespace", NS),
            ("name", name),
            ("issuer_name", "platform-ca"),
            ("issuer_kind", "ClusterIssuer"),
            ("issuer_group", "cert-manager.io"),
        ])
    };
    let all_four = |server: &str, ca: &str| {
        vec![
            expiry("billing-server", server),
            expiry("billing-client-ca", ca),
            expiry("billing-replication", "9000000x90"),
            expiry("billing-pooler-auth", "9000000x90"),
        ]
    };
    let other_namespace = series(
        "certmanager_certificate_ready_status",
        &[
            ("exported_namespace", "other"),
            ("name", "billing-server"),
            ("condition", "False"),
        ],
        "1x30",
    );
    vec![
        case(
            "CnpgtpCertificateNotReady",
            ready("billing-server", false),
            vec![
                ("14m", None),
                ("20m", Some(labels(&[("name", "billing-server")]))),
            ],
        ),
        case(
            "CnpgtpCertificateNotReady",
            [ready("billing-server", true), vec![other_namespace]].concat(),
            vec![("20m", None)],
        ),
        // renewBefore 720h: overdue below 360h (1,296,000 s) left; 1,000,000 s is past it.
        case(
            "CnpgtpCertificateRenewalOverdue",
            all_four("1000000x90", "90000000x90"),
            vec![("14m", None), ("20m", Some(kept("billing-server")))],
        ),
        // The 10-year client CA (renewBefore 8760h) alerts with half a year left: 173 days does, 231 do not.
        case(
            "CnpgtpCertificateRenewalOverdue",
            all_four("9000000x90", "15000000x90"),
            vec![("20m", Some(kept("billing-client-ca")))],
        ),
        case(
            "CnpgtpCertificateRenewalOverdue",
            all_four("9000000x90", "20000000x90"),
            vec![("20m", None)],
        ),
        // Not issued yet (0) is the NotReady alert's, not an expiry.
        case(
            "CnpgtpCertificateRenewalOverdue",
            all_four("0x90", "20000000x90"),
            vec![("20m", None)],
        ),
        case(
            "CnpgtpCertificatesNotWatched",
            all_four("9000000x90", "20000000x90")[1..].to_vec(),
            vec![("59m", None), ("70m", Some(labels(&[])))],
        ),
        case(
            "CnpgtpCertificatesNotWatched",
            all_four("9000000x90", "20000000x90"),
            vec![("70m", None)],
        ),
        case(
            "CnpgtpClientCaBundleStale",
            vec![series(
                "externalsecret_status_condition",
                &[
                    ("exported_namespace", NS),
                    ("name", "billing-client-ca-bundle"),
                    ("condition", "Ready"),
                    ("status", "True"),
                ],
                "0x30",
            )],
            vec![("14m", None), ("20m", Some(labels(&[])))],
        ),
        case(
            "CnpgtpClientCaBundleStale",
            vec![series(
                "externalsecret_status_condition",
                &[
                    ("exported_namespace", NS),
                    ("name", "billing-client-ca-bundle"),
                    ("condition", "Ready"),
                    ("status", "True"),
                ],
                "1x30",
            )],
            vec![("20m", None)],
        ),
    ]
}

#[test]
fn every_production_alert_fires_on_its_series_after_its_for_and_stays_silent_otherwise() {
    let cases: Vec<Case> = [cluster_cases(), pooler_cases(), certificate_cases()]
        .into_iter()
        .flatten()
        .collect();
    run_cases(PRODUCTION, &cases);
}

/// The other render: the sync workload's alert reads kube-state-metrics, cert-manager's series
/// keep `namespace` (namespaceLabels.certManager), the lag threshold and `for` come from values.
#[test]
fn the_ledger_alerts_follow_their_values() {
    const L: &str = "payments";
    let s = |metric: &str, extra: &[(&str, &str)], values: &str| {
        let mut l: Vec<(&str, &str)> = vec![("namespace", L)];
        l.extend_from_slice(extra);
        series(metric, &l, values)
    };
    let deployment = |v: &str| {
        vec![s(
            "kube_deployment_status_replicas_available",
            &[("deployment", "ledger-ca-bundle")],
            v,
        )]
    };
    let lag = |v: &str| vec![s("cnpg_pg_replication_lag", &[("pod", "ledger-2")], v)];
    let ready = |v: &str| {
        vec![s(
            "certmanager_certificate_ready_status",
            &[("name", "ledger-server"), ("condition", "False")],
            v,
        )]
    };
    let mut cases = vec![
        case(
            "CnpgtpClientCaBundleStale",
            deployment("0x30"),
            vec![("14m", None), ("20m", Some(labels(&[])))],
        ),
        case(
            "CnpgtpClientCaBundleStale",
            deployment("1x30"),
            vec![("20m", None)],
        ),
        case(
            "CnpgtpReplicationLag",
            lag("20x10"),
            vec![("1m", None), ("3m", Some(labels(&[("pod", "ledger-2")])))],
        ),
        case("CnpgtpReplicationLag", lag("5x10"), vec![("3m", None)]),
        case(
            "CnpgtpCertificateNotReady",
            ready("1x30"),
            vec![("20m", Some(labels(&[("name", "ledger-server")])))],
        ),
        case(
            "CnpgtpCertificateNotReady",
            ready("0x30"),
            vec![("20m", None)],
        ),
    ];
    let Some(_) = promtool() else { return };
    let rendered = rules(LEDGER);
    assert!(
        !rendered
            .iter()
            .any(|r| r["alert"] == "CnpgtpLongTransaction"),
        "excluded alerts are not rendered"
    );
    // Only the cases above are this test's point; the rest are covered on production.yaml.
    let covered: BTreeSet<&str> = cases.iter().map(|c| c.alert).collect();
    let rules_here: Vec<Json> = rendered
        .into_iter()
        .filter(|r| covered.contains(r["alert"].as_str().unwrap()))
        .collect();
    cases.retain(|c| rules_here.iter().any(|r| r["alert"] == c.alert));
    let dir = tempfile::tempdir().unwrap();
    write_rules(&dir, LEDGER);
    std::fs::write(
        dir.path().join("tests.yaml"),
        serde_json::to_string_pretty(&test_file(&rules_here, &cases)).unwrap(),
    )
    .unwrap();
    let (ok, out) = run(Command::new(promtool().unwrap())
        .current_dir(dir.path())
        .args(["test", "rules", "tests.yaml"]));
    assert!(ok, "promtool test rules:\n{out}");
}

/// Metric names in a PromQL expression: identifiers directly followed by `{` (every selector
/// cnpgtp writes has label matchers).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let bytes = expr.as_bytes();
    let mut names = BTreeSet::new();
    for (i, b) in bytes.iter().enumerate() {
        if *b != b'{' {
            continue;
        }
        let start = bytes[..i]
            .iter()
            .rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b':'))
            .map_or(0, |p| p + 1);
        if start < i {
            names.insert(expr[start..i].to_string());
        }
    }
    names
}

#[test]
fn every_metric_a_rule_or_panel_reads_exists_in_its_exporter() {
    let mut known = cnpg_metrics::exported_metric_names(cnpg_metrics::FIXTURE);
    let sources = include_str!("fixtures/exporter-metrics.txt");
    for line in sources
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut fields = line.split_whitespace();
        let name = fields.next().unwrap();
        assert!(
            fields.next().is_some_and(|s| s.starts_with("github.com/")),
            "{name}: cite its source"
        );
        known.insert(name.to_string());
    }
    let mut read = BTreeSet::new();
    for file in [PRODUCTION, LEDGER] {
        let objects = objects(file);
        for rule in rules(file) {
            read.extend(metric_names(rule["expr"].as_str().unwrap()));
        }
        for config_map in of_kind(&objects, "ConfigMap") {
            if let Some(dashboard) = config_map["data"]["cnpgtp.json"].as_str() {
                let dashboard: Json =
                    serde_json::from_str(dashboard).expect("the dashboard is JSON");
                for panel in dashboard["panels"].as_array().unwrap() {
                    read.extend(metric_names(panel["targets"][0]["expr"].as_str().unwrap()));
                }
            }
        }
    }
    assert!(read.len() >= 15, "{read:?}");
    let unknown: Vec<&String> = read.iter().filter(|m| !known.contains(*m)).collect();
    assert!(
        unknown.is_empty(),
        "metrics no exporter defines: {unknown:?}"
    );
    // A made-up name is caught (the check can fail).
    assert!(!known.contains("cnpg_pg_replication_lag_seconds"));
}

/// GitHub's heading anchor: lower case, spaces to `-`, other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_alert_has_a_severity_a_summary_and_a_runbook_section() {
    let runbooks =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/runbooks.md")).unwrap();
    let anchors: BTreeSet<String> = runbooks
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(anchor)
        .collect();
    let mut seen = BTreeSet::new();
    for file in [PRODUCTION, LEDGER] {
        for rule in rules(file) {
            let name = rule["alert"].as_str().unwrap();
            seen.insert(name.to_string());
            assert!(
                ["warning", "critical"].contains(&rule["labels"]["severity"].as_str().unwrap()),
                "{name}"
            );
            assert!(
                !rule["annotations"]["summary"].as_str().unwrap().is_empty(),
                "{name}"
            );
            assert!(
                !rule["annotations"]["description"]
                    .as_str()
                    .unwrap()
                    .is_empty(),
                "{name}"
            );
            let url = rule["annotations"]["runbook_url"].as_str().unwrap();
            let (base, fragment) = url.split_once('#').unwrap();
            assert!(base.ends_with("/docs/runbooks.md"), "{url}");
            assert!(
                anchors.contains(fragment),
                "{name}: docs/runbooks.md has no section #{fragment}"
            );
        }
    }
    // Every alert cnpgtp can render is rendered by one of the two files, so all are tested.
    let missing: Vec<&&str> = cnpgtp::values::ALERT_NAMES
        .iter()
        .filter(|n| !seen.contains(**n))
        .collect();
    assert!(
        missing.is_empty(),
        "never rendered, so never tested: {missing:?}"
    );
    for name in cnpgtp::values::ALERT_NAMES {
        assert!(
            anchors.contains(&name.to_lowercase()),
            "docs/runbooks.md lacks ## {name}"
        );
    }
}

/// The labels CloudNativePG puts on the pods (pkg/specs/pods.go and pkg/specs/pgbouncer/
/// deployments.go at v1.30.0): both kinds carry `cnpg.io/cluster` and a `metrics` port.
fn pods() -> Vec<(&'static str, BTreeMap<String, String>)> {
    vec![
        (
            "instance",
            labels(&[
                ("cnpg.io/cluster", "billing"),
                ("cnpg.io/instanceName", "billing-1"),
                ("cnpg.io/podRole", "instance"),
                ("role", "primary"),
                ("cnpg.io/instanceRole", "primary"),
            ]),
        ),
        (
            "pooler-rw",
            labels(&[
                ("cnpg.io/cluster", "billing"),
                ("cnpg.io/poolerName", "billing-pooler-rw"),
                ("cnpg.io/podRole", "pooler"),
            ]),
        ),
        (
            "pooler-ro",
            labels(&[
                ("cnpg.io/cluster", "billing"),
                ("cnpg.io/poolerName", "billing-pooler-ro"),
                ("cnpg.io/podRole", "pooler"),
            ]),
        ),
    ]
}

#[test]
fn each_pod_monitor_selects_exactly_its_own_pods() {
    let monitors = of_kind(&objects(PRODUCTION), "PodMonitor");
    let selects = |monitor: &Json, pod: &BTreeMap<String, String>| {
        monitor["spec"]["selector"]["matchLabels"]
            .as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| pod.get(k).map(String::as_str) == v.as_str())
    };
    let mut seen = BTreeMap::new();
    for monitor in &monitors {
        let name = monitor["metadata"]["name"].as_str().unwrap();
        let selected: Vec<&str> = pods()
            .iter()
            .filter(|(_, labels)| selects(monitor, labels))
            .map(|(p, _)| *p)
            .collect();
        seen.insert(name.to_string(), selected);
    }
    let expected: BTreeMap<String, Vec<&str>> = [
        ("billing", vec!["instance"]),
        ("billing-pooler-rw", vec!["pooler-rw"]),
        ("billing-pooler-ro", vec!["pooler-ro"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(seen, expected);
    // The documented one-label selector would take the poolers too: the check can fail.
    let naive = json!({"spec": {"selector": {"matchLabels": {"cnpg.io/cluster": "billing"}}}});
    assert_eq!(pods().iter().filter(|(_, l)| selects(&naive, l)).count(), 3);
    for monitor in &monitors {
        let endpoint = &monitor["spec"]["podMetricsEndpoints"][0];
        assert_eq!(endpoint["port"], "metrics");
        assert_eq!(
            endpoint["scheme"], "https",
            "production.yaml serves metrics over TLS"
        );
        assert_eq!(endpoint["tlsConfig"]["ca"]["secret"]["key"], "ca.crt");
        assert!(endpoint["tlsConfig"].get("insecureSkipVerify").is_none());
    }
}

#[test]
fn the_dashboard_fits_a_client_side_apply() {
    for file in [PRODUCTION, LEDGER] {
        let objects = objects(file);
        let dashboard = of_kind(&objects, "ConfigMap")
            .into_iter()
            .find(|c| c["data"].get("cnpgtp.json").is_some())
            .expect("a dashboard");
        let text = serde_json::to_string(&dashboard).unwrap();
        // kubectl's last-applied-configuration annotation holds the whole object; the API server
        // allows 256 KiB of annotations.
        assert!(text.len() < 64 * 1024, "{file}: {} bytes", text.len());
        let json: Json =
            serde_json::from_str(dashboard["data"]["cnpgtp.json"].as_str().unwrap()).unwrap();
        assert!(json["panels"].as_array().unwrap().len() >= 6);
    }
}

/// A delayed replica cluster is always `minApplyDelay` behind: the lag alert adds it, and only
/// where the delay applies (not on the topology's primary).
#[test]
fn the_lag_threshold_allows_for_a_replica_clusters_apply_delay() {
    // (the alert's threshold, the dashboard panel's): the panel draws what the alert evaluates.
    let lag = |args: &[&str]| {
        let mut all = vec![
            "render",
            "-f",
            "values/replica.yaml",
            "--set",
            "monitoring.alerts.enabled=true",
            "--set",
            "monitoring.dashboard.enabled=true",
        ];
        all.extend_from_slice(args);
        let out = common::cnpgtp(&all).unwrap_or_else(|e| panic!("{}", e.0));
        let objects = cnpgtp::yaml::large_documents(&out).unwrap();
        let rule = of_kind(&objects, "PrometheusRule").remove(0);
        let rules = rule["spec"]["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .clone();
        let lag = rules
            .into_iter()
            .find(|r| r["alert"] == "CnpgtpReplicationLag")
            .unwrap();
        let alert = lag["expr"]
            .as_str()
            .unwrap()
            .rsplit("> ")
            .next()
            .unwrap()
            .to_string();
        let dashboard = of_kind(&objects, "ConfigMap")
            .into_iter()
            .find_map(|c| c["data"]["cnpgtp.json"].as_str().map(str::to_string))
            .expect("a dashboard");
        let dashboard: Json = serde_json::from_str(&dashboard).unwrap();
        let panel = dashboard["panels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == "Replication lag")
            .unwrap()
            .clone();
        let steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"].clone();
        (alert, steps[1]["value"].as_f64().unwrap())
    };
    assert_eq!(lag(&[]), ("30".to_string(), 30.0));
    assert_eq!(
        lag(&["--set", "replica.minApplyDelay=1h"]),
        ("3630".to_string(), 3630.0)
    );
    // The primary of the topology replays nothing: no delay.
    assert_eq!(
        lag(&[
            "--set",
            "replica.minApplyDelay=1h",
            "--set",
            "replica.primary=billing-dr"
        ]),
        ("30".to_string(), 30.0)
    );
}
