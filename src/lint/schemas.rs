//! Schemas: with CRD schemas loaded (`cnpgtp lint --crds DIR`, see [`crd_schema`](super::crd_schema)),
//! every custom resource is validated as the API server would, so an unknown or mistyped field,
//! or a value a CRD's CEL rule (`x-kubernetes-validations`) refuses, fails here rather than at
//! `kubectl apply`. A custom resource no loaded CRD covers draws a warning: it was not validated;
//! so does a CEL rule cnpgtp cannot evaluate. Kinds built into Kubernetes have no CRD and are
//! skipped.

use serde_json::Value as Json;

use super::crd_schema::CrdSchemas;
use super::objects::str_at;
use super::{Out, Rule, Severity};

/// Kinds built into Kubernetes: no CRD describes them.
fn is_core(object: &Json) -> bool {
    match str_at(object, "/apiVersion").split_once('/') {
        None => true,
        Some((group, _)) => !group.contains('.') || group.ends_with(".k8s.io"),
    }
}

pub(super) fn schema(crds: &CrdSchemas, out: &mut Out) {
    match crds.validate(out.object) {
        Some(errors) => {
            for error in errors {
                out.push(Severity::Error, Rule::Schema, error);
            }
            for finding in crds.cel_findings(out.object) {
                let severity = if finding.error {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                out.push(severity, Rule::Schema, finding.message);
            }
        }
        None if !is_core(out.object) => {
            let message = format!(
                "no CRD for {} {} among the loaded CRDs: not validated",
                str_at(out.object, "/apiVersion"),
                str_at(out.object, "/kind")
            );
            out.push(Severity::Warning, Rule::Schema, message);
        }
        None => {}
    }
}
