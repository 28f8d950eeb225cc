//! `cnpgtp lint`: checks on a rendered set of manifests, beyond what type-checking catches.
//!
//! Every check works on the JSON form of the objects, so it applies to whatever the templates
//! produce and to manifests edited by hand. The checks:
//!
//! - **references**: every Secret, ConfigMap, ServiceAccount, Issuer, Role, SecretStore and
//!   Cluster named by another object is rendered, produced by a rendered object (a
//!   Certificate's `secretName`, an ExternalSecret's target), built into Kubernetes, or one of
//!   the [`Input`]s a values file may name (they must exist before the render is applied);
//! - **risky settings**: TLS verification off (Teleport `tls.mode`, PgBouncer
//!   `server_tls_sslmode`, a plain-HTTP Vault), plain-text secrets in rendered Secrets,
//!   `enableSuperuserAccess`;
//! - **pods** (Deployments, Jobs and every other workload kind): Pod Security "restricted",
//!   `readOnlyRootFilesystem`, resource requests and a memory limit, pinned images;
//! - **RBAC**: namespaced Roles only, no wildcards, every rule on `secrets` limited by
//!   `resourceNames`, no privilege-escalating verbs;
//! - **schemas**: with CRD schemas loaded, anything the API server would reject.
//!
//! Messages name fields and objects, never the data of a Secret.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value as Json;

pub mod crd_schema;

use crate::lint::crd_schema::CrdSchemas;
use crate::manifest::Manifest;
use crate::values::{image_problem, is_placeholder};

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
    /// A rendered Secret holds a secret in plain text (not an argocd-vault-plugin placeholder).
    PlaintextSecret,
    /// The PostgreSQL superuser can log in over the network.
    SuperuserAccess,
    /// A pod does not meet Pod Security "restricted" or has a writable root file system.
    PodSecurity,
    /// A container lacks resource requests or a memory limit.
    Resources,
    /// An image is not pinned to a tag or digest (or uses `latest`).
    Image,
    /// A cluster-wide or over-broad RBAC grant.
    Rbac,
    /// The object does not match its CRD schema (or no CRD covers it).
    Schema,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Reference => "reference",
            Rule::Tls => "tls",
            Rule::PlaintextSecret => "plaintext-secret",
            Rule::SuperuserAccess => "superuser-access",
            Rule::PodSecurity => "pod-security",
            Rule::Resources => "resources",
            Rule::Image => "image",
            Rule::Rbac => "rbac",
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

/// Objects a render may name without rendering them. Each comes from a documented values key
/// (or from Kubernetes itself) and must exist before the manifests are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Input {
    /// The Secret holding Teleport's database client CA (`teleport.databaseClientCa.existingSecret`).
    TeleportClientCa,
    /// The database owner's credentials (`database.ownerPassword.existingSecret`).
    OwnerSecret,
    /// A role's password Secret (`roles[].passwordSecret`).
    RolePasswordSecret,
    /// The server CA Secret (`tls.server.ca.existingSecret`).
    ServerCaSecret,
    /// The Vault AppRole secret ID (`tls.server.vault.appRole.secretId.existingSecret`).
    VaultAppRoleSecret,
    /// An existing Issuer or ClusterIssuer for the server certificate (`tls.server.existingIssuer`).
    ExistingIssuer,
    /// The Teleport identity file of the registration Job (`teleport.job.identitySecret`).
    TeleportIdentitySecret,
    /// cert-manager's ServiceAccount, in cert-manager's namespace
    /// (`tls.server.vault.kubernetes.certManagerServiceAccount`/`certManagerNamespace`).
    CertManagerServiceAccount,
    /// The namespaces the objects go into (`namespace`, `teleport.operator.namespace`).
    Namespace,
    /// Created by Kubernetes in every namespace: ServiceAccount `default`, ConfigMap
    /// `kube-root-ca.crt`.
    BuiltIn,
}

impl Input {
    pub fn describe(self) -> &'static str {
        match self {
            Input::TeleportClientCa => {
                "Teleport's database client CA (teleport.databaseClientCa.existingSecret)"
            }
            Input::OwnerSecret => "the owner's credentials (database.ownerPassword.existingSecret)",
            Input::RolePasswordSecret => "a role's password (roles[].passwordSecret)",
            Input::ServerCaSecret => "the server CA (tls.server.ca.existingSecret)",
            Input::VaultAppRoleSecret => {
                "the Vault AppRole secret ID (tls.server.vault.appRole.secretId.existingSecret)"
            }
            Input::ExistingIssuer => "the server certificate's issuer (tls.server.existingIssuer)",
            Input::TeleportIdentitySecret => {
                "the registration Job's Teleport identity (teleport.job.identitySecret)"
            }
            Input::CertManagerServiceAccount => {
                "cert-manager's ServiceAccount (tls.server.vault.kubernetes.certManager*)"
            }
            Input::Namespace => "a namespace (namespace, teleport.operator.namespace)",
            Input::BuiltIn => "created by Kubernetes in every namespace",
        }
    }
}

/// One object that must exist before the render is applied.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExternalInput {
    pub input: Input,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ExternalInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let object = object_label(&self.kind, &self.namespace, &self.name);
        write!(
            f,
            "{}: {}",
            crate::values::printable(&object),
            self.input.describe()
        )
    }
}

/// Lints one render. With `crds`, every custom resource is also validated against its schema.
pub fn lint(manifests: &[Manifest], crds: Option<&CrdSchemas>) -> Vec<Finding> {
    lint_objects(&to_json(manifests), crds)
}

/// Lints objects in their JSON form (e.g. manifests read back from files).
pub fn lint_objects(objects: &[Json], crds: Option<&CrdSchemas>) -> Vec<Finding> {
    let index = Index::new(objects);
    let mut findings = Vec::new();
    for object in objects {
        let mut out = Out {
            object,
            findings: &mut findings,
        };
        for reference in references(object) {
            if matches!(index.resolve(&reference), Resolution::Missing) {
                let message = format!(
                    "{} names {} `{}`, which is neither rendered nor a documented input",
                    reference.field, reference.kind, reference.name
                );
                out.push(Severity::Error, Rule::Reference, message);
            }
        }
        risky_settings(&mut out);
        if let Some(pod) = pod_spec(object) {
            pod_security(pod, &mut out);
        }
        // CloudNativePG runs the instance pods; their image is the Cluster's.
        let cluster_image = str_at(object, "/spec/imageName");
        if str_at(object, "/kind") == "Cluster"
            && !cluster_image.is_empty()
            && let Some(problem) = image_problem(cluster_image)
        {
            out.push(
                Severity::Error,
                Rule::Image,
                format!("spec.imageName: {problem}"),
            );
        }
        rbac(&mut out);
        if let Some(crds) = crds {
            schema(crds, &mut out);
        }
    }
    findings
}

/// What the render needs to find in the cluster: every documented input it names.
pub fn external_inputs(manifests: &[Manifest]) -> Vec<ExternalInput> {
    let objects = to_json(manifests);
    let index = Index::new(&objects);
    let mut inputs = BTreeSet::new();
    for object in &objects {
        let namespace = str_at(object, "/metadata/namespace");
        if !namespace.is_empty() {
            inputs.insert(ExternalInput {
                input: Input::Namespace,
                kind: "Namespace".into(),
                namespace: String::new(),
                name: namespace.to_string(),
            });
        }
        for reference in references(object) {
            if let Resolution::Input(input) = index.resolve(&reference) {
                inputs.insert(ExternalInput {
                    input,
                    kind: reference.kind.to_string(),
                    namespace: reference.namespace.clone(),
                    name: reference.name.clone(),
                });
            }
        }
    }
    inputs.into_iter().collect()
}

fn to_json(manifests: &[Manifest]) -> Vec<Json> {
    manifests
        .iter()
        .map(|m| serde_json::to_value(&m.object).expect("typed objects serialize to JSON"))
        .collect()
}

fn str_at<'a>(object: &'a Json, pointer: &str) -> &'a str {
    object.pointer(pointer).and_then(Json::as_str).unwrap_or("")
}

fn items<'a>(object: &'a Json, pointer: &str) -> &'a [Json] {
    object
        .pointer(pointer)
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice)
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

// ---------------------------------------------------------------------------------------------
// References

/// One object naming another.
#[derive(Debug, Clone)]
struct Reference {
    /// Where, e.g. `spec.certificates.serverCASecret`.
    field: String,
    kind: &'static str,
    namespace: String,
    name: String,
    /// The documented input this field may name instead of a rendered object.
    input: Option<Input>,
}

/// Where a reference leads.
enum Resolution {
    /// A rendered object, or a Secret a rendered object produces.
    Rendered,
    /// Something that must exist before the render is applied.
    Input(Input),
    /// Nowhere.
    Missing,
}

/// What a render holds: objects by (kind, namespace, name), plus the Secrets rendered objects
/// produce (cert-manager Certificates, external-secrets targets).
struct Index {
    objects: BTreeSet<(String, String, String)>,
}

impl Index {
    fn new(objects: &[Json]) -> Self {
        let mut set = BTreeSet::new();
        for object in objects {
            let kind = str_at(object, "/kind");
            let namespace = str_at(object, "/metadata/namespace").to_string();
            set.insert((
                kind.to_string(),
                namespace.clone(),
                str_at(object, "/metadata/name").to_string(),
            ));
            let produced = match kind {
                "Certificate" => str_at(object, "/spec/secretName"),
                "ExternalSecret" => match str_at(object, "/spec/target/name") {
                    "" => str_at(object, "/metadata/name"),
                    target => target,
                },
                _ => "",
            };
            if !produced.is_empty() {
                set.insert(("Secret".into(), namespace, produced.to_string()));
            }
        }
        Self { objects: set }
    }

    fn resolve(&self, reference: &Reference) -> Resolution {
        let key = (
            reference.kind.to_string(),
            reference.namespace.clone(),
            reference.name.clone(),
        );
        if self.objects.contains(&key) {
            return Resolution::Rendered;
        }
        let built_in = matches!(
            (reference.kind, reference.name.as_str()),
            ("ServiceAccount", "default") | ("ConfigMap", "kube-root-ca.crt")
        );
        if built_in {
            return Resolution::Input(Input::BuiltIn);
        }
        reference
            .input
            .map_or(Resolution::Missing, Resolution::Input)
    }
}

/// References found in one object; names are in the object's namespace unless said otherwise.
struct Refs {
    namespace: String,
    list: Vec<Reference>,
}

impl Refs {
    fn add(&mut self, field: String, kind: &'static str, name: &str, input: Option<Input>) {
        let namespace = self.namespace.clone();
        self.add_in(namespace, field, kind, name, input);
    }

    fn add_in(
        &mut self,
        namespace: String,
        field: String,
        kind: &'static str,
        name: &str,
        input: Option<Input>,
    ) {
        if !name.is_empty() {
            self.list.push(Reference {
                field,
                kind,
                namespace,
                name: name.to_string(),
                input,
            });
        }
    }
}

/// Every object `object` names, with the input each field may name instead.
fn references(object: &Json) -> Vec<Reference> {
    let namespace = str_at(object, "/metadata/namespace").to_string();
    let mut refs = Refs {
        namespace: namespace.clone(),
        list: Vec::new(),
    };
    match str_at(object, "/kind") {
        "Cluster" => {
            for (key, input) in [
                ("serverCASecret", Some(Input::ServerCaSecret)),
                ("serverTLSSecret", None),
                ("clientCASecret", None),
                ("replicationTLSSecret", None),
            ] {
                let name = str_at(object, &format!("/spec/certificates/{key}"));
                refs.add(format!("spec.certificates.{key}"), "Secret", name, input);
            }
            refs.add(
                "spec.bootstrap.initdb.secret.name".into(),
                "Secret",
                str_at(object, "/spec/bootstrap/initdb/secret/name"),
                Some(Input::OwnerSecret),
            );
            for (i, role) in items(object, "/spec/managed/roles").iter().enumerate() {
                refs.add(
                    format!("spec.managed.roles[{i}].passwordSecret.name"),
                    "Secret",
                    str_at(role, "/passwordSecret/name"),
                    Some(Input::RolePasswordSecret),
                );
            }
        }
        "Pooler" => {
            refs.add(
                "spec.cluster.name".into(),
                "Cluster",
                str_at(object, "/spec/cluster/name"),
                None,
            );
            for key in [
                "serverTLSSecret",
                "serverCASecret",
                "clientTLSSecret",
                "clientCASecret",
                "authQuerySecret",
            ] {
                let name = str_at(object, &format!("/spec/pgbouncer/{key}/name"));
                refs.add(format!("spec.pgbouncer.{key}.name"), "Secret", name, None);
            }
        }
        "Certificate" => {
            let issuer_kind = match str_at(object, "/spec/issuerRef/kind") {
                "ClusterIssuer" => "ClusterIssuer",
                _ => "Issuer",
            };
            // Only the server certificate may use an issuer that exists outside the render.
            let server = items(object, "/spec/usages")
                .iter()
                .any(|u| u == "server auth");
            let input = if issuer_kind == "ClusterIssuer" || server {
                Some(Input::ExistingIssuer)
            } else {
                None
            };
            let name = str_at(object, "/spec/issuerRef/name");
            if issuer_kind == "ClusterIssuer" {
                // Cluster-scoped: never in a namespace, never rendered.
                refs.add_in(
                    String::new(),
                    "spec.issuerRef".into(),
                    issuer_kind,
                    name,
                    input,
                );
            } else {
                refs.add("spec.issuerRef".into(), issuer_kind, name, input);
            }
        }
        "Issuer" => {
            refs.add(
                "spec.ca.secretName".into(),
                "Secret",
                str_at(object, "/spec/ca/secretName"),
                None,
            );
            refs.add(
                "spec.vault.auth.appRole.secretRef.name".into(),
                "Secret",
                str_at(object, "/spec/vault/auth/appRole/secretRef/name"),
                Some(Input::VaultAppRoleSecret),
            );
            refs.add(
                "spec.vault.auth.kubernetes.serviceAccountRef.name".into(),
                "ServiceAccount",
                str_at(object, "/spec/vault/auth/kubernetes/serviceAccountRef/name"),
                None,
            );
        }
        "SecretStore" => {
            refs.add(
                "spec.provider.kubernetes.auth.serviceAccount.name".into(),
                "ServiceAccount",
                str_at(object, "/spec/provider/kubernetes/auth/serviceAccount/name"),
                None,
            );
            let ca = object.pointer("/spec/provider/kubernetes/server/caProvider");
            if let Some(ca) = ca {
                let kind = if str_at(ca, "/type") == "Secret" {
                    "Secret"
                } else {
                    "ConfigMap"
                };
                refs.add(
                    "spec.provider.kubernetes.server.caProvider".into(),
                    kind,
                    str_at(ca, "/name"),
                    None,
                );
            }
        }
        "ExternalSecret" => {
            let store_kind = match str_at(object, "/spec/secretStoreRef/kind") {
                "ClusterSecretStore" => "ClusterSecretStore",
                _ => "SecretStore",
            };
            refs.add(
                "spec.secretStoreRef".into(),
                store_kind,
                str_at(object, "/spec/secretStoreRef/name"),
                None,
            );
            for (i, item) in items(object, "/spec/data").iter().enumerate() {
                refs.add(
                    format!("spec.data[{i}].remoteRef.key"),
                    "Secret",
                    str_at(item, "/remoteRef/key"),
                    Some(Input::TeleportClientCa),
                );
            }
        }
        "RoleBinding" => {
            if str_at(object, "/roleRef/kind") == "Role" {
                refs.add(
                    "roleRef".into(),
                    "Role",
                    str_at(object, "/roleRef/name"),
                    None,
                );
            }
            for (i, subject) in items(object, "/subjects").iter().enumerate() {
                if str_at(subject, "/kind") != "ServiceAccount" {
                    continue;
                }
                let subject_namespace = match str_at(subject, "/namespace") {
                    "" => namespace.as_str(),
                    other => other,
                };
                // A ServiceAccount of another namespace is another component's (cert-manager's).
                let input =
                    (subject_namespace != namespace).then_some(Input::CertManagerServiceAccount);
                refs.add_in(
                    subject_namespace.to_string(),
                    format!("subjects[{i}]"),
                    "ServiceAccount",
                    str_at(subject, "/name"),
                    input,
                );
            }
        }
        "Role" => {
            for (i, rule) in items(object, "/rules").iter().enumerate() {
                let verbs: Vec<&str> = items(rule, "/verbs")
                    .iter()
                    .filter_map(Json::as_str)
                    .collect();
                let read_only = verbs.iter().all(|v| matches!(*v, "get" | "watch" | "list"));
                for resource in items(rule, "/resources").iter().filter_map(Json::as_str) {
                    let (kind, input) = match resource {
                        // Read access to a source Secret, such as Teleport's CA, is how inputs
                        // are read; write access needs a Secret the render owns.
                        "secrets" => ("Secret", read_only.then_some(Input::TeleportClientCa)),
                        "configmaps" => ("ConfigMap", None),
                        "serviceaccounts" | "serviceaccounts/token" => ("ServiceAccount", None),
                        "poolers" => ("Pooler", None),
                        "clusters" => ("Cluster", None),
                        _ => continue,
                    };
                    for name in items(rule, "/resourceNames")
                        .iter()
                        .filter_map(Json::as_str)
                    {
                        refs.add(format!("rules[{i}].resourceNames"), kind, name, input);
                    }
                }
            }
        }
        _ => {}
    }
    if let Some(pod) = pod_spec(object) {
        pod_references(pod, &mut refs);
    }
    refs.list
}

fn pod_references(pod: &Json, refs: &mut Refs) {
    let service_account = match str_at(pod, "/serviceAccountName") {
        "" => str_at(pod, "/serviceAccount"),
        name => name,
    };
    refs.add(
        "serviceAccountName".into(),
        "ServiceAccount",
        service_account,
        None,
    );
    for (i, volume) in items(pod, "/volumes").iter().enumerate() {
        let input = match str_at(volume, "/name") {
            "identity" => Some(Input::TeleportIdentitySecret),
            "server-ca" => Some(Input::ServerCaSecret),
            _ => None,
        };
        refs.add(
            format!("volumes[{i}].secret.secretName"),
            "Secret",
            str_at(volume, "/secret/secretName"),
            input,
        );
        refs.add(
            format!("volumes[{i}].configMap.name"),
            "ConfigMap",
            str_at(volume, "/configMap/name"),
            None,
        );
        for (j, source) in items(volume, "/projected/sources").iter().enumerate() {
            refs.add(
                format!("volumes[{i}].projected.sources[{j}].secret.name"),
                "Secret",
                str_at(source, "/secret/name"),
                input,
            );
            refs.add(
                format!("volumes[{i}].projected.sources[{j}].configMap.name"),
                "ConfigMap",
                str_at(source, "/configMap/name"),
                None,
            );
        }
    }
    for (container, field) in containers(pod) {
        let name = str_at(container, "/name");
        for (j, env) in items(container, "/env").iter().enumerate() {
            refs.add(
                format!("{field}[{name}].env[{j}].valueFrom.secretKeyRef"),
                "Secret",
                str_at(env, "/valueFrom/secretKeyRef/name"),
                None,
            );
            refs.add(
                format!("{field}[{name}].env[{j}].valueFrom.configMapKeyRef"),
                "ConfigMap",
                str_at(env, "/valueFrom/configMapKeyRef/name"),
                None,
            );
        }
        for (j, env) in items(container, "/envFrom").iter().enumerate() {
            refs.add(
                format!("{field}[{name}].envFrom[{j}].secretRef"),
                "Secret",
                str_at(env, "/secretRef/name"),
                None,
            );
            refs.add(
                format!("{field}[{name}].envFrom[{j}].configMapRef"),
                "ConfigMap",
                str_at(env, "/configMapRef/name"),
                None,
            );
        }
    }
    for (i, secret) in items(pod, "/imagePullSecrets").iter().enumerate() {
        refs.add(
            format!("imagePullSecrets[{i}]"),
            "Secret",
            str_at(secret, "/name"),
            None,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Risky settings

/// Secret keys that hold secrets (certificates such as `ca.crt` are public).
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "identity",
        "key",
        "credential",
    ]
    .iter()
    .any(|word| key.contains(word))
}

fn risky_settings(out: &mut Out) {
    let object = out.object;
    match str_at(object, "/kind") {
        "Secret" => {
            let basic_auth = str_at(object, "/type") == "kubernetes.io/basic-auth";
            for field in ["stringData", "data"] {
                let Some(entries) = object.get(field).and_then(Json::as_object) else {
                    continue;
                };
                for (key, value) in entries {
                    let secret = is_secret_key(key) || (basic_auth && key != "username");
                    let text = value.as_str().unwrap_or("");
                    // `data` is base64; a placeholder there is still written as `<...>`.
                    if secret && !text.is_empty() && !is_placeholder(text) {
                        out.push(
                            Severity::Warning,
                            Rule::PlaintextSecret,
                            format!(
                                "{field}.{key} holds a secret in plain text: keep it out of the manifests with an existing Secret or an argocd-vault-plugin placeholder such as <path:kv/data/db#password>"
                            ),
                        );
                    }
                }
            }
        }
        "Cluster" if object.pointer("/spec/enableSuperuserAccess") == Some(&Json::Bool(true)) => {
            out.push(
                Severity::Warning,
                Rule::SuperuserAccess,
                "spec.enableSuperuserAccess is true: the postgres superuser can log in with a password over the network",
            );
        }
        "Pooler" => {
            let parameters = object.pointer("/spec/pgbouncer/parameters");
            let mode = |key: &str| {
                parameters
                    .and_then(|p| p.get(key))
                    .and_then(Json::as_str)
                    .map(str::to_ascii_lowercase)
            };
            match mode("server_tls_sslmode").as_deref() {
                Some(m @ ("disable" | "allow" | "prefer")) => out.push(
                    Severity::Error,
                    Rule::Tls,
                    format!("spec.pgbouncer.parameters.server_tls_sslmode is `{m}`: PgBouncer may talk to PostgreSQL without TLS; use verify-full"),
                ),
                Some("require") => out.push(
                    Severity::Warning,
                    Rule::Tls,
                    "spec.pgbouncer.parameters.server_tls_sslmode is `require`: PostgreSQL's certificate is not verified; use verify-full",
                ),
                _ => {}
            }
            if let Some(m @ ("disable" | "allow" | "prefer")) =
                mode("client_tls_sslmode").as_deref()
            {
                out.push(
                    Severity::Warning,
                    Rule::Tls,
                    format!("spec.pgbouncer.parameters.client_tls_sslmode is `{m}`: clients may connect without TLS"),
                );
            }
        }
        "TeleportDatabaseV3" => {
            if let Some(message) = teleport_tls(object.pointer("/spec/tls")) {
                out.push(
                    Severity::Error,
                    Rule::Tls,
                    format!("spec.tls.mode {message}"),
                );
            }
        }
        "ConfigMap" => {
            // Teleport agent configuration and `tctl create` documents carry database TLS modes.
            for (key, text) in object
                .get("data")
                .and_then(Json::as_object)
                .into_iter()
                .flatten()
            {
                let Some(text) = text.as_str() else { continue };
                let documents = serde_json::from_str::<Json>(text).map_or_else(
                    |_| crate::yaml::large_documents(text).unwrap_or_default(),
                    |json| vec![json],
                );
                for document in &documents {
                    walk_tls(document, &mut |message| {
                        out.push(
                            Severity::Error,
                            Rule::Tls,
                            format!("data.{key}: a database tls.mode {message}"),
                        );
                    });
                }
            }
        }
        "Issuer" if str_at(object, "/spec/vault/server").starts_with("http://") => {
            out.push(
                Severity::Warning,
                Rule::Tls,
                "spec.vault.server is plain HTTP: cert-manager sends its Vault credentials unencrypted",
            );
        }
        _ => {}
    }
}

/// A message when a Teleport `tls` block does not verify the full certificate.
fn teleport_tls(tls: Option<&Json>) -> Option<String> {
    // Teleport's default mode is verify-full.
    let mode = tls.map_or("", |t| str_at(t, "/mode"));
    match mode {
        "" | "verify-full" => None,
        other => Some(format!(
            "is `{other}`: Teleport does not verify PostgreSQL's server certificate and name; use verify-full"
        )),
    }
}

fn walk_tls(value: &Json, report: &mut impl FnMut(String)) {
    match value {
        Json::Object(map) => {
            if let Some(tls) = map.get("tls").filter(|t| t.get("mode").is_some())
                && let Some(message) = teleport_tls(Some(tls))
            {
                report(message);
            }
            for child in map.values() {
                walk_tls(child, report);
            }
        }
        Json::Array(list) => {
            for child in list {
                walk_tls(child, report);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Pods

/// The pod spec of a workload object.
fn pod_spec(object: &Json) -> Option<&Json> {
    let pointer = match str_at(object, "/kind") {
        "Pod" => "/spec",
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => "/spec/template/spec",
        "CronJob" => "/spec/jobTemplate/spec/template/spec",
        _ => return None,
    };
    object.pointer(pointer)
}

/// Every container of a pod with the field it is listed in.
fn containers(pod: &Json) -> Vec<(&Json, &'static str)> {
    let mut all = Vec::new();
    for field in ["initContainers", "containers", "ephemeralContainers"] {
        for container in items(pod, &format!("/{field}")) {
            all.push((container, field));
        }
    }
    all
}

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

fn pod_security(pod: &Json, out: &mut Out) {
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

// ---------------------------------------------------------------------------------------------
// RBAC

/// Verbs that let a subject grant itself more than it has.
const ESCALATING_VERBS: &[&str] = &["escalate", "bind", "impersonate"];

fn rbac(out: &mut Out) {
    let object = out.object;
    let kind = str_at(object, "/kind");
    match kind {
        "ClusterRole" | "ClusterRoleBinding" => {
            out.push(
                Severity::Error,
                Rule::Rbac,
                format!(
                    "a {kind} grants across every namespace: use a namespaced Role and RoleBinding"
                ),
            );
        }
        "RoleBinding" if str_at(object, "/roleRef/kind") != "Role" => {
            out.push(
                Severity::Error,
                Rule::Rbac,
                "roleRef is not a namespaced Role (a ClusterRole bound here grants its rules in the namespace, rules this render does not control)",
            );
        }
        _ => {}
    }
    if !matches!(kind, "Role" | "ClusterRole") {
        return;
    }
    for (i, rule) in items(object, "/rules").iter().enumerate() {
        let list = |key: &str| -> Vec<&str> {
            items(rule, &format!("/{key}"))
                .iter()
                .filter_map(Json::as_str)
                .collect()
        };
        for key in [
            "apiGroups",
            "resources",
            "verbs",
            "resourceNames",
            "nonResourceURLs",
        ] {
            if list(key).iter().any(|v| v.contains('*')) {
                out.push(
                    Severity::Error,
                    Rule::Rbac,
                    format!("rules[{i}].{key} holds a wildcard"),
                );
            }
        }
        let verbs = list("verbs");
        if let Some(verb) = verbs.iter().find(|v| ESCALATING_VERBS.contains(v)) {
            out.push(
                Severity::Error,
                Rule::Rbac,
                format!("rules[{i}] grants `{verb}`, which escalates privileges"),
            );
        }
        let on_secrets = list("resources")
            .iter()
            .any(|r| *r == "secrets" || r.starts_with("secrets/"));
        if on_secrets {
            if list("resourceNames").is_empty() {
                out.push(
                    Severity::Error,
                    Rule::Rbac,
                    format!("rules[{i}] grants on secrets without resourceNames: it reaches every Secret of the namespace"),
                );
            }
            if let Some(verb) = verbs
                .iter()
                .find(|v| matches!(**v, "create" | "deletecollection"))
            {
                out.push(
                    Severity::Error,
                    Rule::Rbac,
                    format!(
                        "rules[{i}] grants `{verb}` on secrets, which resourceNames cannot limit"
                    ),
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Schemas

/// Kinds built into Kubernetes: no CRD describes them.
fn is_core(object: &Json) -> bool {
    match str_at(object, "/apiVersion").split_once('/') {
        None => true,
        Some((group, _)) => !group.contains('.') || group.ends_with(".k8s.io"),
    }
}

fn schema(crds: &CrdSchemas, out: &mut Out) {
    match crds.validate(out.object) {
        Some(errors) => {
            for error in errors {
                out.push(Severity::Error, Rule::Schema, error);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys() {
        assert!(is_secret_key("password"));
        assert!(is_secret_key("secretId"));
        assert!(is_secret_key("tls.key"));
        assert!(!is_secret_key("ca.crt"));
        assert!(!is_secret_key("username"));
    }
}
