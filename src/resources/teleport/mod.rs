//! Teleport: registration of the rw and ro endpoints, and the read and write roles that grant
//! access.
//!
//! Three registration modes, chosen by `teleport.registration`:
//! - `operator`: one `TeleportDatabaseV3` per endpoint in the Teleport operator's namespace (the
//!   operator watches only its own); deleting the resource deregisters the database. The server
//!   CA goes inline into `spec.tls.ca_cert` when known at render time (`tls.server.ca.pem`);
//!   otherwise the client-CA sync workload writes it there in the cluster (see `ca_bundle`).
//! - `job`: `kind: db` documents applied by a Job with `tctl create -f` after every sync, and a
//!   deletion hook running `tctl rm`. Identity from Machine ID (`tbot --oneshot`, kubernetes join)
//!   or an existing identity Secret; `--auth-server` is always passed (an identity file carries no
//!   address). A CA generated in the cluster is read from its Secret by an init container.
//! - `agent`: a dedicated database agent whose static `db_service.databases` list the endpoints,
//!   verifying the server certificate against the CA mounted from the cluster (`tls.ca_cert_file`),
//!   never `tls.mode: insecure`.
//!
//! The Job's tbot and the agent join with the `kubernetes` join method; `token` builds their
//! join token (printed for `tctl`, or rendered for the operator with `join.renderToken`).
//!
//! Every database carries the same labels, so the role, the shared agent's `databaseResources`
//! and the registration always agree.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

mod agent;
pub mod auto_users;
mod job;
mod operator;
mod role;
mod token;

use crate::plan::{Common, Planned};
use crate::values::{Registration, Values};

pub use agent::{agent_selector, agent_values};
pub use job::EMBED_CA_SCRIPT;
pub use role::{Access, DENIED_DATABASE_USERS, role_documents};
pub use token::{JoinToken, join_token, token_documents};

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
    /// `admin_user` for automatic user provisioning: the primary only, because activating a user
    /// writes the catalogue, which a standby refuses.
    pub admin_user: Option<String>,
}

/// rw always; ro only when there are replicas to read from.
pub fn endpoints(common: &Common) -> Vec<Endpoint> {
    let values = common.values;
    let names = &common.names;
    let prefix = values.teleport_database_prefix();
    let endpoint = |service_kind: &'static str,
                    service: &str,
                    sql_type: &'static str,
                    access: &str| Endpoint {
        service_kind,
        name: endpoint_name(&prefix, service_kind),
        uri: format!("{service}.{}.svc:5432", values.namespace),
        sql_type,
        description: format!(
            "PostgreSQL {} ({sql_type}, {access}) in {}",
            values.name, values.namespace
        ),
        admin_user: auto_users::enabled(values)
            .filter(|_| service_kind == "rw")
            .map(|auto| auto.admin_user.clone()),
    };
    service_kinds(values)
        .iter()
        .map(|&kind| match kind {
            "rw" => endpoint(kind, &names.rw_service, "primary", "read-write"),
            _ => endpoint(kind, &names.ro_service, "standby", "read-only"),
        })
        .collect()
}

/// The endpoints there are, by service kind: `rw` always, `ro` only with replicas to read from.
fn service_kinds(values: &Values) -> &'static [&'static str] {
    if values.postgres.instances > 1 {
        &["rw", "ro"]
    } else {
        &["rw"]
    }
}

fn endpoint_name(prefix: &str, service_kind: &str) -> String {
    [prefix, "-", service_kind].concat()
}

/// Labels shared by every endpoint of this cluster: what the role and agents select on. No
/// version label: a tool or PostgreSQL upgrade must not rewrite every Teleport object.
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
    ] {
        labels.insert(key.to_string(), value);
    }
    labels
}

/// The PostgreSQL databases Teleport users may open (`db_names` of every role, the databases
/// pg_hba admits them to): the one place that lists them, so a new database reaches every role
/// and rule at once. The bootstrap database, then each extra database that is to exist (one
/// with `ensure: absent` is being dropped).
pub fn database_names(values: &Values) -> Vec<String> {
    let mut names = vec![values.database.name.clone()];
    names.extend(
        values
            .databases
            .iter()
            .filter(|db| db.present())
            .map(|db| db.name.clone()),
    );
    names
}

/// The label on databases that have an admin user, which the auto-users roles select: a role
/// enabling provisioning that matched a database without one would fail every connection.
pub const AUTO_USERS_LABEL: (&str, &str) = ("auto_users", "enabled");

/// All labels of one endpoint.
pub fn endpoint_labels(values: &Values, endpoint: &Endpoint) -> BTreeMap<String, String> {
    let mut labels = cluster_labels(values);
    labels.insert("sql_type".into(), endpoint.sql_type.into());
    if endpoint.admin_user.is_some() {
        labels.insert(AUTO_USERS_LABEL.0.into(), AUTO_USERS_LABEL.1.into());
    }
    labels
}

/// The `spec` fields of a Teleport database (`kind: db`, `TeleportDatabaseV3`, a static agent
/// entry) that depend on the access model.
fn admin_user_field(endpoint: &Endpoint) -> Option<Json> {
    endpoint
        .admin_user
        .as_ref()
        .map(|name| json!({"name": name}))
}

fn image(values: &Values, name: &str) -> String {
    format!("{IMAGE_REGISTRY}/{name}:{}", values.teleport.version)
}

/// The server CA PEM when it is known at render time.
fn render_time_ca(values: &Values) -> Option<&str> {
    values.tls.server.ca.pem.as_deref()
}

/// The TeleportDatabaseV3 objects (in the operator's namespace) whose `spec.tls.ca_cert` the
/// client-CA sync workload writes, because the server CA exists only in the cluster: operator
/// registration without `tls.server.ca.pem`. Empty otherwise.
pub fn databases_awaiting_ca(values: &Values) -> Vec<String> {
    if values.teleport.registration != Registration::Operator || render_time_ca(values).is_some() {
        return Vec::new();
    }
    // The names of `endpoints`, without building the rest of them.
    let prefix = values.teleport_database_prefix();
    service_kinds(values)
        .iter()
        .map(|kind| endpoint_name(&prefix, kind))
        .collect()
}

/// A `kind: db` v3 document for `tctl create`.
fn db_document(values: &Values, endpoint: &Endpoint, ca_cert: &str) -> Json {
    let mut document = json!({
        "kind": "db",
        "version": "v3",
        "metadata": {"name": endpoint.name, "description": endpoint.description, "labels": endpoint_labels(values, endpoint)},
        "spec": {"protocol": "postgres", "uri": endpoint.uri, "tls": {"mode": "verify-full", "ca_cert": ca_cert}},
    });
    if let Some(admin) = admin_user_field(endpoint) {
        document["spec"]["admin_user"] = admin;
    }
    document
}

pub fn plan(common: &Common) -> Vec<Planned> {
    let mut planned = match common.values.teleport.registration {
        Registration::Operator => operator::plan(common),
        Registration::Job => job::plan(common),
        Registration::Agent => agent::plan(common),
        Registration::None => Vec::new(),
    };
    planned.extend(token::plan(common));
    planned
}

fn in_operator_namespace(common: &Common, planned: Planned) -> Planned {
    planned.in_namespace(&common.values.teleport.operator.namespace)
}

/// Where the joining container reads the projected ServiceAccount token.
const JOIN_TOKEN_DIR: &str = "/var/run/secrets/teleport";

/// The static JWKS and OIDC join types check the token's audience against the Teleport cluster
/// name, which the pod's own token (audience: the API server) never has: those pods get a
/// projected token for that audience, named by `KUBERNETES_TOKEN_PATH`. None for `inCluster`,
/// whose TokenReview takes the pod's own token.
pub(crate) struct JoinTokenProjection {
    pub volume: Json,
    pub mount: Json,
    pub env: Json,
}

fn join_token_projection(values: &Values) -> Option<JoinTokenProjection> {
    let join = &values.teleport.join;
    if join.kind == crate::values::JoinType::InCluster {
        return None;
    }
    let audience = join.cluster_name.clone().unwrap_or_default();
    Some(JoinTokenProjection {
        // 600 s is the shortest lifetime Kubernetes issues; the kubelet renews it.
        volume: json!({"name": "join-token", "projected": {"sources": [{"serviceAccountToken": {
            "audience": audience, "expirationSeconds": 600, "path": "token"}}]}}),
        mount: json!({"name": "join-token", "mountPath": JOIN_TOKEN_DIR, "readOnly": true}),
        env: json!({"name": "KUBERNETES_TOKEN_PATH", "value": format!("{JOIN_TOKEN_DIR}/token")}),
    })
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
