//! The render pipeline: validated values -> plan (which objects exist, decided here in Rust) ->
//! one template per object -> typed object.
//!
//! Templates are minijinja files embedded at build time. They are JSON documents, named `*.json` so
//! minijinja escapes every interpolated value as JSON: a value is always one scalar or one
//! collection, never new keys or documents. Undefined variables are errors. JSON, not YAML,
//! because the type check parses every rendered document back, and serde_json does that about ten
//! times faster than a YAML reader (BENCHMARKS.md); the output is YAML, written from the typed
//! objects.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Value as Json, json};

use crate::manifest::{Kind, Manifest, Object};
use crate::naming::Names;
use crate::values::Values;
use crate::{ca_bundle, certs, cnpg, pooler, teleport};

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
            (
                "app.kubernetes.io/version",
                cnpg::postgres_version_label(values),
            ),
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

    /// `metadata` of a namespaced object, as the templates receive it.
    pub fn metadata(&self, name: &str, component: &str) -> Json {
        json!({"name": name, "namespace": self.namespace(), "labels": self.labels(component)})
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
        let mut context = json!({"metadata": self.metadata(name, component)});
        if let (Json::Object(target), Json::Object(extra)) = (&mut context, fields) {
            target.extend(extra);
        }
        Planned {
            template,
            kind,
            context,
        }
    }
}

/// Every template embedded by `build.rs`, as (file name, source), sorted by name.
pub const TEMPLATES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The source of an embedded template.
fn template_source(name: &str) -> Option<&'static str> {
    TEMPLATES
        .binary_search_by(|(candidate, _)| (*candidate).cmp(name))
        .ok()
        .map(|index| TEMPLATES[index].1)
}

/// Compiled templates; build once per process and render many databases with it. Each template
/// is compiled the first time a render needs it and then kept (threads share the cache).
pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_debug(true);
        env.set_loader(|name| Ok(template_source(name).map(str::to_string)));
        Self { env }
    }

    /// Every object of one database, typed, in apply order.
    pub fn render(&self, values: &Values) -> Result<Vec<Manifest>> {
        let common = Common::new(values);
        let mut manifests = Vec::new();
        for planned in plan(&common).into_iter().map(with_sync_wave) {
            let template = self
                .env
                .get_template(planned.template)
                .with_context(|| format!("template {} is missing", planned.template))?;
            let text = template
                .render(template_context(&planned.context)?)
                .map_err(|e| anyhow::anyhow!("{e:#}"))
                .with_context(|| format!("rendering template {}", planned.template))?;
            let object = Object::parse(planned.kind, &text).map_err(|e| {
                anyhow::anyhow!(
                    "template {} rendered a {} that does not type-check: {e}",
                    planned.template,
                    planned.kind.as_str()
                )
            })?;
            manifests.push(Manifest {
                kind: planned.kind,
                object,
            });
        }
        manifests.sort_by_key(|m| m.kind);
        Ok(manifests)
    }
}

/// The context a template sees: each top-level value as its JSON text, marked safe so that
/// minijinja writes it out as it is. That is what JSON auto-escaping would write, without first
/// copying the value into minijinja's own types (a third of the time a render took). Templates
/// therefore print whole values and test them with `is none`; they do not look inside them.
fn template_context(context: &Json) -> Result<minijinja::Value> {
    let Json::Object(entries) = context else {
        anyhow::bail!("a template context must be a map");
    };
    entries
        .iter()
        .map(|(key, value)| {
            let value = if value.is_null() {
                minijinja::Value::from(())
            } else {
                minijinja::Value::from_safe_string(serde_json::to_string(value)?)
            };
            Ok((key.as_str(), value))
        })
        .collect()
}

/// ArgoCD applies waves in order and waits for each to be healthy, so a wave per layer makes a
/// sync converge: inputs (Secrets, RBAC), issuers, certificates and the CA bundle, the Cluster,
/// then what needs a running Cluster (poolers, Teleport registration). Hook Jobs run in their own
/// phase and get no wave. `kubectl apply` ignores the annotation; the output order is the same.
fn sync_wave(kind: Kind, component: &str) -> Option<i32> {
    let late = component == "teleport";
    Some(match kind {
        Kind::Job => return None,
        Kind::ServiceAccount | Kind::Secret | Kind::ConfigMap | Kind::Role | Kind::RoleBinding => {
            -4
        }
        Kind::Issuer => -3,
        Kind::Certificate | Kind::SecretStore => -2,
        Kind::Deployment if late => 2,
        Kind::ExternalSecret | Kind::Deployment => -1,
        Kind::Cluster => 0,
        Kind::Pooler => 1,
        Kind::TeleportRoleV7 | Kind::TeleportRoleV8 | Kind::TeleportDatabaseV3 => 2,
    })
}

fn with_sync_wave(planned: Planned) -> Planned {
    let component = planned.context["metadata"]["labels"]["app.kubernetes.io/component"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match sync_wave(planned.kind, &component) {
        Some(wave) => planned.with_annotation("argocd.argoproj.io/sync-wave", &wave.to_string()),
        None => planned,
    }
}

/// Which objects exist for these values.
pub fn plan(common: &Common) -> Vec<Planned> {
    let mut planned = Vec::new();
    planned.extend(certs::plan(common));
    planned.extend(ca_bundle::plan(common));
    planned.extend(cnpg::plan(common));
    planned.extend(pooler::plan(common));
    planned.extend(teleport::plan(common));
    planned
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Templates compile on first use, so one that no test render reaches would otherwise hide
    /// a syntax error until a user's values needed it.
    #[test]
    fn every_embedded_template_compiles() {
        let renderer = Renderer::new();
        assert!(
            TEMPLATES.len() >= 20,
            "build.rs embedded {} templates",
            TEMPLATES.len()
        );
        for (name, _) in TEMPLATES {
            if let Err(e) = renderer.env.get_template(name) {
                panic!("{name}: {e:#}");
            }
        }
        assert!(renderer.env.get_template("no-such-template.json").is_err());
    }
}
