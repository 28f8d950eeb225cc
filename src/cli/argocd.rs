//! ArgoCD config-management plugin: what `cnpgtp render --argocd` reads from ArgoCD's build
//! environment.
//!
//! - `ARGOCD_APP_NAME` and `ARGOCD_APP_NAMESPACE` become the defaults of `name` and `namespace`
//!   (a layer right after the embedded defaults, so any values file still wins).
//! - `ARGOCD_APP_PARAMETERS` (the Application's `plugin.parameters`, as JSON) may hold
//!   `values-files` (array: more values files, relative to the application directory, layered in
//!   order), `set` and `set-string` (maps: like `--set`/`--set-string`, applied after the files).
//! - `ARGOCD_ENV_*` variables (the Application's `plugin.env`) are read by the plugin's
//!   `generate` script, not by cnpgtp: see `argocd/plugin.yaml`.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::values::{KeyPath, Override, Problem, Problems, Source};
use crate::yaml::Origin;

/// The parameters the plugin announces in `parameters.static`.
pub const PARAMETERS: &[&str] = &["values-files", "set", "set-string"];

/// What the ArgoCD environment adds to a render.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Layer right after the defaults: `name`/`namespace` from the Application.
    pub defaults: Option<Source>,
    /// Values files from the `values-files` parameter, after the command line's `-f` files.
    pub values_files: Vec<PathBuf>,
    /// `set`/`set-string` parameters, applied before the command line's own `--set`s.
    pub overrides: Vec<Override>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Parameter {
    name: String,
    #[serde(default)]
    string: Option<String>,
    #[serde(default)]
    array: Option<Vec<String>>,
    #[serde(default)]
    map: Option<std::collections::BTreeMap<String, String>>,
}

fn problem(source: &str, message: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem::new(
        Some(Origin {
            source: Arc::from(source),
            line: 0,
            column: 0,
        }),
        KeyPath::default(),
        message,
        fix,
    )
}

/// Reads ArgoCD's variables through `var` (the process environment in production).
pub fn inputs(var: &dyn Fn(&str) -> Option<String>) -> Result<Inputs, Problems> {
    let mut inputs = Inputs::default();
    let mut problems = Vec::new();

    let mut layer = String::new();
    for (variable, key) in [
        ("ARGOCD_APP_NAME", "name"),
        ("ARGOCD_APP_NAMESPACE", "namespace"),
    ] {
        if let Some(value) = var(variable).filter(|v| !v.is_empty()) {
            // A JSON string is a YAML scalar: the value cannot add structure.
            let _ = writeln!(layer, "{key}: {}", serde_json::Value::String(value));
        }
    }
    if !layer.is_empty() {
        inputs.defaults = Some(Source {
            name: "ArgoCD application (ARGOCD_APP_NAME/ARGOCD_APP_NAMESPACE)".into(),
            text: layer,
        });
    }

    let Some(raw) = var("ARGOCD_APP_PARAMETERS").filter(|v| !v.trim().is_empty()) else {
        return Ok(inputs);
    };
    let parameters: Vec<Parameter> = match serde_json::from_str(&raw) {
        Ok(parameters) => parameters,
        Err(e) => {
            return Err(Problems(vec![problem(
                "ARGOCD_APP_PARAMETERS",
                format!("not the JSON ArgoCD writes for plugin parameters: {e}"),
                "set the Application's spec.source.plugin.parameters as documented in the README",
            )]));
        }
    };
    for parameter in parameters {
        let source = format!("ARGOCD_APP_PARAMETERS {}", parameter.name);
        match parameter.name.as_str() {
            "values-files" => match (&parameter.array, &parameter.string) {
                (Some(files), None) => {
                    for file in files {
                        if is_inside_app(file) {
                            inputs.values_files.push(PathBuf::from(file));
                        } else {
                            problems.push(problem(
                                &source,
                                "values files must be relative paths inside the application directory",
                                "remove `..` and leading `/` from the path",
                            ));
                        }
                    }
                }
                _ => problems.push(problem(
                    &source,
                    "`values-files` must be an array",
                    "write it as `array: [values-prod.yaml]`",
                )),
            },
            "set" | "set-string" => match &parameter.map {
                Some(map) => {
                    let typed = parameter.name == "set";
                    for (key, value) in map {
                        // Escape the separators `--set` syntax gives meaning to, so one map
                        // entry stays one assignment.
                        let value = value.replace('\\', "\\\\").replace(',', "\\,");
                        inputs.overrides.push(Override::Set {
                            argument: format!("{key}={value}"),
                            typed,
                        });
                    }
                }
                None => problems.push(problem(
                    &source,
                    format!("`{}` must be a map", parameter.name),
                    "write it as `map: {postgres.instances: \"3\"}`",
                )),
            },
            other => problems.push(problem(
                &source,
                format!("unknown plugin parameter `{other}`"),
                format!("use one of {}", PARAMETERS.join(", ")),
            )),
        }
    }
    if problems.is_empty() {
        Ok(inputs)
    } else {
        Err(Problems(problems))
    }
}

fn is_inside_app(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    #[test]
    fn name_and_namespace_become_a_defaults_layer() {
        let inputs = inputs(&env(&[
            ("ARGOCD_APP_NAME", "orders"),
            ("ARGOCD_APP_NAMESPACE", "shop"),
        ]))
        .unwrap();
        assert_eq!(
            inputs.defaults.unwrap().text,
            "name: \"orders\"\nnamespace: \"shop\"\n"
        );
    }

    #[test]
    fn parameters_are_parsed_and_checked() {
        let json = r#"[{"name":"values-files","array":["base.yaml","prod/values.yaml"]},{"name":"set","map":{"postgres.instances":"3","stage":"a,b"}}]"#;
        let inputs = inputs(&env(&[("ARGOCD_APP_PARAMETERS", json)])).unwrap();
        assert_eq!(
            inputs.values_files,
            vec![
                PathBuf::from("base.yaml"),
                PathBuf::from("prod/values.yaml")
            ]
        );
        assert_eq!(inputs.overrides.len(), 2);
        let escapes = super::inputs(&env(&[(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"values-files","array":["../other/values.yaml"]}]"#,
        )]));
        assert!(escapes.is_err());
        assert!(
            super::inputs(&env(&[(
                "ARGOCD_APP_PARAMETERS",
                r#"[{"name":"helm-parameters","map":{}}]"#
            )]))
            .is_err()
        );
        assert!(super::inputs(&env(&[("ARGOCD_APP_PARAMETERS", "not json")])).is_err());
    }
}
