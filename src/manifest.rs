//! Typed manifests: every rendered document becomes one of these before it is written.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Deserializer, Serialize};

use crate::crds::Typed;
use crate::crds::barman::{ObjectStore, ScheduledBackup};
use crate::crds::cert_manager::{Certificate, Issuer};
use crate::crds::cnpg::{Cluster, Database, Pooler};
use crate::crds::external_secrets::{ExternalSecret, SecretStore};
use crate::crds::prometheus::{PodMonitor, PrometheusRule};
use crate::crds::teleport::{
    TeleportDatabaseV3, TeleportProvisionToken, TeleportRoleV7, TeleportRoleV8,
};

/// The kinds cnpgtp renders. The declaration order is the apply order: an object comes after
/// everything it points at (Secrets and RBAC, then issuers, certificates, the CA bundle, the
/// Cluster, and last what needs a running Cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A kind cnpgtp does not render itself, from `extraObjects`: first, since rendered objects
    /// may use what it provides (a Secret, a ConfigMap of its own kind is typed as such).
    Other,
    ServiceAccount,
    Secret,
    ConfigMap,
    Role,
    RoleBinding,
    /// With the inputs: in place before any pod it admits traffic to starts.
    NetworkPolicy,
    Issuer,
    Certificate,
    SecretStore,
    ExternalSecret,
    /// Before the Deployments: the Teleport agent joins with it.
    TeleportProvisionToken,
    Deployment,
    ObjectStore,
    Cluster,
    /// After the Cluster: CloudNativePG's Database controller runs in its primary.
    Database,
    Pooler,
    PodDisruptionBudget,
    ScheduledBackup,
    PodMonitor,
    PrometheusRule,
    TeleportRoleV7,
    TeleportRoleV8,
    TeleportDatabaseV3,
    Job,
}

impl Kind {
    /// Every kind cnpgtp renders itself, in apply order.
    pub const RENDERED: &[Kind] = &[
        Kind::ServiceAccount,
        Kind::Secret,
        Kind::ConfigMap,
        Kind::Role,
        Kind::RoleBinding,
        Kind::NetworkPolicy,
        Kind::Issuer,
        Kind::Certificate,
        Kind::SecretStore,
        Kind::ExternalSecret,
        Kind::TeleportProvisionToken,
        Kind::Deployment,
        Kind::ObjectStore,
        Kind::Cluster,
        Kind::Database,
        Kind::Pooler,
        Kind::PodDisruptionBudget,
        Kind::ScheduledBackup,
        Kind::PodMonitor,
        Kind::PrometheusRule,
        Kind::TeleportRoleV7,
        Kind::TeleportRoleV8,
        Kind::TeleportDatabaseV3,
        Kind::Job,
    ];

    /// The rendered kind named `name` (a Kubernetes kind, e.g. `Cluster`).
    pub fn rendered(name: &str) -> Option<Kind> {
        Kind::RENDERED.iter().copied().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Other => "Other",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Secret => "Secret",
            Kind::ConfigMap => "ConfigMap",
            Kind::Role => "Role",
            Kind::RoleBinding => "RoleBinding",
            Kind::NetworkPolicy => "NetworkPolicy",
            Kind::Issuer => "Issuer",
            Kind::Certificate => "Certificate",
            Kind::SecretStore => "SecretStore",
            Kind::ExternalSecret => "ExternalSecret",
            Kind::TeleportProvisionToken => "TeleportProvisionToken",
            Kind::Deployment => "Deployment",
            Kind::ObjectStore => "ObjectStore",
            Kind::Cluster => "Cluster",
            Kind::Database => "Database",
            Kind::ScheduledBackup => "ScheduledBackup",
            Kind::PodMonitor => "PodMonitor",
            Kind::PrometheusRule => "PrometheusRule",
            Kind::Pooler => "Pooler",
            Kind::PodDisruptionBudget => "PodDisruptionBudget",
            Kind::TeleportRoleV7 => "TeleportRoleV7",
            Kind::TeleportRoleV8 => "TeleportRoleV8",
            Kind::TeleportDatabaseV3 => "TeleportDatabaseV3",
            Kind::Job => "Job",
        }
    }
}

/// One typed object. Serializes as the object itself. Boxed: the typed objects are kilobytes
/// (a Pooler 2.9 KB), and inline they made every move of a manifest a copy of the largest.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    ServiceAccount(Box<ServiceAccount>),
    Secret(Box<Secret>),
    ConfigMap(Box<ConfigMap>),
    Role(Box<Role>),
    RoleBinding(Box<RoleBinding>),
    NetworkPolicy(Box<NetworkPolicy>),
    Issuer(Box<Issuer>),
    Certificate(Box<Certificate>),
    SecretStore(Box<SecretStore>),
    ExternalSecret(Box<ExternalSecret>),
    TeleportProvisionToken(Box<TeleportProvisionToken>),
    Deployment(Box<Deployment>),
    ObjectStore(Box<ObjectStore>),
    Cluster(Box<Cluster>),
    Database(Box<Database>),
    Pooler(Box<Pooler>),
    PodDisruptionBudget(Box<PodDisruptionBudget>),
    ScheduledBackup(Box<ScheduledBackup>),
    PodMonitor(Box<PodMonitor>),
    PrometheusRule(Box<PrometheusRule>),
    TeleportRoleV7(Box<TeleportRoleV7>),
    TeleportRoleV8(Box<TeleportRoleV8>),
    TeleportDatabaseV3(Box<TeleportDatabaseV3>),
    Job(Box<Job>),
    Other(Other),
}

/// An object of a kind cnpgtp does not type (from `extraObjects`): its JSON as given, with the
/// metadata read from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Other {
    pub kind: String,
    pub value: serde_json::Value,
    pub metadata: ObjectMeta,
}

/// Written as cnpgtp writes its typed objects: `apiVersion` and `kind` first, then the rest in
/// key order, so extra objects read like the others.
impl Serialize for Other {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        const HEAD: [&str; 2] = ["apiVersion", "kind"];
        let Some(fields) = self.value.as_object() else {
            return self.value.serialize(serializer);
        };
        let mut map = serializer.serialize_map(Some(fields.len()))?;
        for key in HEAD {
            if let Some(value) = fields.get(key) {
                map.serialize_entry(key, value)?;
            }
        }
        for (key, value) in fields.iter().filter(|(k, _)| !HEAD.contains(&k.as_str())) {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl Other {
    pub fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    /// An object with `apiVersion`, `kind` and `metadata` (whose fields are those of every
    /// Kubernetes object: unknown ones are refused).
    pub fn from_value(value: serde_json::Value) -> Result<Other, String> {
        let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let kind = text("kind").ok_or("no `kind`")?;
        text("apiVersion").ok_or("no `apiVersion`")?;
        let metadata: ObjectMeta =
            serde_json::from_value(value.get("metadata").cloned().unwrap_or_default())
                .map_err(|e| format!("at metadata: {e}"))?;
        Ok(Other {
            kind,
            value,
            metadata,
        })
    }
}

macro_rules! dispatch {
    ($self:expr, $inner:ident => $body:expr) => {
        match $self {
            Object::ServiceAccount($inner) => $body,
            Object::Secret($inner) => $body,
            Object::ConfigMap($inner) => $body,
            Object::Role($inner) => $body,
            Object::RoleBinding($inner) => $body,
            Object::NetworkPolicy($inner) => $body,
            Object::Issuer($inner) => $body,
            Object::Certificate($inner) => $body,
            Object::SecretStore($inner) => $body,
            Object::ExternalSecret($inner) => $body,
            Object::TeleportProvisionToken($inner) => $body,
            Object::Deployment($inner) => $body,
            Object::ObjectStore($inner) => $body,
            Object::Cluster($inner) => $body,
            Object::Database($inner) => $body,
            Object::ScheduledBackup($inner) => $body,
            Object::PodMonitor($inner) => $body,
            Object::PrometheusRule($inner) => $body,
            Object::Pooler($inner) => $body,
            Object::PodDisruptionBudget($inner) => $body,
            Object::TeleportRoleV7($inner) => $body,
            Object::TeleportRoleV8($inner) => $body,
            Object::TeleportDatabaseV3($inner) => $body,
            Object::Job($inner) => $body,
            Object::Other($inner) => $body,
        }
    };
}

/// The object of `kind`: a rendered kind typed by `typed` (a function generic in the object's
/// type), an extra object by `other`.
macro_rules! typed_as {
    ($kind:expr, $typed:ident($input:expr), $other:expr) => {
        match $kind {
            Kind::ServiceAccount => Object::ServiceAccount($typed($input)?),
            Kind::Secret => Object::Secret($typed($input)?),
            Kind::ConfigMap => Object::ConfigMap($typed($input)?),
            Kind::Role => Object::Role($typed($input)?),
            Kind::RoleBinding => Object::RoleBinding($typed($input)?),
            Kind::NetworkPolicy => Object::NetworkPolicy($typed($input)?),
            Kind::Issuer => Object::Issuer($typed($input)?),
            Kind::Certificate => Object::Certificate($typed($input)?),
            Kind::SecretStore => Object::SecretStore($typed($input)?),
            Kind::ExternalSecret => Object::ExternalSecret($typed($input)?),
            Kind::TeleportProvisionToken => Object::TeleportProvisionToken($typed($input)?),
            Kind::Deployment => Object::Deployment($typed($input)?),
            Kind::ObjectStore => Object::ObjectStore($typed($input)?),
            Kind::Cluster => Object::Cluster($typed($input)?),
            Kind::Database => Object::Database($typed($input)?),
            Kind::ScheduledBackup => Object::ScheduledBackup($typed($input)?),
            Kind::PodMonitor => Object::PodMonitor($typed($input)?),
            Kind::PrometheusRule => Object::PrometheusRule($typed($input)?),
            Kind::Pooler => Object::Pooler($typed($input)?),
            Kind::PodDisruptionBudget => Object::PodDisruptionBudget($typed($input)?),
            Kind::TeleportRoleV7 => Object::TeleportRoleV7($typed($input)?),
            Kind::TeleportRoleV8 => Object::TeleportRoleV8($typed($input)?),
            Kind::TeleportDatabaseV3 => Object::TeleportDatabaseV3($typed($input)?),
            Kind::Job => Object::Job($typed($input)?),
            Kind::Other => Object::Other($other),
        }
    };
}

impl Object {
    /// Parses a document's JSON text as `kind`, refusing unknown fields and a wrong
    /// apiVersion/kind, through serde_json's own `&Value` deserializer: for tests and benches,
    /// which check the render against it. The render types JSON with
    /// `render::template::Filled::json`, so that the binary holds one deserializer per object.
    pub fn parse(kind: Kind, text: &str) -> Result<Object, String> {
        let document: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Object::deserialize(kind, &document)
    }

    /// Types a document as `kind` straight from a deserializer (a filled-in template or a JSON
    /// value), refusing unknown fields and a wrong apiVersion/kind.
    pub fn deserialize<'de, D>(kind: Kind, document: D) -> Result<Object, String>
    where
        D: Deserializer<'de, Error = serde_json::Error> + Copy,
    {
        fn typed<'de, T, D>(document: D) -> Result<Box<T>, String>
        where
            T: Deserialize<'de> + Typed,
            D: Deserializer<'de, Error = serde_json::Error> + Copy,
        {
            let object: Box<T> = Box::<T>::deserialize(document).map_err(|error| {
                match serde_path_to_error::deserialize::<_, T>(document) {
                    Err(e) => format!("at {}: {}", e.path(), e.inner()),
                    Ok(_) => error.to_string(),
                }
            })?;
            object.check_type()?;
            Ok(object)
        }
        Ok(typed_as!(
            kind,
            typed(document),
            Other::from_value(
                serde_json::Value::deserialize(document).map_err(|e| e.to_string())?
            )?
        ))
    }

    pub fn metadata(&self) -> &ObjectMeta {
        dispatch!(self, o => o.metadata())
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }
}

/// A rendered, typed object with its kind (which fixes its place in the output).
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub kind: Kind,
    pub object: Object,
}

impl Manifest {
    /// File name used by `--output-dir`: kind and name only, so adding an object renames no
    /// other file and a diff shows only what changed. The apply order is `kustomization.yaml`'s
    /// and the sync waves'.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}.yaml",
            self.kind_name().to_lowercase(),
            self.object.name()
        )
    }

    /// The Kubernetes kind: the rendered kind's name, or an extra object's own.
    pub fn kind_name(&self) -> &str {
        match &self.object {
            Object::Other(other) => &other.kind,
            _ => self.kind.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_that_does_not_type_check_is_refused_with_the_path_to_the_problem() {
        let refused = |kind, text: &str| Object::parse(kind, text).unwrap_err();
        let wrong_type = refused(
            Kind::ServiceAccount,
            r#"{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": 7}}"#,
        );
        assert!(
            wrong_type.starts_with("at metadata.name: invalid type"),
            "{wrong_type}"
        );
        let unknown = refused(
            Kind::Issuer,
            r#"{"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "a"},
                "spec": {"selfSigned": {}, "selfSined": {}}}"#,
        );
        assert!(
            unknown.contains("at spec.selfSined: unknown field `selfSined`"),
            "{unknown}"
        );
        let trailing = refused(
            Kind::ServiceAccount,
            r#"{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}} {}"#,
        );
        assert!(trailing.contains("trailing characters"), "{trailing}");
        let kind = refused(
            Kind::Secret,
            r#"{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}}"#,
        );
        assert!(kind.contains("ServiceAccount"), "{kind}");
        assert!(
            Object::parse(
                Kind::ServiceAccount,
                r#"{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}}"#
            )
            .is_ok()
        );
    }
}
