//! Secret sources (`existingSecret` or `value`): `database.ownerPassword`, and the shared rule
//! other modules apply to their own secrets (e.g. Vault's AppRole secret ID).
//!
//! A secret written in plain text in the values ends up in Git: it is allowed, with a warning
//! that points to an existing Secret or an argocd-vault-plugin placeholder.

use super::Findings;
use super::syntax::{is_dns_name, is_placeholder};
use crate::values::{SecretSource, Values};

/// A secret given as `existingSecret` or `value` (at most one; `required`: exactly one).
pub(super) fn secret_source(f: &mut Findings, path: &str, source: &SecretSource, required: bool) {
    match (&source.existing_secret, &source.value) {
        (Some(_), Some(_)) => f.error_at(
            path,
            &format!("{path}.value"),
            "set either `existingSecret` or `value`, not both",
            "remove one of them",
        ),
        (None, None) if required => f.error(
            path,
            "a secret is needed here",
            "set `existingSecret` or `value` (preferably a <path:...> placeholder)",
        ),
        (Some(name), None) => {
            if !is_dns_name(name) {
                f.error(
                    &format!("{path}.existingSecret"),
                    "not a valid Secret name",
                    "name an existing Secret",
                );
            }
        }
        (None, Some(value)) => {
            if value.is_empty() {
                f.error(
                    &format!("{path}.value"),
                    "empty secret value",
                    "set a value or use existingSecret",
                );
            } else if !is_placeholder(value) {
                f.warn(
                    &format!("{path}.value"),
                    "a plaintext secret is written in the values",
                    "use `existingSecret` or an argocd-vault-plugin placeholder such as <path:kv/data/db#password>",
                );
            }
        }
        (None, None) => {}
    }
}

pub(super) fn check(values: &Values, f: &mut Findings) {
    secret_source(
        f,
        "database.ownerPassword",
        &values.database.owner_password,
        false,
    );
}
