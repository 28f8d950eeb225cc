//! `cnpgtp lint`: checks on a rendered set of manifests, beyond what type-checking catches.
//!
//! Every check works on the JSON form of the objects, so it applies to whatever the templates
//! produce and to manifests edited by hand. One module per family of checks, run on each object
//! in this order:
//!
//! - **references** (`references`): every Secret, ConfigMap, ServiceAccount, Issuer, Role,
//!   SecretStore and Cluster named by another object is rendered, produced by a rendered object
//!   (a Certificate's `secretName`, an ExternalSecret's target), built into Kubernetes, or one of
//!   the [`Input`]s a values file may name (they must exist before the render is applied);
//! - **risky settings** (`settings`): TLS verification off (Teleport `tls.mode`, PgBouncer
//!   `server_tls_sslmode`, a plain-HTTP Vault), plain-text secrets in rendered Secrets,
//!   `enableSuperuserAccess`, a Cluster without backups (an error at stage `production` unless
//!   `backup.disabledReason` says why);
//! - **placeholders** (`placeholders`): argocd-vault-plugin placeholders left in any object (a
//!   warning: they need the plugin before apply);
//! - **pods** (`pod_security`; Deployments, Jobs and every other workload kind): Pod Security
//!   "restricted", `readOnlyRootFilesystem`, resource requests and a memory limit, pinned images
//!   (and the image of a CloudNativePG Cluster);
//! - **pod wiring** (`pod_wiring`): what the API server's pod validation refuses (a mount of a
//!   volume the pod lacks, duplicate volume or container names, two mounts at one path);
//! - **RBAC** (`rbac`): namespaced Roles only, no wildcards, every rule on `secrets` limited by
//!   `resourceNames`, no privilege-escalating verbs;
//! - **schemas** (`schemas`, with the CRDs loaded by [`crd_schema`]): anything the API server
//!   would reject.
//!
//! This module holds what they share: the [`Finding`] type, the entry points, and the collector
//! each family reports into; `objects` holds the JSON accessors. Messages name fields and
//! objects, never the data of a Secret.

use std::fmt;

use serde_json::Value as Json;

mod cel;
pub mod crd_schema;
mod objects;
mod placeholders;
mod pod_security;
mod pod_wiring;
mod rbac;
mod references;
mod schemas;
mod settings;

pub use placeholders::placeholder_fields;
pub use references::{ExternalInput, Input};

use crate::lint::crd_schema::CrdSchemas;
use crate::lint::objects::{pod_spec, str_at};
use crate::manifest::Manifest;

/// How bad a finding is. `cnpgtp lint` fails on any error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Which check produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// An object names another that is neither rendered nor a documented input.
    Reference,
    /// TLS is off or does not verify the peer.
    Tls,
    /// Clients are let in without proving who they are.
    Authentication,
    /// An argocd-vault-plugin placeholder is left for the plugin to replace.
    Placeholder,
    /// A rendered Secret holds a secret in plain text (not an argocd-vault-plugin placeholder).
    PlaintextSecret,
    /// The PostgreSQL superuser can log in over the network.
    SuperuserAccess,
    /// A pod does not meet Pod Security "restricted" or has a writable root file system.
    PodSecurity,
    /// A pod the API server refuses: a mount of a missing volume, duplicate names.
    PodWiring,
    /// A container lacks resource requests or a memory limit.
    Resources,
    /// An image is not pinned to a tag or digest (or uses `latest`).
    Image,
    /// A cluster-wide or over-broad RBAC grant.
    Rbac,
    /// A Cluster archives no WAL and takes no backups.
    Backup,
    /// The object does not match its CRD schema (or no CRD covers it).
    Schema,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Reference => "reference",
            Rule::Tls => "tls",
            Rule::Authentication => "authentication",
            Rule::Placeholder => "placeholder",
            Rule::PlaintextSecret => "plaintext-secret",
            Rule::SuperuserAccess => "superuser-access",
            Rule::PodSecurity => "pod-security",
            Rule::PodWiring => "pod-wiring",
            Rule::Resources => "resources",
            Rule::Image => "image",
            Rule::Rbac => "rbac",
            Rule::Backup => "backup",
            Rule::Schema => "schema",
        }
    }
}

/// One problem with one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub rule: Rule,
    /// Kind of the object the finding is about.
    pub kind: String,
    /// Its namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// What is wrong, naming fields but never their values.
    pub message: String,
}

/// `Kind namespace/name`, or `Kind name` for cluster-scoped objects.
fn object_label(kind: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let object = object_label(&self.kind, &self.namespace, &self.name);
        write!(
            f,
            "{}[{}]: {}: {}",
            self.severity.as_str(),
            self.rule.as_str(),
            crate::values::printable(&object),
            crate::values::printable(&self.message)
        )
    }
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// Lints one render. With `crds`, every custom resource is also validated against its schema.
pub fn lint(manifests: &[Manifest], crds: Option<&CrdSchemas>) -> Vec<Finding> {
    lint_objects(&to_json(manifests), crds)
}

/// Lints objects in their JSON form (e.g. manifests read back from files).
pub fn lint_objects(objects: &[Json], crds: Option<&CrdSchemas>) -> Vec<Finding> {
    let index = references::Index::new(objects);
    let mut findings = Vec::new();
    for object in objects {
        let mut out = Out {
            object,
            findings: &mut findings,
        };
        references::unresolved(&index, &mut out);
        settings::risky_settings(&mut out);
        placeholders::placeholders(&mut out);
        if let Some(pod) = pod_spec(object) {
            pod_security::pod_security(pod, &mut out);
            pod_wiring::pod_wiring(pod, &mut out);
        }
        pod_security::cluster_image(&mut out);
        rbac::rbac(&mut out);
        if let Some(crds) = crds {
            schemas::schema(crds, &mut out);
        }
    }
    findings
}

/// What the render needs to find in the cluster: every documented input it names.
pub fn external_inputs(manifests: &[Manifest]) -> Vec<ExternalInput> {
    references::external_inputs(&to_json(manifests))
}

fn to_json(manifests: &[Manifest]) -> Vec<Json> {
    manifests
        .iter()
        .map(|m| serde_json::to_value(&m.object).expect("typed objects serialize to JSON"))
        .collect()
}

/// Collects the findings about one object.
struct Out<'a> {
    object: &'a Json,
    findings: &'a mut Vec<Finding>,
}

impl Out<'_> {
    fn push(&mut self, severity: Severity, rule: Rule, message: impl Into<String>) {
        self.findings.push(Finding {
            severity,
            rule,
            kind: str_at(self.object, "/kind").to_string(),
            namespace: str_at(self.object, "/metadata/namespace").to_string(),
            name: str_at(self.object, "/metadata/name").to_string(),
            message: message.into(),
        });
    }
}
