//! `databases`: the extra databases, their owners, encodings, schemas and extensions.
//!
//! CloudNativePG's Database controller quotes every name it writes into SQL, but cnpgtp also
//! writes database names into pg_hba (a comma list) and Teleport's `db_names`, and derives the
//! object name from them, so they are plain identifiers like `database.name`. Mirrored from
//! CloudNativePG 1.30: the CRD's CEL rules on `spec.name` (not `postgres`, `template0`,
//! `template1`) and the Database webhook (`internal/webhook/v1/database_webhook.go`: extension
//! and schema names unique within a database). What the controller would only find out in the
//! running cluster is refused here too: an owner that does not exist (it does not create
//! roles), an extension in a schema that will not exist, two objects for one database.

use super::Findings;
use super::postgres::{MINIMAL_IMAGE_LOCALES, minimal_image};
use super::syntax::{is_dashed_identifier, is_dns_name, is_locale_name, is_plain_sql_identifier};
use crate::naming::Names;
use crate::values::{Ensure, ExtraDatabase, Values};

/// An extension version as control files spell them (`1.6`, `3.5.0`, `1.0-beta1`).
fn is_extension_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 63
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The roles that may own an extra database or schema: those the values create.
fn declared_owners(values: &Values) -> Vec<&str> {
    let mut owners = vec![values.database.owner.as_str()];
    owners.extend(values.roles.iter().map(|r| r.name.as_str()));
    owners
}

fn owner(f: &mut Findings, values: &Values, path: &str, name: &str) {
    let access = &values.access;
    if [&access.read_user.name, &access.write_user.name].contains(&&name.to_string()) {
        f.error(
            path,
            format!("`{name}` is a Teleport user: as an owner it could create and drop objects there (the read user would not stay read-only)"),
            format!(
                "use `database.owner` ({}) or a role declared under `roles`",
                values.database.owner
            ),
        );
    } else if !declared_owners(values).contains(&name) {
        f.error(
            path,
            format!("`{name}` is not a role this cluster creates: CloudNativePG's Database controller needs the owner to exist"),
            format!(
                "use `database.owner` ({}) or a role declared under `roles`",
                values.database.owner
            ),
        );
    }
}

pub(super) fn check(values: &Values, names: &Names, f: &mut Findings) {
    for (i, db) in values.databases.iter().enumerate() {
        let at = format!("databases[{i}]");
        name(f, values, names, &at, i, db);
        owner(f, values, &format!("{at}.owner"), &db.owner);
        locales(f, values, &at, db);
        schemas(f, values, &at, db);
        extensions(f, &at, db);
    }
    if values.databases.is_empty() {
        return;
    }
    if values.postgres.major < 15 {
        f.warn(
            "databases",
            "on PostgreSQL 14 the `public` schema of a new database lets every role create objects: the Teleport users could create tables there (cnpgtp revokes that in the bootstrap database only; a Database object runs no SQL)",
            "use PostgreSQL 15 or newer, or run `REVOKE CREATE ON SCHEMA public FROM PUBLIC` in each extra database",
        );
    }
    if values.replica.enabled {
        f.warn(
            "databases",
            "CloudNativePG does not create databases in a replica cluster (its Database controller marks them `cluster is replica`): they come from the source cluster",
            "declare the databases on the source cluster; keep them here to have them created after a promotion",
        );
    }
}

fn name(f: &mut Findings, values: &Values, names: &Names, at: &str, i: usize, db: &ExtraDatabase) {
    let path = format!("{at}.name");
    if !is_plain_sql_identifier(&db.name) {
        f.error(
            &path,
            "not a plain SQL identifier for a database: it is written into pg_hba and Teleport's db_names unquoted",
            "use lower-case letters, digits and `_`, starting with a letter, not a reserved word, at most 63 characters",
        );
        return;
    }
    if ["postgres", "template0", "template1"].contains(&db.name.as_str()) {
        f.error(
            &path,
            "this database exists already in every cluster (CloudNativePG's CRD refuses it)",
            "pick another name",
        );
    } else if db.name == values.database.name {
        f.error(
            &path,
            "this is the bootstrap database (`database.name`): CloudNativePG creates it already",
            "remove this entry, or pick another name",
        );
    } else if let Some(first) = values.databases[..i].iter().position(|d| d.name == db.name) {
        f.error(
            &path,
            format!("this database is already declared at databases[{first}]"),
            "declare each database once",
        );
    } else {
        let object = names.database(&db.name);
        if !is_dns_name(&object) {
            f.error(
                &path,
                format!("its Database object would be named `{object}`, which is not a valid Kubernetes name"),
                "do not start or end the name with `_`",
            );
        }
    }
}

fn locales(f: &mut Findings, values: &Values, at: &str, db: &ExtraDatabase) {
    let minimal = minimal_image(values);
    for (key, value) in [
        ("encoding", &db.encoding),
        ("localeCollate", &db.locale_collate),
        ("localeCType", &db.locale_c_type),
    ] {
        let Some(value) = value else { continue };
        let path = format!("{at}.{key}");
        if !is_locale_name(value) {
            f.error(
                &path,
                "not a valid encoding or locale name",
                "use e.g. `UTF8`, `C` or `en_US.UTF-8`, or null for the bootstrap database's",
            );
        } else if minimal && key != "encoding" && !MINIMAL_IMAGE_LOCALES.contains(&value.as_str()) {
            f.error(
                &path,
                "the minimal PostgreSQL image has only the C, POSIX and C.UTF-8 locales: CREATE DATABASE would fail",
                "set postgres.imageFlavour: standard (adds every locale), or use C or C.UTF-8",
            );
        }
    }
}

fn schemas(f: &mut Findings, values: &Values, at: &str, db: &ExtraDatabase) {
    for (j, schema) in db.schemas.iter().enumerate() {
        let path = format!("{at}.schemas[{j}].name");
        if !is_plain_sql_identifier(&schema.name) {
            f.error(
                &path,
                "not a plain SQL identifier for a schema (`public` exists already)",
                "use lower-case letters, digits and `_`, starting with a letter, not a reserved word",
            );
        } else if schema.name.starts_with("pg_") || schema.name == "information_schema" {
            f.error(
                &path,
                "PostgreSQL reserves this schema name for system schemas",
                "pick a name that is not pg_* or information_schema",
            );
        } else if let Some(first) = db.schemas[..j].iter().position(|s| s.name == schema.name) {
            f.error(
                &path,
                format!("this schema is already declared at {at}.schemas[{first}] (CloudNativePG's webhook refuses duplicates)"),
                "declare each schema once",
            );
        }
        if let Some(name) = &schema.owner {
            owner(f, values, &format!("{at}.schemas[{j}].owner"), name);
        }
    }
}

fn extensions(f: &mut Findings, at: &str, db: &ExtraDatabase) {
    for (j, extension) in db.extensions.iter().enumerate() {
        let path = format!("{at}.extensions[{j}]");
        if !is_dashed_identifier(&extension.name) {
            f.error(
                &format!("{path}.name"),
                "not an extension name",
                "use the name from pg_available_extensions, e.g. `pg_trgm` or `uuid-ossp`",
            );
        } else if let Some(first) = db.extensions[..j]
            .iter()
            .position(|e| e.name == extension.name)
        {
            f.error(
                &format!("{path}.name"),
                format!("this extension is already declared at {at}.extensions[{first}] (CloudNativePG's webhook refuses duplicates)"),
                "declare each extension once",
            );
        }
        if let Some(version) = &extension.version
            && !is_extension_version(version)
        {
            f.error(
                &format!("{path}.version"),
                "not an extension version",
                "use a version from pg_available_extension_versions, e.g. `1.6`, or null for the default",
            );
        }
        let Some(schema) = &extension.schema else {
            continue;
        };
        // CloudNativePG creates the schemas before the extensions; a schema nobody creates
        // would fail CREATE EXTENSION on every reconcile.
        let declared = db
            .schemas
            .iter()
            .any(|s| &s.name == schema && s.ensure == Ensure::Present);
        if extension.ensure == Ensure::Present && schema != "public" && !declared {
            f.error(
                &format!("{path}.schema"),
                format!("the schema `{schema}` is neither `public` nor a present schema of this database"),
                format!("declare it under {at}.schemas, or use `public`"),
            );
        }
    }
}
