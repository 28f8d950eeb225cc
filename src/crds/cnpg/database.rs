//! CloudNativePG's `Database` (the fields cnpgtp writes): a database besides the bootstrap one,
//! created and kept by the operator's Database controller.

use serde::{Deserialize, Serialize};

use crate::crds::{NameRef, custom_resource};

custom_resource!(
    /// A database the Database controller of a CloudNativePG cluster creates and reconciles.
    Database, DatabaseSpec, "postgresql.cnpg.io/v1", "Database"
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatabaseSpec {
    pub cluster: NameRef,
    pub name: String,
    pub owner: String,
    pub ensure: String,
    pub database_reclaim_policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    pub encoding: String,
    pub locale_collate: String,
    #[serde(rename = "localeCType")]
    pub locale_c_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<DatabaseSchemaSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<DatabaseExtensionSpec>,
}

/// `spec.schemas[]` of a Database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatabaseSchemaSpec {
    pub name: String,
    pub owner: String,
    pub ensure: String,
}

/// `spec.extensions[]` of a Database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatabaseExtensionSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub ensure: String,
}
