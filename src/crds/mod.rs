//! Typed custom resources, the gate every rendered CRD document passes before output.
//!
//! Hand-written in the shape kopium generates (optional fields are `Option` and skipped when
//! unset, camelCase names, `deny_unknown_fields` so a template typo fails the render), covering
//! only the fields cnpgtp writes. Field names follow the CRDs in `../shared/crds/`; the test suite
//! validates every rendered object against those schemas.

pub mod barman;
pub mod cert_manager;
pub mod cnpg;
pub mod external_secrets;
pub mod prometheus;
pub mod teleport;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

/// A reference to an object by name only (`LocalObjectReference`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameRef {
    pub name: String,
}

/// A key inside a named Secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

/// Defines a custom resource root (`apiVersion`, `kind`, `metadata`, `spec`) around a spec type.
macro_rules! custom_resource {
    ($(#[$doc:meta])* $root:ident, $spec:ty, $api_version:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        pub struct $root {
            pub api_version: String,
            pub kind: String,
            pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            pub spec: $spec,
        }

        impl $root {
            pub const API_VERSION: &'static str = $api_version;
            pub const KIND: &'static str = $kind;
        }

        impl crate::crds::Typed for $root {
            fn check_type(&self) -> Result<(), String> {
                crate::crds::check_type(&self.api_version, &self.kind, $api_version, $kind)
            }
            fn metadata(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
        }
    };
}
pub(crate) use custom_resource;

/// What the output stage needs from every typed object.
pub trait Typed {
    /// Confirms the document's apiVersion and kind are the ones this type stands for.
    fn check_type(&self) -> Result<(), String>;
    fn metadata(&self) -> &ObjectMeta;
}

pub(crate) fn check_type(
    api_version: &str,
    kind: &str,
    want_api: &str,
    want_kind: &str,
) -> Result<(), String> {
    if api_version == want_api && kind == want_kind {
        Ok(())
    } else {
        Err(format!(
            "expected {want_api} {want_kind}, the template wrote {api_version} {kind}"
        ))
    }
}

/// Core kinds from k8s-openapi carry their apiVersion and kind in the type itself.
macro_rules! core_typed {
    ($($ty:ty),*) => {$(
        impl Typed for $ty {
            fn check_type(&self) -> Result<(), String> { Ok(()) }
            fn metadata(&self) -> &ObjectMeta { &self.metadata }
        }
    )*};
}
core_typed!(
    k8s_openapi::api::core::v1::Secret,
    k8s_openapi::api::core::v1::ServiceAccount,
    k8s_openapi::api::core::v1::ConfigMap,
    k8s_openapi::api::rbac::v1::Role,
    k8s_openapi::api::rbac::v1::RoleBinding,
    k8s_openapi::api::networking::v1::NetworkPolicy,
    k8s_openapi::api::apps::v1::Deployment,
    k8s_openapi::api::batch::v1::Job,
    k8s_openapi::api::policy::v1::PodDisruptionBudget
);
