//! `postgres.imageCatalogRef`, `postgres.extensions` and `postgres.services`: where the images
//! come from, and the cluster's Services.
//!
//! Mirrors CloudNativePG at v1.30.0: the Cluster CRD's CEL rule ("imageName and
//! imageCatalogRef are mutually exclusive") and `validateManagedServices` in
//! `internal/webhook/v1/cluster_webhook.go` (reserved and duplicate names; `rw` cannot be
//! disabled, which the values' enum already excludes), `validateExtensions` (names unique, also
//! once `_` becomes `-` in the volume name; an image unless a catalog provides it; paths neither
//! empty, duplicated nor escaping the extension's directory) and the documented requirement of
//! PostgreSQL 18 (`extension_control_path`, docs/src/imagevolume_extensions.md). Beyond the webhook: a Service named like
//! a Pooler's would fight CloudNativePG's own, and disabling `ro` breaks what reads through it
//! (a read-only Pooler connects to `<cluster>-ro`, `pkg/management/pgbouncer/config/config.go`;
//! Teleport's read-only database points at it).

use std::collections::BTreeSet;

use super::Findings;
use super::metadata::metadata;
use super::syntax::is_object_name;
use crate::naming::{Names, is_dns_label};
use crate::values::{DefaultService, Registration, Values};

pub(super) fn check(values: &Values, names: &Names, f: &mut Findings) {
    let pg = &values.postgres;
    if let Some(catalog) = &pg.image_catalog_ref {
        if pg.image.is_some() {
            f.error_pair(
                "postgres.imageCatalogRef",
                "postgres.image",
                "an image catalog and an image are mutually exclusive (the Cluster CRD's rule)",
                "set postgres.image to null to take the catalog's image for postgres.major, or drop imageCatalogRef",
            );
        }
        if !is_object_name(&catalog.name) {
            f.error(
                "postgres.imageCatalogRef.name",
                "not an object name (a DNS subdomain)",
                "the catalog's metadata.name",
            );
        }
    }
    extensions(values, f);
    let services = &pg.services;
    if services
        .disabled_default_services
        .contains(&DefaultService::Ro)
    {
        if values.pooler.enabled && values.pooler.read_only {
            f.error_pair(
                "postgres.services.disabledDefaultServices",
                "pooler.readOnly",
                "the read-only Pooler connects to the `-ro` Service",
                "keep `ro`, or set pooler.readOnly to false",
            );
        }
        if values.teleport.registration != Registration::None && pg.instances > 1 {
            f.error_pair(
                "postgres.services.disabledDefaultServices",
                "teleport.registration",
                "Teleport's read-only database is registered at the `-ro` Service",
                "keep `ro`, or register the databases another way (teleport.registration: none)",
            );
        }
    }
    // CloudNativePG's own (`GetServiceReadWriteName`, ...ReadOnly..., ...Read..., ...Any...).
    let any = format!("{}-any", values.name);
    let reserved = [&names.rw_service, &names.ro_service, &names.r_service, &any];
    let mut seen = BTreeSet::new();
    for (index, service) in services.additional.iter().enumerate() {
        let at = format!("postgres.services.additional[{index}]");
        let name = &service.name;
        if !is_dns_label(name) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            f.error(
                &format!("{at}.name"),
                "not a Service name (a DNS-1035 label: lower-case letters, digits, `-`, starting with a letter, at most 63 characters)",
                format!("e.g. `{}-external`", values.name),
            );
        } else if reserved.contains(&name) {
            f.error(
                &format!("{at}.name"),
                "this name is reserved for CloudNativePG's own Services",
                format!("e.g. `{}-external`", values.name),
            );
        } else if [&names.pooler_rw, &names.pooler_ro].contains(&name) {
            f.error(
                &format!("{at}.name"),
                "a Pooler's Service has this name",
                format!("e.g. `{}-external`", values.name),
            );
        } else if !seen.insert(name.clone()) {
            f.error(
                &format!("{at}.name"),
                "another additional Service has this name",
                "give each Service its own name",
            );
        }
        metadata(f, &format!("{at}.metadata"), &service.metadata);
    }
}

fn extensions(values: &Values, f: &mut Findings) {
    let pg = &values.postgres;
    if !pg.extensions.is_empty() && pg.major < 18 {
        f.error_pair(
            "postgres.extensions",
            "postgres.major",
            "extensions from images need PostgreSQL 18 or later (extension_control_path)",
            "use postgres.major 18, or install the extension in the PostgreSQL image",
        );
    }
    let mut names = BTreeSet::new();
    let mut volumes = BTreeSet::new();
    for (index, extension) in pg.extensions.iter().enumerate() {
        let at = format!("postgres.extensions[{index}]");
        let name = &extension.name;
        let bytes = name.as_bytes();
        let well_formed = !bytes.is_empty()
            && bytes.len() <= 59
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'))
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric();
        if !well_formed {
            f.error(
                &format!("{at}.name"),
                "not an extension name (lower-case letters, digits, `-`, `_`, starting and ending alphanumeric, at most 59 characters)",
                "use the extension's name, e.g. `pgvector`",
            );
        } else if !names.insert(name.clone()) {
            f.error(
                &format!("{at}.name"),
                "another extension has this name",
                "list each extension once",
            );
        } else if !volumes.insert(name.replace('_', "-")) {
            f.error(
                &format!("{at}.name"),
                "another extension's volume gets the same name (CloudNativePG turns `_` into `-`)",
                "rename one of them",
            );
        }
        match &extension.image {
            None if pg.image_catalog_ref.is_none() => f.error_at(
                &format!("{at}.image"),
                &format!("{at}.name"),
                "an extension needs an image when no image catalog provides it",
                "give the extension image, or take it from postgres.imageCatalogRef",
            ),
            Some(image) if image.trim().is_empty() || image.contains(char::is_whitespace) => f
                .error(
                    &format!("{at}.image"),
                    "not an image reference",
                    "e.g. `ghcr.io/cloudnative-pg/pgvector:0.8.1-18-trixie`",
                ),
            _ => {}
        }
        for (key, paths) in [
            ("extensionControlPath", &extension.extension_control_path),
            ("dynamicLibraryPath", &extension.dynamic_library_path),
            ("ldLibraryPath", &extension.ld_library_path),
        ] {
            let mut seen = BTreeSet::new();
            for (i, path) in paths.iter().enumerate() {
                let path_at = format!("{at}.{key}[{i}]");
                if path.is_empty() {
                    f.error(&path_at, "an empty path", "remove it");
                } else if escapes(path) {
                    f.error(
                        &path_at,
                        "the path leaves the extension's directory",
                        "give a path inside the image, e.g. `lib`",
                    );
                } else if !seen.insert(path.clone()) {
                    f.error(&path_at, "listed twice", "remove the duplicate");
                }
            }
        }
    }
}

/// Whether `path`, cleaned as Go's `filepath.Clean` does, starts with `..` (the webhook's
/// test; stricter, an absolute path too: the documentation asks for paths inside the image).
fn escapes(path: &str) -> bool {
    if path.starts_with('/') {
        return true;
    }
    let mut depth: i32 = 0;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if depth == 0 {
                    return true;
                }
                depth -= 1;
            }
            _ => depth += 1,
        }
    }
    false
}
