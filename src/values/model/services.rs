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
