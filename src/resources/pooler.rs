//! The PgBouncer Poolers.
//!
//! CloudNativePG's automatic pooler integration needs `ca.key` in the client CA secret to sign
//! `<cluster>-pooler` (issue #2841, never fixed). cnpgtp instead gives the Pooler a certificate
//! cert-manager issued for `cnpg_pooler_pgbouncer` (`pgbouncer.serverTLSSecret`, CloudNativePG
//! >= 1.28) and the matching `authQuery`; the role and its lookup function come from the
//! > Cluster's bootstrap SQL (see `cnpg`). PgBouncer runs the query in database `postgres`.

use serde_json::{Value as Json, json};

use crate::manifest::Kind;
use crate::plan::{Common, Planned, container_resources};
use crate::resources::cnpg::{POOLER_AUTH_QUERY, node_affinity, tolerations};
use crate::values::{AntiAffinity, Metadata, PoolMode, Values};

/// `spec.template`: only what the values set. CloudNativePG merges a container named
/// `pgbouncer` into its own; `containers` is required by the PodSpec schema, so it is `[]` when
/// only scheduling is set.
fn pod_template(values: &Values, pooler: &str) -> Option<Json> {
    let t = &values.pooler.template;
    let resources = container_resources(&t.resources);
    let mut affinity = serde_json::Map::new();
    if let Some(node) = node_affinity(&t.node_affinity) {
        affinity.insert("nodeAffinity".into(), node);
    }
    // One pod per node where possible: a node failure then takes one PgBouncer, not the Pooler.
    let term = json!({
        "labelSelector": {"matchLabels": {"cnpg.io/poolerName": pooler}},
        "topologyKey": "kubernetes.io/hostname",
    });
    match t.pod_anti_affinity {
        Some(AntiAffinity::Required) => {
            affinity.insert(
                "podAntiAffinity".into(),
                json!({"requiredDuringSchedulingIgnoredDuringExecution": [term]}),
            );
        }
        Some(AntiAffinity::Preferred) => {
            affinity.insert("podAntiAffinity".into(), json!({"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]}));
        }
        None => {}
    }
    if resources.is_null()
        && t.node_selector.is_empty()
        && t.tolerations.is_empty()
        && affinity.is_empty()
    {
        return None;
    }
    let containers = if resources.is_null() {
        json!([])
    } else {
        json!([{"name": "pgbouncer", "resources": resources}])
    };
    let mut spec = json!({"containers": containers});
    if !t.node_selector.is_empty() {
        spec["nodeSelector"] = json!(t.node_selector);
    }
    if !t.tolerations.is_empty() {
        spec["tolerations"] = json!(tolerations(&t.tolerations));
    }
    if !affinity.is_empty() {
        spec["affinity"] = Json::Object(affinity);
    }
    Some(json!({"spec": spec}))
}

/// `spec.serviceTemplate`: only what the values set.
fn service_template(values: &Values) -> Option<Json> {
    let s = &values.pooler.service_template;
    let Metadata {
        labels,
        annotations,
    } = &s.metadata;
    let mut template = serde_json::Map::new();
    let mut metadata = serde_json::Map::new();
    if !labels.is_empty() {
        metadata.insert("labels".into(), json!(labels));
    }
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), json!(annotations));
    }
    if !metadata.is_empty() {
        template.insert("metadata".into(), Json::Object(metadata));
    }
    if let Some(kind) = s.kind {
        template.insert("spec".into(), json!({"type": kind}));
    }
    (!template.is_empty()).then_some(Json::Object(template))
}

pub fn plan(common: &Common) -> Vec<Planned> {
    let values = common.values;
    let names = &common.names;
    let kinds = common.poolers();
    let budget = &values.pooler.pod_disruption_budget;
    let budgets = kinds
        .iter()
        .filter(|_| budget.enabled && values.pooler.instances > 1)
        .map(|(_, name)| {
            // CloudNativePG labels a Pooler's pods cnpg.io/poolerName=<pooler> (pkg/utils
            // PgbouncerNameLabel), and nothing else carries that label.
            common.object(
                "pod-disruption-budget.json",
                Kind::PodDisruptionBudget,
                name,
                "pooler",
                json!({"max_unavailable": budget.max_unavailable, "pooler": name}),
            )
        })
        .collect::<Vec<_>>();
    let poolers = kinds
        .into_iter()
        .map(|(kind, name)| {
            common.object(
                "pooler.json",
                Kind::Pooler,
                name,
                "pooler",
                json!({
                    "cluster": names.cluster,
                    "instances": values.pooler.instances,
                    "type": kind,
                    "pool_mode": match values.pooler.pool_mode { PoolMode::Session => "session", PoolMode::Transaction => "transaction" },
                    "auth_query": POOLER_AUTH_QUERY,
                    "auth_secret": names.pooler_auth_cert,
                    "parameters": values.pooler.parameters,
                    "template": pod_template(values, name),
                    "service_template": service_template(values),
                    "metrics_tls": values.monitoring.pooler_tls.then_some(true),
                }),
            )
        })
        .collect::<Vec<_>>();
    poolers.into_iter().chain(budgets).collect()
}
