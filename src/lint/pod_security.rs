//! Pods: every workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob)
//! must meet Pod Security "restricted", so the namespace can enforce it, and run with a
//! read-only root file system; every container (but ephemeral debug containers) needs CPU and
//! memory requests and a memory limit, so the scheduler places it and it cannot starve its
//! neighbours; every image, the CloudNativePG Cluster's included, is pinned to a tag or digest,
//! so a restart cannot pull different code.

use serde_json::Value as Json;

use super::objects::{containers, items, str_at};
use super::{Out, Rule, Severity};
use crate::values::image_problem;

/// Volume types Pod Security "restricted" allows.
const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

pub(super) fn pod_security(pod: &Json, out: &mut Out) {
    let mut error = |rule: Rule, message: String| out.push(Severity::Error, rule, message);
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        if pod.get(key) == Some(&Json::Bool(true)) {
            error(Rule::PodSecurity, format!("{key} is true"));
        }
    }
    for (i, volume) in items(pod, "/volumes").iter().enumerate() {
        if let Some(map) = volume.as_object() {
            for key in map.keys().filter(|k| *k != "name") {
                if !RESTRICTED_VOLUMES.contains(&key.as_str()) {
                    error(
                        Rule::PodSecurity,
                        format!(
                            "volumes[{i}] is a `{key}` volume, which Pod Security \"restricted\" forbids"
                        ),
                    );
                }
            }
        }
    }
    let pod_context = pod.get("securityContext").unwrap_or(&Json::Null);
    if pod_context.get("runAsUser") == Some(&Json::from(0)) {
        error(
            Rule::PodSecurity,
            "securityContext.runAsUser is 0 (root)".into(),
        );
    }
    let pod_non_root = pod_context.get("runAsNonRoot") == Some(&Json::Bool(true));
    let pod_seccomp = str_at(pod_context, "/seccompProfile/type");
    if !pod_seccomp.is_empty() && !matches!(pod_seccomp, "RuntimeDefault" | "Localhost") {
        error(
            Rule::PodSecurity,
            format!("securityContext.seccompProfile.type is `{pod_seccomp}`; use RuntimeDefault"),
        );
    }
    let all = containers(pod);
    if all.is_empty() {
        error(Rule::PodSecurity, "the pod has no containers".into());
    }
    for (container, field) in all {
        let at = format!("{field}[{}]", str_at(container, "/name"));
        let context = container.get("securityContext").unwrap_or(&Json::Null);
        let flag = |key: &str| context.get(key).and_then(Json::as_bool);
        if flag("privileged") == Some(true) {
            error(Rule::PodSecurity, format!("{at}: privileged is true"));
        }
        if flag("allowPrivilegeEscalation") != Some(false) {
            error(
                Rule::PodSecurity,
                format!("{at}: securityContext.allowPrivilegeEscalation is not false"),
            );
        }
        match flag("runAsNonRoot") {
            Some(true) => {}
            Some(false) => error(Rule::PodSecurity, format!("{at}: runAsNonRoot is false")),
            None if pod_non_root => {}
            None => error(
                Rule::PodSecurity,
                format!("{at}: runAsNonRoot is set neither on the container nor on the pod"),
            ),
        }
        if context.get("runAsUser") == Some(&Json::from(0)) {
            error(Rule::PodSecurity, format!("{at}: runAsUser is 0 (root)"));
        }
        let seccomp = match str_at(context, "/seccompProfile/type") {
            "" => pod_seccomp,
            own => own,
        };
        if !matches!(seccomp, "RuntimeDefault" | "Localhost") {
            error(
                Rule::PodSecurity,
                format!("{at}: the effective seccompProfile is not RuntimeDefault"),
            );
        }
        let drops_all = items(context, "/capabilities/drop")
            .iter()
            .any(|c| c == "ALL");
        if !drops_all {
            error(
                Rule::PodSecurity,
                format!("{at}: securityContext.capabilities.drop does not list ALL"),
            );
        }
        for added in items(context, "/capabilities/add") {
            if added != "NET_BIND_SERVICE" {
                error(
                    Rule::PodSecurity,
                    format!(
                        "{at}: securityContext.capabilities.add lists more than NET_BIND_SERVICE"
                    ),
                );
            }
        }
        if flag("readOnlyRootFilesystem") != Some(true) {
            error(
                Rule::PodSecurity,
                format!("{at}: securityContext.readOnlyRootFilesystem is not true"),
            );
        }
        if items(container, "/ports")
            .iter()
            .any(|p| p.get("hostPort").and_then(Json::as_i64).unwrap_or(0) != 0)
        {
            error(Rule::PodSecurity, format!("{at}: a port uses hostPort"));
        }
        // Ephemeral (debug) containers take no resources.
        if field != "ephemeralContainers" {
            for (pointer, what) in [
                ("/resources/requests/cpu", "a CPU request"),
                ("/resources/requests/memory", "a memory request"),
                ("/resources/limits/memory", "a memory limit"),
            ] {
                if container.pointer(pointer).is_none_or(Json::is_null) {
                    error(Rule::Resources, format!("{at}: no {what}"));
                }
            }
        }
        if let Some(problem) = image_problem(str_at(container, "/image")) {
            error(Rule::Image, format!("{at}: {problem}"));
        }
    }
}

/// CloudNativePG runs the instance pods; their image is the Cluster's.
pub(super) fn cluster_image(out: &mut Out) {
    let cluster_image = str_at(out.object, "/spec/imageName");
    if str_at(out.object, "/kind") == "Cluster"
        && !cluster_image.is_empty()
        && let Some(problem) = image_problem(cluster_image)
    {
        out.push(
            Severity::Error,
            Rule::Image,
            format!("spec.imageName: {problem}"),
        );
    }
}
