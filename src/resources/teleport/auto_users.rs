//! Automatic user provisioning (`teleport.access.model: autoUsers`): what the PostgreSQL side
//! needs so that Teleport can create a user per Teleport user, and nothing more.
//!
//! - The admin user is created by superuser bootstrap SQL, not as a CloudNativePG managed role:
//!   on PostgreSQL 16+ the admin becomes a member (with ADMIN) of `teleport-auto-user` and of
//!   every user it creates, and CloudNativePG's membership reconcile would revoke those (it sets
//!   a role's memberships to `inRoles` exactly, in one transaction that fails with "dependent
//!   privileges exist" once users were provisioned) and cannot express ADMIN OPTION anyway.
//! - On PostgreSQL 16+ only a role holding ADMIN OPTION may grant (or revoke) a role, and for
//!   predefined roles (`pg_read_all_data`) only a superuser can hand that out, so the bootstrap
//!   grants every role Teleport may hand out, and those they inherit (see `admin_roles`), `WITH
//!   ADMIN OPTION, INHERIT FALSE, SET FALSE`: the admin can give it away but neither uses its
//!   privileges nor `SET ROLE`s to it. On 15 and older CREATEROLE
//!   alone may grant any non-superuser role, and a membership there would always carry `SET
//!   ROLE`, so nothing is granted.
//! - `teleport-auto-user` is left to Teleport: the admin creates it on the first session, which
//!   on 16+ gives the admin ADMIN on it implicitly.
//! - pg_hba admits the admin and the members of `teleport-auto-user` by certificate only, and
//!   rejects them otherwise before CloudNativePG's catch-all password rule: an auto user may set
//!   itself a password (`ALTER ROLE ... PASSWORD`), which must not open a way in.
//!
//! Every name was validated (letters, digits, `_` and `-`), so quoting it is enough.

use crate::values::{AccessModel, CreateDbUserMode, Values};

/// The group role Teleport makes every provisioned user a member of (`teleportAutoUserRole` in
/// Teleport's `lib/srv/db/postgres/users.go`).
pub const AUTO_USER_GROUP: &str = "teleport-auto-user";

/// The first major where granting a role needs ADMIN OPTION on it.
const ADMIN_OPTION_MAJOR: u32 = 16;

/// The auto-users settings when that model is chosen.
pub fn enabled(values: &Values) -> Option<&crate::values::AutoUsers> {
    let access = &values.teleport.access;
    (access.model == AccessModel::AutoUsers).then_some(&access.auto_users)
}

fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

/// Every PostgreSQL role the two Teleport roles may hand out, each once, in values order.
pub fn granted_roles(values: &Values) -> Vec<String> {
    let Some(auto) = enabled(values) else {
        return Vec::new();
    };
    let mut roles: Vec<String> = Vec::new();
    for role in auto.read_roles.iter().chain(&auto.write_roles) {
        if !roles.contains(role) {
            roles.push(role.clone());
        }
    }
    roles
}

/// The roles a predefined role is a member of (PostgreSQL's catalogue, 14-18).
fn predefined_parents(name: &str) -> &'static [&'static str] {
    match name {
        "pg_monitor" => &[
            "pg_read_all_settings",
            "pg_read_all_stats",
            "pg_stat_scan_tables",
        ],
        _ => &[],
    }
}

/// The roles the admin gets ADMIN OPTION on: every role handed out and every role those are
/// members of, through `roles[].inRoles` and predefined memberships. Teleport's v17/v18
/// `teleport_deactivate_user` (before gravitational/teleport#60345) revokes every role the user
/// is a member of *including inherited ones*, and on PostgreSQL 16+ a REVOKE of a role the admin
/// holds no ADMIN on fails ("permission denied to revoke role"), which breaks deactivation and
/// every later activation (found by tests/postgres.rs). Handing out a role already hands out
/// what it inherits, so this grants no new power.
pub fn admin_roles(values: &Values) -> Vec<String> {
    let mut roles = granted_roles(values);
    let mut next = 0;
    while next < roles.len() {
        let name = roles[next].clone();
        let parents: Vec<String> = match values.roles.iter().find(|r| r.name == name) {
            Some(declared) => declared.in_roles.clone(),
            None => predefined_parents(&name)
                .iter()
                .map(ToString::to_string)
                .collect(),
        };
        for parent in parents {
            if !roles.contains(&parent) {
                roles.push(parent);
            }
        }
        next += 1;
    }
    roles
}

/// Roles the values declare under `roles` that the admin gets ADMIN on: created `NOLOGIN` here,
/// before the grant (CloudNativePG creates managed roles only after the bootstrap SQL, and adopts
/// an existing one).
fn declared_group_roles(values: &Values) -> Vec<String> {
    admin_roles(values)
        .into_iter()
        .filter(|name| values.roles.iter().any(|r| &r.name == name))
        .collect()
}

/// Statements for `postInitSQL` (database `postgres`, as the superuser).
pub fn post_init_sql(values: &Values) -> Vec<String> {
    let Some(auto) = enabled(values) else {
        return Vec::new();
    };
    let admin = quoted(&auto.admin_user);
    let mut sql = vec![format!(
        "CREATE ROLE {admin} WITH LOGIN CREATEROLE NOSUPERUSER"
    )];
    for role in declared_group_roles(values) {
        sql.push(format!("CREATE ROLE {} NOLOGIN", quoted(&role)));
    }
    if values.postgres.major >= ADMIN_OPTION_MAJOR {
        for role in admin_roles(values) {
            sql.push(format!(
                "GRANT {} TO {admin} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE",
                quoted(&role)
            ));
        }
    }
    sql
}

/// Statements for `postInitApplicationSQL`: the admin logs into the database the user opens
/// (no `admin_user.default_database`) and creates Teleport's procedures in `pg_temp`.
///
/// Only the bootstrap database exists when this runs; the extra databases are created later by
/// CloudNativePG's Database controller, which runs no SQL of ours. There the admin has CONNECT
/// and TEMPORARY through `PUBLIC`, PostgreSQL's default privileges on a new database (see
/// `resources::databases`).
pub fn post_init_application_sql(values: &Values) -> Vec<String> {
    let Some(auto) = enabled(values) else {
        return Vec::new();
    };
    vec![format!(
        "GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}",
        values.database.name,
        quoted(&auto.admin_user)
    )]
}

/// pg_hba lines, in this order, before CloudNativePG's catch-all password rule.
pub fn pg_hba(values: &Values) -> Vec<String> {
    let Some(auto) = enabled(values) else {
        return Vec::new();
    };
    let admin = &auto.admin_user;
    vec![
        format!("hostssl all {admin} all cert"),
        format!("hostssl all +{AUTO_USER_GROUP} all cert"),
        format!("host all {admin} all reject"),
        format!("host all +{AUTO_USER_GROUP} all reject"),
    ]
}

/// Teleport's `create_db_user_mode`.
pub fn create_db_user_mode(mode: CreateDbUserMode) -> &'static str {
    match mode {
        CreateDbUserMode::Keep => "keep",
        CreateDbUserMode::BestEffortDrop => "best_effort_drop",
    }
}
