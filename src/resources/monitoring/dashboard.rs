//! A Grafana dashboard of this cluster: one panel per thing an alert watches, with the alert's
//! threshold drawn in, so the page an alert links to shows the same series.
//!
//! Built small on purpose: CloudNativePG's own dashboard (about 250 KB) does not fit the
//! 256 KiB `last-applied-configuration` annotation of a client-side `kubectl apply`.

use serde_json::{Value as Json, json};

use super::Scope;
use super::alerts::lag_threshold;
use crate::plan::Common;
use crate::resources::ca_bundle::fnv1a64;

/// A panel: title, unit, the PromQL and its legend, and the alert threshold if one applies.
struct Panel {
    title: &'static str,
    unit: &'static str,
    expr: String,
    legend: &'static str,
    threshold: Option<f64>,
}

/// The dashboard JSON, as text (the ConfigMap's value).
pub fn json(common: &Common, scope: &Scope) -> String {
    let a = &common.values.monitoring.alerts;
    let ns = common.namespace();
    let cluster = &common.names.cluster;
    let inst = &scope.instances;
    let mut panels = vec![
        Panel {
            title: "Instances up",
            unit: "short",
            expr: format!("sum(cnpg_collector_up{{{inst}}})"),
            legend: "up",
            threshold: None,
        },
        Panel {
            title: "Replication lag",
            unit: "s",
            expr: scope.replication_lag(),
            legend: "{{pod}}",
            threshold: Some(lag_threshold(common.values)),
        },
        Panel {
            title: "Connections (% of max_connections)",
            unit: "percent",
            expr: scope.connections_percent(),
            legend: "{{pod}}",
            threshold: Some(a.connections.threshold),
        },
        Panel {
            title: "Transaction ID age",
            unit: "short",
            expr: scope.xid_age(),
            legend: "{{datname}}",
            threshold: Some(a.xid_age.threshold),
        },
        Panel {
            title: "Longest transaction",
            unit: "s",
            expr: format!("max by (pod) (cnpg_backends_max_tx_duration_seconds{{{inst}}})"),
            legend: "{{pod}}",
            threshold: Some(a.long_transaction.threshold),
        },
        Panel {
            title: "Volumes used",
            unit: "percent",
            expr: scope.volume_percent(&format!("{}(-wal)?", scope.data_volumes)),
            legend: "{{persistentvolumeclaim}}",
            threshold: Some(a.data_volume.threshold),
        },
    ];
    if common.values.backup.enabled {
        panels.push(Panel {
            title: "Seconds since the last archived WAL",
            unit: "s",
            expr: format!(
                "max by (pod) (cnpg_pg_stat_archiver_seconds_since_last_archival{{{inst}}})"
            ),
            legend: "{{pod}}",
            threshold: None,
        });
        panels.push(Panel {
            title: "Age of the newest backup",
            unit: "s",
            expr: scope.backup_age(),
            legend: "age",
            threshold: crate::values::prometheus_duration_seconds(&a.last_backup.max_age),
        });
    }
    if !scope.poolers.is_empty() {
        let poolers: Vec<&str> = scope.poolers.iter().map(String::as_str).collect();
        panels.push(Panel {
            title: "PgBouncer clients waiting",
            unit: "short",
            expr: scope.pooler_waiting(&poolers),
            legend: "{{pod}}",
            threshold: Some(a.pooler_waiting.threshold),
        });
    }
    if !scope.certificates.is_empty() {
        let names: Vec<&str> = scope.certificates.iter().map(|(n, _)| n.as_str()).collect();
        panels.push(Panel {
            title: "Certificates: time to expiry",
            unit: "s",
            expr: format!(
                r#"certmanager_certificate_expiration_timestamp_seconds{{{}="{ns}", name=~"{}"}} - time()"#,
                a.namespace_labels.cert_manager,
                names.join("|")
            ),
            legend: "{{name}}",
            threshold: None,
        });
    }
    let panels: Vec<Json> = panels
        .into_iter()
        .enumerate()
        .map(|(index, panel)| panel_json(index, &panel))
        .collect();
    let dashboard = json!({
        "title": format!("PostgreSQL {ns}/{cluster}"),
        // A Grafana uid is at most 40 characters: a stable hash of the namespace and cluster.
        "uid": format!("cnpgtp-{:016x}", fnv1a64(format!("{ns}/{cluster}").as_bytes())),
        "tags": ["cnpgtp", "postgresql", "cloudnative-pg"],
        "schemaVersion": 39,
        "editable": false,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {"list": [{
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
        }]},
        "panels": panels,
    });
    serde_json::to_string_pretty(&dashboard).expect("the dashboard serializes")
}

/// Two panels per row, each 12 columns by 8 rows.
fn panel_json(index: usize, panel: &Panel) -> Json {
    let steps = match panel.threshold {
        Some(limit) => json!([{"color": "green", "value": null}, {"color": "red", "value": limit}]),
        None => json!([{"color": "green", "value": null}]),
    };
    json!({
        "id": index + 1,
        "type": "timeseries",
        "title": panel.title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index / 2) * 8},
        "fieldConfig": {
            "defaults": {
                "unit": panel.unit,
                "thresholds": {"mode": "absolute", "steps": steps},
                "custom": {"thresholdsStyle": {"mode": if panel.threshold.is_some() { "line" } else { "off" }}},
            },
            "overrides": [],
        },
        "targets": [{
            "refId": "A",
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "expr": panel.expr,
            "legendFormat": panel.legend,
        }],
    })
}
