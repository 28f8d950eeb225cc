//! The client-CA bundle PostgreSQL trusts: the cluster's own client CA first, then Teleport's
//! database client CA, each certificate once, in Secret `<name>-client-ca-bundle` (the Cluster's
//! `clientCASecret`, key `ca.crt`).
//!
//! No `ca.key`, ever. CloudNativePG needs `ca.key` in `clientCASecret` only to sign leaves itself
//! (replication, its own pooler certificate, `DatabaseRole` certificates), and when a key is
//! present the *first* certificate of `ca.crt` must match it. cnpgtp issues the replication and
//! PgBouncer certificates with cert-manager, so CloudNativePG never signs anything, the rule never
//! applies, and the CA key stays in one Secret (`<name>-client-ca`).
//!
//! The bundle is built in one of two ways, byte for byte the same (PEM re-wrapped at 64 columns);
//! both refuse a source holding anything but certificates, or no certificate, and then leave the
//! previous bundle in place:
//!
//! - `externalSecrets` (default): a namespace-scoped SecretStore (kubernetes provider) whose
//!   ServiceAccount may only `get` the two sources, and an ExternalSecret whose template
//!   ([`BUNDLE_TEMPLATE`], `scripts/ca-bundle/external-secret.tmpl`) merges them. External-secrets
//!   polls its sources every `refreshInterval`; it does not watch them.
//! - `syncWorkload`: a one-replica Deployment running [`SYNC_SCRIPT`]
//!   (`scripts/ca-bundle/sync.sh`) from a ConfigMap. It watches the two sources and the bundle,
//!   writes only when the bundle differs, and exits when a watch ends so Kubernetes restarts it.
//!   cnpgtp renders the bundle Secret itself, without data, so it exists and carries
//!   `cnpg.io/reload`; appliers (kubectl, ArgoCD, server-side apply) leave the `data` the
//!   workload writes alone because they never set it.
//!
//! The sync workload also carries the server CA into the Teleport operator's
//! `TeleportDatabaseV3` objects when that CA exists only in the cluster (operator registration
//! without `tls.server.ca.pem`): it watches the server CA Secret and those objects and writes
//! `spec.tls.ca_cert`, which the render leaves out, so appliers never fight it. Its RBAC there is
//! a Role in the operator's namespace naming those objects.
//!
//! Reloads: the bundle carries `cnpg.io/reload`, so CloudNativePG reloads PostgreSQL when it
//! changes. CloudNativePG does not reconcile Poolers on a cluster CA change; the sync workload
//! annotates each rendered Pooler after writing a new bundle (`patch` on those Poolers only) so
//! PgBouncer picks it up. With external-secrets, bump a Pooler annotation by hand after a CA
//! rotation.

use serde_json::{Value as Json, json};

use crate::manifest::Kind;
use crate::naming::Names;
use crate::plan::{Common, Planned};
use crate::resources::certs::{self, RELOAD_LABEL};
use crate::resources::teleport::databases_awaiting_ca;
use crate::values::BundleMechanism;

/// The sync workload's script; its `bundle FILE...` mode prints the bundle built from PEM files.
pub const SYNC_SCRIPT: &str = include_str!("../../scripts/ca-bundle/sync.sh");

/// The ExternalSecret template for `ca.crt`: the same bundle and refusals as [`SYNC_SCRIPT`].
pub const BUNDLE_TEMPLATE: &str = include_str!("../../scripts/ca-bundle/external-secret.tmpl");

/// Label value of every object of the bundle (`app.kubernetes.io/component`).
/// The component label of the bundle's objects (monitoring finds the bundle workload by it).
pub(crate) const COMPONENT: &str = "ca-bundle";

/// The Secret the Cluster's `clientCASecret` names.
pub fn bundle_secret(names: &Names) -> &str {
    &names.client_ca_bundle
}

/// The Secret (and key) holding Teleport's database client CA.
pub fn teleport_ca_source(common: &Common) -> (String, &'static str) {
    match &common.values.teleport.database_client_ca.existing_secret {
        Some(existing) => (existing.clone(), "ca.crt"),
        None => (common.names.teleport_ca_secret.clone(), "ca.crt"),
    }
}

/// The key of the cluster client CA Secret holding its certificate (cert-manager writes the CA
/// certificate as `tls.crt`; the self-signed issuer's `ca.crt` is the same certificate).
pub const CLUSTER_CA_KEY: &str = "tls.crt";

pub fn plan(common: &Common) -> Vec<Planned> {
    let names = &common.names;
    let values = common.values;
    let mut planned = Vec::new();
    if let Some(pem) = &values.teleport.database_client_ca.pem {
        planned.push(common.object(
            "ca-secret.json",
            Kind::Secret,
            &names.teleport_ca_secret,
            COMPONENT,
            json!({"pem": pem}),
        ));
    }
    let reader = &names.bundle_sync;
    planned.push(common.object(
        "service-account.json",
        Kind::ServiceAccount,
        reader,
        COMPONENT,
        json!({}),
    ));
    planned.push(common.object(
        "role.json",
        Kind::Role,
        reader,
        COMPONENT,
        json!({ "rules": rbac_rules(common) }),
    ));
    planned.push(common.object(
        "role-binding.json",
        Kind::RoleBinding,
        reader,
        COMPONENT,
        json!({"role": reader, "subjects": [{"kind": "ServiceAccount", "name": reader, "namespace": common.namespace()}]}),
    ));
    match values.client_ca_bundle.mechanism {
        BundleMechanism::ExternalSecrets => planned.extend(external_secrets(common)),
        BundleMechanism::SyncWorkload => planned.extend(sync_workload(common)),
    }
    planned
}

/// What the bundle's ServiceAccount may do: read the two sources, and for the sync workload
/// also watch them, write the bundle and annotate the Poolers. Every rule names its objects
/// (`watch` with resourceNames works because kubectl watches one object with the field selector
/// `metadata.name=<name>`); there is no `list` and no `create`.
fn rbac_rules(common: &Common) -> Json {
    let (teleport_secret, _) = teleport_ca_source(common);
    let sources = [certs::client_ca_secret(&common.names), &teleport_secret];
    match common.values.client_ca_bundle.mechanism {
        BundleMechanism::ExternalSecrets => json!([
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": sources, "verbs": ["get"]},
            // SecretStore validation asks what it may do; every identity may ask this anyway.
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectrulesreviews"], "verbs": ["create"]},
        ]),
        BundleMechanism::SyncWorkload => {
            let mut rules = vec![
                json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": sources, "verbs": ["get", "watch"]}),
                json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": [bundle_secret(&common.names)], "verbs": ["get", "watch", "patch"]}),
            ];
            if !databases_awaiting_ca(common.values).is_empty() {
                rules.push(json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": [certs::server_ca_secret(common)], "verbs": ["get", "watch"]}));
            }
            let poolers: Vec<&str> = common.poolers().into_iter().map(|(_, name)| name).collect();
            if !poolers.is_empty() {
                rules.push(json!({"apiGroups": ["postgresql.cnpg.io"], "resources": ["poolers"], "resourceNames": poolers, "verbs": ["patch"]}));
            }
            Json::Array(rules)
        }
    }
}

fn external_secrets(common: &Common) -> Vec<Planned> {
    let names = &common.names;
    let reader = &names.bundle_sync;
    let (teleport_secret, teleport_key) = teleport_ca_source(common);
    vec![
        common.object(
            "secret-store.json",
            Kind::SecretStore,
            reader,
            COMPONENT,
            json!({"remote_namespace": common.namespace(), "service_account": reader}),
        ),
        common.object(
            "external-secret.json",
            Kind::ExternalSecret,
            bundle_secret(names),
            COMPONENT,
            json!({
                "refresh_interval": common.values.client_ca_bundle.refresh_interval,
                "store": reader,
                "target": bundle_secret(names),
                "target_labels": {RELOAD_LABEL: "true"},
                "template": BUNDLE_TEMPLATE,
                "sources": [
                    {"secretKey": "clusterClientCa", "remoteRef": {"key": certs::client_ca_secret(names), "property": CLUSTER_CA_KEY}},
                    {"secretKey": "teleportDatabaseClientCa", "remoteRef": {"key": teleport_secret, "property": teleport_key}},
                ],
            }),
        ),
    ]
}

fn sync_workload(common: &Common) -> Vec<Planned> {
    let names = &common.names;
    let sync = &common.values.client_ca_bundle.sync_workload;
    let workload = &names.bundle_sync;
    let (teleport_secret, teleport_key) = teleport_ca_source(common);

    let secret = common
        .object(
            "bundle-secret.json",
            Kind::Secret,
            bundle_secret(names),
            COMPONENT,
            json!({}),
        )
        .with_label(RELOAD_LABEL, "true")
        .with_annotation(
            "cnpgtp.io/data-written-by",
            &format!("Deployment {workload} (clientCaBundle.mechanism: syncWorkload)"),
        );

    let poolers: Vec<&str> = common.poolers().into_iter().map(|(_, name)| name).collect();
    let awaiting = databases_awaiting_ca(common.values);
    // The Teleport databases the workload writes the server CA into, if any.
    let teleport_databases = (!awaiting.is_empty()).then(|| awaiting.join(" "));
    let labels = common.labels(COMPONENT);
    let selector = json!({
        "app.kubernetes.io/name": labels["app.kubernetes.io/name"],
        "app.kubernetes.io/instance": labels["app.kubernetes.io/instance"],
        "app.kubernetes.io/component": COMPONENT,
    });
    let resources = &sync.resources;
    let mut planned = teleport_access(common);
    planned.extend([
        secret,
        common.object(
            "bundle-configmap.json",
            Kind::ConfigMap,
            workload,
            COMPONENT,
            json!({"script": SYNC_SCRIPT}),
        ),
        common.object(
            "bundle-deployment.json",
            Kind::Deployment,
            workload,
            COMPONENT,
            json!({
                "selector": selector,
                "pod_labels": labels,
                "script_hash": format!("{SYNC_SCRIPT_HASH:016x}"),
                "service_account": workload,
                "image": sync.image,
                "cluster_ca_secret": certs::client_ca_secret(names),
                "cluster_ca_key": CLUSTER_CA_KEY,
                "teleport_ca_secret": teleport_secret,
                "teleport_ca_key": teleport_key,
                "target_secret": bundle_secret(names),
                "poolers": poolers.join(" "),
                "teleport_databases": teleport_databases,
                "server_ca_secret": teleport_databases.as_ref().map(|_| certs::server_ca_secret(common)),
                "teleport_namespace": common.values.teleport.operator.namespace,
                "resources": {
                    "requests": {"cpu": resources.cpu, "memory": resources.memory},
                    "limits": {"memory": resources.memory_limit},
                },
                "config_map": workload,
            }),
        ),
    ]);
    planned
}

/// The Role and RoleBinding in the Teleport operator's namespace that let the sync workload
/// watch and patch the TeleportDatabaseV3 objects awaiting the server CA (none otherwise).
fn teleport_access(common: &Common) -> Vec<Planned> {
    let databases = databases_awaiting_ca(common.values);
    if databases.is_empty() {
        return Vec::new();
    }
    let workload = &common.names.bundle_sync;
    // Named after the Teleport databases, which are unique in Teleport (two clusters of one name
    // in two namespaces share this namespace).
    let name = format!("{}-ca-sync", common.values.teleport_database_prefix());
    let operator_namespace = &common.values.teleport.operator.namespace;
    let rules = json!([{"apiGroups": ["resources.teleport.dev"], "resources": ["teleportdatabasesv3"],
        "resourceNames": databases, "verbs": ["get", "watch", "patch"]}]);
    let role = common.object(
        "role.json",
        Kind::Role,
        &name,
        COMPONENT,
        json!({"rules": rules}),
    );
    let binding = common.object(
        "role-binding.json",
        Kind::RoleBinding,
        &name,
        COMPONENT,
        json!({"role": name, "subjects": [{"kind": "ServiceAccount", "name": workload, "namespace": common.namespace()}]}),
    );
    vec![
        role.in_namespace(operator_namespace),
        binding.in_namespace(operator_namespace),
    ]
}

/// FNV-1a, 64 bits: a stable fingerprint of the script for the pod template, so a new script
/// rolls the Deployment (the ConfigMap alone would not). `const`, so the script's is computed
/// at build time ([`SYNC_SCRIPT_HASH`]): hashing 13 KB took a twentieth of a render.
pub(crate) const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// [`fnv1a64`] of [`SYNC_SCRIPT`].
const SYNC_SCRIPT_HASH: u64 = fnv1a64(SYNC_SCRIPT.as_bytes());
