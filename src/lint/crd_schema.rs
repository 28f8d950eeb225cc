//! Validates rendered custom resources against CustomResourceDefinition files.
//!
//! Reads every CRD in a directory (as exported with `kubectl get crd NAME -o yaml`, or as
//! published by the projects), takes the `openAPIV3Schema` of each served version and validates
//! objects with it as the API server would for structure: unknown fields are rejected
//! (`additionalProperties: false` on every object schema that lists `properties`, as kubeconform's
//! converter does), `x-kubernetes-preserve-unknown-fields` is honoured, and
//! `x-kubernetes-int-or-string` accepts both. CEL rules are not evaluated.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use serde_json::Value as Json;

/// Validators keyed by `apiVersion` and `kind`.
pub struct CrdSchemas {
    validators: BTreeMap<(String, String), jsonschema::Validator>,
}

impl CrdSchemas {
    /// Loads every `*.yaml`/`*.yml` file under `dir` (recursively) that holds CRDs.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let mut validators = BTreeMap::new();
        let mut files = Vec::new();
        collect_files(dir, &mut files)
            .with_context(|| format!("reading CRD directory {}", dir.display()))?;
        for file in files {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let documents = crate::yaml::large_documents(&text)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("parsing {}", file.display()))?;
            for crd in documents
                .iter()
                .filter(|d| d["kind"] == "CustomResourceDefinition")
            {
                let group = crd["spec"]["group"].as_str().unwrap_or_default();
                let kind = crd["spec"]["names"]["kind"].as_str().unwrap_or_default();
                for version in crd["spec"]["versions"].as_array().into_iter().flatten() {
                    if version["served"] == Json::Bool(false) {
                        continue;
                    }
                    let Some(schema) = version.pointer("/schema/openAPIV3Schema") else {
                        continue;
                    };
                    let name = version["name"].as_str().unwrap_or_default();
                    let schema = strict(schema.clone(), true);
                    let validator = jsonschema::validator_for(&schema)
                        .map_err(|e| anyhow::anyhow!("{e}"))
                        .with_context(|| {
                            format!(
                                "compiling the schema of {group}/{name} {kind} from {}",
                                file.display()
                            )
                        })?;
                    validators.insert((format!("{group}/{name}"), kind.to_string()), validator);
                }
            }
        }
        Ok(Self { validators })
    }

    /// The (apiVersion, kind) pairs known.
    pub fn kinds(&self) -> impl Iterator<Item = &(String, String)> {
        self.validators.keys()
    }

    /// Problems with `object` (JSON form of one manifest); `None` if no CRD covers its kind.
    pub fn validate(&self, object: &Json) -> Option<Vec<String>> {
        let api_version = object["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let validator = self.validators.get(&(api_version, kind))?;
        Some(
            validator
                .iter_errors(object)
                .map(|e| {
                    let path = e.instance_path().as_str().to_string();
                    let message = match e.kind() {
                        jsonschema::error::ValidationErrorKind::AdditionalProperties {
                            unexpected,
                        } => {
                            format!("unknown field(s) {}", unexpected.join(", "))
                        }
                        _ => e.to_string(),
                    };
                    format!("{}: {message}", if path.is_empty() { "/" } else { &path })
                })
                .collect(),
        )
    }
}

fn collect_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    Ok(())
}

/// Turns a structural OpenAPI schema into a strict JSON Schema.
fn strict(mut schema: Json, root: bool) -> Json {
    if let Json::Object(map) = &mut schema {
        let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Json::Bool(true));
        if map.get("x-kubernetes-int-or-string") == Some(&Json::Bool(true)) {
            map.remove("type");
            map.insert(
                "anyOf".into(),
                serde_json::json!([{"type": "integer"}, {"type": "string"}]),
            );
        }
        if map.get("nullable") == Some(&Json::Bool(true))
            && let Some(Json::String(t)) = map.get("type").cloned()
        {
            map.insert("type".into(), serde_json::json!([t, "null"]));
        }
        if let Some(Json::Object(props)) = map.get_mut("properties") {
            for value in props.values_mut() {
                *value = strict(value.take(), false);
            }
            if !preserve && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Json::Bool(false));
            }
        }
        // `metadata` of the root is validated by the API server's own ObjectMeta rules.
        if root && let Some(Json::Object(props)) = map.get_mut("properties") {
            props.insert("metadata".into(), serde_json::json!({"type": "object"}));
        }
        for key in ["items", "additionalProperties"] {
            if let Some(child) = map.get_mut(key)
                && child.is_object()
            {
                *child = strict(child.take(), false);
            }
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(Json::Array(items)) = map.get_mut(key) {
                for item in items.iter_mut() {
                    *item = strict(item.take(), false);
                }
            }
        }
    }
    schema
}
