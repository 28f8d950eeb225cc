//! `cnpgtp diff`: compare a render with a directory of committed manifests (as `--output-dir`
//! writes them) and print a unified diff per changed object, for review in CI.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use similar::TextDiff;

use crate::output::HEADER;

/// The result of a comparison: the diff text, and whether anything differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub text: String,
    /// One line for stderr: how many files differ (empty when none).
    pub summary: String,
    pub changed: bool,
}

/// Compares rendered directories (`dir` -> file name -> content) with what is on disk. Only files
/// cnpgtp wrote count on the disk side, so notes or other tools' files in the directory are ignored.
pub fn compare(targets: &BTreeMap<PathBuf, BTreeMap<String, String>>) -> Result<Comparison> {
    let mut text = String::new();
    let mut changed_files = 0usize;
    for (dir, rendered) in targets {
        let committed = read_committed(dir)?;
        let names: BTreeSet<&String> = rendered.keys().chain(committed.keys()).collect();
        for name in names {
            let old = committed.get(name).map_or("", String::as_str);
            let new = rendered.get(name).map_or("", String::as_str);
            if old == new {
                continue;
            }
            changed_files += 1;
            let path = dir.join(name);
            let (old_label, new_label) =
                match (committed.contains_key(name), rendered.contains_key(name)) {
                    (false, _) => ("/dev/null".to_string(), format!("b/{}", path.display())),
                    (_, false) => (format!("a/{}", path.display()), "/dev/null".to_string()),
                    _ => (
                        format!("a/{}", path.display()),
                        format!("b/{}", path.display()),
                    ),
                };
            let diff = TextDiff::from_lines(old, new);
            let _ = write!(
                text,
                "{}",
                diff.unified_diff()
                    .context_radius(3)
                    .header(&old_label, &new_label)
            );
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
    }
    let summary = if changed_files > 0 {
        format!("{changed_files} file(s) differ from the render\n")
    } else {
        String::new()
    };
    Ok(Comparison {
        text,
        summary,
        changed: changed_files > 0,
    })
}

fn read_committed(dir: &std::path::Path) -> Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    if !dir.exists() {
        return Ok(files);
    }
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let Ok(content) = fs::read_to_string(&path) else {
            continue;
        };
        let ours = content.starts_with(HEADER)
            || (std::path::Path::new(&name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
                && content.contains("\"app.kubernetes.io/managed-by\": \"cnpgtp\""));
        if ours {
            files.insert(name, content);
        }
    }
    Ok(files)
}
