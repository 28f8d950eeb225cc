//! Backups and point-in-time restores on real components: a moto S3 server on loopback, the
//! Barman Cloud tools the plugin's sidecar runs (3.19.1, boto3 1.43.56, as plugin-barman-cloud
//! v0.14.0 pins them), and a real PostgreSQL of every major 15-18.
//!
//! For each major: render `tests/backup-values/source.yaml`, derive every command line from the
//! rendered ObjectStore and Cluster only (`support/barman.rs`, which cites the plugin's code),
//! archive WAL through the derived `archive_command`, take a base backup, write rows before and
//! after a recorded time, render `tests/backup-values/restore.yaml` with that time as its target,
//! restore as the plugin and CloudNativePG do, and check the rows on each side of the target.
//! Then the "Expected empty archive" check that the render-time guard spares users, and the
//! rendered retention policy applied with `barman-cloud-backup-delete`.
//!
//! Needs `scripts/ci/install-test-tools.sh` (`.ci/run` runs it); outside CI a missing tool skips
//! the suite loudly, in CI (`CI` set) it fails.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cnpgtp::values::{Override, Source};
use serde_json::Value as Json;

#[path = "support/barman.rs"]
mod barman;
#[path = "support/pg.rs"]
mod pg;

use barman::{S3Server, Secrets, Store, Toolbox, shell_word};

/// The Secret the values name (`ledger-s3`) as the cluster would hold it.
fn secrets() -> Secrets {
    [
        ("id", "ledger-key-id"),
        ("secret", "ledger-key-secret"),
        ("region", "us-east-1"),
    ]
    .into_iter()
    .map(|(key, value)| {
        (
            ("ledger-s3".to_string(), key.to_string()),
            value.to_string(),
        )
    })
    .collect()
}

/// Compression per major, so every algorithm the plugin offers for both is exercised
/// (WAL: bzip2, gzip, lz4, snappy, xz, zstd; base backups: bzip2, gzip, lz4, snappy).
fn compression(major: u32) -> (&'static str, &'static str) {
    match major {
        15 => ("gzip", "gzip"),
        16 => ("bzip2", "bzip2"),
        17 => ("lz4", "lz4"),
        _ => ("zstd", "snappy"),
    }
}

struct Suite {
    toolbox: Toolbox,
    s3: S3Server,
}

/// The toolbox and the S3 server, once per process; `None` when skipped outside CI.
fn suite() -> Option<&'static Suite> {
    static SUITE: OnceLock<Result<Suite, String>> = OnceLock::new();
    let found = SUITE.get_or_init(|| {
        let toolbox = Toolbox::find()?;
        let runner = &pg::tools()?.runner;
        let s3 = S3Server::start(&toolbox, runner)?;
        Ok(Suite { toolbox, s3 })
    });
    match found {
        Ok(suite) => Some(suite),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("CI is set, and the backup suite cannot run: {why}")
        }
        Err(why) => {
            eprintln!(
                "\n!!! SKIPPED tests/backup.rs: {why}\n!!! Set CI=1 to make this a failure.\n"
            );
            None
        }
    }
}

/// The rendered objects of `file` with `sets`, in JSON form.
fn render(file: &str, sets: &[String]) -> Result<Vec<Json>, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
    let overrides: Vec<Override> = sets
        .iter()
        .map(|argument| Override::Set {
            argument: argument.clone(),
            typed: true,
        })
        .collect();
    let sources = [Source {
        name: file.to_string(),
        text,
    }];
    let loaded = cnpgtp::values::load(&sources, &overrides).map_err(|p| p.to_string())?;
    let manifests = cnpgtp::render::Renderer::new()
        .render(&loaded.values)
        .map_err(|e| format!("{e:#}"))?;
    Ok(manifests
        .iter()
        .map(|m| serde_json::to_value(&m.object).expect("a manifest serializes"))
        .collect())
}

fn object<'a>(objects: &'a [Json], kind: &str, name: &str) -> Result<&'a Json, String> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .ok_or_else(|| format!("the render has no {kind} {name}, which another object names"))
}

fn cluster(objects: &[Json]) -> Result<&Json, String> {
    objects
        .iter()
        .find(|o| o["kind"] == "Cluster")
        .ok_or_else(|| "the render has no Cluster".to_string())
}

/// `s3://bucket/path/` split into the bucket and the key prefix of `server`'s folder.
fn bucket_and_prefix(destination: &str, server: &str) -> (String, String) {
    let rest = destination.trim_start_matches("s3://");
    let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.trim_matches('/');
    let prefix = if path.is_empty() {
        server.to_string()
    } else {
        format!("{path}/{server}")
    };
    (bucket.to_string(), prefix)
}

/// The name the plugin gives a backup: `backup-` and the compact ISO 8601 time of now (PBC
/// internal/cnpgi/instance/backup.go:114), read from the server's clock.
fn backup_name(instance: &pg::Instance) -> Result<String, String> {
    // Distinct per second: two backups never start in one second.
    std::thread::sleep(Duration::from_millis(1100));
    sql(
        instance,
        "SELECT 'backup-' || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS')",
    )
}

/// The backups in `store`'s catalogue for `server`, as `barman-cloud-backup-list` reports them.
fn catalogue(
    suite: &Suite,
    runner: &pg::Runner,
    store: &Store,
    server: &str,
    env: &[(String, String)],
) -> Result<Vec<Json>, String> {
    let text = suite.toolbox.run(
        runner,
        "barman-cloud-backup-list",
        &store.backup_list(server),
        env,
    )?;
    let json: Json =
        serde_json::from_str(&text).map_err(|e| format!("backup-list: {e}: {text}"))?;
    Ok(json["backups_list"].as_array().cloned().unwrap_or_default())
}

/// A UTC time as `YYYY-MM-DDTHH:MM:SS.ffffff`, comparable as text: barman's `end_time_iso`
/// (the server runs in UTC) or the recorded target.
fn comparable(iso: &str) -> String {
    let iso = iso.trim_end_matches('Z').trim_end_matches("+00:00");
    let (seconds, fraction) = iso.split_once('.').unwrap_or((iso, ""));
    format!("{}.{fraction:0<6}", seconds.replace(' ', "T"))
}

/// The backup the plugin restores for a target time: the newest finished one that ended at or
/// before it (BC pkg/catalog/catalog.go:196-217).
fn backup_for_time<'a>(backups: &'a [Json], target: &str) -> Option<&'a Json> {
    let target = comparable(target);
    backups
        .iter()
        .filter(|b| b["end_time_iso"].is_string() && b["begin_time_iso"].is_string())
        .filter(|b| comparable(b["end_time_iso"].as_str().unwrap()) <= target)
        .max_by_key(|b| comparable(b["end_time_iso"].as_str().unwrap()))
}

fn scenario(major: u32) {
    let Some(suite) = suite() else { return };
    let bindir = pg::server_bindirs()
        .into_iter()
        .find(|(m, _)| *m == major)
        .map(|(_, dir)| dir);
    let Some(bindir) = bindir else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set, and there is no PostgreSQL {major} (scripts/ci/install-test-tools.sh)"
        );
        eprintln!("\n!!! SKIPPED PostgreSQL {major}: no server binaries\n");
        return;
    };
    let tools = pg::tools_in(&bindir).unwrap_or_else(|e| panic!("PostgreSQL {major}: {e}"));
    assert_eq!(
        pg::server_major(tools),
        Some(major),
        "{}",
        tools.server_version
    );
    if let Err(e) = backup_and_restore(suite, tools, major) {
        panic!("PostgreSQL {major}: {e}");
    }
}

/// The PostgreSQL settings of a test instance; `extra` are CloudNativePG's for the scenario.
fn configure(instance: &pg::Instance, extra: &[(String, String)]) -> Result<(), String> {
    let conf = instance.data.join("postgresql.conf");
    let mut text =
        std::fs::read_to_string(&conf).map_err(|e| format!("{}: {e}", conf.display()))?;
    let socket = instance.socket_dir.display().to_string();
    let base = [
        ("port", instance.port.to_string()),
        ("listen_addresses", String::new()),
        ("unix_socket_directories", socket),
        ("timezone", "UTC".to_string()),
        ("wal_level", "replica".to_string()),
    ];
    for (key, value) in base
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .chain(extra.iter().cloned())
    {
        text.push_str(&pg::conf_line(&key, &value));
    }
    instance.write_server_file(&conf, &text)
}

/// Runs SQL as the superuser; the rows as `psql -A -t` prints them.
fn sql(instance: &pg::Instance, statement: &str) -> Result<String, String> {
    instance.superuser("postgres", statement)
}

fn wait_for(
    what: &str,
    timeout: Duration,
    mut done: impl FnMut() -> Result<bool, String>,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if done()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn backup_and_restore(suite: &Suite, tools: &'static pg::Tools, major: u32) -> Result<(), String> {
    let runner = &tools.runner;
    let endpoint = &suite.s3.endpoint;
    let bucket = format!("pg{major}-backups");
    let (wal_compression, data_compression) = compression(major);
    let source = render(
        "tests/backup-values/source.yaml",
        &[
            format!("postgres.major={major}"),
            format!("backup.objectStore.endpointUrl={endpoint}"),
            format!("backup.objectStore.destinationPath=s3://{bucket}/ledger/"),
            format!("backup.objectStore.wal.compression={wal_compression}"),
            format!("backup.objectStore.data.compression={data_compression}"),
        ],
    )?;
    let source_cluster = cluster(&source)?;
    let (store_name, server) =
        barman::archiver(source_cluster).ok_or("the Cluster has no Barman Cloud archiver")?;
    let store = Store {
        spec: &object(&source, "ObjectStore", &store_name)?["spec"],
    };
    let env = store.environment(&secrets())?;
    let (bucket_name, prefix) = bucket_and_prefix(store.destination(), &server);
    assert_eq!(bucket_name, bucket);
    // The bucket must exist: Barman Cloud 3.16+ does not create it.
    let mut s3_env = env.clone();
    s3_env.push(("S3_ENDPOINT".into(), endpoint.clone()));
    suite.toolbox.python(
        "import boto3, os, sys; boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT']).create_bucket(Bucket=sys.argv[1])",
        std::slice::from_ref(&bucket),
        &s3_env,
    )?;

    // The source instance, archiving through the command the sidecar runs for each WAL file
    // (PostgreSQL's %p is relative to PGDATA, where the plugin gets $PGDATA/%p).
    let primary = pg::Instance::create(tools)?;
    primary.initdb(&[
        "-U".into(),
        "postgres".into(),
        "--auth=trust".into(),
        "--locale=C".into(),
        "-E".into(),
        "UTF8".into(),
    ])?;
    // A new cluster's first archive is preceded by the empty-archive check: this one is empty.
    let check = store.check_wal_archive(&server);
    suite
        .toolbox
        .run(runner, "barman-cloud-check-wal-archive", &check, &env)?;
    let mut archive_command: Vec<String> = vec!["env".into()];
    archive_command.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    archive_command.push(
        suite
            .toolbox
            .barman("barman-cloud-wal-archive")
            .display()
            .to_string(),
    );
    archive_command.extend(store.wal_archive(&server));
    let archive_command = archive_command
        .iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
        + " %p";
    configure(
        &primary,
        &[
            ("archive_mode".into(), "on".into()),
            ("archive_command".into(), archive_command),
        ],
    )?;
    primary.start()?;
    sql(
        &primary,
        "CREATE TABLE ledger (id serial PRIMARY KEY, note text NOT NULL)",
    )?;
    sql(
        &primary,
        "INSERT INTO ledger (note) SELECT 'before-backup' FROM generate_series(1, 3)",
    )?;

    let mut backup_env = env.clone();
    backup_env.extend([
        ("PGHOST".into(), primary.socket_dir.display().to_string()),
        ("PGPORT".into(), primary.port.to_string()),
        ("TMPDIR".into(), primary.dir.display().to_string()),
        ("HOME".into(), primary.dir.display().to_string()),
    ]);
    let first = backup_name(&primary)?;
    suite.toolbox.run(
        runner,
        "barman-cloud-backup",
        &store.backup(&server, &first),
        &backup_env,
    )?;
    // Rows after the backup reach the restore through the WAL archive alone.
    sql(
        &primary,
        "INSERT INTO ledger (note) SELECT 'after-backup' FROM generate_series(1, 2)",
    )?;
    std::thread::sleep(Duration::from_millis(300));
    let target = sql(
        &primary,
        r#"SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#,
    )?;
    std::thread::sleep(Duration::from_millis(300));
    // Past the target: a commit after it is what lets recovery stop there.
    sql(
        &primary,
        "INSERT INTO ledger (note) SELECT 'after-target' FROM generate_series(1, 4)",
    )?;
    let segment = sql(&primary, "SELECT pg_walfile_name(pg_current_wal_lsn())")?;
    sql(&primary, "SELECT pg_switch_wal()")?;
    wait_for("the WAL archive", Duration::from_mins(1), || {
        let status = sql(
            &primary,
            "SELECT coalesce(last_archived_wal, '') || ' ' || failed_count FROM pg_stat_archiver",
        )?;
        let (last, failed) = status.split_once(' ').unwrap_or((&status, "0"));
        if failed != "0" && last < segment.as_str() {
            return Err(format!(
                "archiving failed ({failed} times):\n{}",
                primary.log_text()
            ));
        }
        Ok(last >= segment.as_str())
    })?;

    // The clone, rendered with the recorded target; it archives under its own path.
    let restore_sets = |own_destination: &str| {
        vec![
            format!("postgres.major={major}"),
            format!("recovery.objectStore.endpointUrl={endpoint}"),
            format!("recovery.objectStore.destinationPath=s3://{bucket}/ledger/"),
            format!("recovery.target.time={target}"),
            format!("backup.objectStore.endpointUrl={endpoint}"),
            format!("backup.objectStore.destinationPath={own_destination}"),
        ]
    };
    // Archiving into the source's own folder is refused before anything runs.
    let refused = render("tests/backup-values/restore.yaml", &{
        let mut sets = restore_sets(&format!("s3://{bucket}/ledger/"));
        sets.push("backup.objectStore.serverName=ledger".into());
        sets
    });
    match refused {
        Err(e) if e.contains("would archive into the archive it restores from") => {}
        other => {
            return Err(format!(
                "archiving into the source's archive was not refused: {other:?}"
            ));
        }
    }
    let clone = render(
        "tests/backup-values/restore.yaml",
        &restore_sets(&format!("s3://{bucket}/ledger-clone/")),
    )?;
    let clone_cluster = cluster(&clone)?;
    let (source_store_name, source_server) =
        barman::recovery_source(clone_cluster).ok_or("the clone has no plugin recovery source")?;
    assert_eq!(source_server, server, "the clone reads the source's folder");
    let source_store = Store {
        spec: &object(&clone, "ObjectStore", &source_store_name)?["spec"],
    };
    let (own_store_name, own_server) =
        barman::archiver(clone_cluster).ok_or("the clone has no archiver")?;
    let own_store = Store {
        spec: &object(&clone, "ObjectStore", &own_store_name)?["spec"],
    };
    let source_env = source_store.environment(&secrets())?;
    let own_env = own_store.environment(&secrets())?;
    // The restore job checks the clone's own archive is empty (PBC restore.go:105-120): it is;
    // the source's is not, which is what the render-time guard spares users.
    suite.toolbox.run(
        runner,
        "barman-cloud-check-wal-archive",
        &own_store.check_wal_archive(&own_server),
        &own_env,
    )?;
    match suite.toolbox.run(
        runner,
        "barman-cloud-check-wal-archive",
        &source_store.check_wal_archive(&source_server),
        &source_env,
    ) {
        Err(e) if e.contains("Expected empty archive") => {}
        other => {
            return Err(format!(
                "the source's archive passed the empty-archive check: {other:?}"
            ));
        }
    }

    let backups = catalogue(suite, runner, &source_store, &source_server, &source_env)?;
    let recovery_target = &clone_cluster["spec"]["bootstrap"]["recovery"]["recoveryTarget"];
    let target_time = recovery_target["targetTime"]
        .as_str()
        .ok_or("no targetTime rendered")?;
    let chosen = backup_for_time(&backups, target_time)
        .ok_or_else(|| format!("no backup before {target_time} in {backups:?}"))?;
    assert_eq!(chosen["backup_name"], first.as_str());
    let backup_id = chosen["backup_id"]
        .as_str()
        .ok_or("a backup without an id")?;

    let restored = pg::Instance::create(tools)?;
    tools.runner.hand_over(&restored.dir)?;
    suite.toolbox.run(
        runner,
        "barman-cloud-restore",
        &source_store.restore(&source_server, backup_id, &restored.data),
        &source_env,
    )?;
    let mut restore_command: Vec<String> = vec!["env".into()];
    restore_command.extend(source_env.iter().map(|(k, v)| format!("{k}={v}")));
    restore_command.push(
        suite
            .toolbox
            .barman("barman-cloud-wal-restore")
            .display()
            .to_string(),
    );
    restore_command.extend(source_store.wal_restore(&source_server));
    let restore_command = restore_command
        .iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
        + " %f %p";
    // What CloudNativePG appends after a plugin restore (CNPG pkg/management/postgres/
    // restore.go:180-224): no archiving until promoted, the plugin's restore settings, the target.
    let mut settings = vec![
        ("archive_command".to_string(), "false".to_string()),
        ("recovery_target_action".to_string(), "promote".to_string()),
        ("restore_command".to_string(), restore_command),
    ];
    settings.extend(barman::recovery_target_settings(recovery_target));
    configure(&restored, &settings)?;
    restored.write_server_file(&restored.data.join("recovery.signal"), "")?;
    std::fs::set_permissions(
        &restored.data,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .map_err(|e| e.to_string())?;
    restored.start()?;
    wait_for("the clone's promotion", Duration::from_mins(2), || {
        Ok(sql(&restored, "SELECT pg_is_in_recovery()")? == "f")
    })
    .map_err(|e| format!("{e}\n--- clone log:\n{}", restored.log_text()))?;
    let rows = sql(
        &restored,
        "SELECT note || '=' || count(*) FROM ledger GROUP BY note ORDER BY note",
    )?;
    assert_eq!(
        rows.lines().collect::<Vec<_>>(),
        ["after-backup=2", "before-backup=3"],
        "PostgreSQL {major}: the clone holds the rows up to {target} and none after"
    );

    retention(
        suite,
        &primary,
        &store,
        &server,
        &env,
        &backup_env,
        &bucket,
        &prefix,
        &first,
    )
}

/// The rendered retention policy, applied: of three backups 90, 60 and 0 days old (their
/// catalogue times moved back), a 30-day window keeps the newest and the one it needs to reach
/// the window's start, and deletes the oldest.
#[allow(clippy::too_many_arguments)]
fn retention(
    suite: &Suite,
    primary: &pg::Instance,
    store: &Store,
    server: &str,
    env: &[(String, String)],
    backup_env: &[(String, String)],
    bucket: &str,
    prefix: &str,
    first: &str,
) -> Result<(), String> {
    let runner = &primary.tools.runner;
    let args = store
        .retention(server)
        .ok_or("the ObjectStore has no retentionPolicy")?;
    assert!(
        args.contains(&"RECOVERY WINDOW OF 30 DAYS".to_string()),
        "{args:?}"
    );
    let second = backup_name(primary)?;
    suite.toolbox.run(
        runner,
        "barman-cloud-backup",
        &store.backup(server, &second),
        backup_env,
    )?;
    let third = backup_name(primary)?;
    suite.toolbox.run(
        runner,
        "barman-cloud-backup",
        &store.backup(server, &third),
        backup_env,
    )?;
    let backups = catalogue(suite, runner, store, server, env)?;
    let id_of = |name: &str| {
        backups
            .iter()
            .find(|b| b["backup_name"] == name)
            .and_then(|b| b["backup_id"].as_str())
            .map(String::from)
            .ok_or_else(|| format!("no backup {name} in {backups:?}"))
    };
    let mut s3_env = env.to_vec();
    s3_env.push(("S3_ENDPOINT".into(), suite.s3.endpoint.clone()));
    suite.toolbox.python(
        r#"
import boto3, datetime, os, re, sys
bucket, prefix = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
for shift in sys.argv[3:]:
    backup_id, days = shift.split("=")
    key = f"{prefix}/base/{backup_id}/backup.info"
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    def back(m):
        moved = datetime.datetime.fromisoformat(m.group(2)) - datetime.timedelta(days=int(days))
        return m.group(1) + moved.isoformat(sep=" ")
    moved = re.sub(r"^((?:begin|end)_time=)(.+)$", back, text, flags=re.M)
    assert moved != text, key
    s3.put_object(Bucket=bucket, Key=key, Body=moved.encode())
"#,
        &[
            bucket.to_string(),
            prefix.to_string(),
            format!("{}=90", id_of(first)?),
            format!("{}=60", id_of(&second)?),
        ],
        &s3_env,
    )?;
    suite
        .toolbox
        .run(runner, "barman-cloud-backup-delete", &args, env)?;
    let mut kept: Vec<String> = catalogue(suite, runner, store, server, env)?
        .iter()
        .filter_map(|b| b["backup_name"].as_str().map(String::from))
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        [second, third],
        "the 30-day window keeps the backups it needs"
    );
    Ok(())
}

#[test]
fn postgresql_15_backs_up_and_restores_to_a_point_in_time() {
    scenario(15);
}

#[test]
fn postgresql_16_backs_up_and_restores_to_a_point_in_time() {
    scenario(16);
}

#[test]
fn postgresql_17_backs_up_and_restores_to_a_point_in_time() {
    scenario(17);
}

#[test]
fn postgresql_18_backs_up_and_restores_to_a_point_in_time() {
    scenario(18);
}
