//! Values of the extra databases (`databases:`): databases besides the bootstrap one, each
//! rendered as a CloudNativePG `Database` that its Database controller creates in the running
//! cluster, with the extensions and schemas it declares.
//!
//! Encoding and locales default to the bootstrap database's (`database.*`), which are those of
//! `template1`; they are always rendered, because CloudNativePG's CRD makes them immutable and a
//! value left out would mean "whatever the template has" without saying what that is.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One database besides the bootstrap database.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtraDatabase {
    /// Database name: a plain SQL identifier (a-z, 0-9, `_`), not `postgres`, `template0`,
    /// `template1` or `database.name`. The Database object is `<name>-<this with _ as ->`.
    pub name: String,
    /// Owner role: `database.owner` or a role under `roles` (CloudNativePG's Database controller
    /// needs the role to exist; it does not create it).
    pub owner: String,
    /// Encoding; null is `database.encoding`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// `LC_COLLATE`; null is `database.localeCollate`.
    #[serde(default)]
    pub locale_collate: Option<String>,
    /// `LC_CTYPE`; null is `database.localeCType`.
    #[serde(default)]
    pub locale_c_type: Option<String>,
    /// Extensions CloudNativePG creates (or drops) in the database.
    #[serde(default)]
    pub extensions: Vec<DatabaseExtension>,
    /// Schemas CloudNativePG creates (or drops) in the database, before the extensions.
    #[serde(default)]
    pub schemas: Vec<DatabaseSchema>,
    /// `retain` keeps the PostgreSQL database when the Database object is deleted (an ArgoCD
    /// prune); `delete` drops it with all its data.
    #[serde(default)]
    pub database_reclaim_policy: ReclaimPolicy,
    /// `absent` makes CloudNativePG drop the database (and Teleport no longer offers it).
    #[serde(default)]
    pub ensure: Ensure,
}

/// An extension in an extra database.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatabaseExtension {
    /// Extension name as in `pg_available_extensions` (e.g. `pg_trgm`, `uuid-ossp`).
    pub name: String,
    /// Version to install; null installs (and keeps) the default version.
    #[serde(default)]
    pub version: Option<String>,
    /// Schema to install it into: `public` or a schema under this database's `schemas`; null
    /// leaves the extension's own choice.
    #[serde(default)]
    pub schema: Option<String>,
    /// `present` or `absent` (CloudNativePG drops it).
    #[serde(default)]
    pub ensure: Ensure,
}

/// A schema in an extra database.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatabaseSchema {
    /// Schema name: a plain SQL identifier, not `pg_*` or `information_schema`.
    pub name: String,
    /// Owner role; null is the database's owner (rendered as such: CloudNativePG would otherwise
    /// create it as the superuser, and the owner could not create objects in it).
    #[serde(default)]
    pub owner: Option<String>,
    /// `present` or `absent` (CloudNativePG drops it).
    #[serde(default)]
    pub ensure: Ensure,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Ensure {
    #[default]
    Present,
    Absent,
}

impl Ensure {
    pub fn as_str(self) -> &'static str {
        match self {
            Ensure::Present => "present",
            Ensure::Absent => "absent",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ReclaimPolicy {
    #[default]
    Retain,
    Delete,
}

impl ReclaimPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ReclaimPolicy::Retain => "retain",
            ReclaimPolicy::Delete => "delete",
        }
    }
}

impl ExtraDatabase {
    /// Whether the database is to exist (Teleport offers only those).
    pub fn present(&self) -> bool {
        self.ensure == Ensure::Present
    }
}
