//! The object plan: which objects one database has, each as a template name, a kind and the
//! context its template fills in. `resources` builds plans; `render` turns them into objects.
//!
//! `Common` is what every integration reads: the values, the names derived from them and the
//! label set every object carries.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

mod metadata;

pub use metadata::{COMPONENT_LABEL, Labels, Lent, Metadata};

use crate::manifest::Kind;
use crate::naming::Names;
use crate::values::{Resources, Values};

/// One object the plan says exists: its template, kind, metadata and template context (the
/// template's `{{ metadata }}` is `metadata`, lent the database's labels by [`Common::lend`]).
#[derive(Debug, Clone)]
pub struct Planned {
    pub template: &'static str,
    pub kind: Kind,
    pub metadata: Metadata,
    pub context: Json,
}

impl Planned {
    /// Adds a label to the object's metadata (e.g. `cnpg.io/reload` on Secrets CNPG reads).
    #[must_use]
    pub fn with_label(mut self, key: &str, value: &str) -> Self {
        self.metadata
            .labels
            .insert(key.to_string(), value.to_string());
        self
    }

    /// Adds an annotation to the object's metadata (hooks, sync waves, descriptions).
    #[must_use]
    pub fn with_annotation(mut self, key: &str, value: &str) -> Self {
        self.metadata
            .annotations
            .insert(key.to_string(), value.to_string());
        self
    }

    /// Moves the object to another namespace than the database's.
    #[must_use]
    pub fn in_namespace(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.to_string());
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
        labels.insert(COMPONENT_LABEL.to_string(), component.to_string());
        labels
    }

    /// `metadata` of a planned object with this database's labels and namespace lent to it.
    pub fn lend<'s>(&'s self, metadata: &'s Metadata) -> Lent<'s> {
        Lent {
            metadata,
            base_labels: &self.base_labels,
            namespace: self.namespace(),
        }
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

    /// A planned object named `name` in this database's namespace, its template filled from
    /// `fields`.
    pub fn object(
        &self,
        template: &'static str,
        kind: Kind,
        name: &str,
        component: &'static str,
        fields: Json,
    ) -> Planned {
        let context = match fields {
            Json::Object(fields) => fields,
            _ => serde_json::Map::new(),
        };
        Planned {
            template,
            kind,
            metadata: Metadata {
                name: name.to_string(),
                namespace: None,
                component,
                labels: BTreeMap::new(),
                annotations: BTreeMap::new(),
            },
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
