//! Labels and annotations of the cluster's objects, its ServiceAccount and the poolers' Service;
//! image pull Secrets; the PgBouncer pods' resources and node selector.
//!
//! Keys must be what the API server accepts on the objects CloudNativePG creates from them
//! (qualified names; label values as label values), else the Cluster is accepted and its pods
//! are not. The ServiceAccount's annotations are merged with the workload identity backups need
//! (`Values::workload_identity`): the same key with another value would silently lose one of
//! them, so it is refused.

use std::collections::BTreeMap;

use super::Findings;
use super::syntax::{is_dns_name, is_label_key, is_label_value, is_quantity};
use crate::values::{Metadata, Values};

pub(super) fn check(values: &Values, f: &mut Findings) {
    let pg = &values.postgres;
    metadata(f, "postgres.inheritedMetadata", &pg.inherited_metadata);
    metadata(
        f,
        "postgres.serviceAccountTemplate",
        &pg.service_account_template,
    );
    for key in pg.inherited_metadata.labels.keys() {
        if key.starts_with("cnpg.io/") {
            f.error_key(
                "postgres.inheritedMetadata.labels",
                key,
                "`cnpg.io/` labels are CloudNativePG's own: its services and PodDisruptionBudgets select pods by them",
                "use a label key in your own domain",
            );
        }
    }
    let (annotations, labels) = values.workload_identity();
    for (key, identity) in &annotations {
        if let Some(mine) = pg.service_account_template.annotations.get(*key)
            && mine != identity
        {
            f.error_key(
                "postgres.serviceAccountTemplate.annotations",
                key,
                format!("the backup's workload identity sets this annotation to `{identity}`"),
                "remove it here (the backup credentials set it), or write the same value",
            );
        }
    }
    for (key, value) in &labels {
        if let Some(mine) = pg.inherited_metadata.labels.get(*key)
            && mine != value
        {
            f.error_key(
                "postgres.inheritedMetadata.labels",
                key,
                format!("the backup's workload identity sets this label to `{value}`"),
                "remove it here (the backup credentials set it), or write the same value",
            );
        }
    }
    metadata(
        f,
        "pooler.serviceTemplate.metadata",
        &values.pooler.service_template.metadata,
    );
    let template = &values.pooler.template;
    for (key, value) in [
        ("cpu", &template.resources.cpu),
        ("memory", &template.resources.memory),
    ] {
        if value.as_ref().is_some_and(|v| !is_quantity(v)) {
            f.error(
                &format!("pooler.template.resources.{key}"),
                "not a Kubernetes quantity",
                "write e.g. `100m` (cpu) or `128Mi` (memory)",
            );
        }
    }
    for (key, value) in &template.node_selector {
        if !is_label_key(key) || !is_label_value(value) {
            f.error_key(
                "pooler.template.nodeSelector",
                key,
                "not a valid node label",
                "use a label key and value as on your nodes",
            );
        }
    }
    for (i, name) in pg.image_pull_secrets.iter().enumerate() {
        if !is_dns_name(name) {
            f.error(
                &format!("postgres.imagePullSecrets[{i}]"),
                "not a valid Secret name",
                "name an existing `kubernetes.io/dockerconfigjson` Secret in the namespace",
            );
        }
    }
}

pub(super) fn metadata(f: &mut Findings, at: &str, meta: &Metadata) {
    labels(
        f,
        &format!("{at}.labels"),
        &meta.labels,
        "use a label key such as `example.com/team` and a short value",
    );
    for key in meta.annotations.keys() {
        if !is_label_key(key) {
            f.error_key(
                &format!("{at}.annotations"),
                key,
                "not a valid annotation key (a qualified name, e.g. `example.com/owner`)",
                "use a key with an optional DNS prefix and a name of alphanumerics, `-_.`",
            );
        }
    }
}

/// Every entry of the label map at `at` is a valid label key and value; `fix` says what to write.
pub(super) fn labels(f: &mut Findings, at: &str, labels: &BTreeMap<String, String>, fix: &str) {
    for (key, value) in labels {
        if !is_label_key(key) || !is_label_value(value) {
            f.error_key(
                at,
                key,
                "not a valid label (key: a qualified name; value: 63 characters, alphanumerics, `-_.`)",
                fix,
            );
        }
    }
}
