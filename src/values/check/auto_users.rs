//! `teleport.access`: automatic user provisioning's admin user, the PostgreSQL roles Teleport may
//! hand out, and what the rest of the values must leave to it.
//!
//! PostgreSQL refuses these only at bootstrap (a role that does not exist aborts the post-init
//! SQL, and CloudNativePG's bootstrap does not retry) or Teleport at the first connection.

use super::Findings;
use super::syntax::is_dashed_identifier;
use crate::values::{AccessModel, Values};

/// Predefined roles Teleport may hand out, with the first major that has each. The ones that
/// reach the server's files or programs (`pg_read_server_files`, `pg_write_server_files`,
/// `pg_execute_server_program`) are superuser in practice and not offered.
const PREDEFINED_ROLES: &[(&str, u32)] = &[
    ("pg_read_all_data", 14),
    ("pg_write_all_data", 14),
    ("pg_monitor", 14),
    ("pg_read_all_settings", 14),
    ("pg_read_all_stats", 14),
    ("pg_stat_scan_tables", 14),
    ("pg_signal_backend", 14),
    ("pg_checkpoint", 15),
    ("pg_use_reserved_connections", 16),
    ("pg_create_subscription", 16),
    ("pg_maintain", 17),
    ("pg_signal_autovacuum_worker", 18),
];

/// Teleport's group role for the users it provisions.
const AUTO_USER_GROUP: &str = "teleport-auto-user";

fn is_reserved(name: &str) -> bool {
    name == "postgres"
        || name == "streaming_replica"
        || name.starts_with("pg_")
        || name.starts_with("cnpg_")
        || name == AUTO_USER_GROUP
}

pub(super) fn check(values: &Values, f: &mut Findings) {
    let access = &values.teleport.access;
    if access.model != AccessModel::AutoUsers {
        return;
    }
    let auto = &access.auto_users;
    let admin = &auto.admin_user;
    if !is_dashed_identifier(admin) {
        f.error(
            "teleport.access.autoUsers.adminUser",
            "not a PostgreSQL role name cnpgtp can write: lower-case letters, digits, `_` and `-`, starting with a letter, at most 63 characters",
            "use a name such as `teleport-admin`",
        );
    } else if is_reserved(admin) {
        f.error(
            "teleport.access.autoUsers.adminUser",
            "reserved role name",
            "pick a name that is not postgres, streaming_replica, pg_*, cnpg_* or teleport-auto-user, e.g. `teleport-admin`",
        );
    }
    let taken = [
        ("database.owner", &values.database.owner),
        ("access.readUser.name", &values.access.read_user.name),
        ("access.writeUser.name", &values.access.write_user.name),
    ];
    for (path, name) in taken {
        if name == admin {
            f.error_pair(
                "teleport.access.autoUsers.adminUser",
                path,
                "the admin user needs a role of its own",
                "give the admin user another name",
            );
        }
    }
    for (i, role) in values.roles.iter().enumerate() {
        if &role.name == admin {
            f.error_pair(
                "teleport.access.autoUsers.adminUser",
                &format!("roles[{i}].name"),
                "the admin user is created by the bootstrap SQL, not as a CloudNativePG managed role (its membership reconcile would revoke the ADMIN memberships the admin holds)",
                "remove it from `roles`",
            );
        }
        if role.teleport_access {
            f.error_pair(
                &format!("roles[{i}].teleportAccess"),
                "teleport.access.model",
                "with automatic user provisioning every Teleport user logs in as itself, so no role is shared through Teleport",
                "remove teleportAccess, or hand this role's privileges out through a NOLOGIN role in teleport.access.autoUsers.readRoles/writeRoles",
            );
        }
    }
    for list in ["readRoles", "writeRoles"] {
        let path = format!("teleport.access.autoUsers.{list}");
        let roles = if list == "readRoles" {
            &auto.read_roles
        } else {
            &auto.write_roles
        };
        if roles.is_empty() {
            f.error(
                &path,
                "the Teleport role would hand out no PostgreSQL role: its users could log in and do nothing",
                "list at least one role, e.g. [pg_read_all_data]",
            );
        }
        for (i, name) in roles.iter().enumerate() {
            granted_role(values, f, &format!("{path}[{i}]"), name);
        }
    }
    lc_messages(values, f);
}

/// One role Teleport may hand out: a predefined role this major has, or a NOLOGIN role the
/// values declare (the bootstrap SQL grants it to the admin, so it must exist then).
fn granted_role(values: &Values, f: &mut Findings, path: &str, name: &str) {
    let major = values.postgres.major;
    if let Some((_, since)) = PREDEFINED_ROLES.iter().find(|(n, _)| *n == name) {
        if major < *since {
            f.error_pair(
                path,
                "postgres.major",
                format!("{name} exists from PostgreSQL {since} on"),
                "remove it, or use a newer postgres.major",
            );
        }
        return;
    }
    if name.starts_with("pg_") {
        f.error(
            path,
            format!("`{name}` is not a predefined role Teleport may hand out"),
            format!(
                "use one of {}",
                PREDEFINED_ROLES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        return;
    }
    match values.roles.iter().position(|r| r.name == name) {
        None => f.error(
            path,
            format!("`{name}` is neither a predefined role nor declared under `roles`"),
            format!(
                "declare it under `roles` (name: {name}, login: false, inRoles: [...]), or use a predefined role such as pg_read_all_data"
            ),
        ),
        Some(i) if values.roles[i].login => f.error_pair(
            path,
            &format!("roles[{i}].login"),
            "Teleport hands out group roles: a role that can log in would give every Teleport user its identity",
            "set login: false on it, or hand out another role",
        ),
        Some(i) => inherited_roles(values, f, i),
    }
}

/// The roles a handed-out declared role is a member of get ADMIN OPTION for the admin at
/// bootstrap (Teleport's deactivation revokes inherited roles too), so each must exist then: a
/// predefined role or one declared under `roles`.
fn inherited_roles(values: &Values, f: &mut Findings, index: usize) {
    for (j, parent) in values.roles[index].in_roles.iter().enumerate() {
        let known = PREDEFINED_ROLES
            .iter()
            .any(|(n, since)| n == parent && values.postgres.major >= *since)
            || values.roles.iter().any(|r| &r.name == parent);
        if !known {
            f.error(
                &format!("roles[{index}].inRoles[{j}]"),
                format!("`{parent}` must exist at bootstrap: Teleport hands out `{}`, so the bootstrap SQL gives the admin ADMIN OPTION on the roles it is a member of too", values.roles[index].name),
                "use a predefined role (such as pg_read_all_stats) or declare it under `roles`",
            );
        }
    }
}

/// Teleport recognises PostgreSQL errors by their English text, so the server's messages must
/// stay English (gravitational/teleport#37394: a German server breaks every second connection).
fn lc_messages(values: &Values, f: &mut Findings) {
    let Some(value) = values.postgres.parameters.get("lc_messages") else {
        return;
    };
    let locale = value.0.as_str();
    let english = locale.is_empty()
        || ["C", "POSIX"].contains(&locale)
        || locale.starts_with("C.")
        || locale.starts_with("en_");
    if !english {
        f.error_pair(
            "postgres.parameters.lc_messages",
            "teleport.access.model",
            "Teleport matches PostgreSQL's English error messages (\"already exists\") during automatic user provisioning",
            "remove lc_messages (cnpgtp then sets 'C'), or set 'C' or an en_* locale",
        );
    }
}
