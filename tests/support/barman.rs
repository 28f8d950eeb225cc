//! What CloudNativePG's Barman Cloud plugin runs, derived from rendered objects only: the
//! command lines of the Barman Cloud tools its sidecar executes, the environment it gives them,
//! and the recovery settings CloudNativePG writes; plus a real S3-compatible server (moto) for
//! them to talk to.
//!
//! Sources (read at these commits; `path:line` below):
//! - PBC: cloudnative-pg/plugin-barman-cloud v0.14.0 (`1e13020f`), the plugin;
//! - BC: cloudnative-pg/barman-cloud `950b0f57` (pinned by PBC's go.mod), the command builders;
//! - CNPG: cloudnative-pg/cloudnative-pg v1.30.0 (`4b5e244a`), the recovery configuration;
//! - MACH: cloudnative-pg/machinery v0.5.0 (`66129586`), time formats.
//!
//! Nothing here knows cnpgtp's values: it reads `ObjectStore.spec` and `Cluster.spec` as the
//! plugin and the operator read them, so a rendered field the plugin would read differently
//! fails the suite.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::pg::{self, Reaper, Runner};

/// The plugin's name in `spec.plugins[]` and `externalClusters[].plugin`.
pub const PLUGIN: &str = "barman-cloud.cloudnative-pg.io";

/// The contents of the Secrets the rendered objects name, by (Secret name, key): what the
/// cluster would hold.
pub type Secrets = BTreeMap<(String, String), String>;

/// One rendered ObjectStore (its `spec`).
pub struct Store<'a> {
    pub spec: &'a Json,
}

impl<'a> Store<'a> {
    fn config(&self) -> &'a Json {
        &self.spec["configuration"]
    }

    pub fn destination(&self) -> &'a str {
        self.config()["destinationPath"]
            .as_str()
            .unwrap_or_default()
    }

    /// `--endpoint-url URL` when `endpointURL` is set (BC pkg/command/commandbuilder.go).
    fn endpoint(&self) -> Vec<String> {
        match self.config()["endpointURL"].as_str() {
            Some(url) if !url.is_empty() => vec!["--endpoint-url".into(), url.into()],
            _ => Vec::new(),
        }
    }

    /// `--cloud-provider` by the credentials block present (BC commandbuilder.go:79-128).
    fn provider(&self) -> Vec<String> {
        let config = self.config();
        let provider = if config.get("s3Credentials").is_some() {
            "aws-s3"
        } else if config.get("azureCredentials").is_some() {
            "azure-blob-storage"
        } else if config.get("googleCredentials").is_some() {
            "google-cloud-storage"
        } else {
            return Vec::new();
        };
        vec!["--cloud-provider".into(), provider.into()]
    }

    /// The environment the plugin gives every command for S3 (BC pkg/credentials/env.go:133-208):
    /// nothing with `inheritFromIAMRole`, else region, session token, key id and secret from the
    /// Secrets, in that order; `AWS_CA_BUNDLE` for `endpointCA` (env.go:99-103).
    pub fn environment(&self, secrets: &Secrets) -> Result<Vec<(String, String)>, String> {
        let s3 = &self.config()["s3Credentials"];
        if s3.is_null() {
            return Err("only S3 object stores are exercised here".into());
        }
        let mut env = Vec::new();
        if s3["inheritFromIAMRole"] == true {
            return Ok(env);
        }
        for (field, variable, required) in [
            ("region", "AWS_DEFAULT_REGION", false),
            ("sessionToken", "AWS_SESSION_TOKEN", false),
            ("accessKeyId", "AWS_ACCESS_KEY_ID", true),
            ("secretAccessKey", "AWS_SECRET_ACCESS_KEY", true),
        ] {
            let reference = &s3[field];
            if reference.is_null() {
                if required {
                    return Err(format!("s3Credentials.{field} is missing"));
                }
                continue;
            }
            let name = reference["name"].as_str().unwrap_or_default().to_string();
            let key = reference["key"].as_str().unwrap_or_default().to_string();
            let value = secrets.get(&(name.clone(), key.clone())).ok_or_else(|| {
                format!("s3Credentials.{field} names Secret {name} key {key}, which does not exist")
            })?;
            env.push((variable.to_string(), value.clone()));
        }
        Ok(env)
    }

    /// `barman-cloud-wal-archive` without the WAL path (BC pkg/archiver/command.go:33-90).
    pub fn wal_archive(&self, server: &str) -> Vec<String> {
        let wal = &self.config()["wal"];
        let mut args = Vec::new();
        if let Some(compression) = wal["compression"].as_str() {
            args.push(format!("--{compression}"));
        }
        if let Some(encryption) = wal["encryption"].as_str() {
            args.extend(["-e".to_string(), encryption.to_string()]);
        }
        args.extend(self.endpoint());
        args.extend(self.provider());
        args.extend([self.destination().to_string(), server.to_string()]);
        args
    }

    /// `barman-cloud-backup` (BC pkg/backup/backup.go:53-132); the connection comes from
    /// `PGHOST`/`PGPORT`.
    pub fn backup(&self, server: &str, name: &str) -> Vec<String> {
        let data = &self.config()["data"];
        let mut args: Vec<String> = ["--user", "postgres", "--name", name]
            .map(String::from)
            .to_vec();
        if let Some(compression) = data["compression"].as_str() {
            args.push(format!("--{compression}"));
        }
        if let Some(encryption) = data["encryption"].as_str() {
            args.extend(["--encryption".to_string(), encryption.to_string()]);
        }
        if data["immediateCheckpoint"] == true {
            args.push("--immediate-checkpoint".into());
        }
        if let Some(jobs) = data["jobs"].as_u64() {
            args.extend(["--jobs".to_string(), jobs.to_string()]);
        }
        args.extend(self.endpoint());
        args.extend(self.provider());
        args.extend([self.destination().to_string(), server.to_string()]);
        args
    }

    /// `barman-cloud-backup-list --format json` (BC pkg/command/backuplist.go:59-101).
    pub fn backup_list(&self, server: &str) -> Vec<String> {
        let mut args = vec!["--format".to_string(), "json".to_string()];
        args.extend(self.endpoint());
        args.extend(self.provider());
        args.extend([self.destination().to_string(), server.to_string()]);
        args
    }

    /// `barman-cloud-check-wal-archive`, the "Expected empty archive" check run before a new
    /// cluster's first WAL is archived (BC pkg/archiver/archiver.go:139-166).
    pub fn check_wal_archive(&self, server: &str) -> Vec<String> {
        let mut args = self.endpoint();
        args.extend(self.provider());
        args.extend([self.destination().to_string(), server.to_string()]);
        args
    }

    /// `barman-cloud-restore`: the provider before the endpoint (PBC
    /// internal/cnpgi/restore/restore.go:169-210).
    pub fn restore(&self, server: &str, backup_id: &str, pgdata: &Path) -> Vec<String> {
        let mut args = self.provider();
        args.extend(self.endpoint());
        args.extend([
            self.destination().to_string(),
            server.to_string(),
            backup_id.to_string(),
            pgdata.display().to_string(),
        ]);
        args
    }

    /// `barman-cloud-wal-restore` without `%f %p` (BC pkg/command/commandbuilder.go:29-56).
    pub fn wal_restore(&self, server: &str) -> Vec<String> {
        let mut args = self.endpoint();
        args.extend(self.provider());
        args.extend([self.destination().to_string(), server.to_string()]);
        args
    }

    /// `barman-cloud-backup-delete` with the ObjectStore's `retentionPolicy` (BC
    /// pkg/utils/barman.go:29-45, pkg/command/backupdelete.go:35-83); `None` without a policy.
    pub fn retention(&self, server: &str) -> Option<Vec<String>> {
        let policy = self.spec["retentionPolicy"].as_str()?;
        let (count, unit) = policy.split_at(policy.len() - 1);
        let unit = match unit {
            "d" => "DAYS",
            "w" => "WEEKS",
            "m" => "MONTHS",
            _ => return None,
        };
        let mut args = self.endpoint();
        args.extend(self.provider());
        args.extend([
            "--retention-policy".to_string(),
            format!("RECOVERY WINDOW OF {count} {unit}"),
            self.destination().to_string(),
            server.to_string(),
        ]);
        Some(args)
    }
}

/// The plugin parameters of the Cluster's archiver (`spec.plugins[]`): ObjectStore name and
/// server name, which defaults to the Cluster's name (PBC internal/cnpgi/operator/config/
/// config.go:142-191).
pub fn archiver(cluster: &Json) -> Option<(String, String)> {
    let plugin = cluster["spec"]["plugins"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == PLUGIN && p["enabled"] != false)?;
    let store = plugin["parameters"]["barmanObjectName"]
        .as_str()?
        .to_string();
    let server = plugin["parameters"]["serverName"]
        .as_str()
        .or(cluster["metadata"]["name"].as_str())?
        .to_string();
    Some((store, server))
}

/// The recovery source's plugin parameters: `externalClusters[bootstrap.recovery.source].plugin`;
/// the server name defaults to the NEW cluster's name (config.go:162-164, 193-242).
pub fn recovery_source(cluster: &Json) -> Option<(String, String)> {
    let source = cluster["spec"]["bootstrap"]["recovery"]["source"].as_str()?;
    let external = cluster["spec"]["externalClusters"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == source)?;
    let plugin = &external["plugin"];
    if plugin["name"] != PLUGIN {
        return None;
    }
    let store = plugin["parameters"]["barmanObjectName"]
        .as_str()?
        .to_string();
    let server = plugin["parameters"]["serverName"]
        .as_str()
        .or(cluster["metadata"]["name"].as_str())?
        .to_string();
    Some((store, server))
}

/// The recovery settings CloudNativePG writes for `bootstrap.recovery.recoveryTarget`, in its
/// order (CNPG api/v1/cluster_funcs.go:1522-1553): `recovery_target_inclusive` whenever a target
/// is set; the time converted to PostgreSQL's format (MACH pkg/postgres/time/time.go:43-69).
pub fn recovery_target_settings(target: &Json) -> Vec<(String, String)> {
    let mut settings = Vec::new();
    if target.is_null() {
        return settings;
    }
    for (field, setting) in [
        ("targetTLI", "recovery_target_timeline"),
        ("targetXID", "recovery_target_xid"),
        ("targetName", "recovery_target_name"),
        ("targetLSN", "recovery_target_lsn"),
    ] {
        if let Some(value) = target[field].as_str() {
            settings.push((setting.to_string(), value.to_string()));
        }
    }
    if let Some(time) = target["targetTime"].as_str() {
        settings.push(("recovery_target_time".into(), postgres_time(time)));
    }
    if target["targetImmediate"] == true {
        settings.push(("recovery_target".into(), "immediate".into()));
    }
    let inclusive = if target["exclusive"] == true {
        "false"
    } else {
        "true"
    };
    settings.push(("recovery_target_inclusive".into(), inclusive.into()));
    settings
}

/// An RFC 3339 time (`2026-12-02T07:40:00.123456Z`) as `ConvertToPostgresFormat` writes it
/// (`2026-12-02 07:40:00.123456+00:00`).
fn postgres_time(rfc3339: &str) -> String {
    let (date, rest) = rfc3339.split_once('T').unwrap_or((rfc3339, "00:00:00Z"));
    let (clock, zone) = match rest.strip_suffix('Z') {
        Some(clock) => (clock, "+00:00"),
        None => rest.split_at(rest.rfind(['+', '-']).unwrap_or(rest.len())),
    };
    let (seconds, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    format!("{date} {seconds}.{fraction:0<6}{zone}")
}

/// The Barman Cloud tools and the S3 server, installed by `scripts/ci/install-test-tools.sh`.
pub struct Toolbox {
    pub root: PathBuf,
}

impl Toolbox {
    /// `$CNPGTP_TEST_TOOLS` or `/opt/cnpgtp-test`, if the tools are there.
    pub fn find() -> Result<Self, String> {
        let root = std::env::var_os("CNPGTP_TEST_TOOLS")
            .map_or_else(|| PathBuf::from("/opt/cnpgtp-test"), PathBuf::from);
        for tool in ["barman/bin/barman-cloud-backup", "moto/bin/moto_server"] {
            if !root.join(tool).is_file() {
                return Err(format!(
                    "no {} (scripts/ci/install-test-tools.sh installs it)",
                    root.join(tool).display()
                ));
            }
        }
        Ok(Self { root })
    }

    pub fn barman(&self, tool: &str) -> PathBuf {
        self.root.join("barman/bin").join(tool)
    }

    /// Runs a Barman Cloud tool as the server OS user (as in the sidecar, beside PostgreSQL).
    pub fn run(
        &self,
        runner: &Runner,
        tool: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<String, String> {
        let mut command = runner.command(self.barman(tool));
        command.args(args).envs(env.iter().map(|(k, v)| (k, v)));
        pg::run(&mut command)
    }

    /// Runs Python with boto3 (the Barman venv's) as this process's user.
    pub fn python(
        &self,
        script: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<String, String> {
        let mut command = Command::new(self.root.join("barman/bin/python"));
        command
            .arg("-c")
            .arg(script)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)));
        pg::run(&mut command)
    }
}

/// A moto S3 server on loopback, stopped (by its reaper) when the test process ends.
pub struct S3Server {
    pub endpoint: String,
    _reaper: Reaper,
}

impl S3Server {
    pub fn start(toolbox: &Toolbox, runner: &Runner) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("cnpgtp-s3-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?
            .keep();
        let reaper = Reaper::spawn(&dir, None, runner)?;
        let port = pg::free_port()?;
        let log = std::fs::File::create(dir.join("moto.log")).map_err(|e| e.to_string())?;
        let child = Command::new(toolbox.root.join("moto/bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start moto_server: {e}"))?;
        // The reaper kills what the pid files in its directory name.
        std::fs::write(dir.join("moto.pid"), format!("{}\n", child.id()))
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_mins(1);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(dir.join("moto.log")).unwrap_or_default();
                return Err(format!("moto_server did not listen on {port}:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            _reaper: reaper,
        })
    }
}

/// Shell-quotes one word for an `archive_command` or `restore_command`.
pub fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=%@,+".contains(&b))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod unit {
    use super::postgres_time;

    #[test]
    fn times_as_cloudnativepg_converts_them() {
        assert_eq!(
            postgres_time("2026-12-02T07:40:00.1234Z"),
            "2026-12-02 07:40:00.123400+00:00"
        );
        assert_eq!(
            postgres_time("2026-12-02T07:40:00+01:00"),
            "2026-12-02 07:40:00.000000+01:00"
        );
    }
}
