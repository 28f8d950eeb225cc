//! `patches` and `extraObjects`: what can be checked before the render. A patch names a kind
//! cnpgtp renders and exactly one well-formed patch document; an extra object is a whole
//! manifest. Whether a patch's target exists and what it yields are checked at render time,
//! where the patched object is type-checked like any other.

use super::syntax::is_dns_name;
use super::{Findings, closest};
use crate::manifest::Kind;
use crate::values::Values;

pub(super) fn check(values: &Values, f: &mut Findings) {
    for (index, patch) in values.patches.iter().enumerate() {
        let at = format!("patches[{index}]");
        if Kind::rendered(&patch.target.kind).is_none() {
            let kinds: Vec<String> = Kind::RENDERED
                .iter()
                .map(|k| k.as_str().to_string())
                .collect();
            let fix = match closest(&patch.target.kind, &kinds) {
                Some(kind) => format!(
                    "did you mean `{kind}`? Kinds cnpgtp renders: {}",
                    kinds.join(", ")
                ),
                None => format!(
                    "kinds cnpgtp renders: {}; add other objects with extraObjects",
                    kinds.join(", ")
                ),
            };
            f.error(
                &format!("{at}.target.kind"),
                "not a kind cnpgtp renders",
                fix,
            );
        }
        if patch
            .target
            .name
            .as_deref()
            .is_some_and(|n| !is_dns_name(n))
        {
            f.error(
                &format!("{at}.target.name"),
                "not an object name (a DNS subdomain)",
                "the object's metadata.name as `cnpgtp render` prints it, or null for every object of the kind",
            );
        }
        match (&patch.merge, &patch.json) {
            (Some(merge), None) if !merge.is_object() => f.error(
                &format!("{at}.merge"),
                "a merge patch (RFC 7386) of an object is a mapping",
                "e.g. merge: {spec: {instances: 3}}",
            ),
            (None, Some(operations)) => {
                if let Err(e) = serde_json::from_value::<json_patch::Patch>(operations.clone()) {
                    f.error(
                        &format!("{at}.json"),
                        format!("not an RFC 6902 JSON patch: {e}"),
                        "a list of operations, e.g. [{op: add, path: /spec/description, value: text}] (op: add, remove, replace, move, copy or test)",
                    );
                }
            }
            (Some(_), Some(_)) | (None, None) => f.error(
                &at,
                "a patch has exactly one of `merge` and `json`",
                "split it into two patches, or add the one it lacks",
            ),
            _ => {}
        }
    }
    for (index, object) in values.extra_objects.iter().enumerate() {
        let at = format!("extraObjects[{index}]");
        let text = |key: &str| object.get(key).and_then(|v| v.as_str());
        if !object.is_object() || text("apiVersion").is_none() || text("kind").is_none() {
            f.error(
                &at,
                "not a Kubernetes manifest: it needs apiVersion and kind",
                "write the whole object, e.g. {apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {}}",
            );
            continue;
        }
        if text("kind").is_some_and(|k| k.ends_with("List")) {
            f.error(
                &format!("{at}.kind"),
                "a list of objects",
                "give each object its own entry",
            );
        }
        let name = object
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(|n| n.as_str());
        if !name.is_some_and(is_dns_name) {
            f.error(
                &format!("{at}.metadata.name"),
                "missing or not an object name (a DNS subdomain)",
                "set metadata.name: lower-case letters, digits, `-` and `.`",
            );
        }
    }
}
