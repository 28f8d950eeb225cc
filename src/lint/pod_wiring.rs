//! Pod wiring: what the API server's pod validation refuses, so that a Job or Deployment that
//! renders and type-checks is also accepted (`kubectl apply` of a Job whose container mounts a
//! volume the pod does not have fails, and a deletion hook that cannot be created never runs).
//!
//! Mirrors `ValidatePodSpec` in Kubernetes' `pkg/apis/core/validation/validation.go`: every
//! `volumeMounts[].name` names one of the pod's volumes, volume names are unique, container
//! names are unique across init and app containers, and no container mounts two volumes at one
//! path.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::objects::{containers, items, str_at};
use super::{Out, Rule, Severity};

pub(super) fn pod_wiring(pod: &Json, out: &mut Out) {
    let mut volumes = BTreeSet::new();
    for volume in items(pod, "/volumes") {
        let name = str_at(volume, "/name");
        if !volumes.insert(name) {
            out.push(
                Severity::Error,
                Rule::PodWiring,
                format!("volume `{name}` is listed twice"),
            );
        }
    }
    let mut container_names = BTreeSet::new();
    for (container, field) in containers(pod) {
        let name = str_at(container, "/name");
        if !container_names.insert(name) {
            out.push(
                Severity::Error,
                Rule::PodWiring,
                format!("{field} `{name}`: another container has this name"),
            );
        }
        let mut paths = BTreeSet::new();
        for mount in items(container, "/volumeMounts") {
            let volume = str_at(mount, "/name");
            if !volumes.contains(volume) {
                out.push(
                    Severity::Error,
                    Rule::PodWiring,
                    format!(
                        "{field} `{name}` mounts volume `{volume}`, which is not among the pod's volumes"
                    ),
                );
            }
            let path = str_at(mount, "/mountPath");
            if !paths.insert(path) {
                out.push(
                    Severity::Error,
                    Rule::PodWiring,
                    format!("{field} `{name}` mounts two volumes at `{path}`"),
                );
            }
        }
    }
}
