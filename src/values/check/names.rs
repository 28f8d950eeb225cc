//! `name`, `namespace`, `stage` and `labels`: the roots every object name and label derives from.
//!
//! Kubernetes rejects an invalid name or label at apply time, long after the render; a name that
//! is valid alone can still derive an object name longer than 63 characters.

use super::Findings;
use super::syntax::{is_label_key, is_label_value};
use crate::naming::{self, Names};
use crate::values::Values;

pub(super) fn check(values: &Values, names: &Names, f: &mut Findings) {
    if naming::is_dns_label(&values.name)
        && !values.name.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        f.error(
            "name",
            "CloudNativePG needs the cluster name to be a DNS-1035 label: it must start with a letter (and `-rw`, `-ro` Services are named after it)",
            "start the name with a letter, e.g. `db1` instead of `1db`",
        );
    } else if naming::is_dns_label(&values.name) {
        if let Some(long) = names
            .all()
            .into_iter()
            .find(|n| n.len() > naming::MAX_LABEL_LEN)
        {
            f.error(
                "name",
                format!("the derived object name `{long}` is longer than 63 characters"),
                format!(
                    "shorten `name` to at most {} characters",
                    values.name.len() - (long.len() - naming::MAX_LABEL_LEN)
                ),
            );
        }
    } else {
        f.error(
            "name",
            "not a valid name: Kubernetes needs a DNS-1123 label (a-z, 0-9, '-', at most 63 characters, starting and ending alphanumeric)",
            "use something like `orders-db`",
        );
    }
    if !naming::is_dns_label(&values.namespace) {
        f.error(
            "namespace",
            "not a valid namespace (DNS-1123 label)",
            "use something like `databases`",
        );
    }
    if !is_label_value(&values.stage) {
        f.error(
            "stage",
            "not a valid label value",
            "use letters, digits, '-', '_' or '.', at most 63 characters",
        );
    }
    for (key, value) in &values.labels {
        if !is_label_key(key) {
            f.error_key(
                "labels",
                key,
                "not a valid label key",
                "use an optional DNS prefix, '/', and a name such as `team`",
            );
        }
        if !is_label_value(value) {
            f.error_key(
                "labels",
                key,
                "not a valid label value",
                "use letters, digits, '-', '_' or '.', at most 63 characters",
            );
        }
    }
}
