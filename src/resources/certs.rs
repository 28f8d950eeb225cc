//! The cert-manager chain.
//!
//! Client side: self-signed Issuer -> client CA Certificate (ECDSA, long-lived, key never rotated
//! on renewal so leaves stay valid) -> CA Issuer -> `streaming_replica` and `cnpg_pooler_pgbouncer`
//! client certificates. Server side: a server certificate from a generated self-signed server CA,
//! a Vault Issuer, or an existing (Cluster)Issuer, naming every service clients use.
//!
//! Issued Secrets carry `cnpg.io/reload` through `secretTemplate`, so CloudNativePG reloads on
//! renewal and no empty Secret has to be pre-created (ArgoCD would own and fight it).

use serde_json::{Value as Json, json};

use crate::manifest::Kind;
use crate::naming::{self, Names};
use crate::plan::{Common, Planned};
use crate::values::{IssuerKind, ServerIssuerKind, VaultAuthKind};

/// The label CloudNativePG watches on Secrets; only its presence matters.
pub const RELOAD_LABEL: &str = "cnpg.io/reload";

/// The Secret holding the cluster client CA certificate (`tls.crt`) and key.
pub fn client_ca_secret(names: &Names) -> &str {
    &names.client_ca
}

/// Every DNS name a client may use to reach the server: rw, ro and r services, the poolers and
/// the additional Services, each in its four forms, then the user's extra names.
pub fn server_dns_names(common: &Common) -> Vec<String> {
    let names = &common.names;
    let namespace = common.namespace();
    let mut services = vec![
        names.rw_service.as_str(),
        names.ro_service.as_str(),
        names.r_service.as_str(),
    ];
    services.extend(common.poolers().into_iter().map(|(_, name)| name));
    services.extend(
        common
            .values
            .postgres
            .services
            .additional
            .iter()
            .map(|s| s.name.as_str()),
    );
    let mut dns: Vec<String> = services
        .into_iter()
        .flat_map(|s| Names::service_dns_names(s, namespace))
        .collect();
    for extra in &common.values.tls.server.extra_dns_names {
        if !dns.contains(extra) {
            dns.push(extra.clone());
        }
    }
    dns
}

/// The Secret that holds the server CA under `ca.crt` (CNPG `serverCASecret`).
pub fn server_ca_secret(common: &Common) -> String {
    let ca = &common.values.tls.server.ca;
    if let Some(existing) = &ca.existing_secret {
        existing.clone()
    } else if ca.pem.is_some() {
        common.names.server_ca_pem_secret.clone()
    } else {
        // cert-manager writes the issuing CA as `ca.crt` beside the leaf.
        common.names.server_cert.clone()
    }
}

/// `spec.certificates` of the Cluster.
pub fn cluster_certificates(common: &Common) -> Json {
    json!({
        "serverCASecret": server_ca_secret(common),
        "serverTLSSecret": common.names.server_cert,
        "clientCASecret": &common.names.client_ca_bundle,
        "replicationTLSSecret": common.names.replication_cert,
    })
}

fn issuer_ref(name: &str, kind: IssuerKind) -> Json {
    let kind = match kind {
        IssuerKind::Issuer => "Issuer",
        IssuerKind::ClusterIssuer => "ClusterIssuer",
    };
    json!({"name": name, "kind": kind, "group": "cert-manager.io"})
}

fn ca_certificate(common: &Common, name: &str, issuer: &str) -> Planned {
    let lifetime = &common.values.tls.client_ca;
    common.object(
        "ca-certificate.json",
        Kind::Certificate,
        name,
        "certificates",
        json!({
            "common_name": name,
            "secret_name": name,
            "duration": lifetime.duration,
            "renew_before": lifetime.renew_before,
            "issuer_ref": issuer_ref(issuer, IssuerKind::Issuer),
        }),
    )
}

fn client_certificate(common: &Common, name: &str, user: &str) -> Planned {
    let lifetime = &common.values.tls.client_certificates;
    common.object(
        "client-certificate.json",
        Kind::Certificate,
        name,
        "certificates",
        json!({
            "common_name": user,
            "secret_name": name,
            "duration": lifetime.duration,
            "renew_before": lifetime.renew_before,
            "issuer_ref": issuer_ref(&common.names.client_ca_issuer, IssuerKind::Issuer),
            "secret_labels": {RELOAD_LABEL: "true"},
        }),
    )
}

pub fn plan(common: &Common) -> Vec<Planned> {
    let names = &common.names;
    let values = common.values;
    let server = &values.tls.server;
    let mut planned = vec![
        common.object(
            "selfsigned-issuer.json",
            Kind::Issuer,
            &names.selfsigned_issuer,
            "certificates",
            json!({}),
        ),
        ca_certificate(common, &names.client_ca, &names.selfsigned_issuer),
        common.object(
            "ca-issuer.json",
            Kind::Issuer,
            &names.client_ca_issuer,
            "certificates",
            json!({"secret_name": client_ca_secret(names)}),
        ),
        client_certificate(common, &names.replication_cert, "streaming_replica"),
    ];
    if values.pooler.enabled {
        planned.push(client_certificate(
            common,
            &names.pooler_auth_cert,
            naming::POOLER_AUTH_ROLE,
        ));
    }

    let server_issuer = match server.issuer {
        ServerIssuerKind::SelfSigned => {
            planned.push(ca_certificate(
                common,
                &names.server_ca,
                &names.selfsigned_issuer,
            ));
            planned.push(common.object(
                "ca-issuer.json",
                Kind::Issuer,
                &names.server_ca_issuer,
                "certificates",
                json!({"secret_name": names.server_ca}),
            ));
            issuer_ref(&names.server_ca_issuer, IssuerKind::Issuer)
        }
        ServerIssuerKind::Existing => {
            let existing = &server.existing_issuer;
            issuer_ref(existing.name.as_deref().unwrap_or_default(), existing.kind)
        }
        ServerIssuerKind::Vault => {
            planned.extend(vault_issuer(common));
            issuer_ref(&names.vault_issuer, IssuerKind::Issuer)
        }
    };
    if let Some(pem) = &server.ca.pem {
        planned.push(
            common
                .object(
                    "ca-secret.json",
                    Kind::Secret,
                    &names.server_ca_pem_secret,
                    "certificates",
                    json!({"pem": pem}),
                )
                .with_label(RELOAD_LABEL, "true"),
        );
    }
    planned.push(common.object(
        "server-certificate.json",
        Kind::Certificate,
        &names.server_cert,
        "certificates",
        json!({
            "common_name": names.rw_service,
            "secret_name": names.server_cert,
            "dns_names": server_dns_names(common),
            "duration": server.duration,
            "renew_before": server.renew_before,
            "issuer_ref": server_issuer,
            "secret_labels": {RELOAD_LABEL: "true"},
        }),
    ));
    planned
}

fn vault_issuer(common: &Common) -> Vec<Planned> {
    let names = &common.names;
    let vault = &common.values.tls.server.vault;
    let mut planned = Vec::new();
    let auth = match vault.auth {
        VaultAuthKind::AppRole => {
            let secret_id = &vault.app_role.secret_id;
            let secret_name = match (&secret_id.existing_secret, &secret_id.value) {
                (Some(existing), _) => existing.clone(),
                (None, Some(value)) => {
                    planned.push(common.object(
                        "opaque-secret.json",
                        Kind::Secret,
                        &names.vault_approle_secret,
                        "certificates",
                        json!({"data": {"secretId": value}}),
                    ));
                    names.vault_approle_secret.clone()
                }
                (None, None) => String::new(),
            };
            json!({"appRole": {
                "path": vault.app_role.path,
                "roleId": vault.app_role.role_id,
                "secretRef": {"name": secret_name, "key": "secretId"},
            }})
        }
        VaultAuthKind::Kubernetes => {
            let k8s = &vault.kubernetes;
            // cert-manager requests a bound token for this ServiceAccount; it may only do that
            // for the one ServiceAccount, in this namespace.
            let service_account = names.vault_issuer.clone();
            planned.push(common.object(
                "service-account.json",
                Kind::ServiceAccount,
                &service_account,
                "certificates",
                json!({}),
            ));
            planned.push(common.object(
                "role.json",
                Kind::Role,
                &names.vault_token_role,
                "certificates",
                json!({"rules": [{
                    "apiGroups": [""],
                    "resources": ["serviceaccounts/token"],
                    "resourceNames": [service_account],
                    "verbs": ["create"],
                }]}),
            ));
            planned.push(common.object(
                "role-binding.json",
                Kind::RoleBinding,
                &names.vault_token_role,
                "certificates",
                json!({
                    "role": names.vault_token_role,
                    "subjects": [{"kind": "ServiceAccount", "name": k8s.cert_manager_service_account, "namespace": k8s.cert_manager_namespace}],
                }),
            ));
            json!({"kubernetes": {
                "role": k8s.role,
                "mountPath": k8s.mount_path,
                "serviceAccountRef": {"name": service_account},
            }})
        }
    };
    planned.push(common.object(
        "vault-issuer.json",
        Kind::Issuer,
        &names.vault_issuer,
        "certificates",
        json!({"server": vault.server, "path": vault.path, "ca_bundle": vault.ca_bundle, "auth": auth}),
    ));
    planned
}
