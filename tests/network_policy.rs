//! The rendered NetworkPolicies admit exactly who they should.
//!
//! A small evaluator of Kubernetes NetworkPolicy ingress semantics (networking.k8s.io/v1, as the
//! API reference states them) runs over the policies rendered from a values file, against a
//! table of (source pod, destination pod, port) -> allowed or denied:
//! - a pod is isolated for ingress when some policy of its namespace selects it with `Ingress`
//!   in `policyTypes` (missing `policyTypes`: `Ingress`); a pod no policy selects admits all;
//! - an isolated pod admits a connection when some policy selecting it has an ingress rule whose
//!   `from` matches the source and whose `ports` match the port;
//! - `from` missing or empty matches every source; a peer with `podSelector` alone matches pods
//!   of the policy's namespace, with `namespaceSelector` alone every pod of those namespaces,
//!   with both (in one peer) pods matching both; peers in a list are alternatives;
//! - `ports` missing or empty matches every port; `protocol` defaults to TCP; `endPort` widens a
//!   port into a range;
//! - a selector matches when all `matchLabels` and all `matchExpressions` hold (`In`, `NotIn`,
//!   `Exists`, `DoesNotExist`; `NotIn` holds for a pod without the key); an empty one matches all.
//!
//! Namespaces carry only `kubernetes.io/metadata.name`, as a plain cluster's do. The table covers
//! every rule (removing any one of them turns an allowed case into a denial) and each policy
//! (removing one turns a denial into an allowed case), which is also what shows it can fail.

mod common;

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

// ---------------------------------------------------------------------------------------------
// The evaluator

#[derive(Debug, Clone)]
struct Pod {
    name: &'static str,
    namespace: &'static str,
    labels: BTreeMap<String, String>,
}

fn pod(name: &'static str, namespace: &'static str, labels: &[(&str, &str)]) -> Pod {
    Pod {
        name,
        namespace,
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    }
}

fn namespace_labels(namespace: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(
        "kubernetes.io/metadata.name".to_string(),
        namespace.to_string(),
    )])
}

/// A label selector; `None` (absent) is handled by the caller, as its meaning depends on where.
fn selects(selector: &Json, labels: &BTreeMap<String, String>) -> bool {
    let match_labels = selector["matchLabels"].as_object().into_iter().flatten();
    let labels_hold = match_labels
        .into_iter()
        .all(|(k, v)| labels.get(k).map(String::as_str) == Some(v.as_str().unwrap()));
    let expressions = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten();
    let expressions_hold = expressions.into_iter().all(|e| {
        let key = e["key"].as_str().unwrap();
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().unwrap())
            .collect();
        let value = labels.get(key).map(String::as_str);
        match e["operator"].as_str().unwrap() {
            "In" => value.is_some_and(|v| values.contains(&v)),
            "NotIn" => value.is_none_or(|v| !values.contains(&v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            other => panic!("no selector operator {other}"),
        }
    });
    labels_hold && expressions_hold
}

fn peer_matches(peer: &Json, policy_namespace: &str, source: &Pod) -> bool {
    assert!(peer.get("ipBlock").is_none(), "ipBlock is not evaluated");
    let pods = peer.get("podSelector");
    let namespaces = peer.get("namespaceSelector");
    match (namespaces, pods) {
        (None, None) => panic!("a peer selects nothing: {peer}"),
        (None, Some(pods)) => source.namespace == policy_namespace && selects(pods, &source.labels),
        (Some(namespaces), pods) => {
            selects(namespaces, &namespace_labels(source.namespace))
                && pods.is_none_or(|p| selects(p, &source.labels))
        }
    }
}

fn port_matches(ports: Option<&Json>, port: u16) -> bool {
    let Some(ports) = ports.and_then(Json::as_array).filter(|p| !p.is_empty()) else {
        return true;
    };
    ports.iter().any(|entry| {
        let protocol = entry["protocol"].as_str().unwrap_or("TCP");
        let Some(first) = entry.get("port") else {
            return protocol == "TCP"; // every port of the protocol
        };
        let first = first
            .as_u64()
            .unwrap_or_else(|| panic!("named ports are not evaluated: {entry}"));
        let last = entry["endPort"].as_u64().unwrap_or(first);
        protocol == "TCP" && (first..=last).contains(&u64::from(port))
    })
}

fn selects_for_ingress(policy: &Json, destination: &Pod) -> bool {
    let types = policy["spec"]["policyTypes"]
        .as_array()
        .is_none_or(|t| t.iter().any(|t| t == "Ingress"));
    policy["metadata"]["namespace"] == destination.namespace
        && types
        && selects(&policy["spec"]["podSelector"], &destination.labels)
}

/// Whether `source` may open a TCP connection to `port` of `destination`.
fn allowed(policies: &[Json], source: &Pod, destination: &Pod, port: u16) -> bool {
    let selecting: Vec<&Json> = policies
        .iter()
        .filter(|p| selects_for_ingress(p, destination))
        .collect();
    if selecting.is_empty() {
        return true;
    }
    selecting.iter().any(|policy| {
        let namespace = policy["metadata"]["namespace"].as_str().unwrap();
        let rules = policy["spec"]["ingress"].as_array().into_iter().flatten();
        rules.into_iter().any(|rule| {
            let from_ok = match rule.get("from").and_then(Json::as_array) {
                None => true,
                Some(peers) if peers.is_empty() => true,
                Some(peers) => peers.iter().any(|p| peer_matches(p, namespace, source)),
            };
            from_ok && port_matches(rule.get("ports"), port)
        })
    })
}

// ---------------------------------------------------------------------------------------------
// The evaluator against hand-written policies

/// Takes its JSON by value: every caller writes it inline.
#[allow(clippy::needless_pass_by_value)]
fn policy(namespace: &str, selector: Json, ingress: Json) -> Json {
    json!({"metadata": {"name": "p", "namespace": namespace},
        "spec": {"podSelector": selector, "policyTypes": ["Ingress"], "ingress": ingress}})
}

#[test]
fn the_evaluator_follows_the_api_reference() {
    let db = pod("db", "a", &[("app", "db")]);
    let web_a = pod("web", "a", &[("app", "web")]);
    let web_b = pod("web", "b", &[("app", "web")]);
    let tool_b = pod("tool", "b", &[("app", "tool"), ("tier", "x")]);
    // No policy: everything is admitted.
    assert!(allowed(&[], &web_b, &db, 5432));
    // A policy selecting the pod with no rules isolates it; one selecting others does not.
    let deny = policy("a", json!({"matchLabels": {"app": "db"}}), json!([]));
    assert!(!allowed(std::slice::from_ref(&deny), &web_a, &db, 5432));
    let elsewhere = policy("a", json!({"matchLabels": {"app": "cache"}}), json!([]));
    assert!(allowed(&[elsewhere], &web_a, &db, 5432));
    // A policy of another namespace does not select it.
    let other_namespace = policy("b", json!({}), json!([]));
    assert!(allowed(&[other_namespace], &web_a, &db, 5432));
    // Missing `from` and `ports`: every source, every port.
    let open = policy("a", json!({}), json!([{}]));
    assert!(allowed(std::slice::from_ref(&open), &tool_b, &db, 1));
    // podSelector alone: the policy's namespace only.
    let same_ns = policy(
        "a",
        json!({}),
        json!([{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]),
    );
    assert!(allowed(std::slice::from_ref(&same_ns), &web_a, &db, 5432));
    assert!(!allowed(std::slice::from_ref(&same_ns), &web_b, &db, 5432));
    // Both selectors in one peer: AND; in two peers: OR.
    let and = policy(
        "a",
        json!({}),
        json!([{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "b"}},
            "podSelector": {"matchLabels": {"app": "tool"}}}]}]),
    );
    assert!(allowed(std::slice::from_ref(&and), &tool_b, &db, 5432));
    assert!(!allowed(std::slice::from_ref(&and), &web_b, &db, 5432));
    let or = policy(
        "a",
        json!({}),
        json!([{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "b"}}},
            {"podSelector": {"matchLabels": {"app": "tool"}}}]}]),
    );
    assert!(allowed(std::slice::from_ref(&or), &web_b, &db, 5432));
    assert!(!allowed(std::slice::from_ref(&or), &web_a, &db, 5432));
    // Ports: protocol, ranges.
    let ports = policy(
        "a",
        json!({}),
        json!([{"ports": [{"port": 8000, "endPort": 8010}, {"protocol": "UDP", "port": 53}]}]),
    );
    assert!(allowed(std::slice::from_ref(&ports), &web_a, &db, 8005));
    assert!(!allowed(std::slice::from_ref(&ports), &web_a, &db, 53));
    assert!(!allowed(std::slice::from_ref(&ports), &web_a, &db, 8011));
    // Expressions.
    let labels = &tool_b.labels;
    let expr = |op: &str, values: Json| json!({"matchExpressions": [{"key": "tier", "operator": op, "values": values}]});
    assert!(selects(&expr("In", json!(["x", "y"])), labels));
    assert!(!selects(&expr("NotIn", json!(["x"])), labels));
    assert!(selects(&expr("NotIn", json!(["x"])), &web_b.labels));
    assert!(selects(&expr("Exists", json!([])), labels));
    assert!(!selects(&expr("DoesNotExist", json!([])), labels));
    assert!(!selects(&expr("In", json!(["x"])), &web_b.labels));
    // policyTypes without Ingress does not isolate for ingress.
    let mut egress_only = deny.clone();
    egress_only["spec"]["policyTypes"] = json!(["Egress"]);
    assert!(allowed(&[egress_only], &web_a, &db, 5432));
}

// ---------------------------------------------------------------------------------------------
// The rendered policies

fn rendered_policies(file: &str) -> Vec<Json> {
    let out = common::cnpgtp(&["render", "-f", file]).unwrap_or_else(|e| panic!("{file}: {}", e.0));
    cnpgtp::yaml::large_documents(&out)
        .unwrap()
        .into_iter()
        .filter(|d| d["kind"] == "NetworkPolicy")
        .collect()
}

/// (source, destination, port, allowed).
type Case<'a> = (&'a Pod, &'a Pod, u16, bool);

/// Every case holds; returns the failures (source -> destination:port, expected).
fn failures(policies: &[Json], cases: &[Case]) -> Vec<String> {
    cases
        .iter()
        .filter(|(source, destination, port, expected)| {
            allowed(policies, source, destination, *port) != *expected
        })
        .map(|(source, destination, port, expected)| {
            format!(
                "{}/{} -> {}/{}:{port} should be {}",
                source.namespace,
                source.name,
                destination.namespace,
                destination.name,
                if *expected { "allowed" } else { "denied" }
            )
        })
        .collect()
}

/// The table holds, every rule is needed by an allowed case, and every policy by a denial.
fn assert_table(policies: &[Json], cases: &[Case]) {
    let failed = failures(policies, cases);
    assert!(failed.is_empty(), "{failed:#?}");
    for (p, policy) in policies.iter().enumerate() {
        let name = &policy["metadata"]["name"];
        let mut without = policies.to_vec();
        without.remove(p);
        assert!(
            !failures(&without, cases).is_empty(),
            "no denial in the table needs policy {name}"
        );
        let rules = policy["spec"]["ingress"].as_array().unwrap();
        for (r, rule) in rules.iter().enumerate() {
            let mut without = policies.to_vec();
            without[p]["spec"]["ingress"]
                .as_array_mut()
                .unwrap()
                .remove(r);
            assert!(
                !failures(&without, cases).is_empty(),
                "no allowed case in the table needs rule {r} of {name}: {rule}"
            );
        }
    }
}

#[test]
fn production_admits_exactly_the_named_sources() {
    let policies = rendered_policies("values/production.yaml");
    let names: Vec<&str> = policies
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "billing-instances",
            "billing-pooler-rw",
            "billing-pooler-ro"
        ]
    );
    let ns = "billing-prod";
    let instance = |name| {
        pod(
            name,
            ns,
            &[
                ("cnpg.io/cluster", "billing"),
                ("cnpg.io/podRole", "instance"),
                ("cnpg.io/instanceName", name),
            ],
        )
    };
    let primary = instance("billing-1");
    let replica = instance("billing-2");
    let pooler = |name| {
        pod(
            name,
            ns,
            &[
                ("cnpg.io/cluster", "billing"),
                ("cnpg.io/poolerName", name),
                ("cnpg.io/podRole", "pooler"),
            ],
        )
    };
    let pooler_rw = pooler("billing-pooler-rw");
    let pooler_ro = pooler("billing-pooler-ro");
    // CloudNativePG's join Job (pg_basebackup of a new replica): no podRole.
    let join = pod(
        "billing-4-join",
        ns,
        &[
            ("cnpg.io/cluster", "billing"),
            ("cnpg.io/jobRole", "join"),
            ("cnpg.io/instanceName", "billing-4"),
        ],
    );
    let other_cluster = pod(
        "ledger-1",
        ns,
        &[
            ("cnpg.io/cluster", "ledger"),
            ("cnpg.io/podRole", "instance"),
        ],
    );
    let other_pooler = pod(
        "ledger-pooler-rw",
        ns,
        &[
            ("cnpg.io/cluster", "ledger"),
            ("cnpg.io/poolerName", "ledger-pooler-rw"),
            ("cnpg.io/podRole", "pooler"),
        ],
    );
    let operator = pod(
        "cnpg-controller-manager",
        "cnpg-system",
        &[("app.kubernetes.io/name", "cloudnative-pg")],
    );
    let operator_neighbour = pod("webhook-tester", "cnpg-system", &[("app", "tester")]);
    let fake_operator = pod(
        "cnpg-lookalike",
        "sandbox",
        &[("app.kubernetes.io/name", "cloudnative-pg")],
    );
    let teleport = pod(
        "teleport-kube-agent-0",
        "teleport",
        &[("app", "teleport-kube-agent")],
    );
    let teleport_neighbour = pod("teleport-auth", "teleport", &[("app", "teleport-cluster")]);
    let app = pod("billing-api", "billing-app", &[("app", "api")]);
    let reporting = pod("reporting", ns, &[("app.kubernetes.io/name", "reporting")]);
    let debug = pod("debug", ns, &[("app", "debug")]);
    let stranger = pod("crawler", "sandbox", &[("app", "crawler")]);
    let prometheus = pod(
        "prometheus-0",
        "monitoring",
        &[("app.kubernetes.io/name", "prometheus")],
    );
    let cases: &[Case] = &[
        // The instances: replication and status between instances, the join Job.
        (&replica, &primary, 5432, true),
        (&primary, &replica, 8000, true),
        (&join, &primary, 5432, true),
        (&other_cluster, &primary, 5432, false),
        // The operator, in its namespace with its labels only.
        (&operator, &primary, 8000, true),
        (&operator, &replica, 5432, true),
        (&operator_neighbour, &primary, 8000, false),
        (&fake_operator, &primary, 8000, false),
        (&operator, &pooler_rw, 5432, false),
        // The poolers of this cluster, on 5432 only.
        (&pooler_rw, &primary, 5432, true),
        (&pooler_ro, &replica, 5432, true),
        (&pooler_rw, &primary, 8000, false),
        (&other_pooler, &primary, 5432, false),
        // Teleport reaches the instances (the -rw/-ro services), not the poolers.
        (&teleport, &primary, 5432, true),
        (&teleport, &replica, 5432, true),
        (&teleport_neighbour, &primary, 5432, false),
        (&teleport, &primary, 8000, false),
        (&teleport, &pooler_rw, 5432, false),
        // Applications: the poolers, not the instances (no `direct`).
        (&app, &pooler_rw, 5432, true),
        (&app, &pooler_ro, 5432, true),
        (&reporting, &pooler_ro, 5432, true),
        (&app, &primary, 5432, false),
        (&reporting, &primary, 5432, false),
        (&app, &pooler_rw, 9127, false),
        (&debug, &pooler_rw, 5432, false),
        (&debug, &primary, 5432, false),
        (&stranger, &primary, 5432, false),
        (&stranger, &primary, 8000, false),
        (&stranger, &pooler_ro, 5432, false),
        // Monitoring: the metrics ports only.
        (&prometheus, &primary, 9187, true),
        (&prometheus, &pooler_rw, 9127, true),
        (&prometheus, &pooler_ro, 9127, true),
        (&prometheus, &primary, 5432, false),
        (&app, &primary, 9187, false),
        (&stranger, &pooler_ro, 9127, false),
    ];
    assert_table(&policies, cases);
}

#[test]
fn without_poolers_applications_and_the_agent_reach_the_instances() {
    let policies = rendered_policies("tests/inputs/ok-network-policy.yaml");
    let names: Vec<&str> = policies
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["orders-instances"]);
    let ns = "shop";
    let primary = pod(
        "orders-1",
        ns,
        &[
            ("cnpg.io/cluster", "orders"),
            ("cnpg.io/podRole", "instance"),
        ],
    );
    let replica = pod(
        "orders-2",
        ns,
        &[
            ("cnpg.io/cluster", "orders"),
            ("cnpg.io/podRole", "instance"),
        ],
    );
    let agent = pod(
        "orders-teleport-agent-5d9f",
        ns,
        &[
            ("app.kubernetes.io/instance", "orders"),
            ("app.kubernetes.io/component", "teleport-agent"),
            ("app.kubernetes.io/name", "teleport-agent"),
        ],
    );
    let other_agent = pod(
        "billing-teleport-agent-7c4b",
        ns,
        &[
            ("app.kubernetes.io/instance", "billing"),
            ("app.kubernetes.io/component", "teleport-agent"),
        ],
    );
    let shared_teleport = pod("teleport-kube-agent-0", "teleport", &[("app", "teleport")]);
    let operator = pod(
        "cnpg-controller-manager",
        "postgres-operator",
        &[("app.kubernetes.io/name", "cloudnative-pg")],
    );
    let default_operator = pod(
        "cnpg-controller-manager",
        "cnpg-system",
        &[("app.kubernetes.io/name", "cloudnative-pg")],
    );
    let frontend = pod("storefront", "shop-frontend", &[("app", "storefront")]);
    let invoicer = pod(
        "invoicer",
        "shop-batch",
        &[("app.kubernetes.io/name", "invoicer")],
    );
    let batch_other = pod(
        "exporter",
        "shop-batch",
        &[("app.kubernetes.io/name", "exporter")],
    );
    let prometheus = pod("prometheus-0", "monitoring", &[("app", "prometheus")]);
    let cases: &[Case] = &[
        (&replica, &primary, 5432, true),
        (&operator, &primary, 8000, true),
        (&default_operator, &primary, 8000, false),
        (&agent, &primary, 5432, true),
        (&other_agent, &primary, 5432, false),
        (&shared_teleport, &primary, 5432, false),
        (&agent, &primary, 8000, false),
        (&frontend, &primary, 5432, true),
        (&invoicer, &replica, 5432, true),
        (&batch_other, &primary, 5432, false),
        (&frontend, &primary, 8000, false),
        // No PodMonitors: nothing scrapes, so no metrics port is open.
        (&prometheus, &primary, 9187, false),
    ];
    assert_table(&policies, cases);
}

#[test]
fn the_defaults_render_no_policy() {
    let out = common::cnpgtp(&["render"]).unwrap();
    assert!(!out.contains("kind: NetworkPolicy"));
}

/// Poolers no application may reach draw a warning; a Teleport-only database without poolers
/// (what cnpgtp is for) and one with applications do not. So do Teleport sources in agent mode.
#[test]
fn unreachable_poolers_and_unused_teleport_sources_draw_warnings() {
    let warnings = |settings: &[&str]| {
        let overrides = settings.iter().map(|s| cnpgtp::values::Override::Set {
            argument: (*s).to_string(),
            typed: true,
        });
        let mut all = vec![cnpgtp::values::Override::Set {
            argument: "networkPolicy.enabled=true".into(),
            typed: true,
        }];
        all.extend(overrides);
        let loaded = cnpgtp::values::load(&[], &all).expect("valid values");
        loaded
            .warnings
            .iter()
            .map(ToString::to_string)
            .filter(|w| w.contains("networkPolicy"))
            .collect::<Vec<_>>()
    };
    let with_poolers = warnings(&[]);
    assert_eq!(with_poolers.len(), 1, "{with_poolers:?}");
    assert!(with_poolers[0].contains("the poolers admit nobody"));
    assert!(warnings(&["pooler.enabled=false"]).is_empty());
    assert!(warnings(&["networkPolicy.applications.from[0].namespace=web"]).is_empty());
    // In agent mode the policy admits the rendered agent: Teleport keys written there are unused.
    let agent = [
        "pooler.enabled=false",
        "teleport.registration=agent",
        "teleport.proxyAddress=teleport.example.com:443",
    ];
    assert!(warnings(&agent).is_empty());
    for written in [
        "networkPolicy.teleport.namespace=teleport-agents",
        "networkPolicy.teleport.podLabels.app=teleport",
    ] {
        let key = written.split_once('=').unwrap().0;
        let found = warnings(&[&agent[..], &[written]].concat());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains(key) && found[0].contains("unused"),
            "{found:?}"
        );
    }
}
