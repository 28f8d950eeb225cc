//! Values of the NetworkPolicies: who may reach the instances' and poolers' ports.
//!
//! Only sources are configured: the destinations (instances, each Pooler) and their ports are
//! fixed by CloudNativePG, and the policies restrict ingress only (see `resources::network`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkPolicy {
    /// Render NetworkPolicy `<name>-instances` and one per Pooler (`<pooler>`). Off in the
    /// defaults: a source missing from this list is cut off as soon as they apply.
    pub enabled: bool,
    /// The CloudNativePG operator (status port 8000 and PostgreSQL 5432 of the instances).
    pub operator: PeerPods,
    /// The Teleport database service connecting to the `-rw`/`-ro` services (the instances'
    /// 5432), in registration modes operator, job and none. Agent mode admits the rendered agent.
    pub teleport: PeerPods,
    /// The applications: the poolers' 5432, and the instances' with `direct` or without poolers.
    pub applications: Applications,
    /// The Prometheus scraping the metrics ports (instances 9187, poolers 9127): admitted only
    /// with `monitoring.podMonitors.enabled`.
    pub monitoring: PeerPods,
}

/// Pods of one namespace, selected by labels.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PeerPods {
    /// The namespace (a DNS label), matched by its `kubernetes.io/metadata.name` label.
    pub namespace: String,
    /// Labels of the pods; empty admits every pod of the namespace.
    pub pod_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Applications {
    /// Who connects: each entry a namespace, pod labels, or both (labels alone: pods of the
    /// database's namespace; a namespace alone: all its pods).
    pub from: Vec<ApplicationPeer>,
    /// Also admit them to the instances (the `-rw`, `-ro`, `-r` services), not only the
    /// poolers. Without poolers they are always admitted there.
    pub direct: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApplicationPeer {
    /// The namespace (a DNS label); null is the database's namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Labels of the pods; empty admits every pod of the namespace.
    #[serde(default)]
    pub pod_labels: BTreeMap<String, String>,
}
