//! Checks on merged values: first the shape (JSON Schema of [`Values`], with "did you mean" for
//! unknown keys), then the domain rules serde cannot express (names, SQL identifiers, versions,
//! quantities, which options go together). All problems are returned, not just the first.
//!
//! This module holds what every rule shares: the schema and its validator, the origin of a key,
//! the "did you mean" suggestions, and [`Findings`], which collects problems with their
//! positions. The domain rules live in one submodule per concern, so checking a new values key
//! touches one file; the predicates they share are in `syntax`.

mod auto_users;
mod backup;
mod client_ca_bundle;
mod cron;
mod databases;
mod images;
mod metadata;
mod monitoring;
mod names;
mod network;
mod parameters;
mod patches;
mod pooler;
mod postgres;
mod recovery;
mod replica;
mod roles;
mod scheduling;
mod secrets;
mod services;
mod syntax;
mod teleport;
mod teleport_join;
mod tls;
mod updates;

use std::sync::OnceLock;

use serde::Deserialize as _;
use serde_json::Value as Json;

pub use syntax::{go_duration_seconds, is_placeholder, prometheus_duration_seconds};

use super::layers::{lookup, origin_of};
use super::{KeyPath, Problem, Segment, Values};
use crate::naming::Names;
use crate::yaml::Tree;

pub(super) fn schema_json() -> &'static Json {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema =
            serde_json::to_value(schemars::schema_for!(Values)).expect("schema serializes");
        schema["title"] = Json::String("cnpgtp values".into());
        schema
    })
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::validator_for(schema_json()).expect("the values schema is valid")
    })
}

/// The message of an unknown-key problem.
pub(super) const UNKNOWN_KEY: &str = "unknown key";

/// Validates the shape of the merged tree and deserializes it.
pub(super) fn typed(tree: &Tree) -> Result<Values, Vec<Problem>> {
    // The schema is generated from the same types, which all deny unknown fields, so values that
    // deserialize are exactly the values the schema accepts. Compiling the validator is the most
    // expensive step of a render: do it only to explain a failure. The tree deserializes as its
    // JSON copy would (yaml/de.rs); the copy is made only to explain a failure.
    if let Ok(values) = Values::deserialize(tree) {
        return Ok(values);
    }
    let json = tree.to_json();
    let mut problems = Vec::new();
    for error in validator().iter_errors(&json) {
        let path = KeyPath::from_pointer(error.instance_path().as_str());
        match error.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    let key_path = path.clone().key(key);
                    let known = known_keys(&path);
                    let fix = match closest(key, &known) {
                        Some(best) => {
                            format!("did you mean `{best}`? (`cnpgtp values` lists every key)")
                        }
                        None if known.is_empty() => "remove it".to_string(),
                        None => format!("remove it; keys allowed here: {}", known.join(", ")),
                    };
                    problems.push(Problem::new(
                        Some(key_origin(tree, &key_path)),
                        key_path,
                        UNKNOWN_KEY,
                        fix,
                    ));
                }
            }
            kind => {
                let found = lookup(tree, &path.0).map_or("nothing", Tree::kind_name);
                let (message, mut fix) = describe(kind, found);
                let origin = origin_of(tree, &path.0);
                // `--set` types `true` and `42`; a string that looks like one needs --set-string.
                if origin.source.starts_with("--set ")
                    && matches!(found, "a boolean" | "an integer" | "null")
                {
                    fix = format!("to pass it as a string, use --set-string {path}=...");
                }
                problems.push(Problem::new(Some(origin), path, message, fix));
            }
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| {
            p.origin
                .as_ref()
                .map(|o| (o.source.clone(), o.line, o.column))
        });
        problems.dedup();
        return Err(problems);
    }
    serde_path_to_error::deserialize(json).map_err(|err| {
        let path = KeyPath::parse(&err.path().to_string());
        let origin = origin_of(tree, &path.0);
        vec![Problem::new(
            Some(origin),
            path,
            "this value does not fit the values model",
            "compare it with the same key in `cnpgtp values`",
        )]
    })
}

/// The key's own position (its key token) when the tree has it.
fn key_origin(tree: &Tree, path: &KeyPath) -> crate::yaml::Origin {
    origin_of(tree, &path.0)
}

fn describe(kind: &jsonschema::error::ValidationErrorKind, found: &str) -> (String, String) {
    use jsonschema::error::ValidationErrorKind as Kind;
    match kind {
        Kind::Type { kind } => {
            let expected = format!("{kind:?}")
                .to_lowercase()
                .replace("single(", "")
                .replace("multiple(", "")
                .replace(['(', ')', '[', ']'], "");
            (
                format!("expected {}, found {found}", expected.replace(", ", " or ")),
                "write a value of the expected type (quote strings that look like numbers)".into(),
            )
        }
        Kind::Enum { options } => (
            format!(
                "expected one of {}",
                options
                    .to_string()
                    .trim_matches(['[', ']'])
                    .replace(',', ", ")
            ),
            "pick one of the listed values".into(),
        ),
        Kind::Required { property } => (
            format!("the key {property} is missing"),
            "add the key (see `cnpgtp values` for its default)".into(),
        ),
        Kind::Minimum { .. } | Kind::Maximum { .. } => (
            "the number is out of range".into(),
            "use a value within the documented range".into(),
        ),
        _ => (
            format!("{found} does not match the values schema here"),
            "compare with the same key in `cnpgtp values`".into(),
        ),
    }
}

/// The property names the schema allows at `path`.
fn known_keys(path: &KeyPath) -> Vec<String> {
    let root = schema_json();
    let mut node = resolve(root, root);
    for segment in &path.0 {
        node = match segment {
            Segment::Key(key) => match node.get("properties").and_then(|p| p.get(key)) {
                Some(child) => resolve(root, child),
                None => match node.get("additionalProperties") {
                    Some(child) if child.is_object() => resolve(root, child),
                    _ => return Vec::new(),
                },
            },
            Segment::Index(_) => match node.get("items") {
                Some(child) => resolve(root, child),
                None => return Vec::new(),
            },
        };
    }
    node.get("properties")
        .and_then(Json::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default()
}

/// Follows `$ref` and picks the object branch of `anyOf` (how `Option<Struct>` is encoded).
fn resolve<'a>(root: &'a Json, mut node: &'a Json) -> &'a Json {
    for _ in 0..8 {
        if let Some(reference) = node.get("$ref").and_then(Json::as_str) {
            let pointer = reference.trim_start_matches('#');
            match root.pointer(pointer) {
                Some(target) => node = target,
                None => return node,
            }
        } else if let Some(branch) =
            node.get("anyOf")
                .and_then(Json::as_array)
                .and_then(|branches| {
                    branches
                        .iter()
                        .find(|b| b.get("$ref").is_some() || b.get("properties").is_some())
                })
        {
            node = branch;
        } else {
            return node;
        }
    }
    node
}

fn closest(key: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&key.to_lowercase(), &k.to_lowercase()),
                k,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.clone())
}

/// Collects domain problems (errors) and warnings.
struct Findings<'t> {
    tree: &'t Tree,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Findings<'_> {
    /// An error about the entry `key` of the map at `map`. The key is taken whole: map keys
    /// (label keys, parameter names) may hold `.`, `/` or `[`, which `KeyPath::parse` would split.
    fn error_key(
        &mut self,
        map: &str,
        key: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let problem = self.at_key(map, key, message, fix);
        self.errors.push(problem);
    }

    /// A problem about the entry `key` of the map at `map`, at that entry's position.
    fn at_key(
        &self,
        map: &str,
        key: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Problem {
        let path = KeyPath::parse(map).key(key);
        Problem::new(Some(origin_of(self.tree, &path.0)), path, message, fix)
    }

    fn error(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        let path = KeyPath::parse(path);
        self.errors.push(Problem::new(
            Some(origin_of(self.tree, &path.0)),
            path,
            message,
            fix,
        ));
    }

    /// An error about `path` whose position is that of `cause` (e.g. a missing key reported at
    /// the user's line that made it necessary).
    fn error_at(
        &mut self,
        path: &str,
        cause: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let origin = origin_of(self.tree, &KeyPath::parse(cause).0);
        self.errors.push(Problem::new(
            Some(origin),
            KeyPath::parse(path),
            message,
            fix,
        ));
    }

    /// An error about a combination of two keys, reported at the one the user wrote (`path`
    /// unless only `other` comes from the user's files), naming the other key too.
    fn error_pair(
        &mut self,
        path: &str,
        other: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let (at, with) = if self.is_default(path) && !self.is_default(other) {
            (other, path)
        } else {
            (path, other)
        };
        let message = format!("{} (with `{with}`)", message.into());
        self.error(at, message, fix);
    }

    /// Whether the value at `path` comes from the embedded defaults (the user did not write it).
    fn is_default(&self, path: &str) -> bool {
        *origin_of(self.tree, &KeyPath::parse(path).0).source == *super::DEFAULTS_NAME
    }

    /// Whether the entry `key` of the map at `map` comes from the embedded defaults (a map's
    /// own origin is where it was first written, so entries are asked one by one).
    fn is_default_entry(&self, map: &str, key: &str) -> bool {
        let path = KeyPath::parse(map).key(key);
        *origin_of(self.tree, &path.0).source == *super::DEFAULTS_NAME
    }

    /// A warning about the entry `key` of the map at `map` (see `error_key`).
    fn warn_key(
        &mut self,
        map: &str,
        key: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let problem = self.at_key(map, key, message, fix);
        self.warnings.push(problem);
    }

    fn warn(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        let path = KeyPath::parse(path);
        self.warnings.push(Problem::new(
            Some(origin_of(self.tree, &path.0)),
            path,
            message,
            fix,
        ));
    }
}

/// Runs every domain rule; returns (errors, warnings).
///
/// Problems are sorted by position at the end; those at the same position keep the order in
/// which the rules below report them.
pub(super) fn domain(values: &Values, tree: &Tree) -> (Vec<Problem>, Vec<Problem>) {
    let mut f = Findings {
        tree,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    // Derived once: four rules read them.
    let names = Names::new(&values.name);
    names::check(values, &names, &mut f);
    postgres::check(values, &mut f);
    scheduling::check(values, &mut f);
    services::check(values, &names, &mut f);
    metadata::check(values, &mut f);
    updates::check(values, &mut f);
    updates::check_libraries_and_maps(values, &mut f);
    parameters::check(values, &mut f);
    roles::check(values, &mut f);
    databases::check(values, &names, &mut f);
    tls::check(values, &mut f);
    client_ca_bundle::check(values, &mut f);
    secrets::check(values, &mut f);
    pooler::check(values, &mut f);
    teleport::check(values, &mut f);
    teleport_join::check(values, &mut f);
    auto_users::check(values, &mut f);
    backup::check(values, &mut f);
    recovery::check(values, &mut f);
    patches::check(values, &mut f);
    monitoring::check(values, &names, &mut f);
    network::check(values, &mut f);
    for list in [&mut f.errors, &mut f.warnings] {
        list.sort_by_key(|p| {
            p.origin
                .as_ref()
                .map(|o| (o.source.clone(), o.line, o.column))
        });
    }
    (f.errors, f.warnings)
}
