//! The escape hatches at render time: `patches` applied to a rendered object's JSON before it is
//! type-checked, and `extraObjects` typed like the rest. A problem here is the user's, reported
//! at the patch or object in their values file (exit 1), never a render failure.

use serde_json::Value as Json;

use super::template::Filled;
use crate::manifest::{Kind, Manifest, Object};
use crate::values::{KeyPath, Patch, Problem, Problems, Values};

/// A problem with `patches[index]`, at the line it was written on.
fn patch_problem(patch: &Patch, index: usize, message: String, fix: &str) -> Problem {
    Problem::new(
        patch.origin.clone(),
        KeyPath::parse(&format!("patches[{index}]")),
        message,
        fix,
    )
}

/// The patches of `values` that target the object `kind`/`name`, with their index.
pub(super) fn targeting<'v>(values: &'v Values, kind: Kind, name: &str) -> Vec<(usize, &'v Patch)> {
    values
        .patches
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            p.target.kind == kind.as_str() && p.target.name.as_deref().is_none_or(|n| n == name)
        })
        .collect()
}

/// `document` (a rendered object) with `patches` applied in order, typed as `kind`.
pub(super) fn apply(
    kind: Kind,
    name: &str,
    mut document: Json,
    patches: &[(usize, &Patch)],
) -> Result<Object, Problems> {
    for (index, patch) in patches {
        let applied = match (&patch.merge, &patch.json) {
            (Some(merge), None) => {
                json_patch::merge(&mut document, merge);
                Ok(())
            }
            (None, Some(operations)) => {
                serde_json::from_value::<json_patch::Patch>(operations.clone())
                    .map_err(|e| format!("`json` is not an RFC 6902 patch: {e}"))
                    .and_then(|operations| {
                        json_patch::patch(&mut document, &operations).map_err(|e| {
                            format!(
                                "the JSON patch does not apply to {} {name}: {e}",
                                kind.as_str()
                            )
                        })
                    })
            }
            _ => Err("give exactly one of `merge` and `json`".to_string()),
        };
        applied.map_err(|message| {
            Problems(vec![patch_problem(
                patch,
                *index,
                message,
                "check the path against the object `cnpgtp render` prints without the patch",
            )])
        })?;
    }
    Object::deserialize(kind, Filled::json(&document)).map_err(|e| {
        let (index, patch) = patches[patches.len() - 1];
        Problems(vec![patch_problem(
            patch,
            index,
            format!(
                "the patched {} {name} is not a valid {}: {e}",
                kind.as_str(),
                kind.as_str()
            ),
            "patch fields cnpgtp types for this kind (listed), with values of their type; a field it does not type is refused rather than passed on unchecked",
        )])
    })
}

/// Patches whose target matched no rendered object: a typo in a kind or a name.
pub(super) fn unmatched(values: &Values, manifests: &[Manifest]) -> Vec<Problem> {
    values
        .patches
        .iter()
        .enumerate()
        .filter(|(_, patch)| {
            !manifests.iter().any(|m| {
                m.kind.as_str() == patch.target.kind
                    && patch
                        .target
                        .name
                        .as_deref()
                        .is_none_or(|n| n == m.object.name())
            })
        })
        .map(|(index, patch)| {
            let same_kind: Vec<&str> = manifests
                .iter()
                .filter(|m| m.kind.as_str() == patch.target.kind)
                .map(|m| m.object.name())
                .collect();
            let fix = if same_kind.is_empty() {
                "name a kind this render has (`cnpgtp render` lists them)".to_string()
            } else {
                format!(
                    "rendered {} objects: {}",
                    patch.target.kind,
                    same_kind.join(", ")
                )
            };
            let key = if patch.target.name.is_some() {
                "name"
            } else {
                "kind"
            };
            Problem::new(
                patch.origin.clone(),
                KeyPath::parse(&format!("patches[{index}].target.{key}")),
                format!(
                    "the target matches no rendered object ({} {})",
                    patch.target.kind,
                    patch.target.name.as_deref().unwrap_or("of any name")
                ),
                &fix,
            )
        })
        .collect()
}

/// `extraObjects`, typed: a kind cnpgtp renders as that kind (its apiVersion and fields
/// checked), any other as it is; a namespaced object without a namespace gets `namespace`.
pub(super) fn extra_objects(values: &Values) -> Result<Vec<Manifest>, Problems> {
    let mut manifests = Vec::new();
    let mut problems = Vec::new();
    for (index, object) in values.extra_objects.iter().enumerate() {
        let mut object = object.clone();
        let kind_name = object["kind"].as_str().unwrap_or_default().to_string();
        if object["metadata"]["namespace"].is_null() && !is_cluster_scoped(&kind_name) {
            object["metadata"]["namespace"] = Json::String(values.namespace.clone());
        }
        let kind = Kind::rendered(&kind_name).unwrap_or(Kind::Other);
        match Object::deserialize(kind, Filled::json(&object)) {
            Ok(typed) => manifests.push(Manifest { kind, object: typed }),
            Err(e) => problems.push(Problem::new(
                values.extra_object_origins.get(index).cloned(),
                KeyPath::parse(&format!("extraObjects[{index}]")),
                format!("not a valid {kind_name}: {e}"),
                "write the whole manifest: apiVersion, kind, metadata.name and the fields of its kind",
            )),
        }
    }
    if problems.is_empty() {
        Ok(manifests)
    } else {
        Err(Problems(problems))
    }
}

/// Kinds without a namespace that users add (the rest are namespaced).
fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "ClusterIssuer"
            | "StorageClass"
            | "PriorityClass"
            | "CustomResourceDefinition"
            | "PersistentVolume"
            | "ClusterImageCatalog"
            | "VolumeSnapshotClass"
            | "IngressClass"
            | "ValidatingWebhookConfiguration"
            | "MutatingWebhookConfiguration"
    )
}
