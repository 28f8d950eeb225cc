//! References: every object another object names must be rendered, produced by a rendered
//! object (the Secret of a cert-manager Certificate, an ExternalSecret's target, a Teleport
//! agent's state Secret), created by
//! Kubernetes in every namespace, or a documented [`Input`] of the values file.
//!
//! A name that leads nowhere is an error: `kubectl apply` accepts it, and the object then waits
//! forever (a pod stuck in `ContainerCreating`, a Cluster that never bootstraps). The inputs
//! are not findings but a list, [`external_inputs`](super::external_inputs), of what must exist
//! before the render is applied. Which field of which kind names what is in `fields`.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value as Json;

use super::objects::str_at;
use super::{Out, Rule, Severity, object_label};

mod fields;

use fields::references;

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
    /// Object store credentials (`backup|recovery|replica...objectStore.credentials.secretName`).
    ObjectStoreCredentials,
    /// The CA of an S3-compatible endpoint (`...objectStore.endpointCa`).
    ObjectStoreEndpointCa,
    /// A VolumeSnapshotClass (`backup.volumeSnapshot.className`/`walClassName`).
    VolumeSnapshotClass,
    /// A VolumeSnapshot to restore (`recovery.volumeSnapshots`).
    VolumeSnapshot,
    /// A ConfigMap of metric queries (`monitoring.customQueriesConfigMaps`).
    CustomQueries,
    /// An ImageCatalog or ClusterImageCatalog (`postgres.imageCatalogRef`).
    ImageCatalog,
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
            Input::ObjectStoreCredentials => {
                "object store credentials (*.objectStore.credentials.secretName)"
            }
            Input::ObjectStoreEndpointCa => {
                "the object store endpoint's CA (*.objectStore.endpointCa)"
            }
            Input::VolumeSnapshotClass => "a VolumeSnapshotClass (backup.volumeSnapshot.className)",
            Input::VolumeSnapshot => "a VolumeSnapshot to restore (recovery.volumeSnapshots)",
            Input::CustomQueries => "metric queries (monitoring.customQueriesConfigMaps)",
            Input::ImageCatalog => "the image catalog (postgres.imageCatalogRef)",
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

/// Reports every reference of `out`'s object that `index` cannot resolve.
pub(super) fn unresolved(index: &Index, out: &mut Out) {
    for reference in references(out.object) {
        if matches!(index.resolve(&reference), Resolution::Missing) {
            let message = format!(
                "{} names {} `{}`, which is neither rendered nor a documented input",
                reference.field, reference.kind, reference.name
            );
            out.push(Severity::Error, Rule::Reference, message);
        }
    }
}

/// Every documented input `objects` name, and the namespaces they go into.
pub(super) fn external_inputs(objects: &[Json]) -> Vec<ExternalInput> {
    let index = Index::new(objects);
    let mut inputs = BTreeSet::new();
    for object in objects {
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
pub(super) struct Index {
    objects: BTreeSet<(String, String, String)>,
}

impl Index {
    pub(super) fn new(objects: &[Json]) -> Self {
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
                "Certificate" => str_at(object, "/spec/secretName").to_string(),
                "ExternalSecret" => match str_at(object, "/spec/target/name") {
                    "" => str_at(object, "/metadata/name").to_string(),
                    target => target.to_string(),
                },
                _ => teleport_state_secret(object).unwrap_or_default(),
            };
            if !produced.is_empty() {
                set.insert(("Secret".into(), namespace, produced));
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

/// The Secret a Teleport agent keeps its identity in (Teleport's Kubernetes state storage):
/// `<TELEPORT_REPLICA_NAME>-state`, when a workload's container sets that name and
/// `KUBE_NAMESPACE`.
fn teleport_state_secret(object: &Json) -> Option<String> {
    let pod = super::objects::pod_spec(object)?;
    super::objects::containers(pod)
        .into_iter()
        .find_map(|(container, _)| {
            let env = super::objects::items(container, "/env");
            let named = |name: &str| env.iter().find(|e| str_at(e, "/name") == name);
            named("KUBE_NAMESPACE")?;
            let replica = str_at(named("TELEPORT_REPLICA_NAME")?, "/value");
            (!replica.is_empty()).then(|| format!("{replica}-state"))
        })
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
