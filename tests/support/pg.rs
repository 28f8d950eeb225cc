//! Process machinery for `tests/postgres.rs`: finding PostgreSQL, PgBouncer and OpenSSL, running
//! server processes as an unprivileged OS user, a throw-away PKI, `psql` sessions, and cleanup
//! that also happens when the test binary dies.
//!
//! Nothing here knows about cnpgtp or CloudNativePG; `tests/postgres.rs` does the CNPG part.
//!
//! Cleanup. Every working directory gets a *reaper*: a `sh` process that blocks reading a pipe
//! whose only writer is this test process. When the pipe closes (the owning value is dropped, or
//! the process exits or is killed, which is what happens to values kept in `static`s), the
//! reaper stops PostgreSQL (`pg_ctl stop -m immediate`), kills the PgBouncer whose pid file is in
//! the directory, and removes the directory.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binaries the suite needs and who runs the servers.
pub struct Tools {
    /// PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`).
    pub bindir: PathBuf,
    pub psql: PathBuf,
    pub openssl: PathBuf,
    pub localedef: Option<PathBuf>,
    /// `PgBouncer x.y.z` as printed by `pgbouncer --version`, with the parsed (major, minor).
    pub pgbouncer: Option<(PathBuf, (u32, u32), String)>,
    /// `postgres (PostgreSQL) 15.x ...`.
    pub server_version: String,
    pub runner: Runner,
    /// Process-wide scratch space (compiled locales), removed by its reaper at exit.
    scratch: Scratch,
}

struct Scratch {
    dir: PathBuf,
    _reaper: Reaper,
    locales: Mutex<Vec<(String, Result<(), String>)>>,
}

/// Who runs server processes: PostgreSQL and PgBouncer refuse to run as root.
pub struct Runner {
    /// `setpriv ... --` (or `runuser -u postgres --`) when this process is root, else empty.
    prefix: Vec<String>,
    /// uid and gid that must own the working directories when this process is root.
    owner: Option<(u32, u32)>,
    /// The OS user the servers run as (CloudNativePG's pg_ident `local` map maps it to postgres).
    pub os_user: String,
}

impl Runner {
    /// A command that runs `program` as the server OS user, with a clean PG*/locale environment.
    pub fn command(&self, program: impl AsRef<Path>) -> Command {
        let mut command = if self.prefix.is_empty() {
            Command::new(program.as_ref())
        } else {
            let mut command = Command::new(&self.prefix[0]);
            command.args(&self.prefix[1..]).arg(program.as_ref());
            command
        };
        clean_env(&mut command);
        command
    }

    /// Gives `path` (recursively) to the server OS user.
    pub fn hand_over(&self, path: &Path) -> Result<(), String> {
        if let Some((uid, gid)) = self.owner {
            let mut chown = Command::new("chown");
            chown.arg("-R").arg(format!("{uid}:{gid}")).arg(path);
            run(&mut chown)?;
        }
        Ok(())
    }
}

/// Removes every `PG*` variable (PGHOST, PGSSLMODE, ...) and pins messages to English, so the
/// outcome of a connection only depends on what the test passes.
pub fn clean_env(command: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            command.env_remove(&key);
        }
    }
    command
        .env_remove("LC_ALL")
        .env_remove("LANGUAGE")
        .env("LANG", "C")
        .env("LC_MESSAGES", "C");
}

/// What went wrong when a command fails: the command line, exit status and its output.
fn describe(command: &Command, status: &str, stdout: &[u8], stderr: &[u8]) -> String {
    let mut text = format!("`{command:?}` {status}");
    for (name, bytes) in [("stdout", stdout), ("stderr", stderr)] {
        let s = String::from_utf8_lossy(bytes);
        if !s.trim().is_empty() {
            let _ = write!(text, "\n--- {name}:\n{}", s.trim_end());
        }
    }
    text
}

/// Runs a command to completion; its stdout on success, a full description on failure.
pub fn run(command: &mut Command) -> Result<String, String> {
    command.stdin(Stdio::null());
    let output = command
        .output()
        .map_err(|e| format!("cannot run `{command:?}`: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(describe(
            command,
            &format!("failed ({})", output.status),
            &output.stdout,
            &output.stderr,
        ))
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn effective_uid() -> u32 {
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

fn id(args: &[&str]) -> Result<String, String> {
    run(Command::new("id").args(args)).map(|s| s.trim().to_string())
}

/// The server binaries: the highest `/usr/lib/postgresql/<major>/bin`, else `pg_config --bindir`.
fn find_bindir() -> Option<PathBuf> {
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    candidates.sort();
    let mut dirs: Vec<PathBuf> = candidates.into_iter().rev().map(|(_, d)| d).collect();
    if let Ok(out) = run(Command::new("pg_config").arg("--bindir")) {
        dirs.push(PathBuf::from(out.trim()));
    }
    dirs.into_iter().find(|dir| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|bin| dir.join(bin).is_file())
    })
}

fn discover() -> Result<Tools, String> {
    let bindir = find_bindir().ok_or(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) in /usr/lib/postgresql/*/bin \
         or `pg_config --bindir`; install the Debian `postgresql` package",
    )?;
    discover_in(bindir)
}

/// The tools with the server binaries of `bindir` (which may hold no `psql`: then the one on
/// `PATH`, which speaks to newer servers too).
fn discover_in(bindir: PathBuf) -> Result<Tools, String> {
    let psql = if bindir.join("psql").is_file() {
        bindir.join("psql")
    } else {
        which("psql").ok_or("no `psql` client (Debian package postgresql-client)")?
    };
    let openssl = which("openssl").ok_or("no `openssl` command (Debian package openssl)")?;
    let server_version = run(Command::new(bindir.join("postgres")).arg("--version"))?
        .trim()
        .to_string();
    // CNPGTP_PGBOUNCER: a newer build than Debian's (../shared/tools/get-pgbouncer.sh; .ci/run).
    let pgbouncer = std::env::var_os("CNPGTP_PGBOUNCER")
        .map(PathBuf::from)
        .filter(|path| path.is_file())
        .or_else(|| which("pgbouncer"))
        .and_then(|path| {
            let text = run(Command::new(&path).arg("--version")).ok()?;
            let first = text.lines().next()?.trim().to_string();
            let version = first.split_whitespace().nth(1)?;
            let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
            Some((path, (parts.next()??, parts.next()??), first))
        });
    let runner = if effective_uid() == 0 {
        let uid: u32 = id(&["-u", "postgres"])
            .map_err(|e| {
                format!(
                    "running as root, but there is no `postgres` OS user to run the servers as: {e}"
                )
            })?
            .parse()
            .map_err(|e| format!("`id -u postgres`: {e}"))?;
        let gid: u32 = id(&["-g", "postgres"])?
            .parse()
            .map_err(|e| format!("`id -g postgres`: {e}"))?;
        let prefix = if let Some(setpriv) = which("setpriv") {
            vec![
                setpriv.display().to_string(),
                format!("--reuid={uid}"),
                format!("--regid={gid}"),
                "--clear-groups".to_string(),
                "--".to_string(),
            ]
        } else if let Some(runuser) = which("runuser") {
            vec![
                runuser.display().to_string(),
                "-u".into(),
                "postgres".into(),
                "--".into(),
            ]
        } else {
            return Err("running as root, but neither `setpriv` nor `runuser` exists".into());
        };
        Runner {
            prefix,
            owner: Some((uid, gid)),
            os_user: "postgres".into(),
        }
    } else {
        Runner {
            prefix: Vec::new(),
            owner: None,
            os_user: id(&["-un"])?,
        }
    };
    let scratch_dir = tempfile::Builder::new()
        .prefix("cnpgtp-pg-scratch-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?
        .keep();
    std::fs::set_permissions(&scratch_dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", scratch_dir.display()))?;
    let reaper = Reaper::spawn(&scratch_dir, None, &runner)?;
    Ok(Tools {
        bindir,
        psql,
        openssl,
        localedef: which("localedef"),
        pgbouncer,
        server_version,
        runner,
        scratch: Scratch {
            dir: scratch_dir,
            _reaper: reaper,
            locales: Mutex::new(Vec::new()),
        },
    })
}

/// The tools, found once per process; `Err` says what is missing.
pub fn tools() -> Result<&'static Tools, String> {
    static TOOLS: OnceLock<Result<Tools, String>> = OnceLock::new();
    TOOLS.get_or_init(discover).as_ref().map_err(Clone::clone)
}

/// The tools with the server binaries in `bindir` (one PostgreSQL major of several), found once
/// per directory and kept for the life of the process.
pub fn tools_in(bindir: &Path) -> Result<&'static Tools, String> {
    static FOUND: Mutex<Vec<(PathBuf, &'static Tools)>> = Mutex::new(Vec::new());
    let mut found = FOUND
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, tools)) = found.iter().find(|(dir, _)| dir == bindir) {
        return Ok(tools);
    }
    let tools: &'static Tools = Box::leak(Box::new(discover_in(bindir.to_path_buf())?));
    found.push((bindir.to_path_buf(), tools));
    Ok(tools)
}

/// PostgreSQL server binaries by major: Debian's (`/usr/lib/postgresql/<major>/bin`), then those
/// `scripts/ci/install-test-tools.sh` unpacked (`$CNPGTP_TEST_TOOLS/postgres/<major>/bin`, default
/// `/opt/cnpgtp-test`).
pub fn server_bindirs() -> Vec<(u32, PathBuf)> {
    let tools = std::env::var_os("CNPGTP_TEST_TOOLS")
        .map_or_else(|| PathBuf::from("/opt/cnpgtp-test"), PathBuf::from);
    let mut dirs = std::collections::BTreeMap::new();
    for parent in [PathBuf::from("/usr/lib/postgresql"), tools.join("postgres")] {
        for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
            let Some(major) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let bin = entry.path().join("bin");
            if ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|b| bin.join(b).is_file())
            {
                dirs.entry(major).or_insert(bin);
            }
        }
    }
    dirs.into_iter().collect()
}

/// The major of the server binaries in `tools` (`postgres (PostgreSQL) 17.10` is 17).
pub fn server_major(tools: &Tools) -> Option<u32> {
    let version = tools.server_version.split_whitespace().nth(2)?;
    version.split('.').next()?.parse().ok()
}

impl Tools {
    /// Directory for `LOCPATH` holding locales compiled by [`Tools::ensure_locale`].
    pub fn locale_dir(&self) -> PathBuf {
        self.scratch.dir.join("locales")
    }

    /// Makes glibc locale `name` (e.g. `en_US.UTF-8`) available to initdb and postgres: either
    /// the system has it, or it is compiled with `localedef` into [`Tools::locale_dir`]. Returns
    /// whether `LOCPATH` must point there.
    pub fn ensure_locale(&self, name: &str) -> Result<bool, String> {
        let normalized = normalize_locale(name);
        if ["c", "posix"].contains(&normalized.to_lowercase().as_str())
            || normalized.eq_ignore_ascii_case("c.utf8")
        {
            return Ok(false);
        }
        let installed = run(Command::new("locale").arg("-a")).unwrap_or_default();
        if installed.lines().any(|l| l.trim() == normalized) {
            return Ok(false);
        }
        let mut compiled = self
            .scratch
            .locales
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, result)) = compiled.iter().find(|(n, _)| *n == normalized) {
            return result.clone().map(|()| true);
        }
        let result = self.compile_locale(name, &normalized);
        compiled.push((normalized, result.clone()));
        result.map(|()| true)
    }

    fn compile_locale(&self, name: &str, normalized: &str) -> Result<(), String> {
        let localedef = self.localedef.as_ref().ok_or_else(|| {
            format!("locale {name} is not installed and there is no `localedef` to build it")
        })?;
        let (base, charmap) = match name.split_once('.') {
            Some((base, codeset)) => {
                let (codeset, modifier) = codeset.split_once('@').unwrap_or((codeset, ""));
                let charmap = if codeset.eq_ignore_ascii_case("utf8")
                    || codeset.eq_ignore_ascii_case("utf-8")
                {
                    "UTF-8".to_string()
                } else {
                    codeset.to_string()
                };
                let base = if modifier.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}@{modifier}")
                };
                (base, charmap)
            }
            None => (name.to_string(), "ISO-8859-1".to_string()),
        };
        let dir = self.locale_dir();
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let mut command = Command::new(localedef);
        command
            .args(["-i", &base, "-f", &charmap])
            .arg(dir.join(normalized));
        run(&mut command).map(|_| ())?;
        // Readable by the server user.
        let mut chmod = Command::new("chmod");
        chmod.arg("-R").arg("a+rX").arg(&dir);
        run(&mut chmod).map(|_| ())
    }
}

/// glibc's normalized locale name: `en_US.UTF-8` -> `en_US.utf8`.
pub fn normalize_locale(name: &str) -> String {
    match name.split_once('.') {
        Some((base, rest)) => {
            let (codeset, modifier) = rest
                .split_once('@')
                .map_or((rest, None), |(c, m)| (c, Some(m)));
            let codeset: String = codeset
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            match modifier {
                Some(m) => format!("{base}.{codeset}@{m}"),
                None => format!("{base}.{codeset}"),
            }
        }
        None => name.to_string(),
    }
}

/// A free TCP port on 127.0.0.1 (bound, read and released).
pub fn free_port() -> Result<u16, String> {
    // Ports below the kernel's ephemeral range (32768-60999), so no outgoing connection takes one
    // between this check and the server's bind; each handed out once per process (threads bring
    // servers up at the same time), starting at a place that depends on the process id (other
    // test processes).
    static NEXT: Mutex<Option<u16>> = Mutex::new(None);
    const FIRST: u16 = 20_000;
    const COUNT: u16 = 12_000;
    let mut next = NEXT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let start = *next.get_or_insert_with(|| {
        let pid = u16::try_from(std::process::id() % u32::from(COUNT)).unwrap_or(0);
        FIRST + pid
    });
    for step in 0..COUNT {
        let port = FIRST + (start - FIRST + step) % COUNT;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            *next = Some(FIRST + (port - FIRST + 1) % COUNT);
            return Ok(port);
        }
    }
    Err(format!(
        "no free port on 127.0.0.1 in {FIRST}-{}",
        FIRST + COUNT - 1
    ))
}

/// Stops what runs out of a directory and removes it once the pipe to it closes (see module doc).
pub struct Reaper {
    child: Child,
    stdin: Option<ChildStdin>,
}

const REAPER_SCRIPT: &str = r#"trap '' INT TERM HUP QUIT
read _unused
dir="$1"; data="$2"; pg_ctl="$3"; shift 3
if [ -n "$data" ] && [ -f "$data/postmaster.pid" ]; then
  "$@" "$pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1
fi
for pidfile in "$dir"/*.pid; do
  [ -f "$pidfile" ] && kill "$(head -n 1 "$pidfile")" 2>/dev/null
done
rm -rf "$dir"
"#;

impl Reaper {
    /// `data`: the PostgreSQL data directory to stop (with `pg_ctl` from `bindir`), if any.
    pub fn spawn(
        dir: &Path,
        data: Option<(&Path, &Path)>,
        runner: &Runner,
    ) -> Result<Self, String> {
        let (data_dir, pg_ctl) = data.map_or((PathBuf::new(), PathBuf::new()), |(d, bindir)| {
            (d.to_path_buf(), bindir.join("pg_ctl"))
        });
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(REAPER_SCRIPT)
            .arg("reaper")
            .arg(dir)
            .arg(&data_dir)
            .arg(&pg_ctl)
            .args(&runner.prefix)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        clean_env(&mut command);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start the cleanup process: {e}"))?;
        let stdin = child.stdin.take();
        Ok(Self { child, stdin })
    }

    /// Runs the cleanup now and waits for it.
    pub fn finish(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A certificate and its key, PEM files.
#[derive(Debug, Clone)]
pub struct CertPair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl CertPair {
    pub fn cert_pem(&self) -> Result<String, String> {
        std::fs::read_to_string(&self.cert).map_err(|e| format!("{}: {e}", self.cert.display()))
    }
}

/// A throw-away PKI made with the `openssl` CLI: ECDSA P-256 keys in SEC1 (`EC PRIVATE KEY`)
/// encoding, as cert-manager writes with `privateKey: {algorithm: ECDSA, encoding: PKCS1}`.
pub struct Pki<'a> {
    tools: &'a Tools,
    dir: PathBuf,
}

/// cert-manager `usages` -> OpenSSL extension values.
fn openssl_usages(usages: &[String]) -> Result<(Vec<&'static str>, Vec<&'static str>), String> {
    let mut key_usage = Vec::new();
    let mut extended = Vec::new();
    for usage in usages {
        match usage.as_str() {
            "digital signature" => key_usage.push("digitalSignature"),
            "key encipherment" => key_usage.push("keyEncipherment"),
            "cert sign" => key_usage.push("keyCertSign"),
            "crl sign" => key_usage.push("cRLSign"),
            "client auth" => extended.push("clientAuth"),
            "server auth" => extended.push("serverAuth"),
            other => {
                return Err(format!(
                    "certificate usage {other:?} is not mapped in the test PKI"
                ));
            }
        }
    }
    Ok((key_usage, extended))
}

static SERIAL: AtomicU64 = AtomicU64::new(1);

fn next_serial() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "0x{:x}{:04x}",
        nanos & 0xffff_ffff_ffff,
        SERIAL.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}

impl<'a> Pki<'a> {
    pub fn new(tools: &'a Tools, dir: PathBuf) -> Result<Self, String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        std::fs::write(
            dir.join("openssl.cnf"),
            "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n\
             [ca]\nbasicConstraints = critical,CA:TRUE\n\
             keyUsage = critical,keyCertSign,cRLSign,digitalSignature\n\
             subjectKeyIdentifier = hash\n",
        )
        .map_err(|e| e.to_string())?;
        Ok(Self { tools, dir })
    }

    fn openssl(&self) -> Command {
        let mut command = Command::new(&self.tools.openssl);
        command.current_dir(&self.dir);
        command
    }

    fn key(&self, stem: &str) -> Result<PathBuf, String> {
        let key = self.dir.join(format!("{stem}.key"));
        run(self
            .openssl()
            .args([
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ])
            .arg(&key))?;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
        Ok(key)
    }

    /// A self-signed CA.
    pub fn ca(&self, stem: &str, common_name: &str) -> Result<CertPair, String> {
        let key = self.key(stem)?;
        let cert = self.dir.join(format!("{stem}.crt"));
        run(self
            .openssl()
            .args([
                "req",
                "-new",
                "-x509",
                "-days",
                "2",
                "-config",
                "openssl.cnf",
                "-extensions",
                "ca",
            ])
            .arg("-set_serial")
            .arg(next_serial())
            .arg("-subj")
            .arg(format!("/CN={common_name}"))
            .arg("-key")
            .arg(&key)
            .arg("-out")
            .arg(&cert))?;
        Ok(CertPair { cert, key })
    }

    /// A leaf signed by `ca`; `subject` like `/CN=name/O=org`, `usages` in cert-manager's words,
    /// `sans` like `DNS:localhost` / `IP:127.0.0.1`.
    pub fn leaf(
        &self,
        ca: &CertPair,
        stem: &str,
        subject: &str,
        usages: &[String],
        sans: &[String],
    ) -> Result<CertPair, String> {
        let key = self.key(stem)?;
        let csr = self.dir.join(format!("{stem}.csr"));
        run(self
            .openssl()
            .args([
                "req",
                "-new",
                "-config",
                "openssl.cnf",
                "-subj",
                subject,
                "-key",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&csr))?;
        let (key_usage, extended) = openssl_usages(usages)?;
        let mut ext = String::from("[leaf]\nbasicConstraints = critical,CA:FALSE\n");
        if !key_usage.is_empty() {
            let _ = writeln!(ext, "keyUsage = critical,{}", key_usage.join(","));
        }
        if !extended.is_empty() {
            let _ = writeln!(ext, "extendedKeyUsage = {}", extended.join(","));
        }
        ext.push_str("subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n");
        if !sans.is_empty() {
            let _ = writeln!(ext, "subjectAltName = {}", sans.join(","));
        }
        let ext_file = self.dir.join(format!("{stem}.ext"));
        std::fs::write(&ext_file, ext).map_err(|e| e.to_string())?;
        let cert = self.dir.join(format!("{stem}.crt"));
        run(self
            .openssl()
            .args([
                "x509",
                "-req",
                "-days",
                "2",
                "-extensions",
                "leaf",
                "-extfile",
            ])
            .arg(&ext_file)
            .arg("-set_serial")
            .arg(next_serial())
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(&ca.cert)
            .arg("-CAkey")
            .arg(&ca.key)
            .arg("-out")
            .arg(&cert))?;
        Ok(CertPair { cert, key })
    }
}

/// One PostgreSQL instance in its own temporary directory.
///
/// Layout: `pki/` certificates, `data/` PGDATA, `sock/` the unix socket, `client-home/` the
/// `HOME` of `psql` clients (so no `~/.postgresql/postgresql.crt` or `~/.pgpass` is ever used),
/// `pgbouncer/` a PgBouncer's files.
pub struct Instance {
    // Field order is drop order: the reaper stops the server and removes the directory first.
    reaper: Reaper,
    _tmp: tempfile::TempDir,
    pub tools: &'static Tools,
    pub dir: PathBuf,
    pub data: PathBuf,
    pub socket_dir: PathBuf,
    pub client_home: PathBuf,
    pub log: PathBuf,
    pub port: u16,
    /// `LOCPATH` for the server when a locale had to be compiled.
    pub locpath: Option<PathBuf>,
}

impl Instance {
    pub fn create(tools: &'static Tools) -> Result<Self, String> {
        let tmp = tempfile::Builder::new()
            .prefix("cnpgtp-pg-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let dir = tmp.path().to_path_buf();
        let data = dir.join("data");
        let reaper = Reaper::spawn(&dir, Some((&data, &tools.bindir)), &tools.runner)?;
        for sub in ["sock", "client-home", "pki"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
        }
        Ok(Self {
            reaper,
            _tmp: tmp,
            tools,
            socket_dir: dir.join("sock"),
            client_home: dir.join("client-home"),
            log: dir.join("postgres.log"),
            data,
            dir,
            port: free_port()?,
            locpath: None,
        })
    }

    pub fn pki(&self) -> Result<Pki<'static>, String> {
        Pki::new(self.tools, self.dir.join("pki"))
    }

    fn server_command(&self, program: &str) -> Command {
        let mut command = self.tools.runner.command(self.tools.bindir.join(program));
        command.current_dir(&self.dir).env("HOME", &self.dir);
        if let Some(locpath) = &self.locpath {
            command.env("LOCPATH", locpath);
        }
        command
    }

    /// `initdb -D data <args>` as the server OS user (after handing the directory over).
    pub fn initdb(&self, args: &[String]) -> Result<(), String> {
        self.tools.runner.hand_over(&self.dir)?;
        let mut command = self.server_command("initdb");
        command.arg("-D").arg(&self.data).args(args);
        run(&mut command).map(|_| ())
    }

    /// Writes a file the server reads, owned by the server user, mode 0600.
    pub fn write_server_file(&self, path: &Path, text: &str) -> Result<(), String> {
        std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
        self.tools.runner.hand_over(path)
    }

    pub fn start(&self) -> Result<(), String> {
        let mut command = self.server_command("pg_ctl");
        command
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        run(&mut command)
            .map(|_| ())
            .map_err(|e| format!("{e}\n--- server log:\n{}", self.log_text()))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs one statement as the `postgres` superuser over the unix socket, the way the
    /// CloudNativePG instance manager connects (peer authentication through pg_ident map `local`).
    pub fn superuser(&self, database: &str, sql: &str) -> Result<String, String> {
        self.superuser_session(database, &[sql])
    }

    /// Runs statements one after the other in one superuser session, each on its own (autocommit,
    /// as CloudNativePG's `Exec` of each bootstrap statement), stopping at the first error; the
    /// failing statement is echoed in the error.
    pub fn superuser_session(&self, database: &str, statements: &[&str]) -> Result<String, String> {
        if statements.is_empty() {
            return Ok(String::new());
        }
        self.local_psql("postgres", database, &["-A", "-t", "-b"], &[], statements)
            .map(|out| out.trim_end().to_string())
    }

    /// Runs statements in one session as `user` over the unix socket, from the server OS user (so
    /// CloudNativePG's peer rules and pg_ident maps apply, e.g. `cnpg_metrics_exporter`'s),
    /// stopping at the first error. Output is CSV *with* a header line per result, for callers
    /// that need the result's column names; `application_name` is set like CloudNativePG's pools.
    pub fn local_session_csv(
        &self,
        user: &str,
        database: &str,
        application_name: &str,
        statements: &[&str],
    ) -> Result<String, String> {
        self.local_psql(
            user,
            database,
            &["--csv"],
            &[("PGAPPNAME", application_name)],
            statements,
        )
    }

    /// `psql -X -q -v ON_ERROR_STOP=1 <format> -h <socket> -p <port> -U user -d database -c ...`
    /// as the server OS user; `env` after the clean environment.
    fn local_psql(
        &self,
        user: &str,
        database: &str,
        format: &[&str],
        env: &[(&str, &str)],
        statements: &[&str],
    ) -> Result<String, String> {
        let mut command = self.tools.runner.command(&self.tools.psql);
        command
            .current_dir(&self.dir)
            .env("HOME", &self.dir)
            .env("PGCONNECT_TIMEOUT", "10")
            .envs(env.iter().copied())
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
            .args(format)
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-p", &self.port.to_string(), "-U", user, "-d", database]);
        for sql in statements {
            command.arg("-c").arg(sql);
        }
        run(&mut command)
    }

    /// `psql` as a network client (this process's user, `HOME` = `client-home/`).
    pub fn client(
        &self,
        params: &[(&str, String)],
        password: Option<&str>,
        commands: &[&str],
    ) -> Outcome {
        psql(self.tools, &self.client_home, params, password, commands)
    }
}

/// The result of one `psql` run.
#[derive(Debug)]
pub struct Outcome {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
    pub what: String,
}

impl Outcome {
    /// `Ok(stdout)` or an error naming the connection and psql's message.
    pub fn result(&self) -> Result<String, String> {
        if self.ok {
            Ok(self.stdout.trim_end().to_string())
        } else {
            Err(format!("{} failed: {}", self.what, self.stderr.trim_end()))
        }
    }
}

/// A libpq connection string; every value single-quoted.
pub fn conninfo(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `psql -d <conninfo> -c ... -c ...` (one session, stops at the first error).
pub fn psql(
    tools: &Tools,
    home: &Path,
    params: &[(&str, String)],
    password: Option<&str>,
    commands: &[&str],
) -> Outcome {
    let info = conninfo(params);
    let mut command = Command::new(&tools.psql);
    clean_env(&mut command);
    command
        .env("HOME", home)
        .env("PGCONNECT_TIMEOUT", "10")
        .current_dir(home)
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", &info]);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    for sql in commands {
        command.arg("-c").arg(sql);
    }
    command.stdin(Stdio::null());
    let what = format!("psql {info} {commands:?}");
    match command.output() {
        Ok(output) => Outcome {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            what,
        },
        Err(e) => Outcome {
            ok: false,
            stdout: String::new(),
            stderr: format!("cannot run psql: {e}"),
            what,
        },
    }
}

/// A running PgBouncer, killed (and its pid file removed) on drop.
pub struct PgBouncer {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    pub log: PathBuf,
    pidfile: PathBuf,
}

impl PgBouncer {
    /// Writes `pgbouncer.ini` (the `[pgbouncer]` section gets `listen_*`, `unix_socket_dir`,
    /// `pidfile` and `auth_hba_file` appended) and `pg_hba.conf` into `instance.dir/pgbouncer`,
    /// starts PgBouncer as the server OS user and waits until it accepts connections.
    pub fn start(
        instance: &Instance,
        pgbouncer: &Path,
        databases: &str,
        parameters: &[(String, String)],
        hba: &str,
    ) -> Result<Self, String> {
        let dir = instance.dir.join("pgbouncer");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let port = free_port()?;
        let pidfile = instance.dir.join("pgbouncer.pid");
        let log = dir.join("pgbouncer.log");
        let hba_file = dir.join("pg_hba.conf");
        let mut ini = format!("[databases]\n{databases}\n[pgbouncer]\n");
        for (key, value) in parameters {
            let _ = writeln!(ini, "{key} = {value}");
        }
        let _ = write!(
            ini,
            "listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir = {}\npidfile = {}\nauth_hba_file = {}\n",
            dir.display(),
            pidfile.display(),
            hba_file.display()
        );
        std::fs::write(dir.join("pgbouncer.ini"), ini).map_err(|e| e.to_string())?;
        std::fs::write(&hba_file, hba).map_err(|e| e.to_string())?;
        instance.tools.runner.hand_over(&dir)?;
        let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut command = instance.tools.runner.command(pgbouncer);
        command
            .arg(dir.join("pgbouncer.ini"))
            .current_dir(&dir)
            .env("HOME", &dir)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file);
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start pgbouncer: {e}"))?;
        let mut bouncer = Self {
            child,
            port,
            dir,
            log,
            pidfile,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = bouncer.child.try_wait() {
                return Err(format!(
                    "pgbouncer exited ({status}) at start:\n{}",
                    bouncer.log_text()
                ));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(bouncer);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "pgbouncer does not listen on {port} after 15 s:\n{}",
                    bouncer.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.pidfile);
    }
}

/// Escapes a string for a single-quoted SQL literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Double-quotes an SQL identifier (as pgx `Identifier.Sanitize` does).
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A `postgresql.conf` value line.
pub fn conf_line(key: &str, value: &str) -> String {
    format!(
        "{key} = '{}'\n",
        value.replace('\\', "\\\\").replace('\'', "''")
    )
}

/// Writes a small file (PKI bundle, configuration).
pub fn write_all(path: &Path, text: &str) -> Result<(), String> {
    let mut file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| e.to_string())
}
