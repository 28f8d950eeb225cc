//! The escape hatches: `patches` change rendered objects (RFC 7386 merge patches, RFC 6902 JSON
//! patches) before they are type-checked, and `extraObjects` adds whole manifests. Both go
//! through the same type check, lint and CRD validation as everything cnpgtp renders.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::yaml::Origin;

/// One patch of the rendered objects it targets.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Patch {
    /// Which rendered objects: a kind, and a name or every object of that kind.
    pub target: PatchTarget,
    /// An RFC 7386 JSON merge patch (a mapping; null deletes a key).
    #[serde(default)]
    pub merge: Option<Json>,
    /// An RFC 6902 JSON patch: a list of operations (`op`, `path`, `value`, `from`).
    #[serde(default)]
    pub json: Option<Json>,
    /// Where the patch was written, for errors found at render time.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Option<Origin>,
}

/// The objects a patch applies to.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchTarget {
    /// Kind of the rendered objects, e.g. Cluster, Pooler, Deployment.
    pub kind: String,
    /// Name of one object; null: every object of the kind.
    #[serde(default)]
    pub name: Option<String>,
}
