//! Validates rendered custom resources against CustomResourceDefinition files.
//!
//! Reads every CRD in a directory (as exported with `kubectl get crd NAME -o yaml`, or as
//! published by the projects), takes the `openAPIV3Schema` of each served version and validates
//! objects with it as the API server would for structure: unknown fields are rejected
//! (`additionalProperties: false` on every object schema that lists `properties`, as kubeconform's
//! converter does), `x-kubernetes-preserve-unknown-fields` is honoured, and
//! `x-kubernetes-int-or-string` accepts both.
//!
//! The CEL rules (`x-kubernetes-validations`) are evaluated as on create (see [`cel`](super::cel)
//! for the language): the schema's defaults are applied first, as the API server does, then each
//! rule runs with `self` bound to the value at its node, wherever the object has one. A rule that
//! fails, or fails to evaluate the way the API server's would (a missing key), is an error; one
//! cnpgtp cannot evaluate is a warning, once per object. Transition rules (naming `oldSelf`) only
//! run on update and are skipped.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{Context as _, Result};
use serde_json::Value as Json;

use super::cel::{self, Verdict};

/// Validators keyed by `apiVersion` and `kind`.
pub struct CrdSchemas {
    validators: BTreeMap<(String, String), jsonschema::Validator>,
    /// The CEL rules of the kinds that have some.
    rules: BTreeMap<(String, String), RuleTree>,
}

impl CrdSchemas {
    /// Loads every `*.yaml`/`*.yml` file under `dir` (recursively) that holds CRDs.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let mut validators = BTreeMap::new();
        let mut rules = BTreeMap::new();
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
                    let key = (format!("{group}/{name}"), kind.to_string());
                    if let Some(root) = rule_node(schema, String::new()) {
                        let schema = schema.clone();
                        rules.insert(key.clone(), RuleTree { schema, root });
                    }
                    let schema = strict(schema.clone(), true);
                    let validator = jsonschema::validator_for(&schema)
                        .map_err(|e| anyhow::anyhow!("{e}"))
                        .with_context(|| {
                            format!(
                                "compiling the schema of {group}/{name} {kind} from {}",
                                file.display()
                            )
                        })?;
                    validators.insert(key, validator);
                }
            }
        }
        Ok(Self { validators, rules })
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

    /// What the CEL rules of its CRD say of `object`: errors, and warnings naming the rules cnpgtp
    /// could not evaluate.
    pub(super) fn cel_findings(&self, object: &Json) -> Vec<CelFinding> {
        let key = (
            object["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            object["kind"].as_str().unwrap_or_default().to_string(),
        );
        let Some(tree) = self.rules.get(&key) else {
            return Vec::new();
        };
        let mut object = object.clone();
        default(&mut object, &tree.schema);
        let mut walk = Walk {
            schema: &tree.schema,
            findings: Vec::new(),
            warned: HashSet::new(),
        };
        walk.node(&tree.root, &object, "", true);
        walk.findings
    }
}

/// One finding of the CEL rules: `error`, or a warning that a rule was not evaluated.
pub(super) struct CelFinding {
    pub(super) error: bool,
    pub(super) message: String,
}

/// The CEL rules of one CRD version: its schema, and the nodes that hold rules or lead to some.
struct RuleTree {
    schema: Json,
    root: RuleNode,
}

struct RuleNode {
    /// JSON pointer to the node in the schema.
    pointer: String,
    rules: Vec<cel::Rule>,
    properties: Vec<(String, RuleNode)>,
    items: Option<Box<RuleNode>>,
    additional: Option<Box<RuleNode>>,
}

fn rule_node(schema: &Json, pointer: String) -> Option<RuleNode> {
    let rules: Vec<cel::Rule> = schema["x-kubernetes-validations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(cel::Rule::new)
        .collect();
    let properties: Vec<(String, RuleNode)> = schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, child)| {
            let escaped = name.replace('~', "~0").replace('/', "~1");
            rule_node(child, format!("{pointer}/properties/{escaped}")).map(|n| (name.clone(), n))
        })
        .collect();
    let child = |key: &str| {
        schema
            .get(key)
            .filter(|s| s.is_object())
            .and_then(|s| rule_node(s, format!("{pointer}/{key}")))
            .map(Box::new)
    };
    let (items, additional) = (child("items"), child("additionalProperties"));
    let any =
        !rules.is_empty() || !properties.is_empty() || items.is_some() || additional.is_some();
    any.then_some(RuleNode {
        pointer,
        rules,
        properties,
        items,
        additional,
    })
}

struct Walk<'a> {
    schema: &'a Json,
    findings: Vec<CelFinding>,
    /// Rules already reported as not evaluated.
    warned: HashSet<*const cel::Rule>,
}

impl Walk<'_> {
    fn node(&mut self, node: &RuleNode, value: &Json, path: &str, root: bool) {
        if value.is_null() {
            return;
        }
        let schema = self.schema.pointer(&node.pointer).unwrap_or(&Json::Null);
        if !node.rules.is_empty() {
            let bound = cel::to_cel(value, schema, root || cel::is_embedded(schema));
            let type_name = schema["type"].as_str().unwrap_or_default();
            for rule in &node.rules {
                let at = match (path, rule.field_path.strip_prefix('.')) {
                    ("", Some(field)) => field.to_string(),
                    ("", None) if rule.field_path.is_empty() => "(root)".to_string(),
                    _ => format!("{path}{}", rule.field_path),
                };
                match rule.evaluate(&bound, type_name) {
                    Verdict::Pass | Verdict::Skipped => {}
                    Verdict::Fail(message) => self.findings.push(CelFinding {
                        error: true,
                        message: format!("{at}: {message}"),
                    }),
                    Verdict::NotEvaluated(why) => {
                        if self.warned.insert(std::ptr::from_ref(rule)) {
                            self.findings.push(CelFinding {
                                error: false,
                                message: format!(
                                    "{at}: CEL rule `{}` not evaluated: {why}",
                                    rule.text()
                                ),
                            });
                        }
                    }
                }
            }
        }
        let child = |name: &str| {
            if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            }
        };
        match value {
            Json::Object(map) => {
                for (name, child_node) in &node.properties {
                    if let Some(v) = map.get(name) {
                        self.node(child_node, v, &child(name), false);
                    }
                }
                if let Some(additional) = &node.additional {
                    let declared = schema["properties"].as_object();
                    for (key, v) in map {
                        if !declared.is_some_and(|d| d.contains_key(key)) {
                            self.node(additional, v, &format!("{path}[{key}]"), false);
                        }
                    }
                }
            }
            Json::Array(items) => {
                if let Some(item) = &node.items {
                    for (index, v) in items.iter().enumerate() {
                        self.node(item, v, &format!("{path}[{index}]"), false);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Applies the schema's defaults to `value`, as the API server does before it validates: a
/// missing property (or a null one that may not be null) takes its default, then defaults apply
/// inside it.
fn default(value: &mut Json, schema: &Json) {
    match value {
        Json::Object(map) => {
            let properties = schema["properties"].as_object();
            for (name, property) in properties.into_iter().flatten() {
                let Some(default) = property.get("default") else {
                    continue;
                };
                let missing = match map.get(name) {
                    None => true,
                    Some(Json::Null) => property["nullable"] != Json::Bool(true),
                    Some(_) => false,
                };
                if missing {
                    map.insert(name.clone(), default.clone());
                }
            }
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (name, child) in map.iter_mut() {
                if let Some(child_schema) = properties.and_then(|p| p.get(name)).or(additional) {
                    default(child, child_schema);
                }
            }
        }
        Json::Array(items) => {
            for item in items {
                default(item, &schema["items"]);
            }
        }
        _ => {}
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
