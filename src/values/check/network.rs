//! `networkPolicy`: the sources the NetworkPolicies admit.
//!
//! The API server accepts a selector only with valid label keys and values, and a namespace
//! name that is no DNS label matches no namespace at all: the policy would apply and silently
//! admit nobody. An application entry with neither a namespace nor labels would admit every pod
//! of the database's namespace, which nobody writes on purpose, so it is refused. Warnings:
//! poolers no application may reach, and Teleport sources written for agent mode, which admits
//! the rendered agent instead.

use super::Findings;
use super::metadata::labels;
use crate::naming::is_dns_label;
use crate::values::{Registration, Values};

const POD_LABELS_FIX: &str = "write the pods' label as `kubectl get pods --show-labels` shows it";

pub(super) fn check(values: &Values, f: &mut Findings) {
    let np = &values.network_policy;
    for (at, peer) in [
        ("networkPolicy.operator", &np.operator),
        ("networkPolicy.teleport", &np.teleport),
        ("networkPolicy.monitoring", &np.monitoring),
    ] {
        namespace(f, &format!("{at}.namespace"), &peer.namespace);
        labels(
            f,
            &format!("{at}.podLabels"),
            &peer.pod_labels,
            POD_LABELS_FIX,
        );
    }
    for (i, peer) in np.applications.from.iter().enumerate() {
        let at = format!("networkPolicy.applications.from[{i}]");
        if let Some(name) = &peer.namespace {
            namespace(f, &format!("{at}.namespace"), name);
        }
        labels(
            f,
            &format!("{at}.podLabels"),
            &peer.pod_labels,
            POD_LABELS_FIX,
        );
        if peer.namespace.is_none() && peer.pod_labels.is_empty() {
            f.error(
                &at,
                "names neither a namespace nor pod labels: it would admit every pod of the database's namespace",
                "give `namespace` (every pod of it), `podLabels` (those pods of the database's namespace), or both",
            );
        }
    }
    // The rendered agent is the only Teleport service of these databases in agent mode.
    if np.enabled && values.teleport.registration == Registration::Agent {
        const UNUSED: &str =
            "unused with teleport.registration: agent: the policy admits the rendered agent's pods";
        const FIX: &str = "remove it, or register through another Teleport service (registration operator, job or none)";
        let namespace = "networkPolicy.teleport.namespace";
        if !f.is_default(namespace) {
            f.warn(namespace, UNUSED, FIX);
        }
        let labels = "networkPolicy.teleport.podLabels";
        for key in np.teleport.pod_labels.keys() {
            if !f.is_default_entry(labels, key) {
                f.warn_key(labels, key, UNUSED, FIX);
            }
        }
    }
    // Without applications a database is reached through Teleport only, which is a deployment
    // this tool is made for; but poolers nobody may connect to are a mistake.
    if np.enabled && np.applications.from.is_empty() && values.pooler.enabled {
        f.warn(
            "networkPolicy.applications.from",
            "no application may connect: the poolers admit nobody, only Teleport and CloudNativePG reach the instances",
            "list the applications' namespaces or pod labels, or disable the poolers (pooler.enabled: false)",
        );
    }
}

fn namespace(f: &mut Findings, at: &str, name: &str) {
    if !is_dns_label(name) {
        f.error(
            at,
            "not a namespace name (a DNS label: lower case letters, digits and `-`, at most 63)",
            "write the namespace's name as `kubectl get namespaces` shows it",
        );
    }
}
