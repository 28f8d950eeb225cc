//! Teleport: registration of the rw and ro endpoints, and the role that grants access.
//!
//! Three registration modes, chosen by `teleport.registration`:
//! - `operator`: one `TeleportDatabaseV3` per endpoint in the Teleport operator's namespace (the
//!   operator watches only its own); deleting the resource deregisters the database. The server
//!   CA goes inline into `spec.tls.ca_cert`, so it must be known at render time.
//! - `job`: `kind: db` documents applied by a Job with `tctl create -f` after every sync, and a
//!   deletion hook running `tctl rm`. Identity from Machine ID (`tbot --oneshot`, kubernetes join)
//!   or an existing identity Secret; `--auth-server` is always passed (an identity file carries no
//!   address). A CA generated in the cluster is read from its Secret by an init container.
//! - `agent`: a dedicated database agent whose static `db_service.databases` list the endpoints,
//!   verifying the server certificate against the CA mounted from the cluster (`tls.ca_cert_file`),
//!   never `tls.mode: insecure`.
//!
//! Every database carries the same labels, so the role, the shared agent's `databaseResources`
//! and the registration always agree.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::manifest::Kind;
use crate::plan::{Common, Planned};
use crate::resources::certs;
use crate::values::{DeletionHook, JobIdentity, Registration, RoleVersion, Values};

/// Where the Teleport images come from.
const IMAGE_REGISTRY: &str = "public.ecr.aws/gravitational";
/// Placeholder the CA-embedding init container replaces with the JSON-escaped server CA.
pub const CA_PLACEHOLDER: &str = "__SERVER_CA_PEM__";

/// One endpoint registered in Teleport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `rw` or `ro`.
    pub service_kind: &'static str,
    pub name: String,
    pub uri: String,
    pub sql_type: &'static str,
    pub description: String,
}

/// rw always; ro only when there are replicas to read from.
pub fn endpoints(values: &Values) -> Vec<Endpoint> {
    let prefix = values.teleport_database_prefix();
    let names = crate::naming::Names::new(&values.name);
    let endpoint = |service_kind: &'static str,
                    service: &str,
                    sql_type: &'static str,
                    access: &str| Endpoint {
        service_kind,
        name: format!("{prefix}-{service_kind}"),
        uri: format!("{service}.{}.svc:5432", values.namespace),
        sql_type,
        description: format!(
            "PostgreSQL {} ({sql_type}, {access}) in {}",
            values.name, values.namespace
        ),
    };
    let mut list = vec![endpoint("rw", &names.rw_service, "primary", "read-write")];
    if values.postgres.instances > 1 {
        list.push(endpoint("ro", &names.ro_service, "standby", "read-only"));
    }
    list
}

/// Labels shared by every endpoint of this cluster: what the role and agents select on.
pub fn cluster_labels(values: &Values) -> BTreeMap<String, String> {
    let mut labels = values.teleport.labels.clone();
    for (key, value) in [
        ("provisioned_by", "cnpgtp".to_string()),
        (
            "kubernetes_cluster",
            values.teleport.kubernetes_cluster.clone(),
        ),
        ("kubernetes_namespace", values.namespace.clone()),
        ("cnpg_cluster", values.name.clone()),
        ("database", values.database.name.clone()),
        ("stage", values.stage.clone()),
        ("cnpgtp_version", env!("CARGO_PKG_VERSION").to_string()),
    ] {
        labels.insert(key.to_string(), value);
    }
    labels
}

/// All labels of one endpoint.
pub fn endpoint_labels(values: &Values, endpoint: &Endpoint) -> BTreeMap<String, String> {
    let mut labels = cluster_labels(values);
    labels.insert("sql_type".into(), endpoint.sql_type.into());
    labels
}

/// The labels the role grants: this cluster's databases, in this namespace and Kubernetes cluster.
fn role_selector(values: &Values) -> BTreeMap<String, String> {
    let all = cluster_labels(values);
    ["kubernetes_cluster", "kubernetes_namespace", "cnpg_cluster"]
        .into_iter()
        .map(|key| (key.to_string(), all[key].clone()))
        .collect()
}

/// Database users no Teleport user may ever become. PostgreSQL checks client certificates against
/// the whole bundle and CloudNativePG's fixed `cert` rules for these users come first, so a
/// Teleport-issued certificate for `streaming_replica` would get a replication connection and one
/// for `cnpg_pooler_pgbouncer` could read password hashes. Deny rules apply across all of a user's
/// roles, so this also protects against another role that allows `db_users: ["*"]`.
pub const DENIED_DATABASE_USERS: &[&str] = &[
    "postgres",
    "streaming_replica",
    "cnpg_pooler_pgbouncer",
    "^cnpg_.*$",
];

fn role_spec(values: &Values) -> Json {
    json!({
        "allow": {
            "db_labels": role_selector(values),
            "db_names": [values.database.name],
            "db_users": [values.access.read_user.name, values.access.write_user.name],
        },
        "deny": {
            "db_users": DENIED_DATABASE_USERS,
        }
    })
}

fn role_version(values: &Values) -> &'static str {
    match values.teleport.role.version {
        RoleVersion::V7 => "v7",
        RoleVersion::V8 => "v8",
    }
}

/// The `kind: role` resource for `tctl create -f` (`cnpgtp teleport role`).
pub fn role_document(values: &Values) -> Json {
    json!({
        "kind": "role",
        "version": role_version(values),
        "metadata": {
            "name": values.teleport_role_name(),
            "description": format!("Access to PostgreSQL {} in {} as {} or {}", values.name, values.namespace, values.access.read_user.name, values.access.write_user.name),
        },
        "spec": role_spec(values),
    })
}

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

fn image(values: &Values, name: &str) -> String {
    format!("{IMAGE_REGISTRY}/{name}:{}", values.teleport.version)
}

/// The server CA PEM when it is known at render time.
fn render_time_ca(values: &Values) -> Option<&str> {
    values.tls.server.ca.pem.as_deref()
}

/// A `kind: db` v3 document for `tctl create`.
fn db_document(values: &Values, endpoint: &Endpoint, ca_cert: &str) -> Json {
    json!({
        "kind": "db",
        "version": "v3",
        "metadata": {"name": endpoint.name, "description": endpoint.description, "labels": endpoint_labels(values, endpoint)},
        "spec": {"protocol": "postgres", "uri": endpoint.uri, "tls": {"mode": "verify-full", "ca_cert": ca_cert}},
    })
}

pub fn plan(common: &Common) -> Vec<Planned> {
    match common.values.teleport.registration {
        Registration::Operator => operator(common),
        Registration::Job => job(common),
        Registration::Agent => agent(common),
        Registration::None => Vec::new(),
    }
}

fn in_operator_namespace(common: &Common, mut planned: Planned) -> Planned {
    planned.context["metadata"]["namespace"] = json!(common.values.teleport.operator.namespace);
    planned
}

fn operator(common: &Common) -> Vec<Planned> {
    let values = common.values;
    let ca = render_time_ca(values).unwrap_or_default();
    let mut planned: Vec<Planned> = endpoints(values)
        .iter()
        .map(|endpoint| {
            let mut object = common
                .object(
                    "teleport-database.json",
                    Kind::TeleportDatabaseV3,
                    &endpoint.name,
                    "teleport",
                    json!({"uri": endpoint.uri, "ca_cert": ca}),
                )
                // The operator turns this annotation into the Teleport database description.
                .with_annotation("description", &endpoint.description);
            for (key, value) in endpoint_labels(values, endpoint) {
                object = object.with_label(&key, &value);
            }
            in_operator_namespace(common, object)
        })
        .collect();
    if values.teleport.role.render {
        let kind = match values.teleport.role.version {
            RoleVersion::V7 => Kind::TeleportRoleV7,
            RoleVersion::V8 => Kind::TeleportRoleV8,
        };
        let role = common.object(
            "teleport-role.json",
            kind,
            &values.teleport_role_name(),
            "teleport",
            json!({"kind": kind.as_str(), "spec": role_spec(values)}),
        );
        planned.push(in_operator_namespace(common, role));
    }
    planned
}

/// Pod and container security that meets Pod Security "restricted".
pub fn restricted_pod_security() -> Json {
    json!({"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}})
}

pub fn restricted_container_security() -> Json {
    json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}})
}

fn small_resources() -> Json {
    json!({"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}})
}

fn container(name: &str, image: &str, command: &[String], mounts: &Json, env: &Json) -> Json {
    json!({
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": env,
        "volumeMounts": mounts,
        "securityContext": restricted_container_security(),
        "resources": small_resources(),
    })
}

fn job(common: &Common) -> Vec<Planned> {
    let values = common.values;
    let teleport = &values.teleport;
    let register = format!("{}-teleport-register", values.name);
    let deregister = format!("{}-teleport-deregister", values.name);
    let proxy = teleport.proxy_address.clone().unwrap_or_default();
    let endpoints = endpoints(values);
    let generated_ca = render_time_ca(values).is_none();

    // One JSON document per database (JSON is YAML; each file is one `tctl create` call). The CA
    // is always embedded by the init container: a render-time CA is often an argocd-vault-plugin
    // placeholder, which must stay a whole scalar (its own ConfigMap key) because AVP would put
    // raw newlines into a JSON string.
    let mut files = BTreeMap::new();
    if let Some(pem) = render_time_ca(values) {
        files.insert("server-ca.crt".to_string(), pem.to_string());
    }
    for endpoint in &endpoints {
        let document = db_document(values, endpoint, CA_PLACEHOLDER);
        files.insert(
            format!("{}.json", endpoint.service_kind),
            serde_json::to_string_pretty(&document).expect("json"),
        );
    }
    let machine_id = teleport.job.identity == JobIdentity::MachineId;
    if machine_id {
        let tbot = json!({
            "version": "v2",
            "proxy_server": proxy,
            "onboarding": {"join_method": "kubernetes", "token": teleport.job.join_token},
            "oneshot": true,
            "storage": {"type": "memory"},
            "outputs": [{"type": "identity", "destination": {"type": "directory", "path": "/identity"}}],
        });
        files.insert(
            "tbot.yaml".into(),
            crate::yaml::object_to_string(&tbot).expect("tbot config serializes"),
        );
    }
    files.insert("embed-ca.sh".into(), EMBED_CA_SCRIPT.to_string());

    let mut planned = vec![common.object(
        "service-account.json",
        Kind::ServiceAccount,
        &register,
        "teleport",
        json!({}),
    )];
    planned.push(common.object(
        "config-map.json",
        Kind::ConfigMap,
        &register,
        "teleport",
        json!({"data": files}),
    ));

    let identity_volume = match teleport.job.identity {
        JobIdentity::MachineId => json!({"name": "identity", "emptyDir": {"medium": "Memory"}}),
        JobIdentity::ExistingSecret => {
            json!({"name": "identity", "secret": {"secretName": teleport.job.identity_secret, "items": [{"key": "identity", "path": "identity"}]}})
        }
    };
    let mut volumes = vec![
        json!({"name": "resources", "configMap": {"name": register}}),
        identity_volume,
        json!({"name": "work", "emptyDir": {}}),
        json!({"name": "tmp", "emptyDir": {}}),
    ];
    if generated_ca {
        volumes.push(json!({"name": "server-ca", "secret": {"secretName": certs::server_ca_secret(common), "items": [{"key": "ca.crt", "path": "ca.crt"}]}}));
    }
    let env = json!([{"name": "HOME", "value": "/tmp"}]);
    let mounts = json!([
        {"name": "resources", "mountPath": "/resources", "readOnly": true},
        {"name": "identity", "mountPath": "/identity"},
        {"name": "work", "mountPath": "/work"},
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "server-ca", "mountPath": "/server-ca", "readOnly": true},
    ]);
    let mounts_without_ca = json!(
        mounts
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["name"] != "server-ca")
            .cloned()
            .collect::<Vec<_>>()
    );
    let job_mounts = if generated_ca {
        &mounts
    } else {
        &mounts_without_ca
    };
    let tctl = image(values, "teleport-distroless");
    let tctl_command = |verb: &[&str]| {
        let mut command = vec![
            "tctl".to_string(),
            format!("--auth-server={proxy}"),
            "--identity=/identity/identity".into(),
        ];
        command.extend(verb.iter().map(ToString::to_string));
        command
    };
    let tbot_container = machine_id.then(|| {
        container(
            "tbot",
            &image(values, "tbot-distroless"),
            &[
                "tbot".into(),
                "start".into(),
                "--config=/resources/tbot.yaml".into(),
            ],
            job_mounts,
            &env,
        )
    });

    // Register: [tbot] embed CA, tctl create rw, tctl create ro.
    let mut steps: Vec<Json> = tbot_container.iter().cloned().collect();
    let ca_file = if generated_ca {
        "/server-ca/ca.crt"
    } else {
        "/resources/server-ca.crt"
    };
    let embed_env =
        json!([{"name": "HOME", "value": "/tmp"}, {"name": "CA_FILE", "value": ca_file}]);
    steps.push(container(
        "embed-ca",
        &teleport.job.shell_image,
        &["sh".into(), "/resources/embed-ca.sh".into()],
        job_mounts,
        &embed_env,
    ));
    for endpoint in &endpoints {
        let file = format!("/work/{}.json", endpoint.service_kind);
        steps.push(container(
            &format!("create-{}", endpoint.service_kind),
            &tctl,
            &tctl_command(&["create", "-f", &file]),
            job_mounts,
            &env,
        ));
    }
    planned.push(hook_job(
        common,
        &register,
        &register,
        steps,
        &volumes,
        machine_id,
        &register_hooks(),
    ));

    // Deregister: [tbot] tctl rm db/<name> for each endpoint.
    let mut steps: Vec<Json> = tbot_container.into_iter().collect();
    for endpoint in &endpoints {
        let target = format!("db/{}", endpoint.name);
        steps.push(container(
            &format!("remove-{}", endpoint.service_kind),
            &tctl,
            &tctl_command(&["rm", &target]),
            &mounts_without_ca,
            &env,
        ));
    }
    let volumes_without_ca: Vec<Json> = volumes
        .iter()
        .filter(|v| v["name"] != "server-ca")
        .cloned()
        .collect();
    // PostDelete runs after the Application's own ServiceAccount is gone; validation allows it
    // only with an existing identity Secret, which needs no ServiceAccount token.
    let deregister_account = match teleport.job.deletion_hook {
        DeletionHook::PreDelete => register.clone(),
        DeletionHook::PostDelete => "default".to_string(),
    };
    planned.push(hook_job(
        common,
        &deregister,
        &deregister_account,
        steps,
        &volumes_without_ca,
        machine_id,
        &deletion_hooks(teleport.job.deletion_hook),
    ));
    planned
}

/// Hooks of the registration Job: after every sync (ArgoCD) / install and upgrade (Helm).
fn register_hooks() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("argocd.argoproj.io/hook".into(), "PostSync".into()),
        (
            "argocd.argoproj.io/hook-delete-policy".into(),
            "BeforeHookCreation,HookSucceeded".into(),
        ),
        ("helm.sh/hook".into(), "post-install,post-upgrade".into()),
        (
            "helm.sh/hook-delete-policy".into(),
            "before-hook-creation,hook-succeeded".into(),
        ),
    ])
}

fn deletion_hooks(hook: DeletionHook) -> BTreeMap<String, String> {
    let (argocd, helm) = match hook {
        DeletionHook::PreDelete => ("PreDelete", "pre-delete"),
        DeletionHook::PostDelete => ("PostDelete", "post-delete"),
    };
    BTreeMap::from([
        ("argocd.argoproj.io/hook".into(), argocd.into()),
        (
            "argocd.argoproj.io/hook-delete-policy".into(),
            "BeforeHookCreation,HookSucceeded".into(),
        ),
        ("helm.sh/hook".into(), helm.into()),
        (
            "helm.sh/hook-delete-policy".into(),
            "before-hook-creation,hook-succeeded".into(),
        ),
    ])
}

/// A Job whose steps run in order: all but the last as init containers.
fn hook_job(
    common: &Common,
    name: &str,
    service_account: &str,
    mut steps: Vec<Json>,
    volumes: &[Json],
    automount: bool,
    hooks: &BTreeMap<String, String>,
) -> Planned {
    let main = steps.pop().expect("a job has at least one step");
    let mut planned = common.object(
        "job.json",
        Kind::Job,
        name,
        "teleport",
        json!({
            "pod_labels": common.labels("teleport"),
            "service_account": service_account,
            "automount": automount,
            "init_containers": steps,
            "containers": [main],
            "volumes": volumes,
            "pod_security": restricted_pod_security(),
        }),
    );
    for (key, value) in hooks {
        planned = planned.with_annotation(key, value);
    }
    planned
}

/// Replaces the CA placeholder in each resource file with the JSON-escaped server CA, after
/// checking that the file holds only certificate PEM (so nothing else can reach the document).
pub const EMBED_CA_SCRIPT: &str = r#"set -eu
ca=${CA_FILE:-/server-ca/ca.crt}
resources=${RESOURCES_DIR:-/resources}
work=${WORK_DIR:-/work}
grep -q -- '-----BEGIN CERTIFICATE-----' "$ca" || { echo "embed-ca: $ca holds no certificate" >&2; exit 1; }
if grep -vqE '^(-----(BEGIN|END) CERTIFICATE-----|[A-Za-z0-9+/=]+)$' "$ca"; then
  echo "embed-ca: $ca holds something other than certificate PEM; refusing to embed it" >&2
  exit 1
fi
for file in "$resources"/*.json; do
  awk -v cafile="$ca" -v marker="__SERVER_CA_PEM__" '
    BEGIN { while ((getline line < cafile) > 0) pem = pem line "\\n" }
    { i = index($0, marker); if (i) { $0 = substr($0, 1, i - 1) pem substr($0, i + length(marker)) } print }
  ' "$file" > "$work/$(basename "$file")"
done
"#;

fn agent(common: &Common) -> Vec<Planned> {
    let values = common.values;
    let teleport = &values.teleport;
    let name = format!("{}-teleport-agent", values.name);
    let ca_file = "/etc/teleport-server-ca/ca.crt";
    let databases: Vec<Json> = endpoints(values)
        .iter()
        .map(|endpoint| {
            json!({
                "name": endpoint.name,
                "description": endpoint.description,
                "protocol": "postgres",
                "uri": endpoint.uri,
                "tls": {"mode": "verify-full", "ca_cert_file": ca_file},
                "static_labels": endpoint_labels(values, endpoint),
            })
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
