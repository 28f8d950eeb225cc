//! The crate's layers (drawn in `src/lib.rs`): every `crate::` path in `src/` must point at a
//! layer below the file's own, or at one of the few same-layer edges listed here. This keeps
//! import cycles from coming back, and keeps every source file a room one can live in.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level modules, lowest layer first; modules on one line share a layer.
const LAYERS: &[&[&str]] = &[
    &["yaml"],
    &["naming", "crds", "manifest"],
    &["values"],
    &["plan"],
    &["resources"],
    &["render"],
    &["output", "diff", "lint"],
    &["cli"],
];

/// Edges allowed inside one layer: (from, to) top-level modules.
const SAME_LAYER: &[(&str, &str)] = &[("manifest", "crds"), ("diff", "output")];

/// Inside `resources/`: which integration may use which. `certs` is the TLS chain every part
/// points at, `cnpg` the Cluster the pooler attaches to, `backup` and `monitoring` the Cluster's
/// backup and monitoring fields; nothing else is shared.
const RESOURCE_EDGES: &[(&str, &str)] = &[
    ("ca_bundle", "certs"),
    // The sync workload fills the server CA into the TeleportDatabaseV3s it cannot be rendered in.
    ("ca_bundle", "teleport"),
    ("cnpg", "backup"),
    ("cnpg", "certs"),
    // Who the Cluster admits (pg_hba, bootstrap SQL) follows the Teleport access model.
    ("cnpg", "teleport"),
    // The Cluster's spec.monitoring; the monitoring objects watch the certificates and the
    // CA-bundle workload, and verify the metrics' TLS against the server CA.
    ("cnpg", "monitoring"),
    // A Database that drops its data on deletion is kept like the Cluster (deletion protection).
    ("databases", "backup"),
    ("monitoring", "ca_bundle"),
    ("monitoring", "certs"),
    // The policies admit the pods the Poolers and the Teleport agent run.
    ("network", "pooler"),
    ("network", "teleport"),
    ("pooler", "certs"),
    ("pooler", "cnpg"),
    ("teleport", "certs"),
];

/// The largest a source file may grow.
const MAX_LINES: usize = 500;

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("src/ is readable").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file below `src/`: `resources/teleport/job.rs` -> [resources, teleport, job].
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("below src/");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// Every `crate::a::b` path in the code (comments skipped), as [a, b].
fn crate_paths(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let segments: Vec<String> = tail
                .split("::")
                .take(2)
                .map(|s| {
                    s.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect()
                })
                .take_while(|s: &String| !s.is_empty())
                .collect();
            // `use crate::{a, b}` lists are not used in this crate; a path must name its module.
            assert!(
                !segments.is_empty(),
                "line {}: write `crate::module::...` so the layer test can read it",
                number + 1
            );
            found.push((number + 1, segments));
            rest = &tail[1..];
        }
    }
    found
}

fn violations() -> (Vec<String>, BTreeSet<String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut modules = BTreeSet::new();
    for file in &files {
        let module = module_path(&src, file);
        let text = fs::read_to_string(file).expect("readable");
        let shown = file.strip_prefix(&src).expect("below src/").display();
        let lines = text.lines().count();
        if lines > MAX_LINES {
            problems.push(format!("src/{shown}: {lines} lines (at most {MAX_LINES})"));
        }
        // lib.rs and main.rs sit above every layer.
        let Some(from) = module
            .first()
            .filter(|m| !matches!(m.as_str(), "lib" | "main"))
        else {
            continue;
        };
        modules.insert(from.clone());
        let Some(from_rank) = rank(from) else {
            problems.push(format!(
                "src/{shown}: module `{from}` is in no layer of LAYERS"
            ));
            continue;
        };
        for (line, path) in crate_paths(&text) {
            let to = &path[0];
            let Some(to_rank) = rank(to) else {
                problems.push(format!("src/{shown}:{line}: `crate::{to}` is in no layer"));
                continue;
            };
            let allowed = if to == from {
                from != "resources"
                    || module.len() < 2
                    || path.len() < 2
                    || module[1] == path[1]
                    || RESOURCE_EDGES.contains(&(module[1].as_str(), path[1].as_str()))
            } else {
                to_rank < from_rank || SAME_LAYER.contains(&(from.as_str(), to.as_str()))
            };
            if !allowed {
                problems.push(format!(
                    "src/{shown}:{line}: `{}` imports `crate::{}`, which is not below it",
                    module.join("::"),
                    path.join("::")
                ));
            }
        }
    }
    (problems, modules)
}

#[test]
fn modules_import_only_from_layers_below() {
    let (problems, modules) = violations();
    assert!(
        problems.is_empty(),
        "layer violations:\n{}",
        problems.join("\n")
    );
    // The test reads real files: if it saw none of the layers it checks nothing.
    for layer in LAYERS {
        for module in *layer {
            assert!(modules.contains(*module), "no files for `{module}`");
        }
    }
}

#[test]
fn the_reader_sees_an_upward_import() {
    let text = "use crate::cli::exit;\n// crate::render in a comment\nlet x = crate::values::load;";
    let paths = crate_paths(text);
    assert_eq!(
        paths,
        vec![
            (1, vec!["cli".to_string(), "exit".to_string()]),
            (3, vec!["values".to_string(), "load".to_string()]),
        ]
    );
    assert!(rank("cli") > rank("values"));
}
