//! Writing rendered manifests: a YAML stream, a JSON `List`, or one file per object plus a
//! `kustomization.yaml` in a directory.
//!
//! Directory output is all-or-nothing: everything is rendered in memory first, written into a
//! temporary directory next to the target, and only then moved into place. Files that cnpgtp did
//! not write (they lack its header line) are never overwritten or deleted; files an earlier
//! cnpgtp render wrote and this one does not produce are removed, so the directory always
//! matches its `kustomization.yaml`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;

use crate::manifest::Manifest;
use crate::yaml;

/// First line of every file cnpgtp writes; marks files it may later replace or remove.
pub const HEADER: &str = "# Rendered by cnpgtp. Do not edit: re-render instead.\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Yaml,
    Json,
}

/// One database's manifests serialized as a multi-document YAML stream.
pub fn yaml_stream(manifests: &[Manifest]) -> Result<String> {
    // About 1.6 KB per object in a default render: one allocation for most streams.
    let mut out = String::with_capacity(2048 * manifests.len());
    for manifest in manifests {
        out.push_str("---\n");
        write_object_yaml(&mut out, manifest)?;
    }
    Ok(out)
}

/// Appends one manifest as a YAML document, which ends in a newline.
fn write_object_yaml(out: &mut String, manifest: &Manifest) -> Result<()> {
    yaml::write_object(out, &manifest.object).map_err(|e| {
        anyhow::anyhow!(
            "serializing {} {}: {e}",
            manifest.kind_name(),
            manifest.object.name()
        )
    })
}

/// Manifests as one JSON `v1/List`.
pub fn json_list(manifests: &[Manifest]) -> Result<String> {
    let items: Vec<_> = manifests.iter().map(|m| &m.object).collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    Ok(serde_json::to_string_pretty(&list)? + "\n")
}

/// Serializes every manifest in `format`: one text for the whole stream.
pub fn stream(manifests: &[Manifest], format: Format) -> Result<String> {
    match format {
        Format::Yaml => yaml_stream(manifests),
        Format::Json => json_list(manifests),
    }
}

/// The files of one database directory: file name -> content.
pub fn directory_files(manifests: &[Manifest], format: Format) -> Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    let mut resources = Vec::new();
    for manifest in manifests {
        let mut name = manifest.file_name();
        let body = match format {
            Format::Yaml => {
                let mut body = String::from(HEADER);
                write_object_yaml(&mut body, manifest)?;
                body
            }
            Format::Json => {
                name = name.replace(".yaml", ".json");
                serde_json::to_string_pretty(&manifest.object)? + "\n"
            }
        };
        resources.push(name.clone());
        if files.insert(name.clone(), body).is_some() {
            // Objects of one kind in two namespaces (none today): a bug, not a user error.
            bail!("two objects would be written to {name}");
        }
    }
    let kustomization = serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    });
    let text = yaml::object_to_string(&kustomization).map_err(|e| anyhow::anyhow!(e))?;
    files.insert("kustomization.yaml".into(), format!("{HEADER}{text}"));
    Ok(files)
}

fn written_by_cnpgtp(path: &Path) -> bool {
    match fs::read(path) {
        Ok(bytes) => {
            bytes.starts_with(HEADER.as_bytes())
                || (path.extension().is_some_and(|e| e == "json") && json_written_by_us(&bytes))
        }
        Err(_) => false,
    }
}

/// JSON files cannot carry a comment; they count as ours if they are a manifest labelled
/// `app.kubernetes.io/managed-by: cnpgtp`.
fn json_written_by_us(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| {
            v.pointer("/metadata/labels/app.kubernetes.io~1managed-by")
                .cloned()
        })
        .is_some_and(|v| v == "cnpgtp")
}

/// Writes several directories (`dir` -> files) all-or-nothing as far as the file system allows:
/// every check happens before the first write, and each directory is filled in a temporary
/// sibling and moved into place.
pub fn write_directories(targets: &BTreeMap<PathBuf, BTreeMap<String, String>>) -> Result<()> {
    // Refuse before touching anything if a file we would replace is not ours.
    for (dir, files) in targets {
        if dir.exists() && !dir.is_dir() {
            bail!("{} exists and is not a directory", dir.display());
        }
        for name in files.keys() {
            let path = dir.join(name);
            if path.exists() && !written_by_cnpgtp(&path) {
                bail!(
                    "{} exists and was not written by cnpgtp; refusing to overwrite it (move it away or choose another --output-dir)",
                    path.display()
                );
            }
        }
    }
    for (dir, files) in targets {
        write_directory(dir, files)?;
    }
    Ok(())
}

/// Database folders under a fleet's `root` that an earlier render wrote and this one does not
/// produce (a database removed or renamed): folders holding a `kustomization.yaml` cnpgtp wrote.
pub fn stale_databases(
    root: &Path,
    targets: &BTreeMap<PathBuf, BTreeMap<String, String>>,
) -> Result<Vec<PathBuf>> {
    let mut stale = Vec::new();
    if !root.is_dir() {
        return Ok(stale);
    }
    for entry in fs::read_dir(root).with_context(|| format!("listing {}", root.display()))? {
        let path = entry?.path();
        if path.is_dir()
            && !targets.contains_key(&path)
            && written_by_cnpgtp(&path.join("kustomization.yaml"))
        {
            stale.push(path);
        }
    }
    stale.sort();
    Ok(stale)
}

/// Removes the files cnpgtp wrote in a stale database folder, and the folder once it is empty
/// (a user's own files keep it).
pub fn remove_stale_database(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_file() && written_by_cnpgtp(&path) {
            fs::remove_file(&path).with_context(|| format!("removing stale {}", path.display()))?;
        }
    }
    if fs::read_dir(dir)?.next().is_none() {
        fs::remove_dir(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(())
}

fn write_directory(dir: &Path, files: &BTreeMap<String, String>) -> Result<()> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    // Stage beside the directory, so a new one appears whole; when the parent is not writable
    // (a container writing into a mounted `/out`), stage inside the directory itself.
    let staging = match tempfile::Builder::new()
        .prefix(".cnpgtp-")
        .tempdir_in(parent)
    {
        Ok(staging) => staging,
        Err(_) if dir.is_dir() => tempfile::Builder::new()
            .prefix(".cnpgtp-")
            .tempdir_in(dir)
            .with_context(|| format!("creating a temporary directory in {}", dir.display()))?,
        Err(error) => {
            return Err(error).with_context(|| {
                format!("creating a temporary directory in {}", parent.display())
            });
        }
    };
    for (name, body) in files {
        fs::write(staging.path().join(name), body).with_context(|| format!("writing {name}"))?;
    }
    if !dir.exists() {
        let staged = staging.keep();
        if let Err(error) = fs::rename(&staged, dir) {
            // Leave nothing behind: the staging directory is no longer cleaned up on drop.
            let _ = fs::remove_dir_all(&staged);
            return Err(error)
                .with_context(|| format!("moving the rendered files into {}", dir.display()));
        }
        return Ok(());
    }
    // The directory exists: move our files in one by one (each rename is atomic), then remove
    // files an earlier render wrote that this one no longer produces.
    for name in files.keys() {
        fs::rename(staging.path().join(name), dir.join(name))
            .with_context(|| format!("replacing {}", dir.join(name).display()))?;
    }
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if path.is_file() && !files.contains_key(&name) && written_by_cnpgtp(&path) {
            fs::remove_file(&path).with_context(|| format!("removing stale {}", path.display()))?;
        }
    }
    Ok(())
}
