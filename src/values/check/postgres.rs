//! `postgres` and the database's encoding and locales: versions, image, instances, storage,
//! resources, parameters and scheduling.
//!
//! CloudNativePG's webhook rejects unsupported majors and the parameters it manages itself, and
//! reads the major from the image tag; a minimal image without locales makes initdb fail. These
//! are reported here, at the key that causes them, instead of by the cluster.

use super::Findings;
use super::syntax::{is_dns_name, is_label_key, is_label_value, is_quantity};
use crate::values::{ImageFlavour, Values};

/// PostgreSQL majors CloudNativePG 1.29/1.30 support.
pub const SUPPORTED_MAJORS: std::ops::RangeInclusive<u32> = 14..=18;

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
        // `repository:tag@sha256:...` is pinned by digest and still carries the tag the major is
        // read from; the tag follows the last `:` of the last path segment.
        let reference = image.split('@').next().unwrap_or("");
        let last_segment = reference.rsplit('/').next().unwrap_or("");
        let tag = last_segment.split_once(':').map_or("", |(_, t)| t);
        let tag_major = tag.split(['.', '-']).next().unwrap_or("");
        if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
            f.error(
                "postgres.image",
                "not a valid image reference",
                "write registry/repository:tag",
            );
        } else if tag_major != pg.major.to_string() {
            f.error(
                "postgres.image",
                format!("the image tag must start with the major version {} (CloudNativePG reads the major from the tag)", pg.major),
                "use a tag such as `18.6-minimal-trixie`, or set postgres.major to match",
            );
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
    // The minimal images carry no locale data besides C, POSIX and C.UTF-8; initdb would fail.
    if pg.image.is_none() && pg.image_flavour == ImageFlavour::Minimal {
        for (key, value) in [
            ("localeCollate", &values.database.locale_collate),
            ("localeCType", &values.database.locale_c_type),
        ] {
            if !["C", "POSIX", "C.UTF-8", "C.utf8"].contains(&value.as_str()) {
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
        let valid = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'));
        if !valid {
            f.error(
                &format!("database.{key}"),
                "not a valid encoding or locale name",
                "use e.g. `UTF8`, `C` or `en_US.UTF-8`",
            );
        }
    }
}
