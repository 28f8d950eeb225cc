//! The extra databases (`databases:`): one CloudNativePG `Database` each, created in the running
//! cluster by CloudNativePG's Database controller (`CREATE DATABASE ... OWNER ...`, then the
//! schemas, then the extensions).
//!
//! Access. A Database object runs no SQL of ours, so nothing here may rely on bootstrap SQL:
//! - Teleport offers each present database (`teleport::database_names`), and pg_hba admits the
//!   Teleport users to it by certificate (`cnpg::pg_hba`).
//! - The read and write users' rights are memberships in `pg_read_all_data` and
//!   `pg_write_all_data`, predefined roles that act in every database of the cluster, and the
//!   read user's `default_transaction_read_only` is a role setting for all databases; so both
//!   hold in a database created after bootstrap without a GRANT.
//! - `CONNECT` and `TEMPORARY` on a new database belong to `PUBLIC` (PostgreSQL's default
//!   privileges), which is what the automatic-provisioning admin needs there; the explicit
//!   GRANT in bootstrap SQL covers the bootstrap database only.
//! - From PostgreSQL 15 the `public` schema of a new database (a copy of `template1`'s) gives
//!   `CREATE` to its owner only, so the read and write users create nothing there. On 14 it
//!   gives `CREATE` to `PUBLIC`; the read user's read-only default stops DDL but can be switched
//!   off, so on 14 the write and read users can create tables in `public` of an extra database
//!   (README: limitation).
//!
//! Deletion protection. A Database with `databaseReclaimPolicy: delete` drops its data when the
//! object is deleted, so with `deletionProtection` it gets the same ArgoCD keep-on-prune-and-
//! delete option as the Cluster (`backup::protect`): deleting the app, or leaving the database
//! out of the values, keeps it; `ensure: absent` drops it on purpose. One with `retain` keeps its
//! data anyway and is pruned like any object.
//!
//! Encoding and locales are rendered as given, else those of the bootstrap database (initdb's,
//! so `template1`'s). PostgreSQL copies `template1` only with its own encoding and locales; for
//! any other the Database names `template0`, as PostgreSQL's error message advises.

use serde_json::{Value as Json, json};

use crate::manifest::Kind;
use crate::plan::{Common, Planned};
use crate::resources::backup;
use crate::values::{ExtraDatabase, ReclaimPolicy, Values};

/// The template PostgreSQL copies for a database whose encoding or locale differs from
/// `template1`'s.
const PRISTINE_TEMPLATE: &str = "template0";

/// The encoding, `LC_COLLATE` and `LC_CTYPE` the database gets.
pub fn locale(values: &Values, db: &ExtraDatabase) -> [String; 3] {
    let bootstrap = &values.database;
    [
        db.encoding.as_ref().unwrap_or(&bootstrap.encoding),
        db.locale_collate
            .as_ref()
            .unwrap_or(&bootstrap.locale_collate),
        db.locale_c_type
            .as_ref()
            .unwrap_or(&bootstrap.locale_c_type),
    ]
    .map(String::clone)
}

/// `template0` when the database's encoding or a locale is not `template1`'s.
fn template(values: &Values, db: &ExtraDatabase) -> Option<&'static str> {
    let bootstrap = &values.database;
    let inherited = [
        &bootstrap.encoding,
        &bootstrap.locale_collate,
        &bootstrap.locale_c_type,
    ];
    let differs = locale(values, db)
        .iter()
        .zip(inherited)
        .any(|(wanted, template1)| wanted != template1);
    differs.then_some(PRISTINE_TEMPLATE)
}

fn fields(common: &Common, db: &ExtraDatabase) -> Json {
    let values = common.values;
    let [encoding, locale_collate, locale_c_type] = locale(values, db);
    let schemas: Vec<Json> = db
        .schemas
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "owner": s.owner.as_ref().unwrap_or(&db.owner),
                "ensure": s.ensure.as_str(),
            })
        })
        .collect();
    let extensions: Vec<Json> = db
        .extensions
        .iter()
        .map(|e| {
            let mut extension = json!({"name": e.name, "ensure": e.ensure.as_str()});
            // Only the keys the user wrote: CloudNativePG then keeps the default version and
            // the extension's own schema.
            if let Some(version) = &e.version {
                extension["version"] = json!(version);
            }
            if let Some(schema) = &e.schema {
                extension["schema"] = json!(schema);
            }
            extension
        })
        .collect();
    json!({
        "cluster": common.names.cluster,
        "name": db.name,
        "owner": db.owner,
        "ensure": db.ensure.as_str(),
        "reclaim_policy": db.database_reclaim_policy.as_str(),
        "template": template(values, db),
        "encoding": encoding,
        "locale_collate": locale_collate,
        "locale_c_type": locale_c_type,
        "schemas": schemas,
        "extensions": extensions,
    })
}

pub fn plan(common: &Common) -> Vec<Planned> {
    common
        .values
        .databases
        .iter()
        .map(|db| {
            let object = common.object(
                "database.json",
                Kind::Database,
                &common.names.database(&db.name),
                "database",
                fields(common, db),
            );
            if db.database_reclaim_policy == ReclaimPolicy::Delete {
                backup::protect(common.values, object)
            } else {
                object
            }
        })
        .collect()
}
