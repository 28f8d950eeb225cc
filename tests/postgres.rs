//! The database side, proven on a real PostgreSQL and PgBouncer (issue 3).
//!
//! For every values file (`values/*.yaml` except `defaults.yaml`, plus the test-only
//! `tests/pg-values/*.yaml`) the suite renders the manifests with the library and brings the
//! rendered CloudNativePG `Cluster` and `Pooler` up on the PostgreSQL server of the Debian
//! packages, the way CloudNativePG would, then connects as each kind of client.
//!
//! # How the bring-up mirrors CloudNativePG
//!
//! * **initdb** (`pkg/management/postgres/initdb.go`, `pkg/specs/jobs.go`): `initdb --username
//!   postgres -D <pgdata> --encoding E --lc-collate L --lc-ctype L [-k]` from
//!   `spec.bootstrap.initdb`, run as an unprivileged OS user (`postgres` when the tests run as
//!   root, via `setpriv`). A locale the machine lacks is compiled with `localedef` into a private
//!   `LOCPATH` (the CloudNativePG *standard* image ships `locales-all`; whether the *rendered*
//!   image has the locale is a separate test, `rendered_locales_exist_in_the_rendered_image`).
//! * **configuration**: the rendered `postgresql.parameters` in `custom.conf` (included from
//!   `postgresql.conf`, as CloudNativePG does), then the settings CloudNativePG fixes itself:
//!   `ssl = on` with the server certificate, key and the client-CA bundle (`ssl_ca_file`),
//!   `ssl_min_protocol_version = TLSv1.3`, `password_encryption = scram-sha-256`, listening on
//!   127.0.0.1 on a free port, and `shared_preload_libraries` for the extensions CloudNativePG
//!   manages when their parameters are set (`pg_stat_statements.*`, `auto_explain.*`).
//! * **bootstrap SQL** (`ConfigureNewInstance`), as superuser over the unix socket, each statement
//!   on its own, stopping at the first error: `CREATE ROLE <owner> LOGIN`; `postInitSQL` in
//!   `postgres`; `postInitTemplateSQL` in `template1`; `CREATE DATABASE <db> OWNER <owner>` (no
//!   encoding or locale clause: CloudNativePG passes none, the database inherits initdb's);
//!   `postInitApplicationSQL` in the application database. While this runs, pg_hba.conf only has
//!   CloudNativePG's `local all all peer map=local` rule (no network access at all).
//! * **instance manager**: `CREATE USER streaming_replica WITH REPLICATION`; the owner's password
//!   (CloudNativePG sets it from the owner Secret; the rendered Secret's value is used when it is
//!   a literal, else a password chosen here); `cnpg_metrics_exporter` `LOGIN PASSWORD NULL` with
//!   `pg_monitor` (`SetupMetricsExporterRole`); then `spec.managed.roles` reconciled like
//!   `internal/management/controller/roles`: `CREATE ROLE` or, for an existing role (the read user
//!   the bootstrap SQL created `NOLOGIN`), `ALTER ROLE` with `[NO]BYPASSRLS [NO]CREATEDB
//!   [NO]CREATEROLE [NO]INHERIT [NO]LOGIN [NO]REPLICATION [NO]SUPERUSER [CONNECTION LIMIT n]
//!   PASSWORD NULL` (`disablePassword`), `COMMENT ON ROLE`, and `GRANT`/`REVOKE` to match
//!   `inRoles`.
//! * **pg_hba.conf / pg_ident.conf** (`pkg/postgres/configuration.go`), then a reload:
//!   ```text
//!   local all cnpg_metrics_exporter peer map=cnpg_metrics_exporter
//!   local all all peer map=local
//!   hostssl postgres streaming_replica all cert map=cnpg_streaming_replica
//!   hostssl replication streaming_replica all cert map=cnpg_streaming_replica
//!   hostssl all cnpg_pooler_pgbouncer all cert map=cnpg_pooler_pgbouncer
//!   <rendered spec.postgresql.pg_hba, in order>
//!   host all all all scram-sha-256
//!   ```
//!   and pg_ident `local <server OS user> postgres`, `cnpg_streaming_replica streaming_replica
//!   streaming_replica`, `cnpg_pooler_pgbouncer cnpg_pooler_pgbouncer cnpg_pooler_pgbouncer`,
//!   `cnpg_metrics_exporter <server OS user> cnpg_metrics_exporter`. The superuser connections
//!   of the suite therefore use CloudNativePG's own rule: peer authentication of the OS user that
//!   runs the server, mapped to `postgres` (no `trust` anywhere).
//! * **certificates** (openssl, ECDSA P-256, `EC PRIVATE KEY` like cert-manager): a server CA
//!   signing the server certificate (rendered common name, DNS names and usages, plus
//!   `localhost`/`127.0.0.1`); the cluster client CA signing `streaming_replica` and
//!   `cnpg_pooler_pgbouncer` (common names and usages of the rendered `Certificate`s); a
//!   "Teleport db client CA" signing the Teleport users' certificates; `ssl_ca_file` is the
//!   bundle built by `scripts/ca-bundle/sync.sh bundle` (the merge the rendered mechanisms use):
//!   cluster client CA first, then the Teleport CA. A fourth, untrusted CA signs a forged read-user certificate.
//! * **PgBouncer** (`pkg/management/pgbouncer/config/config.go`): `pgbouncer.ini` as CloudNativePG
//!   writes it for a Pooler with `serverTLSSecret`: `* = host=<server>`, `pool_mode`, `auth_user`
//!   = the certificate's common name, `auth_query` from the Pooler, `auth_dbname = postgres` (only
//!   when the installed PgBouncer is >= 1.19), CloudNativePG's defaults (`auth_type = hba`,
//!   `server_tls_sslmode = verify-ca`, `client_tls_sslmode = prefer`, `log_stats = 0`,
//!   `ignore_startup_parameters = extra_float_digits,options`) under the rendered parameters,
//!   `server_tls_{cert,key}_file` = the pooler certificate, `server_tls_ca_file` = the server CA,
//!   `client_tls_*` = the server certificate and the client-CA bundle, and CloudNativePG's
//!   PgBouncer hba file (`local pgbouncer pgbouncer peer`, `host all all 0.0.0.0/0 md5`, `host
//!   all all ::/0 md5`; PgBouncer uses SCRAM for a user whose secret is SCRAM).
//!
//! Test-only steps: the `postgres` superuser gets a password (so the pooler test can show its
//! secret does not leak); `initdb --no-sync` and `fsync = off` (before the rendered parameters,
//! which win) for speed; every file gets its own server, brought up in parallel and shared by the
//! tests through a `OnceLock`; servers are stopped and their directories removed when the test
//! binary exits, even when it is killed (see `support/pg.rs`).
//!
//! Not covered: replicas and the `ro` Pooler (one instance only); PgBouncer logins to the
//! application database need PgBouncer >= 1.19 (`auth_dbname`), see
//! `pgbouncer_configured_like_the_rendered_pooler_lets_the_owner_in`. Note that PostgreSQL cannot
//! tie a `cert` rule to one CA of the bundle: a Teleport-issued certificate whose CN is
//! `streaming_replica` or `cnpg_pooler_pgbouncer` is admitted by CloudNativePG's fixed rules just
//! like the cluster's own, so Teleport roles must never allow those database users.
//!
//! # What is proven (one test each, for every values file)
//!
//! 1. the bootstrap runs without an error and leaves the database, roles, pg_hba and parameters
//!    as rendered;
//! 2. the owner logs in with its password over TLS (`sslmode=verify-full`, host `localhost`),
//!    creates a table after bootstrap and fills it;
//! 3. the Teleport read user, with a Teleport-CA certificate, reads it but cannot INSERT, UPDATE,
//!    DELETE or CREATE TABLE, also after `SET default_transaction_read_only = off`;
//! 4. the Teleport write user writes (INSERT/UPDATE/DELETE), and has no DDL;
//! 5. a read-user certificate from an untrusted CA, or no certificate (with or without a
//!    password), is refused;
//! 6. `streaming_replica` with a cluster-client-CA certificate is admitted (database `postgres`,
//!    physical and logical replication connections);
//! 7. `cnpg_pooler_pgbouncer` runs the Pooler's `authQuery` in `postgres` and gets the owner's
//!    SCRAM secret and nothing for `postgres`; a real PgBouncer configured like the Pooler lets
//!    the owner in with its password;
//! 8. at least three values files with different database names, owners and Teleport role names
//!    are covered;
//! 9. the rendered initdb locales, and the extra databases', exist in the rendered image
//!    flavour;
//! 10. with automatic user provisioning (`tests/pg-values/autousers.yaml`, rendered for each
//!     server's major), Teleport's own procedures from `../shared/teleport-sql/`, run as the
//!     certificate-authenticated admin the way Teleport runs them, provision users that log in by
//!     certificate only while active, read (and write only with the write role's roles), cannot
//!     get in with a password they set themselves, and are locked (`keep`) or dropped
//!     (`best_effort_drop`) afterwards; the admin holds only ADMIN OPTION (16+) and cannot read
//!     data itself; existing roles cannot be taken over (see `support/teleport_autousers.rs`);
//! 11. CloudNativePG's default monitoring queries (`tests/fixtures/cnpg-default-monitoring.yaml`,
//!     v1.30.0) run as `cnpg_metrics_exporter` the way its collector runs them, on every major,
//!     and return exactly the columns their `metrics:` map (see
//!     `cnpg_default_monitoring_queries_run_on_every_major`);
//! 12. the extra databases (`databases:` in `tests/pg-values/inventory.yaml` and
//!     `autousers.yaml`), created from the rendered `Database` objects the way CloudNativePG's
//!     Database controller creates them (`CREATE DATABASE ... OWNER ... [TEMPLATE] ENCODING ...
//!     LC_COLLATE ... LC_CTYPE ...`, `CREATE SCHEMA ... AUTHORIZATION`, `CREATE EXTENSION ...
//!     [VERSION] [SCHEMA]`, no SQL of cnpgtp's), admit the Teleport read user by certificate,
//!     which reads the owner's tables there but cannot write or create, and the write user,
//!     which writes but creates no table; the auto-users admin gets in and creates its
//!     procedures in `pg_temp` (CONNECT and TEMPORARY from `PUBLIC`).
//!
//! Without PostgreSQL, psql or openssl the suite prints a loud notice and passes, unless `CI` is
//! set: then it fails.

#[path = "support/cnpg_metrics.rs"]
mod cnpg_metrics;
mod common;
#[path = "support/pg.rs"]
mod pg;
#[path = "support/teleport_autousers.rs"]
mod teleport_autousers;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cnpgtp::crds::cert_manager::Certificate;
use cnpgtp::crds::cnpg::{Cluster, Database, Pooler, RoleConfiguration};
use cnpgtp::manifest::Object;
use cnpgtp::values::{AccessModel, Values};

use pg::{CertPair, Instance, Outcome, ident, literal};

/// The table the owner creates after bootstrap; the other tests read and write it.
const TABLE: &str = "public.cnpgtp_probe";
/// Rows the owner puts in; the write test only touches rows it inserts itself.
const SEED_ROWS: [&str; 3] = ["seed-1", "seed-2", "seed-3"];
/// The password the test gives the `postgres` superuser (CloudNativePG leaves it NULL).
const SUPERUSER_PASSWORD: &str = "superuser-secret-to-not-leak";
/// The role CloudNativePG's metrics exporter connects as (`apiv1.MetricsExporterUserName`).
const METRICS_EXPORTER: &str = "cnpg_metrics_exporter";

// ---------------------------------------------------------------------------------------------
// What the renderer produces

/// What one values file renders that the database side consumes.
struct Rendered {
    values: Values,
    cluster: Cluster,
    poolers: Vec<Pooler>,
    certificates: Vec<Certificate>,
    /// The extra databases (`databases:`), for CloudNativePG's Database controller.
    databases: Vec<Database>,
    /// The owner's password: the rendered owner Secret's literal value, else one chosen here.
    owner_password: String,
    /// The rendered `monitoring.customQueries` ConfigMap, as YAML, if any.
    custom_queries: Option<String>,
}

impl Rendered {
    fn database(&self) -> &str {
        &self
            .cluster
            .spec
            .bootstrap
            .initdb
            .as_ref()
            .expect("an initdb bootstrap")
            .database
    }

    fn owner(&self) -> &str {
        &self
            .cluster
            .spec
            .bootstrap
            .initdb
            .as_ref()
            .expect("an initdb bootstrap")
            .owner
    }

    fn read_user(&self) -> &str {
        &self.values.access.read_user.name
    }

    fn write_user(&self) -> &str {
        &self.values.access.write_user.name
    }

    /// Whether Teleport provisions users itself (no static read and write users).
    fn auto_users(&self) -> bool {
        self.values.teleport.access.model == AccessModel::AutoUsers
    }

    fn image(&self) -> &str {
        self.cluster
            .spec
            .image_name
            .as_deref()
            .expect("the PostgreSQL suite renders pinned images, not catalogs")
    }

    /// The read-write Pooler, the one PgBouncer test brings up (`ro` needs replicas).
    fn rw_pooler(&self) -> Option<&Pooler> {
        self.poolers.iter().find(|p| p.spec.kind == "rw")
    }

    fn certificate(&self, secret_name: &str) -> Result<&Certificate, String> {
        self.certificates
            .iter()
            .find(|c| c.spec.secret_name == secret_name)
            .ok_or_else(|| format!("no rendered Certificate writes Secret {secret_name:?}"))
    }

    /// Roles the rendered pg_hba admits by certificate to the application database, other than
    /// the two Teleport users.
    fn extra_certificate_roles(&self) -> Vec<String> {
        self.cluster
            .spec
            .postgresql
            .pg_hba
            .iter()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                match fields.as_slice() {
                    ["hostssl", dbs, role, _, "cert", ..]
                        if dbs.split(',').any(|db| db == self.database())
                            && *role != self.read_user()
                            && *role != self.write_user() =>
                    {
                        Some((*role).to_string())
                    }
                    _ => None,
                }
            })
            .collect()
    }
}

/// Renders a values file, for a server of `major` when given. A file with automatic user
/// provisioning is rendered for that major (`postgres.major`), as its bootstrap SQL differs from
/// 16 on; the others as written (their SQL is the same on every major).
fn render(file: &Path, major: Option<u32>) -> Result<Rendered, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))?;
    let sources = vec![cnpgtp::values::Source {
        name: file.display().to_string(),
        text,
    }];
    let mut loaded = cnpgtp::values::load(&sources, &[]).map_err(|p| p.to_string())?;
    if let Some(major) = major
        && loaded.values.teleport.access.model == AccessModel::AutoUsers
        && loaded.values.postgres.major != major
    {
        let major = cnpgtp::values::Override::Set {
            argument: format!("postgres.major={major}"),
            typed: true,
        };
        loaded = cnpgtp::values::load(&sources, &[major]).map_err(|p| p.to_string())?;
    }
    let manifests = cnpgtp::render::Renderer::new()
        .render(&loaded.values)
        .map_err(|e| format!("render: {e:#}"))?;
    let mut clusters = Vec::new();
    let mut poolers = Vec::new();
    let mut certificates = Vec::new();
    let mut secrets = Vec::new();
    let mut custom_queries = None;
    let mut databases = Vec::new();
    for manifest in manifests {
        match manifest.object {
            Object::Cluster(c) => clusters.push(*c),
            Object::Database(d) => databases.push(*d),
            Object::Pooler(p) => poolers.push(*p),
            Object::Certificate(c) => certificates.push(*c),
            Object::Secret(s) => secrets.push(*s),
            Object::ConfigMap(c) if c.data.as_ref().is_some_and(|d| d.contains_key("queries")) => {
                custom_queries = Some(cnpgtp::yaml::object_to_string(&c)?);
            }
            _ => {}
        }
    }
    if clusters.len() != 1 {
        return Err(format!("expected one Cluster, rendered {}", clusters.len()));
    }
    let cluster = clusters.remove(0);
    let initdb = cluster
        .spec
        .bootstrap
        .initdb
        .as_ref()
        .expect("an initdb bootstrap");
    let rendered_password = initdb.secret.as_ref().and_then(|secret| {
        let object = secrets
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(secret.name.as_str()))?;
        object
            .string_data
            .as_ref()
            .and_then(|d| d.get("password").cloned())
            .or_else(|| {
                object
                    .data
                    .as_ref()
                    .and_then(|d| d.get("password"))
                    .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            })
    });
    // A placeholder (`<path:...>`) is filled by argocd-vault-plugin at deploy time; the Secret may
    // also live outside the render (existingSecret). Either way a password is chosen here, with a
    // quote in it to exercise quoting.
    let owner_password = match rendered_password {
        Some(p) if !(p.starts_with('<') && p.ends_with('>')) => p,
        _ => format!("{}-it's-a-secret", initdb.owner),
    };
    Ok(Rendered {
        values: loaded.values,
        cluster,
        poolers,
        certificates,
        databases,
        owner_password,
        custom_queries,
    })
}

// ---------------------------------------------------------------------------------------------
// Bring-up, the CloudNativePG way

/// Certificates and keys of one environment.
struct Tls {
    server_ca: CertPair,
    server: CertPair,
    replication: CertPair,
    pooler: Option<CertPair>,
    /// Common name of the pooler certificate: PgBouncer's `auth_user`.
    pooler_user: Option<String>,
    /// The "Teleport db client CA" that signs every Teleport certificate.
    teleport_ca: CertPair,
    read_user: CertPair,
    write_user: CertPair,
    /// CN = the read user, signed by a CA PostgreSQL does not trust.
    read_user_untrusted: CertPair,
    /// CN = streaming_replica, signed by the untrusted CA.
    replication_untrusted: CertPair,
    extra: Vec<(String, CertPair)>,
    bundle: PathBuf,
}

/// One values file brought up.
struct Env {
    instance: Instance,
    tls: Tls,
    /// Rendered pg_hba lines plus CloudNativePG's, as written.
    hba_lines: Vec<String>,
}

const TELEPORT_USAGES: [&str; 3] = ["digital signature", "key encipherment", "client auth"];

fn issue_certificates(instance: &Instance, r: &Rendered) -> Result<Tls, String> {
    let pki = instance.pki()?;
    let server_ca = pki.ca("server-ca", "server CA")?;
    let cluster_ca = pki.ca("cluster-client-ca", "cluster client CA")?;
    let teleport_ca = pki.ca("teleport-db-client-ca", "Teleport db client CA")?;
    let untrusted_ca = pki.ca("untrusted-ca", "untrusted CA")?;
    let certs = &r.cluster.spec.certificates;

    let leaf = |ca: &CertPair, stem: &str, spec: &Certificate, sans: &[String]| {
        let cn = spec
            .spec
            .common_name
            .as_deref()
            .ok_or_else(|| format!("rendered Certificate {stem} has no commonName"))?;
        pki.leaf(ca, stem, &format!("/CN={cn}"), &spec.spec.usages, sans)
            .map(|pair| (pair, cn.to_string()))
    };

    let server_spec = r.certificate(&certs.server_tls_secret)?;
    let mut sans: Vec<String> = server_spec
        .spec
        .dns_names
        .iter()
        .map(|d| format!("DNS:{d}"))
        .collect();
    sans.extend(["DNS:localhost".to_string(), "IP:127.0.0.1".to_string()]);
    let (server, _) = leaf(&server_ca, "server", server_spec, &sans)?;

    let replication_spec = r.certificate(&certs.replication_tls_secret)?;
    let (replication, replication_cn) = leaf(&cluster_ca, "replication", replication_spec, &[])?;
    if replication_cn != "streaming_replica" {
        return Err(format!(
            "the replication certificate's common name is {replication_cn:?}, CloudNativePG needs streaming_replica"
        ));
    }
    let (pooler, pooler_user) = match r.rw_pooler() {
        Some(p) => {
            let spec = r.certificate(&p.spec.pgbouncer.server_tls_secret.name)?;
            let (pair, cn) = leaf(&cluster_ca, "pooler", spec, &[])?;
            (Some(pair), Some(cn))
        }
        None => (None, None),
    };

    let teleport_usages: Vec<String> = TELEPORT_USAGES.iter().map(ToString::to_string).collect();
    // Teleport puts the database user in the CN and the Teleport user in O.
    let teleport = |ca: &CertPair, stem: &str, role: &str| {
        pki.leaf(
            ca,
            stem,
            &format!("/CN={role}/O=alice"),
            &teleport_usages,
            &[],
        )
    };
    let read_user = teleport(&teleport_ca, "read-user", r.read_user())?;
    let write_user = teleport(&teleport_ca, "write-user", r.write_user())?;
    let read_user_untrusted = teleport(&untrusted_ca, "read-user-untrusted", r.read_user())?;
    let replication_untrusted =
        teleport(&untrusted_ca, "replication-untrusted", "streaming_replica")?;
    let mut extra = Vec::new();
    for role in r.extra_certificate_roles() {
        extra.push((
            role.clone(),
            teleport(&teleport_ca, &format!("extra-{role}"), &role)?,
        ));
    }

    // The client-CA bundle (`clientCASecret` ca.crt), built by the same merge the rendered
    // mechanisms use (the sync workload runs this script; the ExternalSecret template produces
    // the same bytes): cluster client CA first, then Teleport's.
    let bundle = instance.dir.join("pki/client-ca-bundle.crt");
    let merged = std::process::Command::new("sh")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/ca-bundle/sync.sh"
        ))
        .arg("bundle")
        .arg(&cluster_ca.cert)
        .arg(&teleport_ca.cert)
        .output()
        .map_err(|e| format!("running scripts/ca-bundle/sync.sh: {e}"))?;
    if !merged.status.success() {
        return Err(format!(
            "sync.sh bundle refused the CAs: {}",
            String::from_utf8_lossy(&merged.stderr)
        ));
    }
    let text = String::from_utf8(merged.stdout).map_err(|e| e.to_string())?;
    pg::write_all(&bundle, &text)?;

    Ok(Tls {
        server_ca,
        server,
        replication,
        pooler,
        pooler_user,
        teleport_ca,
        read_user,
        write_user,
        read_user_untrusted,
        replication_untrusted,
        extra,
        bundle,
    })
}

/// `shared_preload_libraries` CloudNativePG adds when parameters of a managed extension are set.
fn managed_libraries(parameters: &BTreeMap<String, String>) -> Vec<&'static str> {
    let mut libraries = Vec::new();
    for (prefix, library) in [
        ("pg_stat_statements.", "pg_stat_statements"),
        ("auto_explain.", "auto_explain"),
        ("pgaudit.", "pgaudit"),
    ] {
        if parameters.keys().any(|k| k.starts_with(prefix)) {
            libraries.push(library);
        }
    }
    libraries
}

/// Runs one step; the error names it.
fn step<T>(what: &str, result: Result<T, String>) -> Result<T, String> {
    result.map_err(|e| format!("{what}: {e}"))
}

fn bring_up(tools: &'static pg::Tools, r: &Rendered) -> Result<Env, String> {
    let mut instance = Instance::create(tools)?;
    let tls = step("certificates", issue_certificates(&instance, r))?;
    let initdb = r
        .cluster
        .spec
        .bootstrap
        .initdb
        .as_ref()
        .expect("an initdb bootstrap");

    // Locales the machine lacks are compiled, as an image with locales-all would have them.
    let mut locpath = false;
    let extra_locales = r
        .databases
        .iter()
        .flat_map(|d| [&d.spec.locale_collate, &d.spec.locale_c_type]);
    for locale in [&initdb.locale_collate, &initdb.locale_c_type]
        .into_iter()
        .chain(extra_locales)
    {
        locpath |= step(&format!("locale {locale}"), tools.ensure_locale(locale))?;
    }
    if locpath {
        instance.locpath = Some(tools.locale_dir());
    }

    // initdb as CloudNativePG runs it.
    let mut args: Vec<String> = [
        "--username",
        "postgres",
        "--encoding",
        &initdb.encoding,
        "--lc-collate",
        &initdb.locale_collate,
        "--lc-ctype",
        &initdb.locale_c_type,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    if initdb.data_checksums {
        args.push("-k".into());
    }
    // Test-only speed-up (CloudNativePG passes it for temporary instances): no fsync of the new
    // data directory. Nothing the suite proves depends on durability.
    args.push("--no-sync".into());
    step("initdb", instance.initdb(&args))?;

    // Configuration: the user's parameters, then what CloudNativePG fixes.
    let parameters = &r.cluster.spec.postgresql.parameters;
    // Test-only, before the rendered parameters so a rendered value wins: no fsync.
    let mut conf = pg::conf_line("fsync", "off");
    conf.push_str("# rendered spec.postgresql.parameters\n");
    for (key, value) in parameters {
        conf.push_str(&pg::conf_line(key, value));
    }
    conf.push_str("# fixed by CloudNativePG\n");
    let path = |p: &Path| p.display().to_string();
    let libraries = managed_libraries(parameters);
    let fixed = [
        ("listen_addresses", "127.0.0.1".to_string()),
        ("port", instance.port.to_string()),
        ("unix_socket_directories", path(&instance.socket_dir)),
        ("ssl", "on".into()),
        ("ssl_cert_file", path(&tls.server.cert)),
        ("ssl_key_file", path(&tls.server.key)),
        ("ssl_ca_file", path(&tls.bundle)),
        ("ssl_min_protocol_version", "TLSv1.3".into()),
        ("password_encryption", "scram-sha-256".into()),
        ("shared_preload_libraries", libraries.join(",")),
    ];
    for (key, value) in fixed {
        conf.push_str(&pg::conf_line(key, &value));
    }
    step(
        "write custom.conf",
        instance.write_server_file(&instance.data.join("custom.conf"), &conf),
    )?;
    step(
        "include custom.conf",
        std::fs::OpenOptions::new()
            .append(true)
            .open(instance.data.join("postgresql.conf"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"\ninclude 'custom.conf'\n"))
            .map_err(|e| e.to_string()),
    )?;

    // Bootstrap phase: local peer access for the server OS user only.
    let os_user = &tools.runner.os_user;
    let ident_lines = [
        format!("local {os_user} postgres"),
        "cnpg_streaming_replica streaming_replica streaming_replica".to_string(),
        "cnpg_pooler_pgbouncer cnpg_pooler_pgbouncer cnpg_pooler_pgbouncer".to_string(),
        format!("cnpg_metrics_exporter {os_user} cnpg_metrics_exporter"),
    ];
    step(
        "pg_ident.conf",
        instance.write_server_file(
            &instance.data.join("pg_ident.conf"),
            &(ident_lines.join("\n") + "\n"),
        ),
    )?;
    step(
        "bootstrap pg_hba.conf",
        instance.write_server_file(
            &instance.data.join("pg_hba.conf"),
            "local all all peer map=local\n",
        ),
    )?;
    step("start", instance.start())?;

    // ConfigureNewInstance: owner, postInitSQL, postInitTemplateSQL, database, application SQL.
    // Consecutive statements for one database share a session, as CloudNativePG's connection.
    let su = |database: &str, statements: &[&str]| {
        instance
            .superuser_session(database, statements)
            .map_err(|e| format!("in database {database}: {e}"))
    };
    let owner = initdb.owner.as_str();
    let database = initdb.database.as_str();
    let state = su(
        "postgres",
        &[&format!(
            "SELECT (SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = {}) || ' ' || \
             (SELECT count(*) FROM pg_catalog.pg_database WHERE datname = {})",
            literal(owner),
            literal(database)
        )],
    )?;
    let (owner_exists, database_exists) = (state.starts_with('1'), state.ends_with('1'));
    let create_owner = format!("CREATE ROLE {} LOGIN", ident(owner));
    let mut in_postgres: Vec<&str> = Vec::new();
    if !owner_exists {
        in_postgres.push(&create_owner);
    }
    in_postgres.extend(initdb.post_init_sql.iter().map(String::as_str));
    step("create owner, postInitSQL", su("postgres", &in_postgres))?;
    let template: Vec<&str> = initdb
        .post_init_template_sql
        .iter()
        .map(String::as_str)
        .collect();
    step("postInitTemplateSQL", su("template1", &template))?;
    if !database_exists {
        step(
            "create database",
            su(
                "postgres",
                &[&format!(
                    "CREATE DATABASE {} OWNER {}",
                    ident(database),
                    ident(owner)
                )],
            ),
        )?;
    }
    let application: Vec<&str> = initdb
        .post_init_application_sql
        .iter()
        .map(String::as_str)
        .collect();
    step("postInitApplicationSQL", su(database, &application))?;

    // Instance manager: replication user, owner password, managed roles.
    let mut manager = vec![
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'streaming_replica') \
         THEN CREATE USER streaming_replica WITH REPLICATION; END IF; END $$"
            .to_string(),
        format!("ALTER ROLE {} PASSWORD {}", ident(owner), literal(&r.owner_password)),
        // SetupMetricsExporterRole (pkg/management/postgres/metrics_exporter_role.go, v1.30.0):
        // the role the metrics exporter connects as, by peer over the unix socket only.
        format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {}) \
             THEN CREATE ROLE {} WITH LOGIN PASSWORD NULL; END IF; END $$",
            literal(METRICS_EXPORTER),
            ident(METRICS_EXPORTER)
        ),
        format!("GRANT pg_monitor TO {}", ident(METRICS_EXPORTER)),
    ];
    manager.extend(step(
        "managed roles",
        reconcile_roles(&instance, &r.cluster.spec.managed.roles),
    )?);
    // Test-only: a superuser secret the pooler must never hand out.
    manager.push(format!(
        "ALTER ROLE postgres PASSWORD {}",
        literal(SUPERUSER_PASSWORD)
    ));
    let manager: Vec<&str> = manager.iter().map(String::as_str).collect();
    step("instance manager, managed roles", su("postgres", &manager))?;

    // The instance's real pg_hba.conf, then reload.
    let mut hba_lines = vec![
        "local all cnpg_metrics_exporter peer map=cnpg_metrics_exporter".to_string(),
        "local all all peer map=local".to_string(),
        "hostssl postgres streaming_replica all cert map=cnpg_streaming_replica".to_string(),
        "hostssl replication streaming_replica all cert map=cnpg_streaming_replica".to_string(),
        "hostssl all cnpg_pooler_pgbouncer all cert map=cnpg_pooler_pgbouncer".to_string(),
    ];
    hba_lines.extend(r.cluster.spec.postgresql.pg_hba.iter().cloned());
    hba_lines.push("host all all all scram-sha-256".to_string());
    step(
        "pg_hba.conf",
        instance.write_server_file(
            &instance.data.join("pg_hba.conf"),
            &(hba_lines.join("\n") + "\n"),
        ),
    )?;
    let errors = su(
        "postgres",
        &[
            "SELECT coalesce(string_agg('pg_hba.conf line ' || line_number || ': ' || error, '; '), 'none') \
           FROM pg_hba_file_rules WHERE error IS NOT NULL \
           UNION ALL SELECT coalesce(string_agg('pg_ident.conf line ' || line_number || ': ' || error, '; '), 'none') \
           FROM pg_ident_file_mappings WHERE error IS NOT NULL",
        ],
    )?;
    if errors != "none\nnone" {
        return Err(format!(
            "{errors}\n--- pg_hba.conf:\n{}",
            hba_lines.join("\n")
        ));
    }
    su("postgres", &["SELECT pg_reload_conf()"])?;
    // The postmaster handles SIGHUP before it accepts the next connection; a little margin.
    std::thread::sleep(Duration::from_millis(100));
    let log = instance.log_text();
    if log.contains("was not reloaded") || log.contains("could not load pg_hba.conf") {
        return Err(format!("reload failed:\n{log}"));
    }
    Ok(Env {
        instance,
        tls,
        hba_lines,
    })
}

/// The statements CloudNativePG's role reconciler runs for `spec.managed.roles`
/// (`internal/management/controller/roles`): `CREATE ROLE` for a missing role, `ALTER ROLE` for
/// an existing one, each with every attribute spelled out, `COMMENT ON ROLE`, and `GRANT` /
/// `REVOKE` so memberships equal `inRoles`.
fn reconcile_roles(
    instance: &Instance,
    roles: &[RoleConfiguration],
) -> Result<Vec<String>, String> {
    if roles.is_empty() {
        return Ok(Vec::new());
    }
    let names = roles
        .iter()
        .map(|r| literal(&r.name))
        .collect::<Vec<_>>()
        .join(", ");
    // Existing roles and their memberships: `name|member,member`.
    let catalog = instance.superuser(
        "postgres",
        &format!(
            "SELECT u.rolname || '|' || coalesce((SELECT string_agg(g.rolname, ',') FROM pg_auth_members m \
             JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = u.oid), '') \
             FROM pg_roles u WHERE u.rolname IN ({names})"
        ),
    )?;
    let existing: BTreeMap<&str, BTreeSet<&str>> = catalog
        .lines()
        .filter_map(|line| line.split_once('|'))
        .map(|(name, members)| (name, members.split(',').filter(|m| !m.is_empty()).collect()))
        .collect();
    let mut statements = Vec::new();
    for role in roles {
        let name = ident(&role.name);
        let current = existing.get(role.name.as_str());
        if role.ensure == "absent" {
            if current.is_some() {
                statements.push(format!("DROP ROLE {name}"));
            }
            continue;
        }
        let flag = |on: bool, word: &str| {
            if on {
                word.to_string()
            } else {
                format!("NO{word}")
            }
        };
        let mut options = vec![
            flag(role.bypassrls == Some(true), "BYPASSRLS"),
            flag(role.createdb == Some(true), "CREATEDB"),
            flag(role.createrole == Some(true), "CREATEROLE"),
            flag(role.inherit != Some(false), "INHERIT"),
            flag(role.login, "LOGIN"),
            flag(role.replication == Some(true), "REPLICATION"),
            flag(role.superuser == Some(true), "SUPERUSER"),
        ];
        if role.connection_limit > -1 {
            options.push(format!("CONNECTION LIMIT {}", role.connection_limit));
        }
        if role.disable_password == Some(true) {
            options.push("PASSWORD NULL".into());
        } else if role.password_secret.is_some() {
            // The Secret lives outside the render; any password proves the path.
            options.push(format!(
                "PASSWORD {}",
                literal(&format!("{}-password", role.name))
            ));
        } else if current.is_none() {
            options.push("PASSWORD NULL".into());
        }
        let verb = if current.is_some() { "ALTER" } else { "CREATE" };
        statements.push(format!("{verb} ROLE {name} {}", options.join(" ")));
        statements.push(format!(
            "COMMENT ON ROLE {name} IS {}",
            literal(role.comment.as_deref().unwrap_or(""))
        ));
        let empty = BTreeSet::new();
        let current = current.unwrap_or(&empty);
        let wanted: BTreeSet<&str> = role.in_roles.iter().map(String::as_str).collect();
        for grant in wanted.difference(current) {
            statements.push(format!("GRANT {} TO {name}", ident(grant)));
        }
        for revoke in current.difference(&wanted) {
            statements.push(format!("REVOKE {} FROM {name}", ident(revoke)));
        }
    }
    Ok(statements)
}

// ---------------------------------------------------------------------------------------------
// The shared suite: one server per values file

struct Case {
    file: PathBuf,
    /// The PostgreSQL major of the server the case runs on.
    major: u32,
    rendered: Result<Rendered, String>,
    env: Result<Env, String>,
    /// The owner's table, created once (test 2) and used by tests 3 and 4.
    table: OnceLock<Result<(), String>>,
    /// Held for writing while a test changes a role (test 5 gives the read user a password for a
    /// moment), for reading while a test checks role attributes (test 1).
    roles: RwLock<()>,
}

fn values_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["values", "tests/pg-values"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "yaml")
                    && p.file_name().is_some_and(|n| n != "defaults.yaml")
            })
            .collect();
        found.sort();
        files.extend(found);
    }
    files.retain(|file| bootstraps_with_initdb(file));
    files
}

/// Whether the file's Cluster starts from an empty database (`bootstrap.initdb`), as the suite
/// brings it up; clusters restored from a backup or replicating another cluster
/// (`values/restore.yaml`, `values/replica.yaml`) are brought up by `tests/backup.rs`. A file that
/// does not render stays in, so its error is reported.
fn bootstraps_with_initdb(file: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(file) else {
        return true;
    };
    let sources = vec![cnpgtp::values::Source {
        name: file.display().to_string(),
        text,
    }];
    let Ok(loaded) = cnpgtp::values::load(&sources, &[]) else {
        return true;
    };
    let Ok(manifests) = cnpgtp::render::Renderer::new().render(&loaded.values) else {
        return true;
    };
    manifests.into_iter().all(|manifest| match manifest.object {
        Object::Cluster(cluster) => cluster.spec.bootstrap.initdb.is_some(),
        _ => true,
    })
}

/// The majors the suite runs on: every one the machine has (`pg::server_bindirs`); in CI all of
/// 15-18 must be there (`.ci/run` installs them).
const MAJORS: std::ops::RangeInclusive<u32> = 15..=18;

/// The tools of every major the machine has, or why there are none.
fn tools_by_major() -> Result<Vec<(u32, &'static pg::Tools)>, String> {
    // The default discovery first: it says what is missing (psql, openssl, ...) best.
    pg::tools()?;
    let mut found = Vec::new();
    for (major, bindir) in pg::server_bindirs() {
        if MAJORS.contains(&major) {
            found.push((major, pg::tools_in(&bindir)?));
        }
    }
    if std::env::var_os("CI").is_some() {
        let missing: Vec<u32> = MAJORS
            .filter(|m| !found.iter().any(|(f, _)| f == m))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "no server binaries for PostgreSQL {missing:?} (scripts/ci/install-test-tools.sh installs 16-18)"
            ));
        }
    } else if found.len() < MAJORS.count() {
        let have: Vec<u32> = found.iter().map(|(m, _)| *m).collect();
        notice(&format!(
            "LIMITATION: the suite runs on PostgreSQL {have:?} only; `sudo scripts/ci/install-test-tools.sh` adds 16-18"
        ));
    }
    if found.is_empty() {
        return Err("no PostgreSQL 15-18 server binaries".into());
    }
    Ok(found)
}

/// The suite's cases (every values file on every major), or `None` when the tools are missing
/// outside CI (the test then passes after a loud notice).
fn suite() -> Option<&'static [Case]> {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    static TOOLS: OnceLock<Result<Vec<(u32, &'static pg::Tools)>, String>> = OnceLock::new();
    let majors = match TOOLS.get_or_init(tools_by_major) {
        Ok(majors) => majors,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set, and the PostgreSQL integration tests cannot run: {why}"
            );
            notice(&format!(
                "SKIPPED: tests/postgres.rs needs PostgreSQL server binaries, psql and openssl.\n!! {why}\n!! Set CI=1 to make this a failure."
            ));
            return None;
        }
    };
    Some(CASES.get_or_init(|| {
        let files = values_files();
        std::thread::scope(|scope| {
            let handles: Vec<_> = majors
                .iter()
                .flat_map(|(major, tools)| {
                    files.iter().map(move |file| (*major, *tools, file.clone()))
                })
                .map(|(major, tools, file)| {
                    scope.spawn(move || {
                        let rendered = render(&file, Some(major));
                        let env = match &rendered {
                            Ok(r) => bring_up(tools, r),
                            Err(_) => Err("the values file does not render".into()),
                        };
                        Case {
                            file,
                            major,
                            rendered,
                            env,
                            table: OnceLock::new(),
                            roles: RwLock::new(()),
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a bring-up thread panicked"))
                .collect()
        })
    }))
}

/// Writes a notice straight to stderr, once per text: libtest only captures `eprintln!`, so a
/// skip or a limitation is visible in a normal `cargo test` run.
fn notice(text: &str) {
    static SHOWN: std::sync::Mutex<BTreeSet<String>> = std::sync::Mutex::new(BTreeSet::new());
    let mut shown = SHOWN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if shown.insert(text.to_string()) {
        let bar = "!".repeat(96);
        let _ = writeln!(std::io::stderr(), "\n{bar}\n!! {text}\n{bar}");
    }
}

/// Runs `check` for every values file and fails with every file's problem at once.
fn for_each_case(what: &str, check: impl Fn(&Case, &Rendered, &Env) -> Result<(), String>) {
    let Some(cases) = suite() else { return };
    assert!(!cases.is_empty(), "no values files found");
    let mut failures = Vec::new();
    for case in cases {
        let result = match (&case.rendered, &case.env) {
            (Err(e), _) => Err(format!("does not render: {e}")),
            (Ok(_), Err(e)) => Err(format!("bring-up failed: {e}")),
            (Ok(r), Ok(env)) => check(case, r, env),
        };
        if let Err(e) = result {
            failures.push(format!(
                "== {} on PostgreSQL {}:\n{e}",
                case.file.display(),
                case.major
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{what}: failed for {} of {} cases (values file x PostgreSQL major)\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Client connections

fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}")
}

/// How a client connects.
struct Login<'a> {
    user: &'a str,
    database: &'a str,
    cert: Option<&'a CertPair>,
    password: Option<&'a str>,
    sslmode: &'a str,
    port: Option<u16>,
    extra: &'a [(&'a str, &'a str)],
}

impl<'a> Login<'a> {
    fn new(user: &'a str, database: &'a str) -> Self {
        Self {
            user,
            database,
            cert: None,
            password: None,
            sslmode: "verify-full",
            port: None,
            extra: &[],
        }
    }
    fn cert(mut self, cert: &'a CertPair) -> Self {
        self.cert = Some(cert);
        self
    }
    fn password(mut self, password: &'a str) -> Self {
        self.password = Some(password);
        self
    }
    fn sslmode(mut self, mode: &'a str) -> Self {
        self.sslmode = mode;
        self
    }
    fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
    fn extra(mut self, extra: &'a [(&'a str, &'a str)]) -> Self {
        self.extra = extra;
        self
    }

    /// Runs the statements in one session (stops at the first error).
    fn run(&self, env: &Env, commands: &[&str]) -> Outcome {
        let home = &env.instance.client_home;
        let (cert, key) = match self.cert {
            Some(pair) => (pair.cert.clone(), pair.key.clone()),
            // Files that do not exist: libpq then sends no certificate.
            None => (home.join("no-client.crt"), home.join("no-client.key")),
        };
        let mut params: Vec<(&str, String)> = vec![
            ("host", "localhost".into()),
            ("hostaddr", "127.0.0.1".into()),
            ("port", self.port.unwrap_or(env.instance.port).to_string()),
            ("user", self.user.into()),
            ("dbname", self.database.into()),
            ("sslmode", self.sslmode.into()),
            ("sslrootcert", env.tls.server_ca.cert.display().to_string()),
            ("sslcert", cert.display().to_string()),
            ("sslkey", key.display().to_string()),
            ("application_name", "cnpgtp-tests".into()),
        ];
        for (k, v) in self.extra {
            params.push((k, (*v).to_string()));
        }
        env.instance.client(&params, self.password, commands)
    }
}

/// The connection must fail at login (not for want of a server).
fn refused(outcome: &Outcome, what: &str) -> Result<(), String> {
    if outcome.ok {
        return Err(format!("{what}: was let in ({})", outcome.what));
    }
    if outcome.stderr.contains("Connection refused") || outcome.stderr.contains("timeout expired") {
        return Err(format!(
            "{what}: the server was not reached: {}",
            outcome.stderr
        ));
    }
    Ok(())
}

/// The statement must fail with "permission denied".
fn permission_denied(outcome: &Outcome, what: &str) -> Result<(), String> {
    if outcome.ok {
        return Err(format!("{what}: succeeded ({})", outcome.what));
    }
    if !outcome.stderr.contains("permission denied") {
        return Err(format!(
            "{what}: failed, but not for lack of privileges: {}",
            outcome.stderr.trim()
        ));
    }
    Ok(())
}

/// Creates the owner's table once per environment (test 2 asserts this step; 3 and 4 need it).
fn owner_table(case: &Case, r: &Rendered, env: &Env) -> Result<(), String> {
    case.table
        .get_or_init(|| {
            let values: Vec<String> = SEED_ROWS.iter().map(|s| format!("({})", literal(s))).collect();
            Login::new(r.owner(), r.database())
                .password(&r.owner_password)
                .run(
                    env,
                    &[
                        &format!(
                            "CREATE TABLE {TABLE} (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text NOT NULL)"
                        ),
                        &format!("INSERT INTO {TABLE} (note) VALUES {}", values.join(", ")),
                    ],
                )
                .result()
                .map(|_| ())
                .map_err(|e| format!("the owner could not create and fill {TABLE}: {e}"))
        })
        .clone()
}

fn seed_count(r: &Rendered, env: &Env) -> Result<String, String> {
    Login::new(r.owner(), r.database())
        .password(&r.owner_password)
        .run(
            env,
            &[&format!(
                "SELECT count(*) FROM {TABLE} WHERE note LIKE 'seed-%'"
            )],
        )
        .result()
}

// ---------------------------------------------------------------------------------------------
// 1. Bootstrap

/// initdb, bootstrap SQL, managed roles and pg_hba run without an error, and leave what was
/// rendered: database, owner, encoding and locales, checksums, roles with their login,
/// connection limit, password and memberships, the read user's read-only default, parameters
/// read from `custom.conf`, and every pg_hba line loaded.
#[test]
fn bootstrap_like_cloudnativepg_runs_without_errors() {
    for_each_case("bootstrap", |case, r, env| {
        let _roles = case
            .roles
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let initdb = r
            .cluster
            .spec
            .bootstrap
            .initdb
            .as_ref()
            .expect("an initdb bootstrap");
        // (what, query returning exactly one value, wanted value); run in one session.
        let mut checks: Vec<(String, String, String)> = vec![
            (
                "database owner, encoding, collate, ctype".into(),
                format!(
                    "SELECT coalesce((SELECT pg_get_userbyid(datdba) || ' ' || pg_encoding_to_char(encoding) || ' ' \
                     || datcollate || ' ' || datctype FROM pg_database WHERE datname = {}), 'no database')",
                    literal(r.database())
                ),
                format!(
                    "{} {} {} {}",
                    initdb.owner, initdb.encoding, initdb.locale_collate, initdb.locale_c_type
                ),
            ),
            (
                "data_checksums".into(),
                "SELECT current_setting('data_checksums')".into(),
                // CloudNativePG passes `-k` only (pkg/specs/jobs.go at v1.30.0), never
                // `--no-data-checksums`: from PostgreSQL 18, whose initdb enables checksums by
                // default, they are on either way (cnpgtp warns about `dataChecksums: false`).
                if initdb.data_checksums || case.major >= 18 { "on" } else { "off" }.into(),
            ),
            (
                "owner can log in and has a SCRAM password".into(),
                format!(
                    "SELECT coalesce((SELECT rolcanlogin || ' ' || left(rolpassword, 13) FROM pg_authid WHERE rolname = {}), 'no role')",
                    literal(r.owner())
                ),
                "true SCRAM-SHA-256".into(),
            ),
            (
                "pg_hba rules loaded from the file, without errors".into(),
                "SELECT count(*) FILTER (WHERE error IS NULL) || ' ' || count(*) FROM pg_hba_file_rules".into(),
                format!("{0} {0}", env.hba_lines.len()),
            ),
        ];
        if !r.auto_users() {
            checks.push((
                    "read user's default_transaction_read_only".into(),
                    format!(
                        "SELECT coalesce((SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s \
                         JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = {} AND s.setdatabase = 0), 'none')",
                        literal(r.read_user())
                    ),
                    "default_transaction_read_only=on".into(),
                ));
        }
        for role in &r.cluster.spec.managed.roles {
            let password = if role.disable_password == Some(true) || role.password_secret.is_none()
            {
                "null"
            } else {
                "set"
            };
            checks.push((
                format!("managed role {} (login, inherit, connection limit, password)", role.name),
                format!(
                    "SELECT coalesce((SELECT rolcanlogin || ' ' || rolinherit || ' ' || rolconnlimit || ' ' || \
                     CASE WHEN rolpassword IS NULL THEN 'null' ELSE 'set' END FROM pg_authid WHERE rolname = {}), 'no role')",
                    literal(&role.name)
                ),
                format!(
                    "{} {} {} {password}",
                    role.login,
                    role.inherit != Some(false),
                    role.connection_limit
                ),
            ));
            let mut wanted = role.in_roles.clone();
            wanted.sort();
            checks.push((
                format!("memberships of {}", role.name),
                format!(
                    "SELECT coalesce(string_agg(g.rolname, ',' ORDER BY g.rolname), '') FROM pg_auth_members m \
                     JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = {}",
                    literal(&role.name)
                ),
                wanted.join(","),
            ));
        }
        for name in r.cluster.spec.postgresql.parameters.keys() {
            // A placeholder parameter of a library that is not loaded is not in pg_settings.
            checks.push((
                format!("parameter {name} is read from custom.conf"),
                format!(
                    "SELECT coalesce((SELECT (sourcefile LIKE '%/custom.conf')::text FROM pg_settings WHERE name = {0}), \
                     CASE WHEN current_setting({0}, true) IS NULL THEN 'missing' ELSE 'true' END)",
                    literal(name)
                ),
                "true".into(),
            ));
        }
        let queries: Vec<&str> = checks.iter().map(|(_, q, _)| q.as_str()).collect();
        let out = env.instance.superuser_session("postgres", &queries)?;
        let got: Vec<&str> = out.lines().collect();
        if got.len() != checks.len() {
            return Err(format!("expected {} answers, got:\n{out}", checks.len()));
        }
        let problems: Vec<String> = checks
            .iter()
            .zip(got)
            .filter(|((_, _, want), got)| want != got)
            .map(|((what, _, want), got)| format!("{what}: got {got:?}, want {want:?}"))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    });
}

// ---------------------------------------------------------------------------------------------
// 2. Owner

/// The owner logs in with its password over TLS, verifying the server certificate and host name
/// (`sslmode=verify-full`, host `localhost`), creates a table after bootstrap and fills it; a
/// wrong password is refused.
#[test]
fn owner_logs_in_with_password_over_verified_tls_and_creates_a_table() {
    for_each_case("owner", |case, r, env| {
        owner_table(case, r, env)?;
        let owner = Login::new(r.owner(), r.database()).password(&r.owner_password);
        let out = owner
            .run(
                env,
                &[&format!(
                    "SELECT current_user, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), \
                     (SELECT tableowner FROM pg_tables WHERE schemaname || '.' || tablename = '{TABLE}')"
                )],
            )
            .result()?;
        let want = format!("{}|t|{}", r.owner(), r.owner());
        if out != want {
            return Err(format!("owner session: got {out:?}, want {want:?}"));
        }
        let count = seed_count(r, env)?;
        if count != SEED_ROWS.len().to_string() {
            return Err(format!("the owner's table has {count} seed rows"));
        }
        refused(
            &Login::new(r.owner(), r.database())
                .password("not-the-password")
                .run(env, &["SELECT 1"]),
            "owner with a wrong password",
        )
    });
}

// ---------------------------------------------------------------------------------------------
// 3. Teleport read user

/// The Teleport read user, with a client certificate from the Teleport CA and
/// `sslmode=verify-full`, reads the owner's table. It cannot INSERT, UPDATE, DELETE or CREATE
/// TABLE: not in its default read-only transactions, and not after `SET
/// default_transaction_read_only = off` either (then it is "permission denied": privileges stop
/// it, not just the read-only default).
#[test]
fn teleport_read_user_reads_with_its_certificate_but_cannot_write_or_create() {
    for_each_case("read user", |case, r, env| {
        if r.auto_users() {
            // No static users: `teleport_auto_users_*` proves this model.
            return Ok(());
        }
        owner_table(case, r, env)?;
        let reader = Login::new(r.read_user(), r.database()).cert(&env.tls.read_user);
        let out = reader
            .run(
                env,
                &[&format!(
                    "SELECT current_user, current_setting('default_transaction_read_only'), \
                     (SELECT ssl || ' ' || client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()), \
                     (SELECT string_agg(note, ',' ORDER BY note) FROM {TABLE} WHERE note LIKE 'seed-%')"
                )],
            )
            .result()?;
        let want = format!(
            "{}|on|true /CN={}/O=alice|{}",
            r.read_user(),
            r.read_user(),
            SEED_ROWS.join(",")
        );
        if out != want {
            return Err(format!("read session: got {out:?}, want {want:?}"));
        }
        let forbidden = [
            (
                "INSERT",
                format!("INSERT INTO {TABLE} (note) VALUES ('read-user-was-here')"),
            ),
            (
                "UPDATE",
                format!("UPDATE {TABLE} SET note = 'read-user-was-here' WHERE note = 'seed-1'"),
            ),
            (
                "DELETE",
                format!("DELETE FROM {TABLE} WHERE note = 'seed-2'"),
            ),
            (
                "CREATE TABLE",
                "CREATE TABLE public.read_user_table (x int)".to_string(),
            ),
            (
                "CREATE TABLE (search_path)",
                "CREATE TABLE read_user_table (x int)".to_string(),
            ),
        ];
        let mut problems = Vec::new();
        for (what, sql) in &forbidden {
            let default = reader.run(env, &[sql]);
            if default.ok {
                problems.push(format!(
                    "{what} succeeded in the read user's default session"
                ));
            }
            if let Err(e) = permission_denied(
                &reader.run(env, &["SET default_transaction_read_only = off", sql]),
                &format!("{what} after SET default_transaction_read_only = off"),
            ) {
                problems.push(e);
            }
        }
        match seed_count(r, env) {
            Ok(n) if n == SEED_ROWS.len().to_string() => {}
            Ok(n) => problems.push(format!("the seed rows changed: {n} left")),
            Err(e) => problems.push(e),
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    });
}

// ---------------------------------------------------------------------------------------------
// 4. Teleport write user

/// The Teleport write user, with its Teleport-CA certificate and `sslmode=verify-full`, inserts,
/// updates and deletes rows of the owner's table (`pg_write_all_data` covers tables created after
/// bootstrap), and cannot create tables (DML, no DDL).
#[test]
fn teleport_write_user_writes_with_its_certificate() {
    for_each_case("write user", |case, r, env| {
        if r.auto_users() {
            // No static users: `teleport_auto_users_*` proves this model.
            return Ok(());
        }
        owner_table(case, r, env)?;
        let writer = Login::new(r.write_user(), r.database()).cert(&env.tls.write_user);
        let note = format!("write-{}", unique());
        let out = writer
            .run(
                env,
                &[
                    &format!("INSERT INTO {TABLE} (note) VALUES ({})", literal(&note)),
                    &format!(
                        "UPDATE {TABLE} SET note = {} WHERE note = {}",
                        literal(&format!("{note}-updated")),
                        literal(&note)
                    ),
                    &format!(
                        "SELECT count(*) FROM {TABLE} WHERE note = {}",
                        literal(&format!("{note}-updated"))
                    ),
                    &format!(
                        "DELETE FROM {TABLE} WHERE note LIKE {}",
                        literal(&format!("{note}%"))
                    ),
                    &format!(
                        "SELECT count(*) FROM {TABLE} WHERE note LIKE {}",
                        literal(&format!("{note}%"))
                    ),
                    "SELECT current_user, current_setting('default_transaction_read_only')",
                ],
            )
            .result()?;
        let want = format!("1\n0\n{}|off", r.write_user());
        if out != want {
            return Err(format!("write session: got {out:?}, want {want:?}"));
        }
        permission_denied(
            &writer.run(env, &["CREATE TABLE public.write_user_table (x int)"]),
            "CREATE TABLE by the write user",
        )
    });
}

// ---------------------------------------------------------------------------------------------
// 5. Refusals

/// The read user is refused with a certificate (right CN) from a CA PostgreSQL does not trust,
/// and without a certificate: with no password, and with a password even after one is set on the
/// role (over TLS the `hostssl ... cert` rule demands a certificate; without TLS the rendered
/// `host all <role> all reject` rule stops it before the catch-all password rule). A valid
/// certificate does not open other databases either.
#[test]
fn teleport_read_user_is_refused_without_a_trusted_certificate() {
    for_each_case("refusals", |case, r, env| {
        if r.auto_users() {
            // No static users: `teleport_auto_users_*` proves this model.
            return Ok(());
        }
        let read = r.read_user();
        let db = r.database();
        // Control: the same connection with the real certificate works.
        Login::new(read, db)
            .cert(&env.tls.read_user)
            .run(env, &["SELECT 1"])
            .result()?;
        let mut problems = Vec::new();
        let mut check = |result: Result<(), String>| {
            if let Err(e) = result {
                problems.push(e);
            }
        };
        check(refused(
            &Login::new(read, db)
                .cert(&env.tls.read_user_untrusted)
                .run(env, &["SELECT 1"]),
            "read user with a certificate from an untrusted CA",
        ));
        check(refused(
            &Login::new(read, db).run(env, &["SELECT 1"]),
            "read user without certificate or password",
        ));
        check(refused(
            &Login::new(read, "postgres")
                .cert(&env.tls.read_user)
                .run(env, &["SELECT 1"]),
            "read user with its certificate in database postgres",
        ));
        // Give the role a password (drift CloudNativePG would revert) and try it.
        let password = "read-user-password";
        let set = |value: &str| {
            env.instance.superuser(
                "postgres",
                &format!("ALTER ROLE {} PASSWORD {value}", ident(read)),
            )
        };
        let roles = case
            .roles
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        set(&literal(password))?;
        let with_tls = Login::new(read, db)
            .password(password)
            .run(env, &["SELECT 1"]);
        let without_tls = Login::new(read, db)
            .password(password)
            .sslmode("disable")
            .run(env, &["SELECT 1"]);
        set("NULL")?;
        drop(roles);
        check(refused(&with_tls, "read user with a password over TLS"));
        check(refused(
            &without_tls,
            "read user with a password without TLS",
        ));
        if !without_tls
            .stderr
            .contains("pg_hba.conf rejects connection")
        {
            problems.push(format!(
                "read user without TLS: expected the pg_hba reject rule, got: {}",
                without_tls.stderr.trim()
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    });
}

// ---------------------------------------------------------------------------------------------
// 6. Replication

/// `streaming_replica` with the replication certificate (cluster client CA) is admitted to
/// database `postgres` and for physical (`replication=true`) and logical
/// (`replication=database`) replication connections; with a certificate from an untrusted CA,
/// or none, it is refused.
#[test]
fn streaming_replica_logs_in_with_cluster_client_ca_certificate() {
    for_each_case("streaming_replica", |_, _, env| {
        let replica = || Login::new("streaming_replica", "postgres");
        let out = replica()
            .cert(&env.tls.replication)
            .run(
                env,
                &["SELECT current_user, rolreplication FROM pg_roles WHERE rolname = current_user"],
            )
            .result()?;
        if out != "streaming_replica|t" {
            return Err(format!("streaming_replica session: {out:?}"));
        }
        for mode in ["true", "database"] {
            let extra = [("replication", mode)];
            let out = replica()
                .cert(&env.tls.replication)
                .extra(&extra)
                .run(env, &["IDENTIFY_SYSTEM"])
                .result()
                .map_err(|e| format!("replication={mode}: {e}"))?;
            if out
                .split('|')
                .next()
                .is_none_or(|id| id.parse::<u64>().is_err())
            {
                return Err(format!(
                    "replication={mode}: IDENTIFY_SYSTEM returned {out:?}"
                ));
            }
        }
        refused(
            &replica()
                .cert(&env.tls.replication_untrusted)
                .run(env, &["SELECT 1"]),
            "streaming_replica with a certificate from an untrusted CA",
        )?;
        refused(
            &replica().run(env, &["SELECT 1"]),
            "streaming_replica without a certificate",
        )
    });
}

// ---------------------------------------------------------------------------------------------
// 7. Pooler

/// `cnpg_pooler_pgbouncer`, with the pooler certificate (cluster client CA) in database
/// `postgres`, runs the rendered Pooler `authQuery` (prepared, with the user name as `$1`, as
/// PgBouncer runs it; this is the query PgBouncer >= 1.19 runs with CloudNativePG's
/// `auth_dbname = postgres`) and gets the owner's SCRAM secret, no row for the superuser
/// `postgres` (which has a password), and cannot read `pg_shadow` itself.
#[test]
fn pooler_auth_query_returns_owner_scram_secret_but_no_superuser_secret() {
    let Some(cases) = suite() else { return };
    assert!(
        cases
            .iter()
            .any(|c| c.rendered.as_ref().is_ok_and(|r| r.rw_pooler().is_some())),
        "no values file renders a Pooler"
    );
    for_each_case("pooler auth query", |_, r, env| {
        let Some(pooler) = r.rw_pooler() else {
            eprintln!("note: no Pooler rendered, nothing to check");
            return Ok(());
        };
        let (Some(cert), Some(auth_user)) = (&env.tls.pooler, &env.tls.pooler_user) else {
            return Err("no pooler certificate".into());
        };
        let auth = |commands: &[&str]| {
            Login::new(auth_user, "postgres")
                .cert(cert)
                .run(env, commands)
        };
        let query = &pooler.spec.pgbouncer.auth_query;
        let out = auth(&[
            &format!("PREPARE auth_query(text) AS {query}"),
            &format!("EXECUTE auth_query({})", literal(r.owner())),
            "EXECUTE auth_query('postgres')",
            "SELECT 'end'",
        ])
        .result()?;
        let lines: Vec<&str> = out.lines().collect();
        let owner_row = format!("{}|SCRAM-SHA-256$", r.owner());
        if lines.len() != 2 || !lines[0].starts_with(&owner_row) || lines[1] != "end" {
            return Err(format!(
                "authQuery {query:?}: want one row `{owner_row}...` for the owner and none for postgres, got:\n{out}"
            ));
        }
        permission_denied(
            &auth(&["SELECT count(*) FROM pg_shadow"]),
            "reading pg_shadow directly",
        )
    });
}

/// Rendered Pooler parameters the installed PgBouncer does not know (it is older than the one in
/// CloudNativePG's image) are left out, and said so; everything else is as CloudNativePG writes.
fn start_pgbouncer(
    env: &Env,
    r: &Rendered,
    pooler: &Pooler,
    binary: &Path,
    version: (u32, u32),
) -> Result<(pg::PgBouncer, Vec<String>), String> {
    let tls = &env.tls;
    let (Some(cert), Some(auth_user)) = (&tls.pooler, &tls.pooler_user) else {
        return Err("no pooler certificate".into());
    };
    let spec = &pooler.spec.pgbouncer;
    let path = |p: &Path| p.display().to_string();
    // buildPgBouncerParameters: user parameters, CloudNativePG defaults under them, forced above.
    let mut parameters: BTreeMap<String, String> = spec
        .parameters
        .iter()
        .map(|(k, v)| (k.clone(), v.replace(['\r', '\n'], "")))
        .collect();
    for (key, default) in [
        ("log_stats", "0"),
        ("auth_type", "hba"),
        ("client_tls_sslmode", "prefer"),
        ("server_tls_sslmode", "verify-ca"),
        ("ignore_startup_parameters", "extra_float_digits,options"),
    ] {
        match parameters.get_mut(key) {
            Some(user) if key == "ignore_startup_parameters" => *user = format!("{default},{user}"),
            Some(_) => {}
            None => {
                parameters.insert(key.into(), default.into());
            }
        }
    }
    for (key, value) in [
        ("admin_users", "pgbouncer".to_string()),
        ("server_tls_ca_file", path(&tls.server_ca.cert)),
        ("client_tls_cert_file", path(&tls.server.cert)),
        ("client_tls_key_file", path(&tls.server.key)),
        ("client_tls_ca_file", path(&tls.bundle)),
        ("server_tls_cert_file", path(&cert.cert)),
        ("server_tls_key_file", path(&cert.key)),
    ] {
        parameters.insert(key.into(), value);
    }
    // Set by PgBouncer::start (listen address, port, socket dir, hba file).
    for key in [
        "listen_addr",
        "listen_port",
        "unix_socket_dir",
        "auth_hba_file",
    ] {
        parameters.remove(key);
    }
    let mut head = vec![
        ("pool_mode".to_string(), spec.pool_mode.clone()),
        ("auth_user".to_string(), auth_user.clone()),
        ("auth_query".to_string(), spec.auth_query.clone()),
    ];
    if version >= (1, 19) {
        head.push(("auth_dbname".into(), "postgres".into()));
    }
    let databases = format!("* = host=127.0.0.1 port={}", env.instance.port);
    let hba =
        "local pgbouncer pgbouncer peer\n\nhost all all 0.0.0.0/0 md5\nhost all all ::/0 md5\n";
    let mut dropped = Vec::new();
    loop {
        let all: Vec<(String, String)> = head.iter().cloned().chain(parameters.clone()).collect();
        match pg::PgBouncer::start(&env.instance, binary, &databases, &all, hba) {
            Ok(bouncer) => return Ok((bouncer, dropped)),
            Err(e) => {
                let unknown = e
                    .split("unknown parameter: pgbouncer/")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_string);
                match unknown {
                    Some(key) if spec.parameters.contains_key(&key) && dropped.len() < 10 => {
                        parameters.remove(&key);
                        dropped.push(key);
                    }
                    _ => return Err(format!("PgBouncer for {}: {e}", r.database())),
                }
            }
        }
    }
}

/// A real PgBouncer configured as the rendered Pooler asks (see the module doc) lets the owner
/// log in with its password (client TLS verified against the server CA) and run a query; the
/// server connection is TLS with the pooler certificate; a wrong password is refused.
///
/// Database: with PgBouncer >= 1.19 (`auth_dbname = postgres`, what CloudNativePG configures)
/// the owner logs in to the application database. PgBouncer 1.18 (Debian 12) has no
/// `auth_dbname` and runs `auth_query` in the database the client asked for, where the lookup
/// function `public.user_search` does not exist (the bootstrap SQL creates it in `postgres`
/// only, as CloudNativePG's own integration does). With 1.18 the test logs in to database
/// `postgres` through PgBouncer, which runs the auth query exactly where >= 1.19 would, and it
/// checks that the application database fails for that reason only (or works).
#[test]
fn pgbouncer_configured_like_the_rendered_pooler_lets_the_owner_in() {
    let Some(tools) = suite().and_then(|_| pg::tools().ok()) else {
        return;
    };
    let Some((binary, version, version_text)) = &tools.pgbouncer else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set and pgbouncer is not installed"
        );
        notice(
            "SKIPPED: the PgBouncer test needs a pgbouncer binary (Debian package pgbouncer); set CI=1 to fail instead",
        );
        return;
    };
    let has_auth_dbname = *version >= (1, 19);
    assert!(
        has_auth_dbname || std::env::var_os("CI").is_none(),
        "CI is set and {version_text} has no auth_dbname, which every CloudNativePG Pooler sets: \
         set CNPGTP_PGBOUNCER to a PgBouncer >= 1.19 (.ci/run builds 1.24 with ../shared/tools/get-pgbouncer.sh)"
    );
    if !has_auth_dbname {
        notice(&format!(
            "LIMITATION: {version_text} has no auth_dbname (PgBouncer >= 1.19; CloudNativePG's image has 1.25), so\n\
             !! owner logins through PgBouncer are tested in database postgres, where the auth query runs as with\n\
             !! auth_dbname = postgres; the application database needs PgBouncer >= 1.19 (see the test's doc)."
        ));
    }
    for_each_case("PgBouncer", |_, r, env| {
        let Some(pooler) = r.rw_pooler() else {
            return Ok(());
        };
        let (bouncer, dropped) = start_pgbouncer(env, r, pooler, binary, *version)?;
        // CloudNativePG runs PgBouncer 1.25: every rendered parameter must be one 1.24 knows.
        if !dropped.is_empty() && *version >= (1, 24) {
            return Err(format!(
                "{version_text} refuses rendered Pooler parameter(s) {dropped:?}"
            ));
        }
        if !dropped.is_empty() {
            eprintln!(
                "note: {}: {version_text} does not know rendered Pooler parameter(s) {dropped:?}; left out",
                r.database()
            );
        }
        let via = |database: &'static str| {
            let database = if database.is_empty() {
                r.database()
            } else {
                database
            };
            Login::new(r.owner(), database)
                .password(&r.owner_password)
                .port(bouncer.port)
        };
        let database = if has_auth_dbname { "" } else { "postgres" };
        let out = via(database)
            .run(
                env,
                &["SELECT current_user, current_database(), \
                   (SELECT ssl || ' ' || client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid())"],
            )
            .result()
            .map_err(|e| format!("{e}\n--- pgbouncer log:\n{}", bouncer.log_text()))?;
        let auth_user = env.tls.pooler_user.as_deref().unwrap_or_default();
        let want_db = if has_auth_dbname {
            r.database()
        } else {
            "postgres"
        };
        let want = format!("{}|{want_db}|true /CN={auth_user}", r.owner());
        if out != want {
            return Err(format!("through PgBouncer: got {out:?}, want {want:?}"));
        }
        refused(
            &Login::new(r.owner(), want_db)
                .password("not-the-password")
                .port(bouncer.port)
                .run(env, &["SELECT 1"]),
            "owner with a wrong password through PgBouncer",
        )?;
        if !has_auth_dbname {
            // PgBouncer only logs "error response from auth_query"; the same query, run as the
            // auth user in the application database, shows why.
            let app = via("").run(env, &["SELECT current_database()"]);
            if !app.ok {
                let log = bouncer.log_text();
                let direct = Login::new(auth_user, r.database())
                    .cert(env.tls.pooler.as_ref().ok_or("no pooler certificate")?)
                    .run(
                        env,
                        &[
                            &format!(
                                "PREPARE auth_query(text) AS {}",
                                pooler.spec.pgbouncer.auth_query
                            ),
                            &format!("EXECUTE auth_query({})", literal(r.owner())),
                        ],
                    );
                if !(log.contains("error response from auth_query")
                    && !direct.ok
                    && direct.stderr.contains("does not exist"))
                {
                    return Err(format!(
                        "PgBouncer 1.18 into {}: failed for another reason than the missing auth_dbname: {}\n\
                         --- auth query in {0}: {}\n--- pgbouncer log:\n{log}",
                        r.database(),
                        app.stderr.trim(),
                        direct.stderr.trim()
                    ));
                }
                eprintln!(
                    "note: {}: as expected with {version_text}, logging in to {0} through PgBouncer fails: \
                     auth_query runs in {0}, where {}",
                    r.database(),
                    direct.stderr.lines().next().unwrap_or("").trim()
                );
            }
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// 8. Coverage

/// At least three values files with different database names, owners and Teleport role names
/// are brought up (every test above runs for each of them), and each server has exactly those
/// names; an extra role admitted by certificate (`roles[].certificateLogin`) logs in with one.
#[test]
fn at_least_three_values_files_with_distinct_names_are_covered() {
    let Some(cases) = suite() else { return };
    let rendered: Vec<&Rendered> = cases
        .iter()
        .filter_map(|c| c.rendered.as_ref().ok())
        .collect();
    let distinct =
        |f: fn(&Rendered) -> &str| rendered.iter().map(|r| f(r)).collect::<BTreeSet<_>>().len();
    let combos: BTreeSet<(&str, &str, &str, &str)> = rendered
        .iter()
        .map(|r| (r.database(), r.owner(), r.read_user(), r.write_user()))
        .collect();
    eprintln!("values files covered (database, owner, read user, write user):");
    for case in cases {
        match &case.rendered {
            Ok(r) => eprintln!(
                "  {}: {} / {} / {} / {}",
                case.file.display(),
                r.database(),
                r.owner(),
                r.read_user(),
                r.write_user()
            ),
            Err(e) => eprintln!("  {}: does not render: {e}", case.file.display()),
        }
    }
    assert!(
        combos.len() >= 3
            && distinct(Rendered::database) >= 3
            && distinct(Rendered::owner) >= 3
            && distinct(Rendered::read_user) >= 3
            && distinct(Rendered::write_user) >= 3,
        "need at least three values files with different database names, owners and Teleport users"
    );
    for_each_case("names", |_, r, env| {
        let names: Vec<&str> = if r.auto_users() {
            vec![r.owner()]
        } else {
            vec![r.owner(), r.read_user(), r.write_user()]
        };
        let list = names
            .iter()
            .map(|n| literal(n))
            .collect::<Vec<_>>()
            .join(", ");
        let out = env.instance.superuser(
            "postgres",
            &format!(
                "SELECT (SELECT count(*) FROM pg_roles WHERE rolname IN ({list})) || ' ' || \
                 (SELECT count(*) FROM pg_database WHERE datname = {})",
                literal(r.database())
            ),
        )?;
        if out != format!("{} 1", names.len()) {
            return Err(format!("roles/database not all present: {out}"));
        }
        for (role, cert) in &env.tls.extra {
            Login::new(role, r.database())
                .cert(cert)
                .run(env, &["SELECT 1"])
                .result()
                .map_err(|e| format!("extra certificate role {role}: {e}"))?;
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// 9. Locales vs image

/// CloudNativePG runs initdb inside the rendered image. The `minimal` images are Debian slim plus
/// PostgreSQL: only the C, POSIX and C.UTF-8 locales; `standard` adds `locales-all`
/// (postgres-containers Dockerfile). A rendered initdb locale outside that set makes the
/// bootstrap fail with "invalid locale name" in the cluster (the bring-up above compiles the
/// locale, so this is checked separately).
#[test]
fn rendered_locales_exist_in_the_rendered_image() {
    // Needs no server: runs wherever the suite is compiled.
    let mut failures = Vec::new();
    for file in values_files() {
        let r = match render(&file, None) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: does not render: {e}", file.display()));
                continue;
            }
        };
        let image = r.image();
        let tag = image.rsplit_once(':').map_or("", |(_, t)| t);
        if !tag.contains("-minimal-") {
            continue;
        }
        let initdb = r
            .cluster
            .spec
            .bootstrap
            .initdb
            .as_ref()
            .expect("an initdb bootstrap");
        // initdb's, and those CREATE DATABASE gets for each extra database.
        let mut locales = vec![
            ("initdb.localeCollate".to_string(), &initdb.locale_collate),
            ("initdb.localeCType".to_string(), &initdb.locale_c_type),
        ];
        for d in &r.databases {
            locales.push((
                format!("Database {}: localeCollate", d.spec.name),
                &d.spec.locale_collate,
            ));
            locales.push((
                format!("Database {}: localeCType", d.spec.name),
                &d.spec.locale_c_type,
            ));
        }
        for (field, locale) in locales {
            let normalized = pg::normalize_locale(locale).to_lowercase();
            if !["c", "posix", "c.utf8"].contains(&normalized.as_str()) {
                failures.push(format!(
                    "{}: {field} = {locale}, but the image {image} (minimal flavour) only has C, POSIX and C.UTF-8; \
                     use postgres.imageFlavour: standard or a C locale",
                    file.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 11. CloudNativePG's default monitoring queries

/// The records of psql's `--csv` output (RFC 4180 quoting; NULL and '' both print empty).
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                any = false;
            }
            (false, '\r') => {}
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("unterminated quote in psql's CSV output:\n{text}"));
    }
    if any {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// What the monitoring test saw, across cases: `(major, query)` pairs that ran, and those
/// `runonserver` skipped.
#[derive(Default)]
struct MonitoringRuns {
    ran: BTreeSet<(u32, String)>,
    skipped: BTreeSet<(u32, String)>,
}

/// The statements CloudNativePG's `createMonitoringTx` opens every collection with: a read-only
/// transaction, `search_path` pinned with pg_catalog first, standard-conforming strings.
const MONITORING_TX: [&str; 3] = [
    "BEGIN READ ONLY",
    "SET LOCAL search_path = pg_catalog, public, pg_temp",
    "SET standard_conforming_strings TO on",
];

/// Whether a GAUGE or COUNTER text value converts the way `utils.DBToFloat64` converts what the
/// driver returns: a number (integer, float or numeric text), a boolean, or NULL (NaN, kept).
fn converts_to_float(value: &str) -> bool {
    value.is_empty() || value == "t" || value == "f" || value.parse::<f64>().is_ok()
}

/// PostgreSQL's message out of a failed psql run's description (the command line, with the whole
/// query, says nothing the failure message does not already name).
fn server_message(description: &str) -> &str {
    description
        .split_once("--- stderr:\n")
        .map_or(description, |(_, stderr)| stderr)
}

/// Runs every default monitoring query on one server the way the collector does
/// (`QueriesCollector.createMetricsFromUserQueries`, `QueryRunner.computeMetrics`).
fn run_monitoring_queries(
    queries: &BTreeMap<String, cnpg_metrics::UserQuery>,
    case: &Case,
    r: &Rendered,
    env: &Env,
    runs: &std::sync::Mutex<MonitoringRuns>,
) -> Result<(), String> {
    let exporter = |database: &str, statements: &[&str]| {
        env.instance
            .local_session_csv(METRICS_EXPORTER, database, METRICS_EXPORTER, statements)
            .and_then(|out| parse_csv(&out))
    };
    // The application database, else postgres (`reconcileMonitoringQueries`).
    let default_db = if r.database().is_empty() {
        "postgres"
    } else {
        r.database()
    };
    // Who the queries run as: the exporter role by peer authentication, a pg_monitor member and
    // nothing more (a superuser would hide missing privileges).
    let who = exporter(
        default_db,
        &[
            "SELECT current_user, pg_catalog.pg_has_role('pg_monitor', 'member') AS monitor, \
             (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS super, \
             current_setting('server_version_num') AS num",
        ],
    )
    .map_err(|e| format!("{METRICS_EXPORTER} cannot connect the way the exporter does: {e}"))?;
    let [_, row] = &who[..] else {
        return Err(format!("unexpected answer {who:?}"));
    };
    if row.len() != 4 {
        return Err(format!("unexpected answer {who:?}"));
    }
    if row[..3] != [METRICS_EXPORTER, "t", "f"] {
        return Err(format!(
            "the session is {row:?}, want {METRICS_EXPORTER}, a pg_monitor member, no superuser"
        ));
    }
    let num: u64 = row[3]
        .parse()
        .map_err(|e| format!("server_version_num {:?}: {e}", row[3]))?;
    let version = cnpg_metrics::version_from_num(num);
    if version.0 != u64::from(case.major) {
        return Err(format!(
            "the server is {version:?}, the case is {}",
            case.major
        ));
    }
    let shown = format!("{}.{}", version.0, version.2);
    // `IsPrimary`: no standby.signal in PGDATA. Every case is a primary; a primary-only query
    // (`primary: true`, pg_stat_replication) would be skipped on a replica.
    let is_primary = !env.instance.data.join("standby.signal").exists();

    let mut accessible: Option<Vec<String>> = None;
    let mut failures = Vec::new();
    for (key, query) in queries {
        let fail =
            |db: &str, e: String| format!("query {key} on PostgreSQL {shown}, database {db}: {e}");
        if query.primary_only() && !is_primary {
            continue;
        }
        if let Some(constraint) = &query.runonserver {
            match cnpg_metrics::run_on_server_matches(constraint, version) {
                Ok(true) => {}
                Ok(false) => {
                    runs.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .skipped
                        .insert((case.major, key.clone()));
                    continue;
                }
                Err(e) => {
                    failures.push(fail(default_db, e));
                    continue;
                }
            }
        }
        // target_databases: the default database when empty; patterns expand to every database
        // that allows connections, is no template and grants the exporter CONNECT
        // (`getAllAccessibleDatabases`).
        let targets = if query.target_databases.is_empty() {
            vec![default_db.to_string()]
        } else {
            query.target_databases.clone()
        };
        let mut databases = BTreeSet::new();
        for target in &targets {
            if !cnpg_metrics::is_pattern(target) {
                databases.insert(target.clone());
                continue;
            }
            if accessible.is_none() {
                let rows = exporter(
                    default_db,
                    &[
                        "SELECT datname, pg_catalog.has_database_privilege(datname, 'CONNECT') AS c \
                         FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate",
                    ],
                )
                .map_err(|e| fail(default_db, format!("listing databases: {e}")))?;
                let names: Vec<String> = rows
                    .iter()
                    .skip(1)
                    .filter(|row| row.get(1).is_some_and(|c| c == "t"))
                    .map(|row| row[0].clone())
                    .collect();
                if !names.iter().any(|n| n == default_db) {
                    return Err(fail(
                        default_db,
                        format!(
                            "the exporter cannot connect to the application database; accessible: {names:?}"
                        ),
                    ));
                }
                accessible = Some(names);
            }
            for name in accessible.iter().flatten() {
                match cnpg_metrics::pattern_matches(target, name) {
                    Ok(true) => {
                        databases.insert(name.clone());
                    }
                    Ok(false) => {}
                    Err(e) => failures.push(fail(default_db, e)),
                }
            }
        }
        for db in &databases {
            if let Some(predicate) = &query.predicate_query {
                let mut statements = MONITORING_TX.to_vec();
                statements.extend([predicate.as_str(), "COMMIT"]);
                // `isCollectable`: no row or NULL is false; one boolean otherwise.
                let collectable = match exporter(db, &statements) {
                    Ok(rows) => match rows.get(1).map(|row| &row[..]) {
                        None => Ok(false),
                        Some([value]) if value == "t" => Ok(true),
                        Some([value]) if value == "f" || value.is_empty() => Ok(false),
                        Some(other) => Err(format!("predicate_query returned {other:?}")),
                    },
                    Err(e) => Err(format!("predicate_query failed: {}", server_message(&e))),
                };
                match collectable {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        failures.push(fail(db, e));
                        continue;
                    }
                }
            }
            let mut statements = MONITORING_TX.to_vec();
            statements.extend([query.query.as_str(), "COMMIT"]);
            let rows = match exporter(db, &statements) {
                Ok(rows) => rows,
                Err(e) => {
                    failures.push(fail(db, format!("failed: {}", server_message(&e))));
                    continue;
                }
            };
            let Some((header, rows)) = rows.split_first() else {
                failures.push(fail(db, "returned no result (not even a header)".into()));
                continue;
            };
            // The collector exports nothing for a result whose column count differs from the
            // mapping's ("Columns number mismatch"), and nothing for a column it has no mapping
            // for: the result must have exactly the mapped columns.
            let got: BTreeSet<String> = header.iter().cloned().collect();
            let want = query.mapped_columns();
            if got != want || header.len() != want.len() {
                let missing: Vec<&String> = want.difference(&got).collect();
                let unmapped: Vec<&String> = got.difference(&want).collect();
                failures.push(fail(
                    db,
                    format!(
                        "result columns {header:?} do not match metrics: missing {missing:?}, unmapped {unmapped:?}"
                    ),
                ));
                continue;
            }
            // Values the collector would drop (with only a log line) for failing to convert.
            for (column, mapping) in query.columns() {
                let index = header
                    .iter()
                    .position(|h| h == column)
                    .expect("checked above");
                for row in rows {
                    let value = row.get(index).map_or("", String::as_str);
                    let ok = match mapping.usage {
                        cnpg_metrics::Usage::Gauge | cnpg_metrics::Usage::Counter => {
                            converts_to_float(value)
                        }
                        cnpg_metrics::Usage::Mappedmetric => {
                            mapping.metric_mapping.contains_key(value)
                        }
                        _ => true,
                    };
                    if !ok {
                        failures.push(fail(
                            db,
                            format!(
                                "column {column} ({:?}) has value {value:?}, which the exporter cannot convert (row {row:?})",
                                mapping.usage
                            ),
                        ));
                    }
                }
            }
            runs.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .ran
                .insert((case.major, key.clone()));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// CloudNativePG's default monitoring queries (`tests/fixtures/cnpg-default-monitoring.yaml`,
/// the ConfigMap every cluster gets unless `monitoring.disableDefaultQueries`) run on every
/// server of the suite (every values file on PostgreSQL 15-18) the way the v1.30.0 collector
/// runs them: as `cnpg_metrics_exporter` (pg_monitor, peer over the unix socket,
/// `application_name` cnpg_metrics_exporter), in the application database unless
/// `target_databases` says otherwise (`'*'`: every database it may connect to), in a read-only
/// transaction with CloudNativePG's `search_path`, skipping queries whose `runonserver`
/// excludes the server's version, running `predicate_query` first and the query only when it
/// is true, and `primary: true` queries on primaries only (every case is one).
///
/// Each query that runs must succeed and return exactly the columns its `metrics:` map (else
/// the collector silently exports nothing for it), with GAUGE and COUNTER values it can convert
/// to a number. Across the majors, every query must run somewhere (a constraint no server
/// satisfies would be a query that never runs).
#[test]
fn cnpg_default_monitoring_queries_run_on_every_major() {
    let queries = cnpg_metrics::parse_queries(cnpg_metrics::FIXTURE)
        .unwrap_or_else(|e| panic!("tests/fixtures/cnpg-default-monitoring.yaml: {e}"));
    assert!(!queries.is_empty(), "the fixture has no queries");
    let runs = std::sync::Mutex::new(MonitoringRuns::default());
    for_each_case(
        "CloudNativePG default monitoring queries",
        |case, r, env| run_monitoring_queries(&queries, case, r, env, &runs),
    );
    let runs = runs
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let majors: BTreeSet<u32> = runs.ran.iter().map(|(m, _)| *m).collect();
    // What ran where, for `--nocapture` readers and CI logs.
    for major in &majors {
        let on = |set: &BTreeSet<(u32, String)>| {
            set.iter()
                .filter(|(m, _)| m == major)
                .map(|(_, q)| q.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "PostgreSQL {major}: ran {}; skipped by runonserver: {}",
            on(&runs.ran),
            on(&runs.skipped)
        );
    }
    if MAJORS.clone().all(|m| majors.contains(&m)) {
        let never: Vec<&String> = queries
            .keys()
            .filter(|k| !runs.ran.iter().any(|(_, q)| q == *k))
            .collect();
        assert!(
            never.is_empty(),
            "these default monitoring queries ran on no PostgreSQL major 15-18: {never:?}"
        );
    }
}

/// The queries cnpgtp renders from `monitoring.customQueries` (tests/pg-values/analytics.yaml)
/// are in a format CloudNativePG reads, and run as its exporter on every major, like the
/// default ones: the same parser, runner and checks.
#[test]
fn rendered_custom_queries_run_on_every_major() {
    let runs = std::sync::Mutex::new(MonitoringRuns::default());
    let rendered_some = std::sync::atomic::AtomicBool::new(false);
    for_each_case("rendered custom monitoring queries", |case, r, env| {
        let Some(text) = &r.custom_queries else {
            return Ok(());
        };
        rendered_some.store(true, std::sync::atomic::Ordering::Relaxed);
        let queries = cnpg_metrics::parse_queries(text)?;
        run_monitoring_queries(&queries, case, r, env, &runs)
    });
    if suite().is_some() {
        assert!(
            rendered_some.into_inner(),
            "no values file of the suite renders monitoring.customQueries"
        );
        let runs = runs
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert!(!runs.ran.is_empty(), "no custom query ran");
    }
}

// ---------------------------------------------------------------------------------------------
// 12. Extra databases

/// What CloudNativePG's Database controller runs for one rendered `Database`
/// (`internal/management/controller/database_controller_sql.go` at v1.30.0), as the superuser:
/// `CREATE DATABASE` in `postgres` with the rendered owner, template, encoding and locales, each
/// name quoted like pgx's `Identifier.Sanitize`; then, in the new database, `CREATE SCHEMA ...
/// AUTHORIZATION` for each present schema and `CREATE EXTENSION ... [VERSION] [SCHEMA]` for each
/// present extension, under `search_path "$user", public` as the controller sets it.
fn create_like_the_database_controller(env: &Env, database: &Database) -> Result<(), String> {
    let spec = &database.spec;
    let mut clauses = vec![
        format!("CREATE DATABASE {}", ident(&spec.name)),
        format!("OWNER {}", ident(&spec.owner)),
    ];
    if let Some(template) = &spec.template {
        clauses.push(format!("TEMPLATE {}", ident(template)));
    }
    clauses.push(format!("ENCODING {}", ident(&spec.encoding)));
    clauses.push(format!("LC_COLLATE {}", ident(&spec.locale_collate)));
    clauses.push(format!("LC_CTYPE {}", ident(&spec.locale_c_type)));
    let create = clauses.join(" ");
    env.instance
        .superuser_session("postgres", &[&create])
        .map_err(|e| format!("{create}: {e}"))?;
    for schema in spec.schemas.iter().filter(|s| s.ensure == "present") {
        let sql = format!(
            "CREATE SCHEMA {} AUTHORIZATION {}",
            ident(&schema.name),
            ident(&schema.owner)
        );
        env.instance
            .superuser_session(&spec.name, &[&sql])
            .map_err(|e| format!("{sql}: {e}"))?;
    }
    for extension in spec.extensions.iter().filter(|e| e.ensure == "present") {
        let mut clauses = vec![format!("CREATE EXTENSION {}", ident(&extension.name))];
        if let Some(version) = &extension.version {
            clauses.push(format!("VERSION {}", ident(version)));
        }
        if let Some(schema) = &extension.schema {
            clauses.push(format!("SCHEMA {}", ident(schema)));
        }
        let sql = clauses.join(" ");
        env.instance
            .superuser_session(&spec.name, &[r#"SET search_path TO "$user", public"#, &sql])
            .map_err(|e| format!("{sql}: {e}"))?;
    }
    Ok(())
}

/// The tables the owner creates in an extra database: one in `public`, one in each present
/// schema the owner owns.
fn extra_tables(database: &Database) -> Vec<String> {
    let mut tables = vec![TABLE.to_string()];
    tables.extend(
        database
            .spec
            .schemas
            .iter()
            .filter(|s| s.ensure == "present" && s.owner == database.spec.owner)
            .map(|s| format!("{}.cnpgtp_probe", s.name)),
    );
    tables
}

/// Facts about the database as created: owner, encoding, locales, and its extensions with their
/// schemas, compared with the rendered object.
fn created_as_rendered(env: &Env, database: &Database) -> Result<(), String> {
    let spec = &database.spec;
    let got = env.instance.superuser_session(
        "postgres",
        &[&format!(
            "SELECT pg_get_userbyid(datdba) || ' ' || pg_encoding_to_char(encoding) || ' ' || datcollate \
             || ' ' || datctype FROM pg_database WHERE datname = {}",
            literal(&spec.name)
        )],
    )?;
    let want = format!(
        "{} {} {} {}",
        spec.owner, spec.encoding, spec.locale_collate, spec.locale_c_type
    );
    if got != want {
        return Err(format!("{}: got {got:?}, want {want:?}", spec.name));
    }
    for extension in spec.extensions.iter().filter(|e| e.ensure == "present") {
        let schema = env.instance.superuser_session(
            &spec.name,
            &[&format!(
                "SELECT coalesce((SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = {}), 'missing')",
                literal(&extension.name)
            )],
        )?;
        let want = extension.schema.as_deref().unwrap_or("public");
        if schema != want {
            return Err(format!(
                "{}: extension {} is in {schema}, want {want}",
                spec.name, extension.name
            ));
        }
    }
    Ok(())
}

/// The static read and write users in one extra database: the read user reads every table the
/// owner made (in `public` and in its schema) but cannot write or create, also after `SET
/// default_transaction_read_only = off`; the write user writes and creates nothing.
fn static_users_in(r: &Rendered, env: &Env, database: &Database) -> Result<(), String> {
    let db = &database.spec.name;
    let reader = Login::new(r.read_user(), db).cert(&env.tls.read_user);
    let writer = Login::new(r.write_user(), db).cert(&env.tls.write_user);
    let mut problems = Vec::new();
    for table in extra_tables(database) {
        let read = reader.run(
            env,
            &[&format!(
                "SELECT current_database(), current_setting('default_transaction_read_only'), \
                 (SELECT string_agg(note, ',' ORDER BY note) FROM {table})"
            )],
        );
        let want = format!("{db}|on|{}", SEED_ROWS.join(","));
        match read.result() {
            Ok(out) if out == want => {}
            Ok(out) => problems.push(format!("read user on {table}: got {out:?}, want {want:?}")),
            Err(e) => problems.push(format!("read user on {table}: {e}")),
        }
        for (what, sql) in [
            (
                "INSERT",
                format!("INSERT INTO {table} (note) VALUES ('read-user-was-here')"),
            ),
            (
                "UPDATE",
                format!("UPDATE {table} SET note = 'x' WHERE note = 'seed-1'"),
            ),
            (
                "DELETE",
                format!("DELETE FROM {table} WHERE note = 'seed-2'"),
            ),
        ] {
            if reader.run(env, &[&sql]).ok {
                problems.push(format!("read user: {what} on {table} succeeded"));
            }
            if let Err(e) = permission_denied(
                &reader.run(env, &["SET default_transaction_read_only = off", &sql]),
                &format!(
                    "read user: {what} on {table} after SET default_transaction_read_only = off"
                ),
            ) {
                problems.push(e);
            }
        }
        let note = format!("write-{}", unique());
        let wrote = writer
            .run(
                env,
                &[
                    &format!("INSERT INTO {table} (note) VALUES ({})", literal(&note)),
                    &format!(
                        "UPDATE {table} SET note = {} WHERE note = {}",
                        literal(&format!("{note}-updated")),
                        literal(&note)
                    ),
                    &format!(
                        "DELETE FROM {table} WHERE note = {} RETURNING current_database()",
                        literal(&format!("{note}-updated"))
                    ),
                ],
            )
            .result();
        match wrote {
            Ok(out) if out == *db => {}
            Ok(out) => problems.push(format!("write user on {table}: got {out:?}")),
            Err(e) => problems.push(format!("write user on {table}: {e}")),
        }
    }
    let mut schemas = vec!["public".to_string()];
    schemas.extend(
        database
            .spec
            .schemas
            .iter()
            .filter(|s| s.ensure == "present")
            .map(|s| s.name.clone()),
    );
    for schema in &schemas {
        let sql = format!("CREATE TABLE {schema}.teleport_user_table (x int)");
        if let Err(e) = permission_denied(
            &reader.run(env, &["SET default_transaction_read_only = off", &sql]),
            &format!("read user: CREATE TABLE in {db}.{schema}"),
        ) {
            problems.push(e);
        }
        if let Err(e) = permission_denied(
            &writer.run(env, &[&sql]),
            &format!("write user: CREATE TABLE in {db}.{schema}"),
        ) {
            problems.push(e);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// The automatic-provisioning admin, by its Teleport certificate, opens each extra database and
/// creates a procedure in `pg_temp` as Teleport does before activating a user: the CONNECT and
/// TEMPORARY it needs come from `PUBLIC` (no bootstrap SQL runs for a later database).
fn auto_users_admin_in(r: &Rendered, env: &Env, database: &Database) -> Result<(), String> {
    let auto =
        cnpgtp::resources::teleport::auto_users::enabled(&r.values).ok_or("auto users are off")?;
    let pki = pg::Pki::new(env.instance.tools, env.instance.dir.join("pki"))?;
    let usages: Vec<String> = TELEPORT_USAGES.iter().map(ToString::to_string).collect();
    let cert = pki.leaf(
        &env.tls.teleport_ca,
        &format!("db-admin-{}", unique()),
        &format!("/CN={0}/O={0}", auto.admin_user),
        &usages,
        &[],
    )?;
    let db = &database.spec.name;
    let out = Login::new(&auto.admin_user, db)
        .cert(&cert)
        .run(
            env,
            &[
                "CREATE PROCEDURE pg_temp.cnpgtp_probe() LANGUAGE sql AS 'SELECT 1'",
                "CALL pg_temp.cnpgtp_probe()",
                "SELECT current_user || ' ' || current_database()",
            ],
        )
        .result()?;
    let want = format!("{} {db}", auto.admin_user);
    if out.lines().last() != Some(want.as_str()) {
        return Err(format!("admin session in {db}: got {out:?}, want {want:?}"));
    }
    Ok(())
}

/// The extra databases of `tests/pg-values/inventory.yaml` and `autousers.yaml`, created the way
/// CloudNativePG's Database controller creates them from the rendered `Database` objects, are
/// reachable as Teleport reaches the bootstrap database (pg_hba admits the Teleport users by
/// certificate; `pg_read_all_data`/`pg_write_all_data` and the read-only default hold in every
/// database) and nothing more: the read user reads the owner's tables and cannot write or
/// create, the write user writes, neither creates tables; the auto-users admin gets in and has
/// TEMPORARY. A database being dropped (`ensure: absent`) is not created.
#[test]
fn extra_databases_created_like_cloudnativepg_are_reachable_through_teleport_users() {
    let covered = std::sync::atomic::AtomicUsize::new(0);
    for_each_case("extra databases", |_case, r, env| {
        let mut problems = Vec::new();
        for database in r.databases.iter().filter(|d| d.spec.ensure == "present") {
            covered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let spec = &database.spec;
            let created = create_like_the_database_controller(env, database)
                .and_then(|()| created_as_rendered(env, database))
                .and_then(|()| {
                    // The owner's tables, made as the owner (which may be a NOLOGIN role).
                    let seeds: Vec<String> =
                        SEED_ROWS.iter().map(|s| format!("({})", literal(s))).collect();
                    let mut sql = vec![format!("SET ROLE {}", ident(&spec.owner))];
                    for table in extra_tables(database) {
                        sql.push(format!(
                            "CREATE TABLE {table} (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text NOT NULL)"
                        ));
                        sql.push(format!("INSERT INTO {table} (note) VALUES {}", seeds.join(", ")));
                    }
                    let sql: Vec<&str> = sql.iter().map(String::as_str).collect();
                    env.instance.superuser_session(&spec.name, &sql).map(|_| ())
                });
            let checked = created.and_then(|()| {
                if r.auto_users() {
                    auto_users_admin_in(r, env, database)
                } else {
                    static_users_in(r, env, database)
                }
            });
            if let Err(e) = checked {
                problems.push(format!("database {}: {e}", spec.name));
            }
        }
        for database in r.databases.iter().filter(|d| d.spec.ensure == "absent") {
            let exists = env.instance.superuser_session(
                "postgres",
                &[&format!(
                    "SELECT count(*) FROM pg_database WHERE datname = {}",
                    literal(&database.spec.name)
                )],
            )?;
            if exists != "0" {
                problems.push(format!("{} exists", database.spec.name));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    });
    if suite().is_some() {
        assert!(
            covered.load(std::sync::atomic::Ordering::Relaxed) > 0,
            "no values file declares an extra database"
        );
    }
}
