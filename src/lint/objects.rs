//! The JSON accessors every family of checks shares: a string or a list at a JSON pointer
//! (empty when absent or of another type, so a check never fails on a malformed object), and
//! the pod spec and containers of a workload, which both the references and the Pod Security
//! checks walk.

use serde_json::Value as Json;

/// The string at `pointer`, or `""`.
pub(super) fn str_at<'a>(object: &'a Json, pointer: &str) -> &'a str {
    object.pointer(pointer).and_then(Json::as_str).unwrap_or("")
}

/// The list at `pointer`, or an empty one.
pub(super) fn items<'a>(object: &'a Json, pointer: &str) -> &'a [Json] {
    object
        .pointer(pointer)
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The pod spec of a workload object.
pub(super) fn pod_spec(object: &Json) -> Option<&Json> {
    let pointer = match str_at(object, "/kind") {
        "Pod" => "/spec",
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => "/spec/template/spec",
        "CronJob" => "/spec/jobTemplate/spec/template/spec",
        _ => return None,
    };
    object.pointer(pointer)
}

/// Every container of a pod with the field it is listed in.
pub(super) fn containers(pod: &Json) -> Vec<(&Json, &'static str)> {
    let mut all = Vec::new();
    for field in ["initContainers", "containers", "ephemeralContainers"] {
        for container in items(pod, &format!("/{field}")) {
            all.push((container, field));
        }
    }
    all
}
