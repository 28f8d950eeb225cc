//! Placeholders: argocd-vault-plugin placeholders (`<path:kv/data/db#key>`) left in the rendered
//! objects. They are fine when argocd-vault-plugin replaces them before apply; applied as they
//! are (`kubectl apply`), the literal text becomes a CA, a password or a key. `cnpgtp render`
//! warns about them unless `--argocd` says the plugin follows; `lint` reports each as a warning.

use serde_json::Value as Json;

use super::{Out, Rule, Severity};
use crate::values::is_placeholder;

/// The fields of `object` (JSON pointers without the leading `/`, e.g. `stringData/ca.crt`)
/// whose value is a placeholder, in document order.
pub fn placeholder_fields(object: &Json) -> Vec<String> {
    let mut found = Vec::new();
    walk(object, &mut String::new(), &mut found);
    found
}

fn walk(node: &Json, path: &mut String, found: &mut Vec<String>) {
    let mut descend = |key: &str, child: &Json, path: &mut String| {
        let before = path.len();
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(key);
        walk(child, path, found);
        path.truncate(before);
    };
    match node {
        Json::String(text) if is_placeholder(text) => found.push(path.clone()),
        Json::Object(map) => {
            for (key, child) in map {
                descend(key, child, path);
            }
        }
        Json::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                descend(&index.to_string(), child, path);
            }
        }
        _ => {}
    }
}

pub(super) fn placeholders(out: &mut Out) {
    let fields = placeholder_fields(out.object);
    if !fields.is_empty() {
        out.push(
            Severity::Warning,
            Rule::Placeholder,
            format!(
                "argocd-vault-plugin placeholder(s) at {}: apply through argocd-vault-plugin, which replaces them; kubectl apply would store the literal text",
                fields.join(", ")
            ),
        );
    }
}
