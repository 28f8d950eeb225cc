//! Registration through a dedicated database agent (`teleport.registration: agent`), and the
//! `databaseResources` snippet for a shared `teleport-kube-agent` release.
//!
//! Mirrors what the `teleport-kube-agent` chart does for an agent: a checksum of the
//! configuration on the pod template (a changed ConfigMap alone restarts nothing), readiness and
//! liveness probes on the diagnostics endpoint (`diag_addr`, `/readyz` and `/healthz`), and the
//! identity kept in a Kubernetes Secret (Teleport's Kubernetes state storage, used when
//! `KUBE_NAMESPACE` and `TELEPORT_REPLICA_NAME` are set) so a restart does not join again. The
//! chart gives each StatefulSet pod its own Secret; a Deployment has no stable pod names, so
//! only a single replica gets one (a fixed name, and `Recreate` so two pods never share it),
//! and with more replicas each pod keeps its state in an emptyDir and joins again on start.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::token::agent_service_account;
use super::{
    admin_user_field, cluster_labels, container, endpoint_labels, endpoints, image,
    join_token_projection, restricted_pod_security,
};
use crate::manifest::Kind;
use crate::plan::{Common, Planned};
use crate::resources::certs;
use crate::values::Values;

/// The `databaseResources` snippet for a shared `teleport-kube-agent` release
/// (`cnpgtp teleport agent-values`): every cnpgtp database of this Kubernetes cluster.
pub fn agent_values(values: &Values) -> Json {
    let all = cluster_labels(values);
    json!({
        "roles": "db",
        "databaseResources": [{
            "labels": {
                "provisioned_by": all["provisioned_by"],
                "kubernetes_cluster": all["kubernetes_cluster"],
            }
        }]
    })
}

pub(super) fn plan(common: &Common) -> Vec<Planned> {
    let values = common.values;
    let teleport = &values.teleport;
    let name = agent_service_account(values);
    let ca_file = "/etc/teleport-server-ca/ca.crt";
    let databases: Vec<Json> = endpoints(common)
        .iter()
        .map(|endpoint| {
            let mut database = json!({
                "name": endpoint.name,
                "description": endpoint.description,
                "protocol": "postgres",
                "uri": endpoint.uri,
                "tls": {"mode": "verify-full", "ca_cert_file": ca_file},
                "static_labels": endpoint_labels(values, endpoint),
            });
            if let Some(admin) = admin_user_field(endpoint) {
                database["admin_user"] = admin;
            }
            database
        })
        .collect();
    let config = json!({
        "version": "v3",
        "teleport": {
            "proxy_server": teleport.proxy_address,
            "join_params": {"method": "kubernetes", "token_name": teleport.agent.join_token},
            "data_dir": "/var/lib/teleport",
            "diag_addr": format!("0.0.0.0:{DIAG_PORT}"),
            "log": {"output": "stderr", "severity": "INFO"},
        },
        "auth_service": {"enabled": false},
        "proxy_service": {"enabled": false},
        "ssh_service": {"enabled": false},
        "db_service": {"enabled": true, "databases": databases},
    });
    let config_text = crate::yaml::object_to_string(&config).expect("agent config serializes");
    let data = json!({"teleport.yaml": config_text});
    let mut planned = vec![
        common.object(
            "service-account.json",
            Kind::ServiceAccount,
            &name,
            "teleport",
            json!({}),
        ),
        common.object(
            "config-map.json",
            Kind::ConfigMap,
            &name,
            "teleport",
            json!({"data": data}),
        ),
    ];
    // Kubernetes state storage only for a single replica: its Secret name is fixed.
    let state_secret = (teleport.agent.replicas == 1).then(|| format!("{name}-state"));
    let mut env = Vec::new();
    if state_secret.is_some() {
        env.push(json!({"name": "KUBE_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}));
        env.push(json!({"name": "TELEPORT_REPLICA_NAME", "value": name}));
    }
    if let Some(secret) = &state_secret {
        planned.extend(state_rbac(common, &name, secret));
    }
    let projection = join_token_projection(values);
    let mut mounts = vec![
        json!({"name": "config", "mountPath": "/etc/teleport", "readOnly": true}),
        json!({"name": "server-ca", "mountPath": "/etc/teleport-server-ca", "readOnly": true}),
        json!({"name": "data", "mountPath": "/var/lib/teleport"}),
        json!({"name": "tmp", "mountPath": "/tmp"}),
    ];
    let mut volumes = vec![
        json!({"name": "config", "configMap": {"name": name}}),
        json!({"name": "server-ca", "secret": {"secretName": certs::server_ca_secret(common), "items": [{"key": "ca.crt", "path": "ca.crt"}]}}),
        json!({"name": "data", "emptyDir": {}}),
        json!({"name": "tmp", "emptyDir": {}}),
    ];
    if let Some(projection) = projection {
        env.push(projection.env);
        mounts.push(projection.mount);
        volumes.push(projection.volume);
    }
    let mut teleport_container = container(
        "teleport",
        &image(values, "teleport-distroless"),
        &[
            "teleport".into(),
            "start".into(),
            "--config=/etc/teleport/teleport.yaml".into(),
        ],
        &json!(mounts),
        &json!(env),
    );
    add_probes(&mut teleport_container);
    let strategy = if state_secret.is_some() {
        "Recreate"
    } else {
        "RollingUpdate"
    };
    let selector = json!(agent_selector(values));
    planned.push(common.object(
        "deployment.json",
        Kind::Deployment,
        &name,
        "teleport",
        json!({
            "replicas": teleport.agent.replicas,
            "strategy": {"type": strategy},
            "selector": selector,
            "pod_labels": {
                "app.kubernetes.io/instance": values.name,
                "app.kubernetes.io/component": "teleport-agent",
                "app.kubernetes.io/name": "teleport-agent",
                "app.kubernetes.io/managed-by": "cnpgtp",
            },
            "pod_annotations": {CONFIG_CHECKSUM: config_checksum(&data)},
            "service_account": name,
            "automount": true,
            "pod_security": restricted_pod_security(),
            "containers": [teleport_container],
            "volumes": volumes,
        }),
    ));
    planned
}

/// Labels that select the agent's pods: the Deployment's selector, and what the NetworkPolicy
/// admits to the instances.
pub fn agent_selector(values: &Values) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/instance".into(), values.name.clone()),
        (
            "app.kubernetes.io/component".into(),
            "teleport-agent".into(),
        ),
    ])
}

/// The agent's diagnostics port (`diag_addr`), where the probes ask.
const DIAG_PORT: u16 = 3000;

/// Pod template annotation holding the SHA-256 of the agent's ConfigMap data.
pub const CONFIG_CHECKSUM: &str = "cnpgtp.io/config-sha256";

/// SHA-256 (hex) of the ConfigMap `data` as JSON (keys sorted), so any changed file rolls the pod.
fn config_checksum(data: &Json) -> String {
    let text = serde_json::to_string(data).expect("json");
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// The chart's probes: ready once the agent has joined and its services run (`/readyz`),
/// restarted when the process stops answering (`/healthz`).
fn add_probes(container: &mut Json) {
    container["ports"] = json!([{"name": "diag", "containerPort": DIAG_PORT, "protocol": "TCP"}]);
    let probe = |path: &str, failures: u32| json!({"httpGet": {"path": path, "port": "diag"}, "initialDelaySeconds": 5, "periodSeconds": 5, "failureThreshold": failures});
    container["readinessProbe"] = probe("/readyz", 12);
    container["livenessProbe"] = probe("/healthz", 6);
}

/// What the agent's state storage needs, and no more: read and server-side apply its one
/// Secret. Teleport writes it with a server-side apply, whose create is authorized with the
/// object's name, so `resourceNames` limits `create` too; the updater's shared Secret is not
/// used (no `TELEPORT_EXT_UPGRADER`).
fn state_rbac(common: &Common, name: &str, secret: &str) -> Vec<Planned> {
    let rules = json!([{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [secret], "verbs": ["get", "patch", "create"]}]);
    vec![
        common.object(
            "role.json",
            Kind::Role,
            name,
            "teleport",
            json!({"rules": rules}),
        ),
        common.object(
            "role-binding.json",
            Kind::RoleBinding,
            name,
            "teleport",
            json!({"role": name, "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": common.namespace()}]}),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_is_the_sha256_of_the_data_json() {
        // sha256 of `{}`
        assert_eq!(
            config_checksum(&json!({})),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
