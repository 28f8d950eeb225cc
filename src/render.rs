//! The render pipeline: validated values -> plan (which objects exist, decided here in Rust) ->
//! one template per object -> typed object.
//!
//! Templates are minijinja files compiled at build time (`template.rs`). They are JSON documents,
//! named `*.json`, and every interpolated value is one whole JSON value of the context: one
//! scalar or one collection, never new keys or documents. Undefined variables are errors. The
//! typed object is deserialized straight from the compiled template and its context; no JSON
//! text is written or parsed on the way. The output is YAML, written from the typed objects.

use anyhow::{Context as _, Result};
use serde_json::Value as Json;

mod patches;
pub mod template;

use crate::manifest::{Manifest, Object};
use crate::plan::Common;
use crate::resources;
use crate::values::Values;

/// Renders databases. The templates are compiled into the binary, so one renderer costs
/// nothing to make and renders any number of databases, from any thread.
#[derive(Debug, Default, Clone)]
pub struct Renderer {
    /// The process renders one database and ends: the plan's contexts are left to the exit
    /// instead of freed value by value (0.15 M instructions of 3.2 M; BENCHMARKS.md, round 6).
    leave_plan_to_exit: bool,
}

impl Renderer {
    pub fn new() -> Self {
        Self::default()
    }

    /// For a process that renders one database and ends soon after; a fleet uses [`Self::new`],
    /// which frees each database's plan.
    pub fn for_one_database() -> Self {
        Self {
            leave_plan_to_exit: true,
        }
    }

    /// Every object of one database, typed, in apply order.
    pub fn render(&self, values: &Values) -> Result<Vec<Manifest>> {
        let common = Common::new(values);
        let mut manifests = patches::extra_objects(values)?;
        let plan = resources::plan(&common);
        manifests.reserve(plan.len());
        for planned in &plan {
            let root = template::find(planned.template)
                .with_context(|| format!("template {} is missing", planned.template))?;
            let Json::Object(context) = &planned.context else {
                anyhow::bail!(
                    "template {}: a template context must be a map",
                    planned.template
                );
            };
            let metadata = common.lend(&planned.metadata);
            let name = metadata.name();
            let targeting = patches::targeting(values, planned.kind, name);
            let object = if targeting.is_empty() {
                let filled = template::Filled::new(root, context, &metadata);
                Object::deserialize(planned.kind, filled).map_err(|e| {
                    anyhow::anyhow!(
                        "template {} rendered a {} that does not type-check: {e}",
                        planned.template,
                        planned.kind.as_str()
                    )
                })?
            } else {
                let document = template::to_json(root, context, &metadata)
                    .with_context(|| format!("rendering template {}", planned.template))?;
                patches::apply(planned.kind, name, document, &targeting)?
            };
            manifests.push(Manifest {
                kind: planned.kind,
                object,
            });
        }
        if self.leave_plan_to_exit {
            std::mem::forget(plan);
        }
        let unmatched = patches::unmatched(values, &manifests);
        if !unmatched.is_empty() {
            return Err(crate::values::Problems(unmatched).into());
        }
        Ok(manifests)
    }
}
