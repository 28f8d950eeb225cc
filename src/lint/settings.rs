//! Risky settings: configuration that renders and runs but weakens security.
//!
//! - TLS that does not verify the peer: a Teleport database `tls.mode` other than verify-full
//!   (on a `TeleportDatabaseV3`, or in a Teleport agent configuration or `tctl create` document
//!   held by a ConfigMap), PgBouncer's `server_tls_sslmode`/`client_tls_sslmode`, a cert-manager
//!   Issuer talking to Vault over plain HTTP;
//! - secrets written in plain text into a rendered Secret instead of an existing Secret or an
//!   argocd-vault-plugin placeholder (the manifests end up in Git);
//! - `enableSuperuserAccess` on a CloudNativePG Cluster.

use serde_json::Value as Json;

use super::objects::str_at;
use super::{Out, Rule, Severity};
use crate::values::is_placeholder;

/// Secret keys that hold secrets (certificates such as `ca.crt` are public).
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "identity",
        "key",
        "credential",
    ]
    .iter()
    .any(|word| key.contains(word))
}

pub(super) fn risky_settings(out: &mut Out) {
    let object = out.object;
    if str_at(object, "/kind") == "Cluster" && !has_backup(object) {
        no_backup(out);
    }
    match str_at(object, "/kind") {
        "Secret" => {
            let basic_auth = str_at(object, "/type") == "kubernetes.io/basic-auth";
            for field in ["stringData", "data"] {
                let Some(entries) = object.get(field).and_then(Json::as_object) else {
                    continue;
                };
                for (key, value) in entries {
                    let secret = is_secret_key(key) || (basic_auth && key != "username");
                    let text = value.as_str().unwrap_or("");
                    // `data` is base64; a placeholder there is still written as `<...>`.
                    if secret && !text.is_empty() && !is_placeholder(text) {
                        out.push(
                            Severity::Warning,
                            Rule::PlaintextSecret,
                            format!(
                                "{field}.{key} holds a secret in plain text: keep it out of the manifests with an existing Secret or an argocd-vault-plugin placeholder such as <path:kv/data/db#password>"
                            ),
                        );
                    }
                }
            }
        }
        "Cluster" if object.pointer("/spec/enableSuperuserAccess") == Some(&Json::Bool(true)) => {
            out.push(
                Severity::Warning,
                Rule::SuperuserAccess,
                "spec.enableSuperuserAccess is true: the postgres superuser can log in with a password over the network",
            );
        }
        "Pooler" => {
            let parameters = object.pointer("/spec/pgbouncer/parameters");
            let mode = |key: &str| {
                parameters
                    .and_then(|p| p.get(key))
                    .and_then(Json::as_str)
                    .map(str::to_ascii_lowercase)
            };
            match mode("server_tls_sslmode").as_deref() {
                Some(m @ ("disable" | "allow" | "prefer")) => out.push(
                    Severity::Error,
                    Rule::Tls,
                    format!("spec.pgbouncer.parameters.server_tls_sslmode is `{m}`: PgBouncer may talk to PostgreSQL without TLS; use verify-full"),
                ),
                Some("require") => out.push(
                    Severity::Warning,
                    Rule::Tls,
                    "spec.pgbouncer.parameters.server_tls_sslmode is `require`: PostgreSQL's certificate is not verified; use verify-full",
                ),
                _ => {}
            }
            if let Some(m @ ("trust" | "any" | "plain")) = mode("auth_type").as_deref() {
                out.push(
                    Severity::Error,
                    Rule::Authentication,
                    format!("spec.pgbouncer.parameters.auth_type is `{m}`: clients get through PgBouncer without proving who they are (or send passwords in clear text); remove it or use scram-sha-256"),
                );
            }
            if let Some(m @ ("disable" | "allow" | "prefer")) =
                mode("client_tls_sslmode").as_deref()
            {
                out.push(
                    Severity::Warning,
                    Rule::Tls,
                    format!("spec.pgbouncer.parameters.client_tls_sslmode is `{m}`: clients may connect without TLS"),
                );
            }
        }
        "TeleportDatabaseV3" => {
            if let Some(message) = teleport_tls(object.pointer("/spec/tls")) {
                out.push(
                    Severity::Error,
                    Rule::Tls,
                    format!("spec.tls.mode {message}"),
                );
            }
        }
        "ConfigMap" => {
            // Teleport agent configuration and `tctl create` documents carry database TLS modes.
            for (key, text) in object
                .get("data")
                .and_then(Json::as_object)
                .into_iter()
                .flatten()
            {
                let Some(text) = text.as_str() else { continue };
                let documents = serde_json::from_str::<Json>(text).map_or_else(
                    |_| crate::yaml::large_documents(text).unwrap_or_default(),
                    |json| vec![json],
                );
                for document in &documents {
                    walk_tls(document, &mut |message| {
                        out.push(
                            Severity::Error,
                            Rule::Tls,
                            format!("data.{key}: a database tls.mode {message}"),
                        );
                    });
                }
            }
        }
        "Issuer" if str_at(object, "/spec/vault/server").starts_with("http://") => {
            out.push(
                Severity::Warning,
                Rule::Tls,
                "spec.vault.server is plain HTTP: cert-manager sends its Vault credentials unencrypted",
            );
        }
        _ => {}
    }
}

/// A message when a Teleport `tls` block does not verify the full certificate.
fn teleport_tls(tls: Option<&Json>) -> Option<String> {
    // Teleport's default mode is verify-full.
    let mode = tls.map_or("", |t| str_at(t, "/mode"));
    match mode {
        "" | "verify-full" => None,
        other => Some(format!(
            "is `{other}`: Teleport does not verify PostgreSQL's server certificate and name; use verify-full"
        )),
    }
}

fn walk_tls(value: &Json, report: &mut impl FnMut(String)) {
    match value {
        Json::Object(map) => {
            if let Some(tls) = map.get("tls").filter(|t| t.get("mode").is_some())
                && let Some(message) = teleport_tls(Some(tls))
            {
                report(message);
            }
            for child in map.values() {
                walk_tls(child, report);
            }
        }
        Json::Array(list) => {
            for child in list {
                walk_tls(child, report);
            }
        }
        _ => {}
    }
}

/// Whether a Cluster archives WAL through a plugin or takes volume snapshots.
fn has_backup(cluster: &Json) -> bool {
    let archiver = cluster
        .pointer("/spec/plugins")
        .and_then(Json::as_array)
        .is_some_and(|plugins| {
            plugins.iter().any(|p| {
                p.get("isWALArchiver") == Some(&Json::Bool(true))
                    && p.get("enabled") != Some(&Json::Bool(false))
            })
        });
    archiver
        || cluster.pointer("/spec/backup/volumeSnapshot").is_some()
        || cluster.pointer("/spec/backup/barmanObjectStore").is_some()
}

/// A Cluster without backups: deleting a volume or a bad migration loses the data for good.
fn no_backup(out: &mut Out) {
    let object = out.object;
    let annotations = "/metadata/annotations/cnpgtp.io~1no-backup-reason";
    if object.pointer(annotations).is_some() {
        return;
    }
    let production = str_at(object, "/metadata/labels/cnpgtp.io~1stage") == "production";
    out.push(
        if production { Severity::Error } else { Severity::Warning },
        Rule::Backup,
        "no WAL archive and no backups: a lost volume or a bad change cannot be undone; set backup.enabled with an objectStore (or backup.disabledReason when that is intended)".to_string(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys() {
        assert!(is_secret_key("password"));
        assert!(is_secret_key("secretId"));
        assert!(is_secret_key("tls.key"));
        assert!(!is_secret_key("ca.crt"));
        assert!(!is_secret_key("username"));
    }
}
