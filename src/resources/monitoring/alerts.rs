//! The alerting rules: CloudNativePG's health (instances, replication, connections, wraparound,
//! volumes, archiving, backups), PgBouncer, and what only this stack has (its certificates and
//! the client-CA bundle).
//!
//! Metric names come from CloudNativePG's default queries and collectors, the Barman Cloud
//! plugin, cert-manager, external-secrets, kubelet and kube-state-metrics; `tests/monitoring.rs`
//! checks each against its source and runs every rule through `promtool test rules`.
//! Series are selected by namespace and pod name rather than by `job`, so the rules work with a
//! Prometheus that scrapes the pods some other way than through these PodMonitors.

use serde_json::{Value as Json, json};

use crate::manifest::Kind;
use crate::plan::{Common, Planned};
use crate::resources::ca_bundle;
use crate::values::{
    ALERT_NAMES, BundleMechanism, go_duration_seconds, prometheus_duration_seconds,
};

/// What the rules watch: the series selectors of this cluster's instances and poolers and the
/// objects the rest of the plan renders.
pub struct Scope {
    /// The cluster's namespace.
    pub namespace: String,
    /// `namespace="…", pod=~"<cluster>-[1-9][0-9]*"`: the instance pods, never the poolers'
    /// (`<pooler>-<replicaset>-<pod>`).
    pub instances: String,
    /// The instances' data volumes, `<cluster>-N`, as a PVC name pattern (`-wal` appended for
    /// the WAL volumes).
    pub data_volumes: String,
    /// The label holding the namespace in kubelet's and kube-state-metrics' series.
    kubernetes_namespace: String,
    /// The rendered Poolers' names.
    pub poolers: Vec<String>,
    /// Each rendered Certificate's name and `renewBefore` in seconds.
    pub certificates: Vec<(String, f64)>,
    /// The CA bundle's ExternalSecret or sync Deployment, by name.
    pub bundle: Option<(BundleMechanism, String)>,
}

impl Scope {
    pub fn new(common: &Common, rendered: &[Planned]) -> Self {
        let name_of = |p: &Planned| p.metadata.name.clone();
        let component = |p: &Planned| p.metadata.component == ca_bundle::COMPONENT;
        let bundle = rendered.iter().find_map(|p| match p.kind {
            Kind::ExternalSecret if component(p) => {
                Some((BundleMechanism::ExternalSecrets, name_of(p)))
            }
            Kind::Deployment if component(p) => Some((BundleMechanism::SyncWorkload, name_of(p))),
            _ => None,
        });
        Self {
            namespace: common.namespace().to_string(),
            instances: format!(
                r#"namespace="{}", pod=~"{}-[1-9][0-9]*""#,
                common.namespace(),
                common.names.cluster
            ),
            data_volumes: format!("{}-[1-9][0-9]*", common.names.cluster),
            kubernetes_namespace: common
                .values
                .monitoring
                .alerts
                .namespace_labels
                .kubernetes
                .clone(),
            poolers: rendered
                .iter()
                .filter(|p| p.kind == Kind::Pooler)
                .map(name_of)
                .collect(),
            certificates: rendered
                .iter()
                .filter(|p| p.kind == Kind::Certificate)
                .map(|p| {
                    let renew = p.context["renew_before"]
                        .as_str()
                        .and_then(go_duration_seconds);
                    (name_of(p), renew.unwrap_or_default())
                })
                .collect(),
            bundle,
        }
    }

    /// The pods of these Poolers (their Deployments': `<pooler>-<replicaset hash>-<pod hash>`).
    pub fn pooler_pods(&self, poolers: &[&str]) -> String {
        let patterns: Vec<String> = poolers
            .iter()
            .map(|p| format!("{p}-[a-z0-9]+-[a-z0-9]+"))
            .collect();
        format!(
            r#"namespace="{}", pod=~"{}""#,
            self.namespace,
            patterns.join("|")
        )
    }

    /// Per replica, how far its replay is behind, in seconds. The series the alerts and the
    /// dashboard share are built here, so a panel shows what its alert evaluates.
    pub fn replication_lag(&self) -> String {
        format!(
            "max by (pod) (cnpg_pg_replication_lag{{{}}})",
            self.instances
        )
    }

    /// Per instance, backends as a percentage of `max_connections`.
    pub fn connections_percent(&self) -> String {
        let inst = &self.instances;
        format!(
            r#"100 * sum by (pod) (cnpg_backends_total{{{inst}}}) / on (pod) max by (pod) (cnpg_pg_settings_setting{{{inst}, name="max_connections"}})"#
        )
    }

    /// Per database, the age of its oldest unfrozen transaction ID.
    pub fn xid_age(&self) -> String {
        format!(
            "max by (datname) (cnpg_pg_database_xid_age{{{}}})",
            self.instances
        )
    }

    /// Per PVC whose name matches `pvc`, the percentage used.
    pub fn volume_percent(&self, pvc: &str) -> String {
        let selector = format!(
            r#"{}="{}", persistentvolumeclaim=~"{pvc}""#,
            self.kubernetes_namespace, self.namespace
        );
        format!(
            "max by (persistentvolumeclaim) (100 * kubelet_volume_stats_used_bytes{{{selector}}} / kubelet_volume_stats_capacity_bytes{{{selector}}})"
        )
    }

    /// Seconds since the newest Barman Cloud backup (the plugin reports 0 before the first).
    pub fn backup_age(&self) -> String {
        format!(
            "time() - max(barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{{{}}})",
            self.instances
        )
    }

    /// Per pod of these Poolers, clients waiting for a server connection.
    pub fn pooler_waiting(&self, poolers: &[&str]) -> String {
        format!(
            "sum by (pod) (cnpg_pgbouncer_pools_cl_waiting{{{}}})",
            self.pooler_pods(poolers)
        )
    }
}

/// The replication-lag threshold in seconds: the values' plus a replica cluster's
/// `minApplyDelay`, which it is always behind by design.
pub fn lag_threshold(values: &crate::values::Values) -> f64 {
    values.monitoring.alerts.replication_lag.threshold + apply_delay(values)
}

#[derive(Clone, Copy)]
enum Severity {
    Warning,
    Critical,
}

struct Alert {
    name: &'static str,
    severity: Severity,
    expr: String,
    for_: String,
    summary: String,
    description: String,
    /// Labels that tell two rules of the same alert apart (the Pooler).
    extra_labels: Vec<(&'static str, String)>,
}

impl Alert {
    fn new(name: &'static str, severity: Severity, for_: &str, expr: String) -> Self {
        debug_assert!(
            ALERT_NAMES.contains(&name),
            "{name} is listed in ALERT_NAMES"
        );
        Self {
            name,
            severity,
            expr,
            for_: for_.to_string(),
            summary: String::new(),
            description: String::new(),
            extra_labels: Vec::new(),
        }
    }

    fn says(mut self, summary: impl Into<String>, description: impl Into<String>) -> Self {
        self.summary = summary.into();
        self.description = description.into();
        self
    }
}

/// `replica.minApplyDelay` in seconds when this cluster replays with it (a replica cluster, or a
/// distributed-topology member that is not the primary), else 0.
fn apply_delay(values: &crate::values::Values) -> f64 {
    let r = &values.replica;
    let replaying = values.replica_active() && r.primary.as_deref() != Some(values.name.as_str());
    match &r.min_apply_delay {
        Some(delay) if replaying => go_duration_seconds(delay).unwrap_or_default(),
        _ => 0.0,
    }
}

fn seconds(duration: &str) -> f64 {
    prometheus_duration_seconds(duration).unwrap_or_default()
}

/// PromQL writes numbers in any form; whole numbers without a fraction read best.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// Every rule this render has, in the order of `ALERT_NAMES`, without the excluded ones.
pub fn rules(common: &Common, scope: &Scope) -> Vec<Json> {
    let values = common.values;
    let a = &values.monitoring.alerts;
    let ns = common.namespace();
    let cluster = &common.names.cluster;
    let inst = &scope.instances;
    let instances = values.postgres.instances;
    let mut alerts = Vec::new();

    let up = format!("(count(cnpg_collector_up{{{inst}}} == 1) or on() vector(0))");
    alerts.push(
        Alert::new(
            "CnpgtpClusterDown",
            Severity::Critical,
            &a.instances_down.for_,
            format!("{up} == 0"),
        )
        .says(
            format!("No PostgreSQL instance of {ns}/{cluster} is up"),
            "No instance reports PostgreSQL up: the database is unavailable.",
        ),
    );
    if instances > 1 {
        alerts.push(
            Alert::new("CnpgtpInstancesDown", Severity::Warning, &a.instances_down.for_, format!("{up} < {instances}"))
                .says(format!("Fewer than {instances} PostgreSQL instances of {ns}/{cluster} are up"), "Fewer instances than postgres.instances report PostgreSQL up: a failover now has fewer replicas to choose from."),
        );
        alerts.push(
            Alert::new("CnpgtpFailover", Severity::Warning, "0m", format!("max(changes(cnpg_pg_replication_in_recovery{{{inst}}}[{}])) > 0", a.failover.window))
                .says(format!("The primary of {ns}/{cluster} changed"), format!("An instance entered or left recovery within {}: a failover or switchover happened. Check why.", a.failover.window)),
        );
    }
    let lag = lag_threshold(values);
    alerts.push(
        Alert::new(
            "CnpgtpReplicationLag",
            Severity::Warning,
            &a.replication_lag.for_,
            format!("{} > {}", scope.replication_lag(), number(lag)),
        )
        .says(
            format!(
                "Replica {{{{ $labels.pod }}}} of {ns}/{cluster} is more than {} s behind",
                number(lag)
            ),
            format!(
                "A replica has replayed WAL more than {} s behind the primary.",
                number(lag)
            ),
        ),
    );
    alerts.push(
        Alert::new(
            "CnpgtpConnectionsNearLimit",
            Severity::Warning,
            &a.connections.for_,
            format!(
                "{} > {}",
                scope.connections_percent(),
                number(a.connections.threshold)
            ),
        )
        .says(
            format!(
                "{{{{ $labels.pod }}}} of {ns}/{cluster} uses more than {}% of max_connections",
                number(a.connections.threshold)
            ),
            "New connections will be refused once max_connections is reached.",
        ),
    );
    alerts.push(
        Alert::new("CnpgtpXidWraparound", Severity::Warning, &a.xid_age.for_, format!("{} > {}", scope.xid_age(), number(a.xid_age.threshold)))
            .says(format!("Database {{{{ $labels.datname }}}} of {ns}/{cluster} is more than {} transactions past its oldest unfrozen one", number(a.xid_age.threshold)), "PostgreSQL stops accepting writes about 2.1 billion transactions after the oldest unfrozen one; vacuum is not keeping up."),
    );
    alerts.push(
        Alert::new("CnpgtpLongTransaction", Severity::Warning, &a.long_transaction.for_, format!("max by (pod, datname, usename) (cnpg_backends_max_tx_duration_seconds{{{inst}}}) > {}", number(a.long_transaction.threshold)))
            .says(format!("{{{{ $labels.usename }}}} has had a transaction open for more than {} s on {{{{ $labels.pod }}}} of {ns}/{cluster}", number(a.long_transaction.threshold)), "A long transaction holds back vacuum (bloat, wraparound) and may hold locks others wait for."),
    );
    let k8s_ns = &a.namespace_labels.kubernetes;
    alerts.push(
        Alert::new("CnpgtpDataVolumeFilling", Severity::Warning, &a.data_volume.for_, format!("{} > {}", scope.volume_percent(&scope.data_volumes), number(a.data_volume.threshold)))
            .says(format!("Volume {{{{ $labels.persistentvolumeclaim }}}} of {ns}/{cluster} is more than {}% full", number(a.data_volume.threshold)), "PostgreSQL stops when its data volume is full; grow postgres.storage.size (CloudNativePG resizes online where the StorageClass allows it)."),
    );
    if values.postgres.wal_storage.size.is_some() {
        alerts.push(
            Alert::new("CnpgtpWalVolumeFilling", Severity::Critical, &a.wal_volume.for_, format!("{} > {}", scope.volume_percent(&format!("{}-wal", scope.data_volumes)), number(a.wal_volume.threshold)))
                .says(format!("WAL volume {{{{ $labels.persistentvolumeclaim }}}} of {ns}/{cluster} is more than {}% full", number(a.wal_volume.threshold)), "PostgreSQL stops when the WAL volume is full; WAL piles up when archiving fails or a replication slot holds it."),
        );
    }
    if values.backup.enabled {
        alerts.push(
            Alert::new("CnpgtpWalArchivingFailing", Severity::Critical, &a.wal_archiving.for_, format!("max by (pod) (cnpg_pg_stat_archiver_last_failed_time{{{inst}}} - cnpg_pg_stat_archiver_last_archived_time{{{inst}}}) > 0"))
                .says(format!("WAL archiving of {ns}/{cluster} is failing"), "The last archive attempt failed after the last success: point-in-time recovery stops at the last archived WAL, and WAL piles up on the volume."),
        );
        let scheduled = values
            .backup
            .schedules
            .iter()
            .any(|s| s.method == crate::values::BackupMethod::Plugin);
        if scheduled {
            let last = format!(
                "max(barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{{{inst}}})"
            );
            alerts.push(
                Alert::new("CnpgtpBackupTooOld", Severity::Warning, &a.last_backup.for_, format!("{} > {}", scope.backup_age(), number(seconds(&a.last_backup.max_age))))
                    .says(format!("The newest backup of {ns}/{cluster} is older than {}", a.last_backup.max_age), format!("No base backup has completed within {}: a restore would replay more WAL, or have none to start from.", a.last_backup.max_age)),
            );
            alerts.push(
                Alert::new("CnpgtpBackupFailed", Severity::Warning, &a.last_backup.for_, format!("max(barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp{{{inst}}}) > {last}"))
                    .says(format!("The last backup of {ns}/{cluster} failed"), "The newest backup attempt failed after the newest successful one."),
            );
        }
    }
    for pooler in &scope.poolers {
        let pods = scope.pooler_pods(&[pooler]);
        let mut down = Alert::new(
            "CnpgtpPoolerDown",
            Severity::Critical,
            &a.pooler_down.for_,
            format!("(count(cnpg_pgbouncer_up{{{pods}}} == 1) or on() vector(0)) == 0"),
        )
        .says(
            format!("No PgBouncer pod of {ns}/{pooler} is up"),
            "Clients of this pooler cannot connect.",
        );
        down.extra_labels.push(("pooler", pooler.clone()));
        alerts.push(down);
    }
    for pooler in &scope.poolers {
        let mut waiting = Alert::new("CnpgtpPoolerClientsWaiting", Severity::Warning, &a.pooler_waiting.for_, format!("{} > {}", scope.pooler_waiting(&[pooler]), number(a.pooler_waiting.threshold)))
            .says(format!("More than {} clients wait for a server connection on {{{{ $labels.pod }}}} of {ns}/{pooler}", number(a.pooler_waiting.threshold)), "PgBouncer's pools are exhausted: queries queue. Raise default_pool_size, or find what holds the connections.");
        waiting.extra_labels.push(("pooler", pooler.clone()));
        alerts.push(waiting);
    }
    certificate_alerts(common, scope, &mut alerts);
    if let Some((mechanism, name)) = &scope.bundle {
        let expr = match mechanism {
            BundleMechanism::ExternalSecrets => {
                let es_ns = &a.namespace_labels.external_secrets;
                format!(
                    r#"(max(externalsecret_status_condition{{{es_ns}="{ns}", name="{name}", condition="Ready", status="True"}}) or on() vector(0)) < 1"#
                )
            }
            BundleMechanism::SyncWorkload => format!(
                r#"(max(kube_deployment_status_replicas_available{{{k8s_ns}="{ns}", deployment="{name}"}}) or on() vector(0)) < 1"#
            ),
        };
        alerts.push(
            Alert::new("CnpgtpClientCaBundleStale", Severity::Warning, &a.client_ca_bundle.for_, expr)
                .says(format!("The client-CA bundle {ns}/{} is not being refreshed", common.names.client_ca_bundle), "A new Teleport database client CA (after a CA rotation) would not reach PostgreSQL, and Teleport users would be refused."),
        );
    }

    alerts
        .into_iter()
        .filter(|alert| !a.exclude.iter().any(|e| e == alert.name))
        .map(|alert| rule_json(common, alert))
        .collect()
}

/// Not Ready, renewal overdue (expiry closer than half of `renewBefore`: cert-manager should
/// have renewed it by then, so even the 10-year CA alerts months before it ends), and not
/// watched (fewer series than rendered certificates: cert-manager is not scraped).
fn certificate_alerts(common: &Common, scope: &Scope, alerts: &mut Vec<Alert>) {
    if scope.certificates.is_empty() {
        return;
    }
    let a = &common.values.monitoring.alerts;
    let ns = common.namespace();
    let cm_ns = &a.namespace_labels.cert_manager;
    let names: Vec<&str> = scope.certificates.iter().map(|(n, _)| n.as_str()).collect();
    let matcher = format!(r#"{cm_ns}="{ns}", name=~"{}""#, names.join("|"));
    alerts.push(
        Alert::new("CnpgtpCertificateNotReady", Severity::Warning, &a.certificates.for_, format!(r#"max by (name) (certmanager_certificate_ready_status{{{matcher}, condition!="True"}}) == 1"#))
            .says(format!("Certificate {ns}/{{{{ $labels.name }}}} is not Ready"), "cert-manager cannot issue or renew it: see `kubectl describe certificate` and its CertificateRequest."),
    );
    let overdue: Vec<String> = scope
        .certificates
        .iter()
        .map(|(name, renew_before)| {
            format!(
                r#"((certmanager_certificate_expiration_timestamp_seconds{{{cm_ns}="{ns}", name="{name}"}} > 0) - time() < {})"#,
                number((renew_before / 2.0).floor())
            )
        })
        .collect();
    alerts.push(
        Alert::new("CnpgtpCertificateRenewalOverdue", Severity::Warning, &a.certificates.for_, overdue.join(" or "))
            .says(format!("Certificate {ns}/{{{{ $labels.name }}}} was not renewed and expires within half its renewBefore"), "cert-manager should have renewed it at renewBefore; half of that window has passed."),
    );
    alerts.push(
        Alert::new("CnpgtpCertificatesNotWatched", Severity::Warning, "1h", format!(
            "(count(certmanager_certificate_expiration_timestamp_seconds{{{matcher}}}) or on() vector(0)) < {}",
            names.len()))
            .says(format!("cert-manager reports fewer than the {} certificates of {ns}/{}", names.len(), common.names.cluster), "Without cert-manager's metrics the certificate alerts cannot fire: check that cert-manager is scraped and monitoring.alerts.namespaceLabels.certManager."),
    );
}

fn rule_json(common: &Common, alert: Alert) -> Json {
    let a = &common.values.monitoring.alerts;
    let mut labels = a.labels.clone();
    labels.insert(
        "severity".into(),
        match alert.severity {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
        .into(),
    );
    labels.insert("namespace".into(), common.namespace().to_string());
    labels.insert("cnpg_cluster".into(), common.names.cluster.clone());
    for (key, value) in alert.extra_labels {
        labels.insert(key.into(), value);
    }
    json!({
        "alert": alert.name,
        "expr": alert.expr,
        "for": alert.for_,
        "labels": labels,
        "annotations": {
            "summary": alert.summary,
            "description": alert.description,
            "runbook_url": format!("{}#{}", a.runbook_base_url, alert.name.to_lowercase()),
        },
    })
}
