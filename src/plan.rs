//! The object plan: which objects one database has, each as a template name, a kind and the
//! context its template fills in. `resources` builds plans; `render` turns them into objects.
//!
//! `Common` is what every integration reads: the values, the names derived from them and the
//! label set every object carries.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::manifest::Kind;
use crate::naming::Names;
use crate::values::{Resources, Values};

/// One object the plan says exists: its template, kind and template context.
#[derive(Debug, Clone)]
pub struct Planned {
    pub template: &'static str,
    pub kind: Kind,
    pub context: Json,
}

impl Planned {
    /// Adds a label to the object's metadata (e.g. `cnpg.io/reload` on Secrets CNPG reads).
    #[must_use]
    pub fn with_label(mut self, key: &str, value: &str) -> Self {
        self.context["metadata"]["labels"][key] = Json::String(value.to_string());
        self
    }

    /// Adds an annotation to the object's metadata (hooks, sync waves, descriptions).
    #[must_use]
    pub fn with_annotation(mut self, key: &str, value: &str) -> Self {
        if !self.context["metadata"]["annotations"].is_object() {
            self.context["metadata"]["annotations"] = serde_json::json!({});
        }
        self.context["metadata"]["annotations"][key] = Json::String(value.to_string());
        self
    }
}

/// What every integration module reads: the values, the derived names and the label set.
pub struct Common<'a> {
    pub values: &'a Values,
    pub names: Names,
    /// The labels every object carries: the user's extra labels overlaid with the fixed ones.
    base_labels: BTreeMap<String, String>,
}

impl<'a> Common<'a> {
    pub fn new(values: &'a Values) -> Self {
        let mut base_labels = values.labels.clone();
        let fixed = [
            ("app.kubernetes.io/name", "postgresql".to_string()),
            ("app.kubernetes.io/instance", values.name.clone()),
            ("app.kubernetes.io/part-of", values.name.clone()),
            ("app.kubernetes.io/managed-by", "cnpgtp".to_string()),
            ("cnpgtp.io/stage", values.stage.clone()),
        ];
        for (key, value) in fixed {
            base_labels.insert(key.to_string(), value);
        }
        Self {
            values,
            names: Names::new(&values.name),
            base_labels,
        }
    }

    pub fn namespace(&self) -> &str {
        &self.values.namespace
    }

    /// Standard labels plus the user's extra labels; `component` says which part of the
    /// database the object belongs to.
    pub fn labels(&self, component: &str) -> BTreeMap<String, String> {
        let mut labels = self.base_labels.clone();
        labels.insert(
            "app.kubernetes.io/component".to_string(),
            component.to_string(),
        );
        labels
    }

    /// The Poolers this database has, as (`rw` or `ro`, name): none without `pooler.enabled`,
    /// `ro` only with `pooler.readOnly`. Every part that names a Pooler asks here.
    pub fn poolers(&self) -> Vec<(&'static str, &str)> {
        let pooler = &self.values.pooler;
        let mut poolers = Vec::new();
        if pooler.enabled {
            poolers.push(("rw", self.names.pooler_rw.as_str()));
            if pooler.read_only {
                poolers.push(("ro", self.names.pooler_ro.as_str()));
            }
        }
        poolers
    }

    /// `metadata` of a namespaced object, as the templates receive it.
    pub fn metadata(&self, name: &str, component: &str) -> Json {
        // Built as JSON directly: `json!` would copy every value it is given through serde
        // (`to_value`), and every object has metadata.
        let labels = self
            .labels(component)
            .into_iter()
            .map(|(key, value)| (key, Json::String(value)))
            .collect();
        let mut metadata = serde_json::Map::new();
        metadata.insert("name".to_string(), Json::String(name.to_string()));
        metadata.insert(
            "namespace".to_string(),
            Json::String(self.namespace().to_string()),
        );
        metadata.insert("labels".to_string(), Json::Object(labels));
        Json::Object(metadata)
    }

    /// A planned object whose context holds `metadata` plus `fields`.
    pub fn object(
        &self,
        template: &'static str,
        kind: Kind,
        name: &str,
        component: &str,
        fields: Json,
    ) -> Planned {
        let mut context = match fields {
            Json::Object(fields) => fields,
            _ => serde_json::Map::new(),
        };
        // `fields` may bring metadata of its own (it wins, as it always has).
        if !context.contains_key("metadata") {
            context.insert("metadata".to_string(), self.metadata(name, component));
        }
        Planned {
            template,
            kind,
            context: Json::Object(context),
        }
    }
}

/// A container's `resources` from values: the requests given, and memory as the limit too, so a
/// process is never OOM-killed for using memory it was promised. Null when nothing is requested.
pub fn container_resources(resources: &Resources) -> Json {
    let mut requests = serde_json::Map::new();
    let mut limits = serde_json::Map::new();
    if let Some(cpu) = &resources.cpu {
        requests.insert("cpu".into(), json!(cpu));
    }
    if let Some(memory) = &resources.memory {
        requests.insert("memory".into(), json!(memory));
        limits.insert("memory".into(), json!(memory));
    }
    if requests.is_empty() {
        return Json::Null;
    }
    let mut out = json!({"requests": requests});
    if !limits.is_empty() {
        out["limits"] = Json::Object(limits);
    }
    out
}
