//! `postgres` and the database's encoding and locales: versions, image, instances, storage,
//! resources, parameters and scheduling.
//!
//! CloudNativePG's webhook rejects unsupported majors and the parameters it manages itself, and
//! reads the major from the image tag; a minimal image without locales makes initdb fail. These
//! are reported here, at the key that causes them, instead of by the cluster.

use super::Findings;
use super::syntax::{is_dns_name, is_label_key, is_label_value, is_locale_name, is_quantity};
use crate::values::{ImageFlavour, Values};

/// PostgreSQL majors CloudNativePG 1.29/1.30 support.
pub const SUPPORTED_MAJORS: std::ops::RangeInclusive<u32> = 14..=18;

/// The tag CloudNativePG reads from an image name: machinery v0.5.0 `reference.New` (the
/// `CloudNativePG` 1.30 dependency, `pkg/image/reference/imagename.go`). A trailing
/// `@sha256:<hex>` is the digest; the tag follows the first `:` of the last path segment; an
/// image with neither is `latest`.
fn cnpg_image_tag(image: &str) -> &str {
    let mut name = image;
    let mut digest = false;
    if let Some(at) = name.rfind("@sha256:") {
        let hex = &name[at + "@sha256:".len()..];
        if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            name = &name[..at];
            digest = true;
        }
    }
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    match last_segment.split_once(':') {
        Some((_, tag)) if !tag.is_empty() => tag,
        _ if digest => "",
        _ => "latest",
    }
}

/// The major of a tag as machinery v0.5.0 `version.FromTag` reads it
/// (`pkg/postgres/version/version.go`): the tag must start with `^(\d\.?)+`; of that prefix, the
/// part before the first `.` is the major and the part after it, when there is one, the minor;
/// both must be integers. `None` when `FromTag` fails.
fn tag_major(tag: &str) -> Option<u64> {
    let bytes = tag.as_bytes();
    let mut end = 0;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
        if end < bytes.len() && bytes[end] == b'.' {
            end += 1;
        }
    }
    if end == 0 {
        return None;
    }
    let mut parts = tag[..end].split('.');
    let major = parts.next()?.parse::<u64>().ok()?;
    match parts.next() {
        Some(minor) if minor.parse::<u64>().is_err() => None,
        _ => Some(major),
    }
}

/// `validateImageName` in `internal/webhook/v1/cluster_webhook.go` (CloudNativePG v1.30.0,
/// 4b5e244a): no `latest`, not a digest alone, a tag `version.FromTag` reads; then cnpgtp's own
/// rule, the major it reads must be `postgres.major`.
fn image_tag(f: &mut Findings, image: &str, major: u32) {
    let tag = cnpg_image_tag(image);
    match tag {
        "latest" => f.error(
            "postgres.image",
            "Can't use 'latest' as image tag as we can't detect upgrades (CloudNativePG refuses it; an image without a tag is `latest`)",
            format!("pin a version tag such as `{major}.6-minimal-trixie`"),
        ),
        "" => f.error(
            "postgres.image",
            "Can't use just the image sha as we can't detect upgrades (CloudNativePG reads the major from the tag)",
            format!("keep the digest and add the tag: `repository:{major}.6-minimal-trixie@sha256:...`"),
        ),
        _ => match tag_major(tag) {
            None => f.error(
                "postgres.image",
                format!("invalid version tag `{tag}`: CloudNativePG reads the PostgreSQL version from the tag, which must start with MAJOR or MAJOR.MINOR"),
                format!("use a tag such as `{major}.6-minimal-trixie`"),
            ),
            Some(tag_major) if tag_major != u64::from(major) => f.error(
                "postgres.image",
                format!("the image tag must start with the major version {major} (CloudNativePG reads the major from the tag)"),
                "use a tag such as `18.6-minimal-trixie`, or set postgres.major to match",
            ),
            Some(_) => {}
        },
    }
}

pub(super) fn check(values: &Values, f: &mut Findings) {
    let pg = &values.postgres;
    // CloudNativePG 1.30 passes initdb `-k` for `dataChecksums: true` and nothing otherwise
    // (pkg/specs/jobs.go at 4b5e244a); PostgreSQL 18's initdb enables checksums by default.
    if pg.major >= 18
        && !values.database.data_checksums
        && !values.recovery.enabled
        && !values.replica.enabled
    {
        f.warn(
            "database.dataChecksums",
            "PostgreSQL 18 enables data checksums by default and CloudNativePG 1.30 cannot turn them off: they will be on",
            "set dataChecksums: true to say what the cluster gets, or use PostgreSQL 17 or older",
        );
    }
    if !SUPPORTED_MAJORS.contains(&pg.major) {
        f.error(
            "postgres.major",
            format!(
                "PostgreSQL {} is not supported by CloudNativePG 1.29/1.30",
                pg.major
            ),
            "use a major version from 14 to 18",
        );
    }
    if let Some(image) = &pg.image {
        if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
            f.error(
                "postgres.image",
                "not a valid image reference",
                "write registry/repository:tag",
            );
        } else {
            image_tag(f, image, pg.major);
        }
    }
    if pg.instances < 1 {
        f.error(
            "postgres.instances",
            "at least one instance is needed",
            "set postgres.instances to 1 or more",
        );
    }
    if !is_quantity(&pg.storage.size) {
        f.error(
            "postgres.storage.size",
            "not a Kubernetes quantity",
            "write a size such as `20Gi`",
        );
    }
    if let Some(size) = &pg.wal_storage.size
        && !is_quantity(size)
    {
        f.error(
            "postgres.walStorage.size",
            "not a Kubernetes quantity",
            "write a size such as `5Gi`, or null for no WAL volume",
        );
    }
    for (key, class) in [
        ("storage", &pg.storage.storage_class),
        ("walStorage", &pg.wal_storage.storage_class),
    ] {
        if class.as_ref().is_some_and(|c| !is_dns_name(c)) {
            f.error(
                &format!("postgres.{key}.storageClass"),
                "not a valid StorageClass name",
                "name an existing StorageClass (`kubectl get storageclass`), or null for the default",
            );
        }
    }
    for (key, value) in [("cpu", &pg.resources.cpu), ("memory", &pg.resources.memory)] {
        if value.as_ref().is_some_and(|v| !is_quantity(v)) {
            f.error(
                &format!("postgres.resources.{key}"),
                "not a Kubernetes quantity",
                "write e.g. `500m` (cpu) or `2Gi` (memory)",
            );
        }
    }
    for (key, value) in &pg.node_selector {
        if !is_label_key(key) || !is_label_value(value) {
            f.error_key(
                "postgres.nodeSelector",
                key,
                "not a valid node label",
                "use a label key and value as on your nodes",
            );
        }
    }
    if let Some(class) = &pg.priority_class_name
        && !is_dns_name(class)
    {
        f.error(
            "postgres.priorityClassName",
            "not a valid PriorityClass name",
            "use the name of an existing PriorityClass",
        );
    }
    if !is_label_key(&pg.topology_spread.topology_key) {
        f.error(
            "postgres.topologySpread.topologyKey",
            "not a valid node label key",
            "use e.g. `topology.kubernetes.io/zone`",
        );
    }
    if pg.enable_superuser_access {
        f.warn(
            "postgres.enableSuperuserAccess",
            "superuser access over the network is on",
            "leave it off unless you need it; use `kubectl cnpg psql` for administration",
        );
    }
    if minimal_image(values) {
        for (key, value) in [
            ("localeCollate", &values.database.locale_collate),
            ("localeCType", &values.database.locale_c_type),
        ] {
            if !MINIMAL_IMAGE_LOCALES.contains(&value.as_str()) {
                f.error(
                    &format!("database.{key}"),
                    "the minimal PostgreSQL image has only the C, POSIX and C.UTF-8 locales: initdb would fail",
                    "set postgres.imageFlavour: standard (adds every locale), or use C or C.UTF-8",
                );
            }
        }
    }
    let db = &values.database;
    for (key, value) in [
        ("encoding", &db.encoding),
        ("localeCollate", &db.locale_collate),
        ("localeCType", &db.locale_c_type),
    ] {
        if !is_locale_name(value) {
            f.error(
                &format!("database.{key}"),
                "not a valid encoding or locale name",
                "use e.g. `UTF8`, `C` or `en_US.UTF-8`",
            );
        }
    }
}

/// The locales the minimal images carry (no locale data besides these): another one makes
/// initdb or `CREATE DATABASE` fail.
pub(super) const MINIMAL_IMAGE_LOCALES: &[&str] = &["C", "POSIX", "C.UTF-8", "C.utf8"];

/// Whether the instances run cnpgtp's pinned minimal image: not a given image, not a catalog's
/// (either may carry any locale).
pub(super) fn minimal_image(values: &Values) -> bool {
    let pg = &values.postgres;
    pg.image.is_none()
        && pg.image_catalog_ref.is_none()
        && pg.image_flavour == ImageFlavour::Minimal
}
