//! Automatic user provisioning (`teleport.access.model: autoUsers`) on the real servers of the
//! PostgreSQL suite: Teleport's own procedures, read from `../shared/teleport-sql/` (test data,
//! provenance in its SOURCE.md), run the way Teleport's Database Service runs them.
//!
//! How Teleport calls them (`lib/srv/db/postgres/users.go` at 42008fae, the v17/v18 code, and the
//! newest master for the two-argument delete): the admin logs in with a client certificate whose
//! CN is `admin_user.name`, into the database the user opens (no `default_database`), then
//! `create role "teleport-auto-user"` (an "already exists" error is ignored), `grant
//! "teleport-auto-user" to "<admin>" WITH ADMIN OPTION` ("cannot be granted back" and "already"
//! ignored), creates `activate-user.sql` and `deactivate-user.sql` in `pg_temp` and calls
//! `pg_temp.teleport_activate_user($1, $2)` with the Teleport user name and the session's
//! `db_roles`. At the end it creates the teardown procedures again and calls
//! `teleport_deactivate_user($1)` (`keep`) or `teleport_delete_user(...)` (`best_effort_drop`),
//! reading the INOUT state: `TP003` dropped, `TP004` locked instead. Each step here is one
//! psql session of the admin: the procedures live in that session's `pg_temp`, as in Teleport's.
//! Parameters are inlined as literals (psql 15 has no `\bind`), with the types Teleport's driver
//! sends (`varchar[]` for the roles).
//!
//! The roles handed out are the rendered Teleport roles' `db_roles`, taken from the library.

use super::*;

/// Teleport's group role for the users it provisions.
const GROUP: &str = "teleport-auto-user";

/// Teleport's procedures, read at test time (never copied into the repository).
struct Procedures {
    activate: String,
    deactivate: String,
    /// The newest master's pair: `delete-user.sql` takes `(username, object_inheritor_user)` and
    /// calls its own `deactivate-user.sql` when the user owns objects.
    delete: String,
    deactivate_newest: String,
}

fn procedures() -> Result<Procedures, String> {
    let dir = common::require_shared("automatic user provisioning")
        .ok_or("../shared is missing")?
        .join("teleport-sql");
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    Ok(Procedures {
        activate: read("activate-user.sql")?,
        deactivate: read("deactivate-user.sql")?,
        delete: read("newest/delete-user.sql")?,
        deactivate_newest: read("newest/deactivate-user.sql")?,
    })
}

/// `db_roles` of the rendered read and write roles.
fn db_roles(r: &Rendered) -> Result<(Vec<String>, Vec<String>), String> {
    let roles = cnpgtp::resources::teleport::role_documents(&r.values, None);
    let list = |i: usize| -> Result<Vec<String>, String> {
        roles[i]["spec"]["allow"]["db_roles"]
            .as_array()
            .ok_or_else(|| format!("role {} has no db_roles", roles[i]["metadata"]["name"]))
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
    };
    Ok((list(0)?, list(1)?))
}

fn varchar_array(roles: &[String]) -> String {
    let items: Vec<String> = roles.iter().map(|r| literal(r)).collect();
    format!("ARRAY[{}]::varchar[]", items.join(", "))
}

/// The admin's side of one Teleport session step.
struct Admin<'a> {
    name: String,
    cert: CertPair,
    env: &'a Env,
    database: &'a str,
    sql: &'a Procedures,
}

impl Admin<'_> {
    fn session(&self, statements: &[&str]) -> Outcome {
        Login::new(&self.name, self.database)
            .cert(&self.cert)
            .run(self.env, statements)
    }

    /// Teleport's `updateAutoUsersRole`: each statement's tolerated errors are ignored.
    fn ensure_group(&self) -> Result<(), String> {
        let create = self.session(&[&format!("create role {}", ident(GROUP))]);
        if !create.ok && !create.stderr.contains("already exists") {
            return Err(format!("create role {GROUP}: {}", create.stderr.trim()));
        }
        let grant = self.session(&[&format!(
            "grant {} to {} WITH ADMIN OPTION",
            ident(GROUP),
            ident(&self.name)
        )]);
        if !grant.ok
            && !grant.stderr.contains("cannot be granted back")
            && !grant.stderr.contains("already")
        {
            return Err(format!(
                "grant {GROUP} to the admin: {}",
                grant.stderr.trim()
            ));
        }
        Ok(())
    }

    /// `ActivateUser`: the group, both procedures, then the call, in one admin session.
    fn activate(&self, user: &str, roles: &[String]) -> Outcome {
        if let Err(e) = self.ensure_group() {
            return Outcome {
                ok: false,
                stdout: String::new(),
                stderr: e,
                what: format!("activate {user}"),
            };
        }
        let call = format!(
            "call pg_temp.teleport_activate_user({}, {})",
            literal(user),
            varchar_array(roles)
        );
        self.session(&[&self.sql.activate, &self.sql.deactivate, &call])
    }

    /// `DeactivateUser` (`create_db_user_mode: keep`).
    fn deactivate(&self, user: &str) -> Outcome {
        let call = format!("call pg_temp.teleport_deactivate_user({})", literal(user));
        self.session(&[&self.sql.deactivate, &call])
    }

    /// `DeleteUser` (`best_effort_drop`); returns the INOUT state.
    fn delete(&self, user: &str) -> Result<String, String> {
        let call = format!("call pg_temp.teleport_delete_user({}, '')", literal(user));
        self.session(&[&self.sql.delete, &self.sql.deactivate_newest, &call])
            .result()
    }
}

/// The membership options of `member` in `role` (`admin,inherit,set` on 16+, `admin` before),
/// or `none`.
fn membership(env: &Env, major: u32, member: &str, role: &str) -> Result<String, String> {
    let options = if major >= 16 {
        "m.admin_option || ',' || m.inherit_option || ',' || m.set_option"
    } else {
        "m.admin_option::text"
    };
    env.instance.superuser(
        "postgres",
        &format!(
            "SELECT coalesce((SELECT string_agg({options}, ';') FROM pg_auth_members m \
             JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member \
             WHERE g.rolname = {} AND u.rolname = {}), 'none')",
            literal(role),
            literal(member)
        ),
    )
}

fn role_state(env: &Env, name: &str) -> Result<String, String> {
    env.instance.superuser(
        "postgres",
        &format!(
            "SELECT coalesce((SELECT rolcanlogin || ' ' || rolsuper || ' ' || rolcreaterole FROM pg_roles \
             WHERE rolname = {}), 'absent')",
            literal(name)
        ),
    )
}

/// Collects failures instead of stopping at the first.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, result: Result<(), String>) {
        if let Err(e) = result {
            self.0.push(e);
        }
    }

    fn expect(&mut self, what: &str, got: Result<String, String>, want: &str) {
        match got {
            Ok(got) if got == want => {}
            Ok(got) => self.0.push(format!("{what}: got {got:?}, want {want:?}")),
            Err(e) => self.0.push(format!("{what}: {e}")),
        }
    }

    fn done(self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0.join("\n"))
        }
    }
}

/// The bootstrap left the admin as rendered: LOGIN CREATEROLE, not a superuser, no password,
/// not a managed role; on 16+ ADMIN OPTION without INHERIT or SET on every role it hands out
/// (and on 15 no membership at all); CONNECT and TEMPORARY granted on the database. It cannot
/// use the roles it hands out: reading the owner's table is refused, and so is `SET ROLE`.
fn admin_is_least_privileged(case: &Case, r: &Rendered, env: &Env, admin: &Admin) -> Problems {
    let mut p = Problems::default();
    let name = &admin.name;
    p.expect("admin attributes", role_state(env, name), "true false true");
    p.expect(
        "admin password",
        env.instance.superuser(
            "postgres",
            &format!(
                "SELECT (rolpassword IS NULL)::text FROM pg_authid WHERE rolname = {}",
                literal(name)
            ),
        ),
        "true",
    );
    if r.cluster.spec.managed.roles.iter().any(|m| &m.name == name) {
        p.0.push("the admin is a CloudNativePG managed role".into());
    }
    let (read, write) = match db_roles(r) {
        Ok(lists) => lists,
        Err(e) => {
            p.0.push(e);
            return p;
        }
    };
    let mut handed_out: Vec<String> = read.iter().chain(&write).cloned().collect();
    // And what those inherit (Teleport's v18 deactivation revokes inherited roles too).
    handed_out.extend(cnpgtp::resources::teleport::auto_users::admin_roles(
        &r.values,
    ));
    handed_out.dedup();
    for role in &handed_out {
        let want = if case.major >= 16 {
            "true,false,false"
        } else {
            "none"
        };
        p.expect(
            &format!("admin's membership in {role}"),
            membership(env, case.major, name, role),
            want,
        );
    }
    p.expect(
        "CONNECT and TEMPORARY granted to the admin on the database",
        env.instance.superuser(
            "postgres",
            &format!(
                "SELECT string_agg(a.privilege_type, ',' ORDER BY a.privilege_type) FROM pg_database d, \
                 aclexplode(d.datacl) a WHERE d.datname = {} AND a.grantee = {}::regrole",
                literal(r.database()),
                literal(&ident(name))
            ),
        ),
        "CONNECT,TEMPORARY",
    );
    p.check(permission_denied(
        &admin.session(&[&format!("SELECT count(*) FROM {TABLE}")]),
        "the admin reading the owner's table",
    ));
    if let Some(role) = read.first() {
        p.check(permission_denied(
            &admin.session(&[&format!("SET ROLE {}", ident(role))]),
            &format!("the admin's SET ROLE {role}"),
        ));
    }
    // Only by certificate: without one, and with a password a superuser set, it is refused.
    let roles = case
        .roles
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let password = "admin-password";
    let set = |value: &str| {
        env.instance.superuser(
            "postgres",
            &format!("ALTER ROLE {} PASSWORD {value}", ident(name)),
        )
    };
    p.check(set(&literal(password)).map(|_| ()));
    let with_tls = Login::new(name, r.database())
        .password(password)
        .run(env, &["SELECT 1"]);
    let without_tls = Login::new(name, r.database())
        .password(password)
        .sslmode("disable")
        .run(env, &["SELECT 1"]);
    p.check(set("NULL").map(|_| ()));
    drop(roles);
    p.check(refused(&with_tls, "the admin with a password over TLS"));
    p.check(refused(
        &without_tls,
        "the admin with a password without TLS",
    ));
    p
}

/// One Teleport user's life: activated with `roles`, it logs in by certificate only (a password
/// it sets itself opens nothing), reads, writes only when `writes`, never creates tables.
fn provisioned_user_session(
    r: &Rendered,
    env: &Env,
    admin: &Admin,
    user: &str,
    cert: &CertPair,
    roles: &[String],
    writes: bool,
) -> Problems {
    let mut p = Problems::default();
    let login = Login::new(user, r.database()).cert(cert);
    p.check(refused(
        &login.run(env, &["SELECT 1"]),
        &format!("{user} before activation"),
    ));
    if let Err(e) = admin.activate(user, roles).result() {
        p.0.push(format!("activating {user} with {roles:?}: {e}"));
        return p;
    }
    p.expect(
        &format!("{user} after activation (login, superuser, createrole)"),
        role_state(env, user),
        "true false false",
    );
    p.expect(
        &format!("{user} reads the owner's table with its certificate"),
        login
            .run(
                env,
                &[&format!(
                    "SELECT current_user || ' ' || count(*) FROM {TABLE} WHERE note LIKE 'seed-%'"
                )],
            )
            .result(),
        &format!("{user} {}", SEED_ROWS.len()),
    );
    let note = format!("{user}-{}", unique());
    let insert = login.run(
        env,
        &[
            &format!("INSERT INTO {TABLE} (note) VALUES ({})", literal(&note)),
            &format!("DELETE FROM {TABLE} WHERE note = {}", literal(&note)),
        ],
    );
    if writes {
        p.check(insert.result().map(|_| ()));
    } else {
        p.check(permission_denied(&insert, &format!("INSERT by {user}")));
    }
    p.check(permission_denied(
        &login.run(
            env,
            &[&format!(
                "CREATE TABLE public.{} (x int)",
                ident(&format!("{user}_table"))
            )],
        ),
        &format!("CREATE TABLE by {user}"),
    ));
    // The user sets itself a password; it gets in with neither TLS nor plain text.
    let password = format!("{user}-own-password");
    p.check(
        login
            .run(
                env,
                &[&format!(
                    "ALTER ROLE {} PASSWORD {}",
                    ident(user),
                    literal(&password)
                )],
            )
            .result()
            .map(|_| ()),
    );
    p.check(refused(
        &Login::new(user, r.database()).run(env, &["SELECT 1"]),
        &format!("{user} without certificate or password"),
    ));
    p.check(refused(
        &Login::new(user, r.database())
            .password(&password)
            .run(env, &["SELECT 1"]),
        &format!("{user} with its own password over TLS"),
    ));
    let plain = Login::new(user, r.database())
        .password(&password)
        .sslmode("disable")
        .run(env, &["SELECT 1"]);
    p.check(refused(
        &plain,
        &format!("{user} with its own password without TLS"),
    ));
    if !plain.stderr.contains("pg_hba.conf rejects connection") {
        p.0.push(format!(
            "{user} without TLS: expected the rendered reject rule, got: {}",
            plain.stderr.trim()
        ));
    }
    p
}

/// Bootstrap as CloudNativePG does, then Teleport's procedures as the certificate-authenticated
/// admin: users exist and log in (by certificate only) exactly while active, get the rendered
/// roles' privileges, and are locked (`keep`) or dropped (`best_effort_drop`) afterwards; names
/// of roles Teleport does not manage (CloudNativePG's users, the owner) cannot be activated.
#[test]
fn teleport_auto_users_are_provisioned_by_certificate_and_locked_or_dropped() {
    let sql = match procedures() {
        Ok(sql) => sql,
        Err(e) => {
            notice(&format!("SKIPPED automatic user provisioning: {e}"));
            return;
        }
    };
    let covered = std::sync::atomic::AtomicUsize::new(0);
    for_each_case("automatic user provisioning", |case, r, env| {
        let Some(auto) = cnpgtp::resources::teleport::auto_users::enabled(&r.values) else {
            return Ok(());
        };
        covered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        owner_table(case, r, env)?;
        let pki = pg::Pki::new(env.instance.tools, env.instance.dir.join("pki"))?;
        let usages: Vec<String> = TELEPORT_USAGES.iter().map(ToString::to_string).collect();
        let cert = |cn: &str| {
            pki.leaf(
                &env.tls.teleport_ca,
                &format!("auto-{cn}-{}", unique()),
                &format!("/CN={cn}/O={cn}"),
                &usages,
                &[],
            )
        };
        let admin = Admin {
            name: auto.admin_user.clone(),
            cert: cert(&auto.admin_user)?,
            env,
            database: r.database(),
            sql: &sql,
        };
        let (read, write) = db_roles(r)?;
        let mut p = admin_is_least_privileged(case, r, env, &admin);

        // Two Teleport users, one per role; names unique per run (users may be kept).
        let run = unique();
        let (alice, bob) = (format!("alice-{run}"), format!("bob-{run}@example.com"));
        let (alice_cert, bob_cert) = (cert(&alice)?, cert(&bob)?);
        p.0.extend(provisioned_user_session(r, env, &admin, &alice, &alice_cert, &read, false).0);
        p.0.extend(provisioned_user_session(r, env, &admin, &bob, &bob_cert, &write, true).0);
        for (user, roles) in [(&alice, &read), (&bob, &write)] {
            p.expect(
                &format!("{user} is a member of {GROUP}"),
                membership(env, case.major, user, GROUP).map(|m| (m != "none").to_string()),
                "true",
            );
            for role in roles {
                p.expect(
                    &format!("{user} holds {role} while active"),
                    membership(env, case.major, user, role).map(|m| (m != "none").to_string()),
                    "true",
                );
            }
        }
        // A session that is still open keeps the user: deactivation only notes it.
        // (Each psql run above has ended, so nothing is open now.)

        // keep: locked and stripped of the handed-out roles; the certificate no longer works.
        p.check(admin.deactivate(&alice).result().map(|_| ()));
        p.expect(
            "alice after deactivation",
            role_state(env, &alice),
            "false false false",
        );
        for role in &read {
            p.expect(
                &format!("alice's {role} after deactivation"),
                membership(env, case.major, &alice, role),
                "none",
            );
        }
        let locked = Login::new(&alice, r.database())
            .cert(&alice_cert)
            .run(env, &["SELECT 1"]);
        p.check(refused(&locked, "alice's certificate after deactivation"));
        if !locked.stderr.contains("not permitted to log in") {
            p.0.push(format!(
                "alice after deactivation: expected \"not permitted to log in\", got: {}",
                locked.stderr.trim()
            ));
        }
        // A kept user is activated again on her next session.
        p.check(admin.activate(&alice, &read).result().map(|_| ()));
        p.check(
            Login::new(&alice, r.database())
                .cert(&alice_cert)
                .run(env, &["SELECT 1"])
                .result()
                .map(|_| ()),
        );
        p.check(admin.deactivate(&alice).result().map(|_| ()));

        // best_effort_drop: bob owns nothing, so he is dropped (TP003).
        p.expect("deleting bob", admin.delete(&bob), "TP003");
        p.expect("bob after deletion", role_state(env, &bob), "absent");
        p.check(refused(
            &Login::new(&bob, r.database())
                .cert(&bob_cert)
                .run(env, &["SELECT 1"]),
            "bob's certificate after deletion",
        ));

        // Roles Teleport does not manage cannot be taken over by a Teleport user of that name.
        for existing in [
            "postgres",
            "streaming_replica",
            "cnpg_pooler_pgbouncer",
            r.owner(),
        ] {
            let before = role_state(env, existing);
            let outcome = admin.activate(existing, &read);
            if outcome.ok {
                p.0.push(format!("activating the existing role {existing} succeeded"));
            } else if !outcome.stderr.contains("already exists") {
                p.0.push(format!(
                    "activating {existing}: refused, but not as an existing role: {}",
                    outcome.stderr.trim()
                ));
            }
            p.expect(
                &format!("{existing} unchanged by the refused activation"),
                role_state(env, existing),
                &before.unwrap_or_default(),
            );
        }
        p.done()
    });
    if suite().is_some() {
        assert!(
            covered.into_inner() > 0,
            "no values file uses automatic user provisioning (tests/pg-values/autousers.yaml)"
        );
    }
}
