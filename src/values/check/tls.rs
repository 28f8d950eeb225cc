//! `tls` and `teleport.databaseClientCa`: certificate lifetimes, the server's DNS names, its
//! issuer (self-signed, an existing Issuer or Vault) and the CA certificates.
//!
//! cert-manager accepts these objects and fails later, in its logs: a duration it cannot parse,
//! an issuer without the address or path it needs, a CA that is neither PEM nor a placeholder.

use super::Findings;
use super::secrets::secret_source;
use super::syntax::{go_duration_seconds, is_dns_name, is_placeholder};
use crate::naming;
use crate::values::{CaSource, ServerIssuerKind, Values, VaultAuthKind};

pub(super) fn check(values: &Values, f: &mut Findings) {
    let t = &values.tls;
    for (path, duration, renew_before) in [
        (
            "tls.clientCa",
            &t.client_ca.duration,
            &t.client_ca.renew_before,
        ),
        (
            "tls.clientCertificates",
            &t.client_certificates.duration,
            &t.client_certificates.renew_before,
        ),
        ("tls.server", &t.server.duration, &t.server.renew_before),
    ] {
        lifetime(f, path, duration, renew_before);
    }
    for (i, name) in t.server.extra_dns_names.iter().enumerate() {
        if !is_dns_name(name) {
            f.error(
                &format!("tls.server.extraDnsNames[{i}]"),
                "not a DNS name",
                "write a host name such as `db.example.com`",
            );
        }
    }
    match t.server.issuer {
        ServerIssuerKind::SelfSigned => {}
        ServerIssuerKind::Existing => {
            if t.server
                .existing_issuer
                .name
                .as_ref()
                .is_none_or(|n| !is_dns_name(n))
            {
                f.error_at(
                    "tls.server.existingIssuer.name",
                    "tls.server.issuer",
                    "`issuer: existing` needs the name of an Issuer or ClusterIssuer",
                    "set tls.server.existingIssuer.name",
                );
            }
        }
        ServerIssuerKind::Vault => {
            let vault = &t.server.vault;
            if vault.server.as_ref().is_none_or(|s| {
                !(s.starts_with("https://") || s.starts_with("http://") || is_placeholder(s))
            }) {
                f.error_at(
                    "tls.server.vault.server",
                    "tls.server.issuer",
                    "`issuer: vault` needs the Vault address",
                    "set e.g. https://vault.example.com:8200",
                );
            }
            if vault.path.as_ref().is_none_or(String::is_empty) {
                f.error_at(
                    "tls.server.vault.path",
                    "tls.server.issuer",
                    "`issuer: vault` needs the PKI sign path",
                    "set e.g. pki_int/sign/postgres",
                );
            } else if let Some(path) = &vault.path {
                vault_path(
                    f,
                    "tls.server.vault.path",
                    path,
                    "write the sign path plainly, e.g. pki_int/sign/postgres",
                );
            }
            if let Some(bundle) = &vault.ca_bundle
                && !is_placeholder(bundle)
                && !is_base64_pem(bundle)
            {
                f.error(
                    "tls.server.vault.caBundle",
                    "not base64 of PEM certificates: cert-manager refuses the Issuer",
                    "write base64 of the CA's PEM (base64 -w0 ca.crt), or a <path:...> placeholder",
                );
            }
            match vault.auth {
                VaultAuthKind::AppRole => {
                    if vault.app_role.role_id.as_ref().is_none_or(String::is_empty) {
                        f.error_at(
                            "tls.server.vault.appRole.roleId",
                            "tls.server.vault.auth",
                            "AppRole authentication needs the role ID",
                            "set the role ID or a placeholder",
                        );
                    }
                    vault_path(
                        f,
                        "tls.server.vault.appRole.path",
                        &vault.app_role.path,
                        "write the AppRole mount path plainly, e.g. approle",
                    );
                    secret_source(
                        f,
                        "tls.server.vault.appRole.secretId",
                        &vault.app_role.secret_id,
                        true,
                    );
                }
                VaultAuthKind::Kubernetes => {
                    if vault.kubernetes.role.as_ref().is_none_or(String::is_empty) {
                        f.error_at(
                            "tls.server.vault.kubernetes.role",
                            "tls.server.vault.auth",
                            "Kubernetes authentication needs the Vault role",
                            "set the role bound to the issuer's ServiceAccount",
                        );
                    }
                    vault_path(
                        f,
                        "tls.server.vault.kubernetes.mountPath",
                        &vault.kubernetes.mount_path,
                        "write the mount path plainly, e.g. /v1/auth/kubernetes",
                    );
                    // Both go into the token RoleBinding's subject: invalid names pass the
                    // render and fail at apply time.
                    if !is_dns_name(&vault.kubernetes.cert_manager_service_account) {
                        f.error(
                            "tls.server.vault.kubernetes.certManagerServiceAccount",
                            "not a valid ServiceAccount name",
                            "name cert-manager's ServiceAccount, e.g. `cert-manager`",
                        );
                    }
                    if !naming::is_dns_label(&vault.kubernetes.cert_manager_namespace) {
                        f.error(
                            "tls.server.vault.kubernetes.certManagerNamespace",
                            "not a valid namespace",
                            "name the namespace cert-manager runs in, e.g. `cert-manager`",
                        );
                    }
                }
            }
        }
    }
    ca_source(f, "tls.server.ca", &t.server.ca, false);
    ca_source(
        f,
        "teleport.databaseClientCa",
        &values.teleport.database_client_ca,
        true,
    );
}

/// cert-manager's `containsDotDotSegment` (`internal/apis/certmanager/validation/issuer.go` at
/// v1.21.1): `ValidateVaultIssuerConfig` refuses a `..` segment in `path`, and
/// `ValidateVaultIssuerAuth` in `auth.appRole.path` and `auth.kubernetes.mountPath`. A `.`
/// segment is refused too (cnpgtp's own rule): Vault would look for it literally.
fn vault_path(f: &mut Findings, at: &str, path: &str, fix: &str) {
    if path.split('/').any(|s| s == ".." || s == ".") {
        f.error(at, "a Vault path with `.` or `..` segments", fix);
    }
}

/// cert-manager decodes `vault.caBundle` and parses PEM certificates out of it.
fn is_base64_pem(text: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .is_some_and(|pem| {
            pem.contains("-----BEGIN CERTIFICATE-----") && pem.contains("-----END CERTIFICATE-----")
        })
}

/// cert-manager's Certificate validation (`internal/apis/certmanager/validation/certificate.go`,
/// `ValidateDuration`): `duration` at least `MinimumCertificateDuration` (1h), `renewBefore` at
/// least `MinimumRenewBefore` (5m), and `renewBefore` shorter than `duration`; cert-manager's
/// webhook refuses the Certificate otherwise.
fn lifetime(f: &mut Findings, path: &str, duration: &str, renew_before: &str) {
    const HOUR: f64 = 3600.0;
    const FIVE_MINUTES: f64 = 300.0;
    let duration_path = format!("{path}.duration");
    let renew_path = format!("{path}.renewBefore");
    let parsed = [(&duration_path, duration), (&renew_path, renew_before)].map(|(at, text)| {
        let seconds = go_duration_seconds(text);
        if seconds.is_none() {
            f.error(
                at,
                "not a Go duration",
                "write e.g. `2160h` (90 days) or `720h`",
            );
        }
        seconds
    });
    let [Some(duration_s), Some(renew_s)] = parsed else {
        return;
    };
    if duration_s < HOUR {
        f.error(
            &duration_path,
            "cert-manager refuses a certificate duration under 1h",
            "use 1h or more (the default is 2160h, 90 days)",
        );
    }
    if renew_s < FIVE_MINUTES {
        f.error(
            &renew_path,
            "cert-manager refuses a renewBefore under 5m",
            "use 5m or more",
        );
    }
    if renew_s >= duration_s {
        f.error_pair(
            &renew_path,
            &duration_path,
            format!(
                "cert-manager refuses a certificate whose duration ({duration}) is not longer than renewBefore ({renew_before})"
            ),
            "make renewBefore shorter than the duration, e.g. a third of it",
        );
    }
}

fn ca_source(f: &mut Findings, path: &str, source: &CaSource, required: bool) {
    match (&source.pem, &source.existing_secret) {
        (Some(_), Some(_)) => f.error_at(
            path,
            &format!("{path}.pem"),
            "set either `pem` or `existingSecret`, not both",
            "remove one of them",
        ),
        (None, None) if required => f.error(
            path,
            "a CA certificate is needed",
            "set `pem` (PEM text or a placeholder) or `existingSecret`",
        ),
        (Some(pem), None) => {
            if !(is_placeholder(pem) || pem.contains("-----BEGIN CERTIFICATE-----")) {
                f.error(
                    &format!("{path}.pem"),
                    "neither a PEM certificate nor an argocd-vault-plugin placeholder",
                    "paste the PEM (-----BEGIN CERTIFICATE----- ...) or write <path:...#key>",
                );
            }
        }
        (None, Some(name)) => {
            if !is_dns_name(name) {
                f.error(
                    &format!("{path}.existingSecret"),
                    "not a valid Secret name",
                    "name an existing Secret with a `ca.crt` key",
                );
            }
        }
        (None, None) => {}
    }
}
