//! The render pipeline: validated values -> plan (which objects exist, decided here in Rust) ->
//! one template per object -> typed object.
//!
//! Templates are minijinja files embedded at build time. They are JSON documents, named `*.json` so
//! minijinja escapes every interpolated value as JSON: a value is always one scalar or one
//! collection, never new keys or documents. Undefined variables are errors. JSON, not YAML,
//! because the type check parses every rendered document back, and serde_json does that about ten
//! times faster than a YAML reader (BENCHMARKS.md); the output is YAML, written from the typed
//! objects.

use anyhow::{Context as _, Result};
use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value as Json;

mod patches;

use crate::manifest::{Manifest, Object};
use crate::plan::Common;
use crate::resources;
use crate::values::Values;

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
        let mut manifests = patches::extra_objects(values)?;
        for planned in resources::plan(&common) {
            let template = self
                .env
                .get_template(planned.template)
                .with_context(|| format!("template {} is missing", planned.template))?;
            let text = template
                .render(template_context(&planned.context)?)
                .map_err(|e| anyhow::anyhow!("{e:#}"))
                .with_context(|| format!("rendering template {}", planned.template))?;
            let name = planned.context["metadata"]["name"]
                .as_str()
                .unwrap_or_default();
            let targeting = patches::targeting(values, planned.kind, name);
            let object = if targeting.is_empty() {
                Object::parse(planned.kind, &text).map_err(|e| {
                    anyhow::anyhow!(
                        "template {} rendered a {} that does not type-check: {e}",
                        planned.template,
                        planned.kind.as_str()
                    )
                })?
            } else {
                patches::apply(planned.kind, name, &text, &targeting)?
            };
            manifests.push(Manifest {
                kind: planned.kind,
                object,
            });
        }
        let unmatched = patches::unmatched(values, &manifests);
        if !unmatched.is_empty() {
            return Err(crate::values::Problems(unmatched).into());
        }
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
