//! Monitoring: the Cluster's `spec.monitoring`, the custom-queries ConfigMap, a PodMonitor for
//! the instances and one per Pooler, the PrometheusRule and the Grafana dashboard.
//!
//! The alerts and the dashboard watch what the rest of the plan renders (its Certificates, its
//! Poolers, its CA-bundle workload), so this module plans last and reads the other modules'
//! planned objects instead of re-deriving which exist.

mod alerts;
mod dashboard;

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::manifest::Kind;
use crate::plan::{Common, Planned};
use crate::resources::certs;
use crate::values::{ColumnUsage, Monitoring};

pub use alerts::Scope;

const COMPONENT: &str = "monitoring";

/// `spec.monitoring` of the Cluster: null unless a key differs from CloudNativePG's defaults, so
/// the default render does not change.
pub fn cluster_monitoring(common: &Common) -> Json {
    let m = &common.values.monitoring;
    let mut spec = serde_json::Map::new();
    if m.tls {
        spec.insert("tls".into(), json!({"enabled": true}));
    }
    if m.disable_default_queries {
        spec.insert("disableDefaultQueries".into(), json!(true));
    }
    let mut queries: Vec<Json> = Vec::new();
    if !m.custom_queries.is_empty() {
        queries.push(json!({"name": common.names.monitoring_queries, "key": "queries"}));
    }
    queries.extend(
        m.custom_queries_config_maps
            .iter()
            .map(|c| json!({"name": c.name, "key": c.key})),
    );
    if !queries.is_empty() {
        spec.insert("customQueriesConfigMap".into(), Json::Array(queries));
    }
    if spec.is_empty() {
        Json::Null
    } else {
        Json::Object(spec)
    }
}

/// The monitoring objects, given everything else the plan renders.
pub fn plan(common: &Common, rendered: &[Planned]) -> Vec<Planned> {
    let m = &common.values.monitoring;
    let mut planned: Vec<Planned> = queries_config_map(common).into_iter().collect();
    // The rest of the plan is surveyed only for what watches it (the default render has none).
    if !m.pod_monitors.enabled && !m.alerts.enabled && !m.dashboard.enabled {
        return planned;
    }
    let scope = Scope::new(common, rendered);
    if m.pod_monitors.enabled {
        planned.push(instance_pod_monitor(common));
        for pooler in &scope.poolers {
            planned.push(pooler_pod_monitor(common, pooler));
        }
    }
    if m.alerts.enabled {
        let mut rule = with_monitoring_labels(
            common,
            common.object(
                "prometheus-rule.json",
                Kind::PrometheusRule,
                &common.names.alert_rules,
                COMPONENT,
                json!({
                    "group": format!("cnpgtp.{}.{}", common.namespace(), common.names.cluster),
                    "rules": alerts::rules(common, &scope),
                }),
            ),
        );
        // Says on the object why an alert a reviewer expects is not there.
        if !m.alerts.exclude.is_empty() {
            rule = rule.with_annotation("cnpgtp.io/excluded-alerts", &m.alerts.exclude.join(","));
        }
        planned.push(rule);
    }
    if m.dashboard.enabled {
        let mut dashboard = common.object(
            "config-map.json",
            Kind::ConfigMap,
            &common.names.dashboard,
            COMPONENT,
            json!({"data": {"cnpgtp.json": dashboard::json(common, &scope)}}),
        );
        for (key, value) in &m.dashboard.labels {
            dashboard = dashboard.with_label(key, value);
        }
        planned.push(dashboard);
    }
    planned
}

/// `monitoring.customQueries` as the ConfigMap the Cluster names, if there are any.
fn queries_config_map(common: &Common) -> Option<Planned> {
    let m = &common.values.monitoring;
    (!m.custom_queries.is_empty()).then(|| {
        common
            .object(
                "config-map.json",
                Kind::ConfigMap,
                &common.names.monitoring_queries,
                COMPONENT,
                json!({"data": {"queries": custom_queries_yaml(m)}}),
            )
            // CloudNativePG reloads the queries when a ConfigMap with this label changes.
            .with_label("cnpg.io/reload", "")
    })
}

/// The labels the Prometheus selects PodMonitors and PrometheusRules by.
fn with_monitoring_labels(common: &Common, mut planned: Planned) -> Planned {
    for (key, value) in &common.values.monitoring.labels {
        planned = planned.with_label(key, value);
    }
    planned
}

/// The scrape endpoint's fields: HTTPS verified against the server CA when the metrics use
/// TLS. The name verified is a service name in the server certificate: Prometheus scrapes pod
/// IPs, and CloudNativePG's own PodMonitors skip verification instead.
fn endpoint(common: &Common, tls: bool, server_name: &str) -> Json {
    let m = &common.values.monitoring;
    json!({
        "interval": m.pod_monitors.interval,
        "tls_ca_secret": tls.then(|| certs::server_ca_secret(common)),
        "tls_server_name": tls.then_some(server_name),
    })
}

/// A PodMonitor selecting `selector`, with the endpoint fields.
fn pod_monitor(
    common: &Common,
    name: &str,
    selector: Json,
    tls: bool,
    server_name: &str,
) -> Planned {
    let mut fields = endpoint(common, tls, server_name);
    fields["selector"] = selector;
    let planned = common.object(
        "pod-monitor.json",
        Kind::PodMonitor,
        name,
        COMPONENT,
        fields,
    );
    with_monitoring_labels(common, planned)
}

/// Named like the Cluster, so the `job` label reads `<namespace>/<cluster>`. `cnpg.io/podRole`
/// keeps the pooler pods out: they carry `cnpg.io/cluster` and a `metrics` port too.
fn instance_pod_monitor(common: &Common) -> Planned {
    let names = &common.names;
    pod_monitor(
        common,
        &names.cluster,
        json!({"cnpg.io/cluster": names.cluster, "cnpg.io/podRole": "instance"}),
        common.values.monitoring.tls,
        &names.rw_service,
    )
}

/// Named like the Pooler (`job` = `<namespace>/<pooler>`); CloudNativePG serves the pooler's
/// metrics with the server certificate, whose names include every pooler service.
fn pooler_pod_monitor(common: &Common, pooler: &str) -> Planned {
    pod_monitor(
        common,
        pooler,
        json!({"cnpg.io/poolerName": pooler, "cnpg.io/podRole": "pooler"}),
        common.values.monitoring.pooler_tls,
        pooler,
    )
}

/// `monitoring.customQueries` in CloudNativePG's format, as the YAML its `queries` key holds.
/// Keys are sorted, so the text is deterministic.
fn custom_queries_yaml(m: &Monitoring) -> String {
    let queries: BTreeMap<&String, Json> = m
        .custom_queries
        .iter()
        .map(|(name, q)| {
            let metrics: Vec<Json> = q
                .metrics
                .iter()
                .map(|columns| {
                    let columns: serde_json::Map<String, Json> = columns
                        .iter()
                        .map(|(column, c)| {
                            (
                                column.clone(),
                                json!({"usage": usage_name(c.usage), "description": c.description}),
                            )
                        })
                        .collect();
                    Json::Object(columns)
                })
                .collect();
            let mut query = json!({"query": q.query, "metrics": metrics});
            if q.primary {
                query["primary"] = json!(true);
            }
            if !q.target_databases.is_empty() {
                query["target_databases"] = json!(q.target_databases);
            }
            (name, query)
        })
        .collect();
    crate::yaml::object_to_string(&queries).expect("queries serialize")
}

fn usage_name(usage: ColumnUsage) -> &'static str {
    match usage {
        ColumnUsage::Label => "LABEL",
        ColumnUsage::Gauge => "GAUGE",
        ColumnUsage::Counter => "COUNTER",
        ColumnUsage::Duration => "DURATION",
        ColumnUsage::Mappedmetric => "MAPPEDMETRIC",
        ColumnUsage::Histogram => "HISTOGRAM",
        ColumnUsage::Discard => "DISCARD",
    }
}
