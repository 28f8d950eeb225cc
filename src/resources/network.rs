//! NetworkPolicies: the instances' and each Pooler's ports admit only the sources that need them.
//!
//! One policy per destination, ingress only (`policyTypes: [Ingress]`): a pod selected by any
//! policy is isolated for ingress, and a connection is allowed when one rule admits its source
//! and port. Egress is left open on purpose: the instances need DNS, the API server (the instance
//! manager reports status through it), the object store (the Barman Cloud plugin) and, for
//! replica clusters, other clusters, whose addresses a policy could only guess; a missing egress
//! rule would stop archiving or failover, where a missing ingress rule shows at once.
//!
//! Sources, from CloudNativePG's networking guide and its labels (pkg/utils):
//! - the cluster's own pods (`cnpg.io/cluster`, not `cnpg.io/podRole: pooler`): streaming
//!   replication and the status port between instances, and the join Job's `pg_basebackup`
//!   (Job pods carry `cnpg.io/jobRole`, no `podRole`, hence `NotIn` rather than `instance`);
//! - the operator, on 8000 and 5432;
//! - this cluster's poolers (`cnpg.io/poolerName`), on 5432;
//! - the Teleport database service, on 5432: it connects to the `-rw`/`-ro` services, i.e. the
//!   instances, never through the poolers;
//! - the applications, on the poolers' 5432, and on the instances' with `direct` or without
//!   poolers;
//! - the Prometheus, on the metrics ports, when PodMonitors are rendered (nothing else scrapes).

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::manifest::Kind;
use crate::plan::{Common, Planned};
use crate::resources::teleport;
use crate::values::{PeerPods, Registration, Values};

/// PostgreSQL on the instances, PgBouncer on the poolers.
const POSTGRES: u16 = 5432;
/// The instance manager's status endpoint the operator (and other instances) query.
const STATUS: u16 = 8000;
/// The instances' metrics exporter.
const INSTANCE_METRICS: u16 = 9187;
/// PgBouncer's metrics exporter.
const POOLER_METRICS: u16 = 9127;

/// The label every namespace carries with its own name (Kubernetes >= 1.22).
const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

pub fn plan(common: &Common) -> Vec<Planned> {
    let values = common.values;
    let np = &values.network_policy;
    if !np.enabled {
        return Vec::new();
    }
    let names = &common.names;
    let pooler_names: Vec<&str> = common.poolers().into_iter().map(|(_, name)| name).collect();
    let applications = application_peers(values);
    let scraped = values.monitoring.pod_monitors.enabled;

    let mut instances = vec![
        rule(
            &[json!({"podSelector": {
                "matchLabels": {"cnpg.io/cluster": names.cluster},
                "matchExpressions": [{"key": "cnpg.io/podRole", "operator": "NotIn", "values": ["pooler"]}],
            }})],
            &[POSTGRES, STATUS],
        ),
        rule(&[peer_pods(&np.operator)], &[POSTGRES, STATUS]),
    ];
    if !pooler_names.is_empty() {
        instances.push(rule(
            &[json!({"podSelector": {"matchExpressions": [
                {"key": "cnpg.io/poolerName", "operator": "In", "values": pooler_names},
            ]}})],
            &[POSTGRES],
        ));
    }
    instances.push(rule(&[teleport_peer(values)], &[POSTGRES]));
    if !applications.is_empty() && (np.applications.direct || pooler_names.is_empty()) {
        instances.push(rule(&applications, &[POSTGRES]));
    }
    if scraped {
        instances.push(rule(&[peer_pods(&np.monitoring)], &[INSTANCE_METRICS]));
    }
    let instance_pods = json!({"matchLabels": {
        "cnpg.io/cluster": names.cluster, "cnpg.io/podRole": "instance",
    }});
    let mut planned = vec![policy(
        common,
        &names.instances_policy,
        &instance_pods,
        &instances,
    )];
    for name in &pooler_names {
        let mut rules = Vec::new();
        if !applications.is_empty() {
            rules.push(rule(&applications, &[POSTGRES]));
        }
        if scraped {
            rules.push(rule(&[peer_pods(&np.monitoring)], &[POOLER_METRICS]));
        }
        // No rule at all still isolates the pods: nobody may connect, which is what an empty
        // `applications.from` says (the values checks warn about it).
        let pods = json!({"matchLabels": {"cnpg.io/poolerName": name}});
        planned.push(policy(common, name, &pods, &rules));
    }
    planned
}

fn policy(common: &Common, name: &str, pod_selector: &Json, ingress: &[Json]) -> Planned {
    common.object(
        "network-policy.json",
        Kind::NetworkPolicy,
        name,
        "network",
        json!({"pod_selector": pod_selector, "ingress": ingress}),
    )
}

fn rule(from: &[Json], ports: &[u16]) -> Json {
    let ports: Vec<Json> = ports
        .iter()
        .map(|port| json!({"protocol": "TCP", "port": port}))
        .collect();
    json!({"from": from, "ports": ports})
}

/// Pods of another namespace: namespace and pod selector in one peer, so both must match.
fn peer_pods(peer: &PeerPods) -> Json {
    json!({
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: peer.namespace}},
        "podSelector": {"matchLabels": peer.pod_labels},
    })
}

/// The Teleport database service: the rendered agent in agent mode, else the one the values name.
/// With `none` the databases are still served by some agent: the one the values name.
fn teleport_peer(values: &Values) -> Json {
    match values.teleport.registration {
        Registration::Agent => json!({"podSelector": {
            "matchLabels": teleport::agent_selector(values),
        }}),
        Registration::Operator | Registration::Job | Registration::None => {
            peer_pods(&values.network_policy.teleport)
        }
    }
}

/// One peer per `applications.from` entry; without a namespace, a pod selector alone, which
/// Kubernetes reads as the policy's (the database's) namespace.
fn application_peers(values: &Values) -> Vec<Json> {
    values
        .network_policy
        .applications
        .from
        .iter()
        .map(|peer| {
            let pods = json!({"matchLabels": peer.pod_labels});
            match &peer.namespace {
                Some(namespace) => json!({
                    "namespaceSelector": {"matchLabels": BTreeMap::from([(NAMESPACE_NAME, namespace)])},
                    "podSelector": pods,
                }),
                None => json!({"podSelector": pods}),
            }
        })
        .collect()
}
