//! RBAC: the render grants only what its own components need, in its own namespace.
//!
//! No ClusterRole or ClusterRoleBinding, and RoleBindings only to namespaced Roles; no
//! wildcards; no verbs that let a subject grant itself more (`escalate`, `bind`,
//! `impersonate`); every rule on `secrets` limited by `resourceNames`, and none granting the
//! verbs `resourceNames` cannot limit (`deletecollection`, and `create` without names; with
//! names, `create` allows only a server-side apply creating one of them).

use serde_json::Value as Json;

use super::objects::{items, str_at};
use super::{Out, Rule, Severity};

/// Verbs that let a subject grant itself more than it has.
const ESCALATING_VERBS: &[&str] = &["escalate", "bind", "impersonate"];

pub(super) fn rbac(out: &mut Out) {
    let object = out.object;
    let kind = str_at(object, "/kind");
    match kind {
        "ClusterRole" | "ClusterRoleBinding" => {
            out.push(
                Severity::Error,
                Rule::Rbac,
                format!(
                    "a {kind} grants across every namespace: use a namespaced Role and RoleBinding"
                ),
            );
        }
        "RoleBinding" if str_at(object, "/roleRef/kind") != "Role" => {
            out.push(
                Severity::Error,
                Rule::Rbac,
                "roleRef is not a namespaced Role (a ClusterRole bound here grants its rules in the namespace, rules this render does not control)",
            );
        }
        _ => {}
    }
    if !matches!(kind, "Role" | "ClusterRole") {
        return;
    }
    for (i, rule) in items(object, "/rules").iter().enumerate() {
        let list = |key: &str| -> Vec<&str> {
            items(rule, &format!("/{key}"))
                .iter()
                .filter_map(Json::as_str)
                .collect()
        };
        for key in [
            "apiGroups",
            "resources",
            "verbs",
            "resourceNames",
            "nonResourceURLs",
        ] {
            if list(key).iter().any(|v| v.contains('*')) {
                out.push(
                    Severity::Error,
                    Rule::Rbac,
                    format!("rules[{i}].{key} holds a wildcard"),
                );
            }
        }
        let verbs = list("verbs");
        if let Some(verb) = verbs.iter().find(|v| ESCALATING_VERBS.contains(v)) {
            out.push(
                Severity::Error,
                Rule::Rbac,
                format!("rules[{i}] grants `{verb}`, which escalates privileges"),
            );
        }
        let on_secrets = list("resources")
            .iter()
            .any(|r| *r == "secrets" || r.starts_with("secrets/"));
        if on_secrets {
            let named = !list("resourceNames").is_empty();
            if !named {
                out.push(
                    Severity::Error,
                    Rule::Rbac,
                    format!("rules[{i}] grants on secrets without resourceNames: it reaches every Secret of the namespace"),
                );
            }
            // A POST create carries no name, so a named rule never allows it; a server-side
            // apply that creates is authorized with the object's name, so `create` with
            // resourceNames allows exactly the named Secrets. deletecollection has no name.
            if let Some(verb) = verbs
                .iter()
                .find(|v| **v == "deletecollection" || (**v == "create" && !named))
            {
                out.push(
                    Severity::Error,
                    Rule::Rbac,
                    format!(
                        "rules[{i}] grants `{verb}` on secrets, which resourceNames cannot limit here"
                    ),
                );
            }
        }
    }
}
