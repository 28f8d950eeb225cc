//! `clientCaBundle`: how the bundle of client CAs reaches the PostgreSQL pods, and how often it
//! is refreshed.
//!
//! The sync workload runs an image the user chooses, so it is held to the pinning rule, and its
//! resources must be quantities Kubernetes accepts.

use super::Findings;
use super::images::pinned_image;
use super::syntax::{is_go_duration, is_quantity, quantity_value};
use crate::values::{BundleMechanism, SyncWorkload, Values};

pub(super) fn check(values: &Values, f: &mut Findings) {
    if !is_go_duration(&values.client_ca_bundle.refresh_interval) {
        f.error(
            "clientCaBundle.refreshInterval",
            "not a Go duration",
            "write e.g. `1h` or `10m`",
        );
    }
    if values.client_ca_bundle.mechanism == BundleMechanism::SyncWorkload {
        sync_workload(&values.client_ca_bundle.sync_workload, f);
    }
}

/// `clientCaBundle.syncWorkload`: a pinned image and valid quantities.
fn sync_workload(sync: &SyncWorkload, f: &mut Findings) {
    pinned_image(
        f,
        "clientCaBundle.syncWorkload.image",
        &sync.image,
        "docker.io/alpine/k8s:1.34.5",
    );
    let resources = &sync.resources;
    for (key, value) in [
        ("cpu", &resources.cpu),
        ("memory", &resources.memory),
        ("memoryLimit", &resources.memory_limit),
    ] {
        if !is_quantity(value) {
            f.error(
                &format!("clientCaBundle.syncWorkload.resources.{key}"),
                "not a Kubernetes quantity",
                "write e.g. `10m`, `64Mi` or `256Mi`",
            );
        }
    }
    // The API server refuses a container whose request exceeds its limit.
    if let (Some(request), Some(limit)) = (
        quantity_value(&resources.memory),
        quantity_value(&resources.memory_limit),
    ) && request > limit
    {
        f.error_pair(
            "clientCaBundle.syncWorkload.resources.memory",
            "clientCaBundle.syncWorkload.resources.memoryLimit",
            "the memory request is above the memory limit: Kubernetes refuses the pod",
            "make the request at most the limit",
        );
    }
}
