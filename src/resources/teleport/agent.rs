//! Registration through a dedicated database agent (`teleport.registration: agent`), and the
//! `databaseResources` snippet for a shared `teleport-kube-agent` release.

use serde_json::{Value as Json, json};

use super::{
    admin_user_field, cluster_labels, container, endpoint_labels, endpoints, image,
    restricted_pod_security,
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
    let name = format!("{}-teleport-agent", values.name);
    let ca_file = "/etc/teleport-server-ca/ca.crt";
    let databases: Vec<Json> = endpoints(values)
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
            "log": {"output": "stderr", "severity": "INFO"},
        },
        "auth_service": {"enabled": false},
        "proxy_service": {"enabled": false},
        "ssh_service": {"enabled": false},
        "db_service": {"enabled": true, "databases": databases},
    });
    let config_text = crate::yaml::object_to_string(&config).expect("agent config serializes");
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
            json!({"data": {"teleport.yaml": config_text}}),
        ),
    ];
    let selector = json!({"app.kubernetes.io/instance": values.name, "app.kubernetes.io/component": "teleport-agent"});
    planned.push(common.object(
        "deployment.json",
        Kind::Deployment,
        &name,
        "teleport",
        json!({
            "replicas": teleport.agent.replicas,
            "selector": selector,
            "pod_labels": {
                "app.kubernetes.io/instance": values.name,
                "app.kubernetes.io/component": "teleport-agent",
                "app.kubernetes.io/name": "teleport-agent",
                "app.kubernetes.io/managed-by": "cnpgtp",
            },
            "service_account": name,
            "automount": true,
            "pod_security": restricted_pod_security(),
            "containers": [container(
                "teleport",
                &image(values, "teleport-distroless"),
                &["teleport".into(), "start".into(), "--config=/etc/teleport/teleport.yaml".into()],
                &json!([
                    {"name": "config", "mountPath": "/etc/teleport", "readOnly": true},
                    {"name": "server-ca", "mountPath": "/etc/teleport-server-ca", "readOnly": true},
                    {"name": "data", "mountPath": "/var/lib/teleport"},
                    {"name": "tmp", "mountPath": "/tmp"},
                ]),
                &json!([]),
            )],
            "volumes": [
                {"name": "config", "configMap": {"name": name}},
                {"name": "server-ca", "secret": {"secretName": certs::server_ca_secret(common), "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"name": "data", "emptyDir": {}},
                {"name": "tmp", "emptyDir": {}},
            ],
        }),
    ));
    planned
}
