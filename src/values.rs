//! Values: from raw YAML layers to a validated [`Values`] model.
//!
//! `load` reads the embedded defaults, each values file and each `--set`, merges them (keeping
//! the file, line and column of every node), validates the result against the JSON Schema of
//! [`Values`] and then runs the domain checks. Every problem is collected and reported at once,
//! each naming its origin, key path and a fix.

mod check;
mod derived;
mod identity;
mod image_ref;
mod layer_text;
mod layers;
mod model;
mod schema;
mod unprintable;

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

pub use check::{go_duration_seconds, is_placeholder, prometheus_duration_seconds};
pub use image_ref::image_problem;
pub use model::*;
pub use schema::schema;

use crate::yaml::{Origin, Tree};

/// The commented default values, embedded in the binary; `cnpgtp values` prints them.
pub const DEFAULTS: &str = include_str!("../values/defaults.yaml");
/// Display name of the defaults layer in error messages.
pub const DEFAULTS_NAME: &str = "<embedded defaults>";
/// Larger values files are refused before parsing: real ones are a few kilobytes.
pub const MAX_SOURCE_BYTES: u64 = 4 * 1024 * 1024;
/// At most this many problems are printed; the count of the rest follows.
pub const MAX_PROBLEMS_SHOWN: usize = 50;

/// One step in a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A key path such as `postgres.parameters.max_connections` or `roles[0].name`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Segment>);

impl KeyPath {
    #[must_use]
    pub fn key(mut self, key: &str) -> Self {
        self.0.push(Segment::Key(key.to_string()));
        self
    }

    #[must_use]
    pub fn index(mut self, index: usize) -> Self {
        self.0.push(Segment::Index(index));
        self
    }

    /// Parses `a.b[0].c` (keys without dots, as used in checks).
    pub fn parse(text: &str) -> Self {
        let mut path = KeyPath::default();
        for part in text.split('.') {
            let (name, rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
            path = path.key(name);
            if let Some(index) = rest.strip_suffix(']').and_then(|i| i.parse().ok()) {
                path = path.index(index);
            }
        }
        path
    }

    fn from_pointer(pointer: &str) -> Self {
        KeyPath(
            pointer
                .split('/')
                .skip(1)
                .map(|raw| raw.replace("~1", "/").replace("~0", "~"))
                .map(|seg| {
                    seg.parse::<usize>()
                        .map_or(Segment::Key(seg), Segment::Index)
                })
                .collect(),
        )
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "(top level)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if key.contains('.') || key.is_empty() => write!(f, "[{key:?}]")?,
                Segment::Key(key) if i == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// One thing wrong with the values, as the user will read it. Never carries the offending value,
/// which may be a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub origin: Option<Origin>,
    pub path: KeyPath,
    pub message: String,
    pub fix: String,
}

impl Problem {
    pub fn new(
        origin: Option<Origin>,
        path: KeyPath,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            origin,
            path,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys, file names and derived names come from the user: escape control and
        // bidirectional characters so a values file cannot drive the terminal that shows the error.
        match &self.origin {
            Some(origin) => write!(f, "{}: ", printable(&origin.to_string()))?,
            None => write!(f, "<command line>: ")?,
        }
        if !self.path.0.is_empty() {
            write!(f, "{}: ", printable(&self.path.to_string()))?;
        }
        write!(
            f,
            "{}\n  fix: {}",
            printable(&self.message),
            printable(&self.fix)
        )
    }
}

/// `text` with control characters (terminal escapes, NUL, line breaks) and Unicode
/// bidirectional overrides written as Rust escapes.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if text.chars().any(unsafe_char) {
        text.chars()
            .map(|c| {
                if unsafe_char(c) {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// All problems found in one load, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        writeln!(
            f,
            "invalid values ({count} problem{}):",
            if count == 1 { "" } else { "s" }
        )?;
        // A list index of 10000 or a file of unknown keys must not flood the terminal.
        for problem in self.0.iter().take(MAX_PROBLEMS_SHOWN) {
            writeln!(f, "{problem}")?;
        }
        if count > MAX_PROBLEMS_SHOWN {
            writeln!(
                f,
                "... and {} more problems, not shown: fix the ones above first",
                count - MAX_PROBLEMS_SHOWN
            )?;
        }
        Ok(())
    }
}

/// A values source already read into memory.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    /// Reads a values file (`-` is stdin), refusing directories, huge files and non-UTF-8 bytes.
    pub fn read(path: &Path) -> Result<Source, Problem> {
        let name = path.display().to_string();
        let at = |message: String, fix: &str| {
            Problem::new(
                Some(Origin {
                    source: Arc::from(name.as_str()),
                    line: 0,
                    column: 0,
                }),
                KeyPath::default(),
                message,
                fix,
            )
        };
        let mut bytes = Vec::new();
        if name == "-" {
            std::io::stdin()
                .take(MAX_SOURCE_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| {
                    at(
                        format!("cannot read standard input: {e}"),
                        "pipe a values file into cnpgtp",
                    )
                })?;
        } else {
            let metadata = std::fs::metadata(path).map_err(|e| {
                at(
                    format!("cannot read the values file: {e}"),
                    "check the path; use -f FILE for each values file",
                )
            })?;
            if metadata.is_dir() {
                return Err(at(
                    "this is a directory, not a values file".into(),
                    "name a file, or give the directory as a positional argument to render a fleet",
                ));
            }
            std::fs::File::open(path)
                .and_then(|file| file.take(MAX_SOURCE_BYTES + 1).read_to_end(&mut bytes))
                .map_err(|e| {
                    at(
                        format!("cannot read the values file: {e}"),
                        "check the file's permissions",
                    )
                })?;
        }
        if bytes.len() as u64 > MAX_SOURCE_BYTES {
            return Err(at(
                format!(
                    "the values file is larger than {} MiB",
                    MAX_SOURCE_BYTES / 1024 / 1024
                ),
                "values files are small; split out data such as certificates into Secrets",
            ));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            Problem::new(
                Some(Origin {
                    source: Arc::from(name.as_str()),
                    line,
                    column: valid.len() - line_start + 1,
                }),
                KeyPath::default(),
                format!(
                    "the file is not UTF-8 (invalid byte at offset {})",
                    valid.len()
                ),
                "save the file as UTF-8",
            )
        })?;
        Ok(Source { name, text })
    }
}

/// An assignment from the command line or the environment, applied after all files.
#[derive(Debug, Clone)]
pub enum Override {
    /// `--set path=value` (typed) or `--set-string` (typed = false).
    Set { argument: String, typed: bool },
    /// `--set-json path=JSON`.
    Json { argument: String },
    /// `--set-file path=FILE`, with the file already read (`file` names it in errors).
    File {
        path: String,
        file: String,
        contents: String,
    },
    /// A single string key such as `name` from `--name`; `from` names the flag or variable.
    Key {
        path: String,
        value: String,
        from: String,
    },
}

/// What a successful load returns: the model plus warnings for stderr.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub values: Values,
    pub warnings: Vec<Problem>,
    /// Whether any string or key of the merged values holds a `<`, as every argocd-vault-plugin
    /// placeholder does. Without one there is no placeholder to warn about, which saves
    /// serializing the values to look (BENCHMARKS.md, round 6).
    pub may_hold_placeholders: bool,
}

/// The embedded defaults as a tree. build.rs parsed `values/defaults.yaml` with the same reader
/// and embedded the tree, origins included, as a table (`yaml::packed`): input-independent work
/// done once at build time instead of in every process.
fn defaults_tree() -> Tree {
    use crate::yaml::packed::{Packed, PackedNode};
    // Generated numbers, not written for people to read.
    #[allow(clippy::unreadable_literal)]
    const TABLE: &[Packed] = include!(concat!(env!("OUT_DIR"), "/defaults_tree.rs"));
    crate::yaml::packed::unpack(TABLE, &Arc::from(DEFAULTS_NAME))
}

/// Loads defaults, then `sources`, then `overrides`, and validates the result.
pub fn load(sources: &[Source], overrides: &[Override]) -> Result<Loaded, Problems> {
    let mut problems = Vec::new();
    let mut tree = defaults_tree();
    let mut layer_text = layer_text::LayerText::default();
    for source in sources {
        match layers::parse_source(&source.name, &source.text) {
            Ok(layer) => {
                layer_text.add(&layer);
                layers::merge(&mut tree, layer);
            }
            Err(problem) => problems.push(problem),
        }
    }
    for item in overrides {
        match item {
            Override::Set { argument, typed } => match layers::parse_set(argument, *typed) {
                Ok(assignments) => {
                    for (path, value) in assignments {
                        layer_text.add_assignment(&path, &value);
                        layers::assign(&mut tree, &path, value);
                    }
                }
                Err(problem) => problems.push(problem),
            },
            Override::Json { argument } => match layers::parse_set_json(argument) {
                Ok((path, value)) => {
                    layer_text.add_assignment(&path, &value);
                    layers::assign(&mut tree, &path, value);
                }
                Err(problem) => problems.push(problem),
            },
            Override::File {
                path,
                file,
                contents,
            } => match layers::parse_set_file(path, file, contents.clone()) {
                Ok((path, value)) => {
                    layer_text.add_assignment(&path, &value);
                    layers::assign(&mut tree, &path, value);
                }
                Err(problem) => problems.push(problem),
            },
            Override::Key { path, value, from } => {
                let origin = Origin {
                    source: Arc::from(from.as_str()),
                    line: 0,
                    column: 0,
                };
                let node = Tree::new(crate::yaml::Node::Str(value.clone().into()), origin);
                let path = KeyPath::parse(path);
                layer_text.add_assignment(&path, &node);
                layers::assign(&mut tree, &path, node);
            }
        }
    }
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    if layer_text.unprintable {
        unprintable::check(&tree, &mut problems);
        if !problems.is_empty() {
            return Err(Problems(problems));
        }
    }
    let values = match check::typed(&tree) {
        Ok(values) => values,
        Err(mut problems) => {
            // All problems at once: when only unknown keys stand in the way, the rest of the
            // values is still checked, so a typo and a bad owner name show up together.
            let unknown = |p: &Problem| p.message == check::UNKNOWN_KEY;
            if problems.iter().all(unknown) {
                let mut known = tree.clone();
                for problem in &problems {
                    layers::remove(&mut known, &problem.path.0);
                }
                if let Ok(values) = check::typed(&known) {
                    problems.extend(check::domain(&values, &known).0);
                }
            }
            return Err(Problems(problems));
        }
    };
    let (errors, warnings) = check::domain(&values, &tree);
    if errors.is_empty() {
        let mut values = values;
        // Patches fail or succeed at render time: keep where each was written.
        for (index, patch) in values.patches.iter_mut().enumerate() {
            let path = KeyPath::parse(&format!("patches[{index}]"));
            patch.origin = Some(layers::origin_of(&tree, &path.0));
        }
        values.extra_object_origins = (0..values.extra_objects.len())
            .map(|index| {
                let path = KeyPath::parse(&format!("extraObjects[{index}]"));
                layers::origin_of(&tree, &path.0)
            })
            .collect();
        let may_hold_placeholders = layer_text.less_than;
        Ok(Loaded {
            values,
            warnings,
            may_hold_placeholders,
        })
    } else {
        Err(Problems(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table build.rs embedded is the tree this build's reader makes of the defaults.
    #[test]
    fn embedded_defaults_tree_is_the_parsed_defaults() {
        let parsed = layers::parse_source(DEFAULTS_NAME, DEFAULTS).expect("parses");
        assert_eq!(defaults_tree(), parsed);
        let table = crate::yaml::packed::write(&parsed);
        assert!(table.lines().count() > 100, "{table}");
    }

    /// The render looks for placeholders only when the loader saw a `<`: every `<` the values
    /// can hold comes from the merged tree. Checked on every shipped values file and every input
    /// that loads, some of which hold placeholders.
    #[test]
    fn a_less_than_in_the_values_is_always_seen_by_the_loader() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut with_less_than = 0;
        for dir in ["values", "tests/inputs", "tests/hostile"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("readable") {
                let path = entry.expect("readable").path();
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let source = Source {
                    name: path.display().to_string(),
                    text,
                };
                let Ok(loaded) = load(&[source], &[]) else {
                    continue;
                };
                let json = serde_json::to_string(&loaded.values).expect("serializes");
                if json.contains('<') {
                    with_less_than += 1;
                    assert!(loaded.may_hold_placeholders, "{}", path.display());
                }
            }
        }
        assert!(
            with_less_than >= 2,
            "only {with_less_than} inputs hold a `<`"
        );
    }
}
