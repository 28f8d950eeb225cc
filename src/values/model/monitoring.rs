//! Values of monitoring: the metrics endpoints' TLS, custom queries, the PodMonitors, the
//! alerts with their thresholds, and the Grafana dashboard.
//!
//! The PodMonitors, PrometheusRule and dashboard are off in the defaults: a plain cluster may not
//! have prometheus-operator's CRDs, and an object of an unknown kind fails the whole apply.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Monitoring {
    /// Serve the instances' metrics over HTTPS with the server certificate (the Cluster's
    /// `spec.monitoring.tls.enabled`; changing it restarts the instances); the PodMonitor then
    /// verifies it against the server CA.
    pub tls: bool,
    /// The same for the PgBouncer pods (each Pooler's `spec.monitoring.tls.enabled`, new in
    /// CloudNativePG 1.30: older CRDs refuse the field).
    pub pooler_tls: bool,
    /// Leave out CloudNativePG's default queries (`spec.monitoring.disableDefaultQueries`); the
    /// CloudNativePG alerts need them.
    pub disable_default_queries: bool,
    /// Extra metric queries in CloudNativePG's format (`<name>: {query, metrics}`), rendered as
    /// ConfigMap `<name>-monitoring-queries` with `cnpg.io/reload`.
    pub custom_queries: BTreeMap<String, CustomQuery>,
    /// Existing ConfigMaps in the namespace with more queries (`spec.monitoring.customQueriesConfigMap`).
    pub custom_queries_config_maps: Vec<ConfigMapKey>,
    /// Labels on the PodMonitors and the PrometheusRule: what the Prometheus selects them by
    /// (kube-prometheus-stack: `release: <its release>`).
    pub labels: BTreeMap<String, String>,
    /// PodMonitors for the instances and each Pooler.
    pub pod_monitors: PodMonitors,
    /// The PrometheusRule with the alerts.
    pub alerts: Alerts,
    /// A Grafana dashboard ConfigMap for the Grafana sidecar.
    pub dashboard: Dashboard,
}

/// One query in CloudNativePG's custom-queries format.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct CustomQuery {
    /// The SQL; runs as `cnpg_metrics_exporter` (a `pg_monitor` member) with `search_path`
    /// pinned to `pg_catalog, public, pg_temp`.
    pub query: String,
    /// One entry per result column: `{<column>: {usage, description}}`.
    pub metrics: Vec<BTreeMap<String, QueryColumn>>,
    /// Run on the primary only.
    #[serde(default)]
    pub primary: bool,
    /// Databases to run it in (`'*'` for all); empty is the application database.
    #[serde(default)]
    pub target_databases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QueryColumn {
    /// `LABEL`, `GAUGE`, `COUNTER`, `DURATION`, `MAPPEDMETRIC`, `HISTOGRAM` or `DISCARD`.
    pub usage: ColumnUsage,
    /// What the column measures (the metric's HELP text).
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ColumnUsage {
    Label,
    Gauge,
    Counter,
    Duration,
    Mappedmetric,
    Histogram,
    Discard,
}

/// A key of a ConfigMap.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigMapKey {
    /// ConfigMap name (in the cluster's namespace).
    pub name: String,
    /// Key holding the queries.
    pub key: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodMonitors {
    /// Render them (needs prometheus-operator's PodMonitor CRD).
    pub enabled: bool,
    /// Scrape interval, a Prometheus duration (`30s`); null is the Prometheus' own.
    pub interval: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Alerts {
    /// Render the PrometheusRule (needs prometheus-operator's PrometheusRule CRD).
    pub enabled: bool,
    /// Where `docs/runbooks.md` is published; each alert's `runbook_url` is this plus `#<alert>`.
    pub runbook_base_url: String,
    /// Extra labels on every alert (routing: team, pager).
    pub labels: BTreeMap<String, String>,
    /// Alerts to leave out, by name (`CnpgtpReplicationLag`).
    pub exclude: Vec<String>,
    /// The label that holds an object's namespace in each exporter's series.
    pub namespace_labels: NamespaceLabels,
    /// Fewer instances up than `postgres.instances` (warning), none up (critical).
    pub instances_down: AlertFor,
    /// A replica this many seconds behind the primary.
    pub replication_lag: AlertThreshold,
    /// The primary changed (failover or switchover) within this window.
    pub failover: FailoverWindow,
    /// Backends above this percentage of `max_connections`.
    pub connections: AlertThreshold,
    /// A database's transaction ID age above this many transactions (wraparound at about 2.1
    /// billion stops writes).
    pub xid_age: AlertThreshold,
    /// A transaction open longer than this many seconds.
    pub long_transaction: AlertThreshold,
    /// The data volume fuller than this percentage.
    pub data_volume: AlertThreshold,
    /// The WAL volume (or the data volume without one) fuller than this percentage.
    pub wal_volume: AlertThreshold,
    /// WAL archiving failing (the last failure after the last success).
    pub wal_archiving: AlertFor,
    /// The newest base backup older than `maxAge`, or the newest attempt failed (only with
    /// scheduled Barman Cloud backups).
    pub last_backup: BackupAge,
    /// More PgBouncer clients than this waiting for a server connection.
    pub pooler_waiting: AlertThreshold,
    /// No PgBouncer pod of a Pooler up.
    pub pooler_down: AlertFor,
    /// A rendered certificate not Ready, or past half its renewal window (cert-manager failed
    /// to renew it).
    pub certificates: AlertFor,
    /// The client-CA bundle not refreshed (ExternalSecret not Ready, or the sync workload down).
    pub client_ca_bundle: AlertFor,
}

/// Label names of namespaces in series other namespaces' exporters report: a Prometheus
/// without `honorLabels` renames the series' own `namespace` to `exported_namespace`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceLabels {
    /// In cert-manager's `certmanager_certificate_*` series.
    pub cert_manager: String,
    /// In external-secrets' `externalsecret_*` series.
    pub external_secrets: String,
    /// In kubelet's `kubelet_volume_stats_*` and kube-state-metrics' `kube_*` series
    /// (kube-prometheus-stack scrapes both with `honorLabels`).
    pub kubernetes: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlertThreshold {
    /// Fire above this value (the unit is the alert's).
    pub threshold: f64,
    /// How long the condition must hold, a Prometheus duration (`5m`).
    #[serde(rename = "for")]
    pub for_: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlertFor {
    /// How long the condition must hold, a Prometheus duration (`5m`).
    #[serde(rename = "for")]
    pub for_: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FailoverWindow {
    /// How long the alert stays firing after the primary changed, a Prometheus duration.
    pub window: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackupAge {
    /// The newest backup may be this old, a Prometheus duration (`26h` for a daily schedule).
    pub max_age: String,
    /// How long the condition must hold, a Prometheus duration (`5m`).
    #[serde(rename = "for")]
    pub for_: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dashboard {
    /// Render ConfigMap `<name>-dashboard` with a dashboard of this cluster.
    pub enabled: bool,
    /// Labels the Grafana sidecar selects dashboards by.
    pub labels: BTreeMap<String, String>,
}

/// Every alert cnpgtp can render, by name (what `alerts.exclude` may list; each has a section
/// in docs/runbooks.md).
pub const ALERT_NAMES: &[&str] = &[
    "CnpgtpClusterDown",
    "CnpgtpInstancesDown",
    "CnpgtpFailover",
    "CnpgtpReplicationLag",
    "CnpgtpConnectionsNearLimit",
    "CnpgtpXidWraparound",
    "CnpgtpLongTransaction",
    "CnpgtpDataVolumeFilling",
    "CnpgtpWalVolumeFilling",
    "CnpgtpWalArchivingFailing",
    "CnpgtpBackupTooOld",
    "CnpgtpBackupFailed",
    "CnpgtpPoolerDown",
    "CnpgtpPoolerClientsWaiting",
    "CnpgtpCertificateNotReady",
    "CnpgtpCertificateRenewalOverdue",
    "CnpgtpCertificatesNotWatched",
    "CnpgtpClientCaBundleStale",
];
