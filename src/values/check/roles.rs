//! `database.name`, `database.owner`, `access.*User` and `roles`: the SQL names of the database
//! and its roles.
//!
//! They are written into SQL and CloudNativePG's managed roles unquoted, so each must be a plain
//! identifier, not a role PostgreSQL or CloudNativePG reserves, and not used twice.

use super::Findings;
use super::syntax::{is_dns_name, is_plain_sql_identifier};
use crate::values::Values;

fn is_reserved_role(name: &str) -> bool {
    name == "postgres"
        || name == "streaming_replica"
        || name.starts_with("pg_")
        || name.starts_with("cnpg_")
}

fn identifier(f: &mut Findings, path: &str, name: &str, what: &str) {
    if !is_plain_sql_identifier(name) {
        f.error(
            path,
            format!("not a plain SQL identifier for a {what}: it would need quoting in SQL"),
            "use lower-case letters, digits and `_`, starting with a letter, not a reserved word, at most 63 characters",
        );
    }
}

/// Predefined roles that reach the server's file system or run programs as the server's OS
/// user (PostgreSQL docs, "Predefined Roles"): equivalent to superuser in practice.
const SERVER_ACCESS_ROLES: &[&str] = &[
    "pg_read_server_files",
    "pg_write_server_files",
    "pg_execute_server_program",
];

pub(super) fn check(values: &Values, f: &mut Findings) {
    let db = &values.database;
    identifier(f, "database.name", &db.name, "database");
    if ["postgres", "template0", "template1"].contains(&db.name.as_str()) {
        f.error(
            "database.name",
            "this database exists already in every cluster",
            "pick an application database name such as `app`",
        );
    }
    identifier(f, "database.owner", &db.owner, "role");
    if is_reserved_role(&db.owner) {
        f.error(
            "database.owner",
            "reserved role name",
            "pick a name that is not postgres, streaming_replica, pg_* or cnpg_*",
        );
    }
    let mut seen: Vec<(String, String)> = vec![(db.owner.clone(), "database.owner".into())];
    let login_roles = [
        ("access.readUser", &values.access.read_user),
        ("access.writeUser", &values.access.write_user),
    ];
    for (path, role) in login_roles {
        let name_path = format!("{path}.name");
        identifier(f, &name_path, &role.name, "role");
        if is_reserved_role(&role.name) {
            f.error(
                &name_path,
                "reserved role name",
                "pick a name that is not postgres, streaming_replica, pg_* or cnpg_*",
            );
        }
        if role.connection_limit < -1 {
            f.error(
                &format!("{path}.connectionLimit"),
                "must be -1 (no limit) or more",
                "set a limit such as 20",
            );
        }
        seen.push((role.name.clone(), name_path));
    }
    for (i, role) in values.roles.iter().enumerate() {
        let name_path = format!("roles[{i}].name");
        identifier(f, &name_path, &role.name, "role");
        if is_reserved_role(&role.name) {
            f.error(
                &name_path,
                "reserved role name",
                "pick a name that is not postgres, streaming_replica, pg_* or cnpg_*",
            );
        }
        for (j, member) in role.in_roles.iter().enumerate() {
            let valid = is_plain_sql_identifier(member)
                || (member.starts_with("pg_")
                    && member.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            if !valid {
                f.error(
                    &format!("roles[{i}].inRoles[{j}]"),
                    "not a plain SQL role name",
                    "use an existing role such as `pg_read_all_data`",
                );
            } else if SERVER_ACCESS_ROLES.contains(&member.as_str()) {
                f.error(
                    &format!("roles[{i}].inRoles[{j}]"),
                    format!("`{member}` reads or writes files, or runs programs, on the database server as its OS user: with it a role can read the server's keys or become superuser"),
                    "grant a narrower role (pg_read_all_data, pg_write_all_data, pg_monitor); if this is truly needed, grant it by hand and record why",
                );
            }
        }
        if role.connection_limit < -1 {
            f.error(
                &format!("roles[{i}].connectionLimit"),
                "must be -1 (no limit) or more",
                "set a limit such as 20",
            );
        }
        if let Some(secret) = &role.password_secret
            && !is_dns_name(secret)
        {
            f.error(
                &format!("roles[{i}].passwordSecret"),
                "not a valid Secret name",
                "name an existing kubernetes.io/basic-auth Secret",
            );
        }
        if role.teleport_access && !role.certificate_login {
            f.error(
                &format!("roles[{i}].teleportAccess"),
                "Teleport users log in by certificate: this needs `certificateLogin: true`",
                "set certificateLogin: true, or remove teleportAccess",
            );
        }
        if role.certificate_login && !role.login {
            f.error(
                &format!("roles[{i}].certificateLogin"),
                "certificate login needs `login: true`",
                "set login: true",
            );
        }
        seen.push((role.name.clone(), name_path));
    }
    for (i, (name, path)) in seen.iter().enumerate() {
        if let Some((_, first)) = seen[..i].iter().find(|(other, _)| other == name) {
            f.error(
                path,
                format!("this role name is already used by {first}"),
                "give every role its own name",
            );
        }
    }
}
