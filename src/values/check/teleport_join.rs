//! `teleport.join`: the kubernetes join method of the Job's tbot and of the agent, and the
//! rendered join token.
//!
//! Teleport accepts a token with a malformed JWKS or issuer and fails only when a pod joins,
//! with an error in the Auth service's log the user rarely sees; the operator accepts a token
//! in any namespace and reconciles only its own. So the keys of the chosen type are checked
//! here, and the keys of the other types refused rather than ignored.

use super::Findings;
use super::syntax::is_object_name;
use crate::values::{JobIdentity, JoinType, Registration, Values};

/// The first Teleport release whose kubernetes join method has `type: oidc`.
const OIDC_SINCE: (u32, u32, u32) = (18, 1, 5);

pub(super) fn check(values: &Values, f: &mut Findings) {
    let t = &values.teleport;
    let join = &t.join;
    match (join.kind, &join.static_jwks) {
        (JoinType::StaticJwks, None) => f.error_at(
            "teleport.join.staticJwks",
            "teleport.join.type",
            "`type: staticJwks` needs the cluster's JWKS",
            "set teleport.join.staticJwks to the output of `kubectl get --raw /openid/v1/jwks`",
        ),
        (JoinType::StaticJwks, Some(jwks)) => {
            if let Err(problem) = jwks_problem(jwks) {
                f.error(
                    "teleport.join.staticJwks",
                    problem,
                    "paste the output of `kubectl get --raw /openid/v1/jwks` as it is",
                );
            }
        }
        (_, Some(_)) => f.error_pair(
            "teleport.join.staticJwks",
            "teleport.join.type",
            "the JWKS is read only with `type: staticJwks`",
            "remove staticJwks, or set teleport.join.type: staticJwks",
        ),
        (_, None) => {}
    }
    match (join.kind, &join.oidc_issuer) {
        (JoinType::Oidc, None) => f.error_at(
            "teleport.join.oidcIssuer",
            "teleport.join.type",
            "`type: oidc` needs the cluster's service account issuer",
            "set teleport.join.oidcIssuer to the output of `kubectl get --raw /.well-known/openid-configuration | jq -r .issuer`",
        ),
        (JoinType::Oidc, Some(issuer)) => {
            if !is_https_url(issuer) {
                f.error(
                    "teleport.join.oidcIssuer",
                    "not an https URL: Teleport fetches the issuer's discovery document and keys over https",
                    "use the issuer as the cluster reports it, e.g. https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE",
                );
            }
        }
        (_, Some(_)) => f.error_pair(
            "teleport.join.oidcIssuer",
            "teleport.join.type",
            "the issuer is read only with `type: oidc`",
            "remove oidcIssuer, or set teleport.join.type: oidc",
        ),
        (_, None) => {}
    }
    match (join.kind, &join.cluster_name) {
        (JoinType::InCluster, Some(_)) => f.error_pair(
            "teleport.join.clusterName",
            "teleport.join.type",
            "the cluster name is read only with `type: staticJwks` or `oidc` (inCluster checks the pod's own token)",
            "remove clusterName, or set teleport.join.type",
        ),
        (JoinType::InCluster, None) => {}
        (kind, None) if joins(values) => f.error_at(
            "teleport.join.clusterName",
            "teleport.join.type",
            format!(
                "`type: {}` needs the Teleport cluster name: Teleport accepts only a ServiceAccount token whose audience is that name",
                if kind == JoinType::Oidc { "oidc" } else { "staticJwks" }
            ),
            "set teleport.join.clusterName to the name `tctl status` shows, e.g. example.teleport.sh",
        ),
        (_, None) => {}
        (_, Some(name)) => {
            let valid = !name.is_empty()
                && name.len() <= 253
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !valid {
                f.error(
                    "teleport.join.clusterName",
                    "not a Teleport cluster name: letters, digits, '-', '_' and '.'",
                    "use the name `tctl status` shows, e.g. example.teleport.sh",
                );
            }
        }
    }
    if join.kind == JoinType::Oidc
        && version(&t.version).is_some_and(|v| v < OIDC_SINCE)
        && joins(values)
    {
        f.error_pair(
            "teleport.join.type",
            "teleport.version",
            "the kubernetes join method has `type: oidc` from Teleport 18.1.5 on",
            "use teleport.version 18.1.5 or newer (and a cluster that new), or `type: staticJwks`",
        );
    }
    if join.render_token {
        check_rendered_token(values, f);
    }
}

/// Whether the registration mode joins Teleport with the kubernetes join method.
fn joins(values: &Values) -> bool {
    let t = &values.teleport;
    match t.registration {
        Registration::Job => t.job.identity == JobIdentity::MachineId,
        Registration::Agent => true,
        Registration::Operator | Registration::None => false,
    }
}

fn check_rendered_token(values: &Values, f: &mut Findings) {
    let t = &values.teleport;
    if !joins(values) {
        let (other, why) = if t.registration == Registration::Job {
            (
                "teleport.job.identity",
                "the Job uses an existing identity and joins nothing",
            )
        } else {
            (
                "teleport.registration",
                "only the job (identity: machineId) and agent registrations join Teleport",
            )
        };
        f.error_pair(
            "teleport.join.renderToken",
            other,
            format!("there is no join token to render: {why}"),
            "remove renderToken, or use `registration: agent` or `job` with `identity: machineId`",
        );
        return;
    }
    let (path, name) = match t.registration {
        Registration::Agent => ("teleport.agent.joinToken", &t.agent.join_token),
        _ => ("teleport.job.joinToken", &t.job.join_token),
    };
    if !name.is_empty() && !is_object_name(name) {
        f.error_pair(
            path,
            "teleport.join.renderToken",
            "the rendered TeleportProvisionToken is named after the join token, which must then be a Kubernetes name",
            "use lower-case letters, digits, '-' and '.', e.g. `orders-db-agent`",
        );
    }
}

/// Why `text` is not a JWKS (JSON with a non-empty `keys` array of objects), if it is not.
fn jwks_problem(text: &str) -> Result<(), String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("not JSON ({e}): Teleport parses the JWKS when a pod joins"))?;
    match value.get("keys").and_then(serde_json::Value::as_array) {
        None => Err("not a JWKS: it has no `keys` array".into()),
        Some(keys) if keys.is_empty() => Err(
            "the JWKS has no keys: Teleport could verify no ServiceAccount token with it".into(),
        ),
        Some(keys) if !keys.iter().all(serde_json::Value::is_object) => {
            Err("not a JWKS: every entry of `keys` is a JSON object".into())
        }
        Some(_) => Ok(()),
    }
}

/// `https://host[:port][/path]`: no user info, query or fragment, nothing to escape.
fn is_https_url(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("https://") else {
        return false;
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok_and(|p| p > 0) => host,
        Some(_) => return false,
        None => authority,
    };
    is_object_name(host)
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b))
}

/// MAJOR.MINOR.PATCH, when `teleport.version` is one (its own check reports it otherwise).
fn version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
    let v = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_and_versions() {
        assert!(is_https_url(
            "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC123"
        ));
        assert!(is_https_url(
            "https://container.googleapis.com/v1/projects/p/locations/l/clusters/c"
        ));
        assert!(is_https_url("https://kubernetes.default.svc:443"));
        for bad in [
            "http://example.com",
            "https://",
            "https://a b",
            "https://x.com/?q",
            "https://u@x.com",
            "https://x.com:0",
        ] {
            assert!(!is_https_url(bad), "{bad}");
        }
        assert_eq!(version("18.1.5"), Some((18, 1, 5)));
        assert!(version("18.1.4").unwrap() < OIDC_SINCE);
        assert_eq!(version("18.1"), None);
    }

    #[test]
    fn a_jwks_needs_keys() {
        assert!(jwks_problem(r#"{"keys":[{"kty":"RSA"}]}"#).is_ok());
        assert!(jwks_problem("{").is_err());
        assert!(jwks_problem(r#"{"keys":[]}"#).is_err());
        assert!(jwks_problem(r#"{"keys":[1]}"#).is_err());
        assert!(jwks_problem("[]").is_err());
    }
}
