//! The client-CA bundle PostgreSQL trusts: the cluster's own client CA first, then Teleport's
//! database client CA, in Secret `<name>-client-ca-bundle` (the Cluster's `clientCASecret`).
//!
//! The bundle carries no `ca.key`: cnpgtp issues the replication and PgBouncer certificates with
//! cert-manager, so CloudNativePG never has to sign anything, and the CA key stays in one Secret.
//! (CloudNativePG only needs `ca.key` to sign leaves itself; when present, the first certificate
//! of `ca.crt` must match it.)
//!
//! Mechanism `externalSecrets`: a namespace-scoped SecretStore (kubernetes provider) whose
//! ServiceAccount may only `get` the two source Secrets, and an ExternalSecret whose template
//! concatenates them. ESO polls its sources every `refreshInterval`.

use serde_json::json;

use crate::certs::{self, RELOAD_LABEL};
use crate::manifest::Kind;
use crate::naming::Names;
use crate::render::{Common, Planned};
use crate::values::BundleMechanism;

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

/// The ESO template for `ca.crt`: each source reduced to its CERTIFICATE blocks, in bundle order.
pub const BUNDLE_TEMPLATE: &str = "{{ .clusterClientCa | filterPEM \"CERTIFICATE\" | trim }}\n{{ .teleportDatabaseClientCa | filterPEM \"CERTIFICATE\" | trim }}\n";

pub fn plan(common: &Common) -> Vec<Planned> {
    let names = &common.names;
    let values = common.values;
    let mut planned = Vec::new();
    if let Some(pem) = &values.teleport.database_client_ca.pem {
        planned.push(common.object(
            "ca-secret.yaml",
            Kind::Secret,
            &names.teleport_ca_secret,
            "ca-bundle",
            json!({"pem": pem}),
        ));
    }
    let (teleport_secret, teleport_key) = teleport_ca_source(common);
    let client_ca = certs::client_ca_secret(names).to_string();
    match values.client_ca_bundle.mechanism {
        BundleMechanism::ExternalSecrets => {
            let reader = &names.bundle_sync;
            planned.push(common.object(
                "service-account.yaml",
                Kind::ServiceAccount,
                reader,
                "ca-bundle",
                json!({}),
            ));
            planned.push(common.object(
                "role.yaml",
                Kind::Role,
                reader,
                "ca-bundle",
                json!({"rules": [
                    {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [client_ca, teleport_secret], "verbs": ["get"]},
                    {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectrulesreviews"], "verbs": ["create"]},
                ]}),
            ));
            planned.push(common.object(
                "role-binding.yaml",
                Kind::RoleBinding,
                reader,
                "ca-bundle",
                json!({"role": reader, "subjects": [{"kind": "ServiceAccount", "name": reader, "namespace": common.namespace()}]}),
            ));
            planned.push(common.object(
                "secret-store.yaml",
                Kind::SecretStore,
                reader,
                "ca-bundle",
                json!({"remote_namespace": common.namespace(), "service_account": reader}),
            ));
            planned.push(common.object(
                "external-secret.yaml",
                Kind::ExternalSecret,
                bundle_secret(names),
                "ca-bundle",
                json!({
                    "refresh_interval": values.client_ca_bundle.refresh_interval,
                    "store": reader,
                    "target": bundle_secret(names),
                    "target_labels": {RELOAD_LABEL: "true"},
                    "template": BUNDLE_TEMPLATE,
                    "sources": [
                        {"secretKey": "clusterClientCa", "remoteRef": {"key": client_ca, "property": "tls.crt"}},
                        {"secretKey": "teleportDatabaseClientCa", "remoteRef": {"key": teleport_secret, "property": teleport_key}},
                    ],
                }),
            ));
        }
        BundleMechanism::SyncWorkload => {}
    }
    planned
}
