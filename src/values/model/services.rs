//! Values of where the PostgreSQL image comes from (a catalog) and of the cluster's Services.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Metadata, ServiceType};

/// An image catalog in CloudNativePG's API group.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageCatalogRef {
    /// `ImageCatalog` (in the namespace) or `ClusterImageCatalog`.
    pub kind: CatalogKind,
    /// The catalog's name.
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum CatalogKind {
    ImageCatalog,
    ClusterImageCatalog,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Services {
    /// Default Services CloudNativePG should not create: `ro`, `r` (`rw` cannot be disabled).
    pub disabled_default_services: Vec<DefaultService>,
    /// Extra Services (e.g. a LoadBalancer for clients outside the Kubernetes cluster).
    pub additional: Vec<AdditionalService>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DefaultService {
    Ro,
    R,
}

/// One extra Service selecting the primary (`rw`), the replicas (`ro`) or any instance (`r`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AdditionalService {
    /// The Service's name (a DNS-1035 label); added to the server certificate's names.
    pub name: String,
    /// `rw`, `ro` or `r`.
    pub selector_type: SelectorType,
    /// `ClusterIP`, `NodePort` or `LoadBalancer`; null: ClusterIP.
    #[serde(default, rename = "type")]
    pub service_type: Option<ServiceType>,
    /// Labels and annotations (e.g. a cloud load balancer's).
    #[serde(default)]
    pub metadata: Metadata,
    /// `patch` (default) or `replace`: how CloudNativePG updates the Service.
    #[serde(default)]
    pub update_strategy: Option<UpdateStrategy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SelectorType {
    Rw,
    Ro,
    R,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UpdateStrategy {
    Patch,
    Replace,
}

/// An extension mounted from its own image (`spec.postgresql.extensions`; PostgreSQL 18+ and
/// Kubernetes' ImageVolume).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Extension {
    /// The extension's name (lower-case letters, digits, `-`, `_`; at most 59 characters).
    pub name: String,
    /// The extension image; null takes it from the image catalog (`imageCatalogRef`).
    #[serde(default)]
    pub image: Option<String>,
    /// `Always`, `IfNotPresent` or `Never`; null: Kubernetes' default for the tag.
    #[serde(default)]
    pub pull_policy: Option<PullPolicy>,
    /// Directories in the image with control files, when not `share`.
    #[serde(default)]
    pub extension_control_path: Vec<String>,
    /// Directories in the image with libraries PostgreSQL loads, when not `lib`.
    #[serde(default)]
    pub dynamic_library_path: Vec<String>,
    /// Directories with system libraries the extension needs (`LD_LIBRARY_PATH`).
    #[serde(default)]
    pub ld_library_path: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}
