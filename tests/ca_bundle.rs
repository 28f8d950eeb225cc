//! The client-CA bundle (`src/ca_bundle.rs`).
//!
//! The merge lives in one place, `scripts/ca-bundle/sync.sh` (shipped in the sync workload's
//! ConfigMap); these tests run that script with `sh` on real certificates made by `openssl`:
//! bundle order, one copy of each certificate, refusal of anything that is not a certificate, and
//! a rotated CA replacing the old one, checked with `openssl verify` as PostgreSQL would use the
//! bundle. The sync loop runs against `tests/ca_bundle/fake-kubectl`, which serves Secrets from a
//! directory (kubectl is the dependency here, not the thing under test). The render tests check
//! that the Cluster always names a bundle the render produces, without `ca.key`, and that the sync
//! workload's RBAC and pod are as narrow as documented.

mod common;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/ca-bundle/sync.sh");
const FAKE_KUBECTL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ca_bundle/fake-kubectl");

// ---------------------------------------------------------------------------------------------
// A throw-away PKI made with openssl.

fn openssl_available() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "openssl is missing: .ci/run installs it"
        );
        eprintln!("\n!!! SKIPPED client-CA bundle test: openssl not on PATH !!!\n");
    }
    found
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A self-signed CA `<name>.crt` with key `<name>.key` (a new key unless `reuse_key`).
    fn ca_with(&self, name: &str, cn: &str, key: Option<&Path>) -> PathBuf {
        let cert = self.path(&format!("{name}.crt"));
        let mut command = Command::new("openssl");
        command.args(["req", "-x509", "-nodes", "-days", "2", "-subj"]);
        command.arg(format!("/CN={cn}"));
        command.args(["-addext", "basicConstraints=critical,CA:TRUE"]);
        command.args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        match key {
            Some(key) => command.arg("-key").arg(key),
            None => command
                .args([
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-keyout",
                ])
                .arg(self.path(&format!("{name}.key"))),
        };
        run(command.arg("-out").arg(&cert));
        cert
    }

    fn ca(&self, name: &str) -> PathBuf {
        self.ca_with(name, name, None)
    }

    /// A client certificate signed by CA `ca` (its `.crt` and `.key`).
    fn leaf(&self, ca: &str, name: &str) -> PathBuf {
        let key = self.path(&format!("{name}.key"));
        let csr = self.path(&format!("{name}.csr"));
        let cert = self.path(&format!("{name}.crt"));
        run(Command::new("openssl")
            .args(["req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-subj"])
            .arg(format!("/CN={name}"))
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr));
        run(Command::new("openssl")
            .args(["x509", "-req", "-days", "1", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(self.path(&format!("{ca}.crt")))
            .arg("-CAkey")
            .arg(self.path(&format!("{ca}.key")))
            .args(["-CAcreateserial", "-out"])
            .arg(&cert));
        cert
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The subjects of the certificates in a PEM bundle, in order, as openssl reads them.
fn subjects(bundle: &Path) -> Vec<String> {
    let pkcs7 = run(Command::new("openssl")
        .args(["crl2pkcs7", "-nocrl", "-certfile"])
        .arg(bundle));
    let mut child = Command::new("openssl")
        .args(["pkcs7", "-print_certs", "-noout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &pkcs7.stdout).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("subject="))
        .map(|s| {
            s.trim()
                .trim_start_matches("CN = ")
                .trim_start_matches("CN=")
                .to_string()
        })
        .collect()
}

/// Whether `openssl verify` accepts `leaf` with `bundle` as the only trust anchors, as PostgreSQL
/// does with `ssl_ca_file`.
fn verifies(bundle: &Path, leaf: &Path) -> bool {
    Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(bundle)
        .arg(leaf)
        .output()
        .unwrap()
        .status
        .success()
}

/// `sh sync.sh bundle FILE...`: the merge on its own.
fn bundle(files: &[&Path]) -> Output {
    Command::new("sh")
        .arg(SCRIPT)
        .arg("bundle")
        .args(files)
        .output()
        .unwrap()
}

fn bundle_ok(pki: &Pki, name: &str, files: &[&Path]) -> PathBuf {
    let out = bundle(files);
    assert!(
        out.status.success(),
        "bundle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    pki.write(name, &String::from_utf8(out.stdout).unwrap())
}

// ---------------------------------------------------------------------------------------------
// The merge.

#[test]
fn bundle_holds_the_cluster_ca_first_then_teleports() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let cluster = pki.ca("cluster-ca");
    let teleport = pki.ca("teleport-ca");
    let replica = pki.leaf("cluster-ca", "streaming_replica");
    let user = pki.leaf("teleport-ca", "teleport_user_read");
    let stranger = {
        pki.ca("other-ca");
        pki.leaf("other-ca", "intruder")
    };

    let merged = bundle_ok(&pki, "bundle.crt", &[&cluster, &teleport]);
    assert_eq!(subjects(&merged), ["cluster-ca", "teleport-ca"]);
    // Byte for byte the two PEM files (openssl writes 64-column PEM too), nothing else: no key.
    assert_eq!(read(&merged), read(&cluster) + &read(&teleport));
    assert!(!read(&merged).contains("PRIVATE KEY"));
    assert!(verifies(&merged, &replica));
    assert!(verifies(&merged, &user));
    assert!(!verifies(&merged, &stranger));

    // Teleport exports several CAs during its own rotation: all of them, in their order.
    let teleport_next = pki.ca("teleport-ca-next");
    let both = pki.write(
        "teleport-both.crt",
        &(read(&teleport) + &read(&teleport_next)),
    );
    let merged = bundle_ok(&pki, "bundle2.crt", &[&cluster, &both]);
    assert_eq!(
        subjects(&merged),
        ["cluster-ca", "teleport-ca", "teleport-ca-next"]
    );
}

#[test]
fn bundle_holds_each_certificate_once() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let cluster = pki.ca("cluster-ca");
    let teleport = pki.ca("teleport-ca");
    // The same certificate written differently: CRLF line ends, 76-column base64, text around it.
    let der = run(Command::new("openssl")
        .args(["x509", "-outform", "der", "-in"])
        .arg(&teleport))
    .stdout;
    let base64 = {
        let mut child = Command::new("base64")
            .args(["-w", "76"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), &der).unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
    };
    let rewrapped = format!(
        "subject=CN = teleport-ca\r\n-----BEGIN CERTIFICATE-----\r\n{}-----END CERTIFICATE-----\r\n",
        base64.replace('\n', "\r\n")
    );
    let messy = pki.write(
        "teleport-messy.crt",
        &format!("{rewrapped}\n{}{}", read(&teleport), read(&cluster)),
    );
    let merged = bundle_ok(&pki, "bundle.crt", &[&cluster, &messy]);
    assert_eq!(subjects(&merged), ["cluster-ca", "teleport-ca"]);
    assert_eq!(read(&merged), read(&cluster) + &read(&teleport));
}

#[test]
fn bundle_refuses_anything_but_certificates() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let cluster = pki.ca("cluster-ca");
    let teleport = pki.ca("teleport-ca");
    let cert = read(&teleport);
    let key = read(&pki.path("teleport-ca.key"));
    let relabel = |text: &str, label: &str| {
        text.replace(&format!("BEGIN {label}"), "BEGIN CERTIFICATE")
            .replace(&format!("END {label}"), "END CERTIFICATE")
    };
    let csr = {
        let path = pki.path("request.csr");
        run(Command::new("openssl")
            .args(["req", "-new", "-subj", "/CN=request", "-key"])
            .arg(pki.path("teleport-ca.key"))
            .arg("-out")
            .arg(&path));
        read(&path)
    };
    let public_key = String::from_utf8(
        run(Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(pki.path("teleport-ca.key")))
        .stdout,
    )
    .unwrap();
    let mut lines: Vec<&str> = cert.lines().collect();
    lines.remove(lines.len() / 2);
    let truncated_body = lines.join("\n") + "\n";
    let cases = [
        (
            "a private key after the certificate",
            format!("{cert}{key}"),
            "is a PRIVATE KEY",
        ),
        (
            "a key labelled CERTIFICATE",
            relabel(&key, "PRIVATE KEY"),
            "is not one",
        ),
        (
            "a request labelled CERTIFICATE",
            relabel(&csr, "CERTIFICATE REQUEST"),
            "is not one",
        ),
        (
            "a public key labelled CERTIFICATE",
            relabel(&public_key, "PUBLIC KEY"),
            "is not one",
        ),
        ("a certificate missing a line", truncated_body, "rejected"),
        (
            "a certificate without END",
            cert.lines().take(4).collect::<Vec<_>>().join("\n"),
            "no END line",
        ),
        (
            "broken base64",
            cert.replacen("MII", "M#I", 1),
            "not valid base64",
        ),
        ("nothing", String::new(), "holds no certificate"),
        (
            "text only",
            "not a certificate\n".to_string(),
            "holds no certificate",
        ),
    ];
    for (what, text, expected) in cases {
        let source = pki.write("teleport-bad.crt", &text);
        let out = bundle(&[&cluster, &source]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(out.stdout.is_empty(), "{what}: printed a bundle");
        assert!(stderr.contains("rejected"), "{what}: {stderr}");
        assert!(stderr.contains(expected), "{what}: {stderr}");
        // The cluster CA's source is checked the same way.
        let out = bundle(&[&source, &teleport]);
        assert_eq!(out.status.code(), Some(1), "{what} (cluster side)");
        assert!(out.stdout.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// The sync loop, against fake-kubectl.

/// A fake API: Secrets `db-client-ca` (tls.crt), `teleport-ca` (ca.crt), the empty bundle
/// `db-client-ca-bundle`, and Pooler `db-pooler-rw` (`db-pooler-ro` does not exist).
struct Api {
    dir: tempfile::TempDir,
}

impl Api {
    fn new(cluster: &Path, teleport: &Path) -> Self {
        let api = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        for secret in ["db-client-ca", "teleport-ca", "db-client-ca-bundle"] {
            std::fs::create_dir_all(api.dir.path().join("secrets").join(secret)).unwrap();
        }
        std::fs::create_dir_all(api.dir.path().join("poolers")).unwrap();
        std::fs::write(api.dir.path().join("poolers/db-pooler-rw"), "").unwrap();
        api.set("db-client-ca", "tls.crt", &read(cluster));
        api.set("teleport-ca", "ca.crt", &read(teleport));
        api
    }

    fn secret_file(&self, secret: &str, key: &str) -> PathBuf {
        self.dir.path().join("secrets").join(secret).join(key)
    }

    /// Changes a Secret the way the API server would: new data, new resourceVersion.
    fn set(&self, secret: &str, key: &str, text: &str) {
        std::fs::write(self.secret_file(secret, key), text).unwrap();
        let rv = self.secret_file(secret, ".rv");
        let next = std::fs::read_to_string(&rv)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(1)
            + 1;
        std::fs::write(rv, next.to_string()).unwrap();
    }

    fn bundle(&self) -> Option<String> {
        std::fs::read_to_string(self.secret_file("db-client-ca-bundle", "ca.crt")).ok()
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn writes(&self) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.contains(" patch secret "))
            .count()
    }

    fn pooler_patch(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("poolers").join(name)).unwrap()
    }

    fn command(&self, mode: &str) -> Command {
        let mut command = Command::new("sh");
        command
            .arg(SCRIPT)
            .arg(mode)
            .env("KUBECTL", FAKE_KUBECTL)
            .env("FAKE_KUBE", self.dir.path())
            .env("NAMESPACE", "databases")
            .env("CLUSTER_CA_SECRET", "db-client-ca")
            .env("CLUSTER_CA_KEY", "tls.crt")
            .env("TELEPORT_CA_SECRET", "teleport-ca")
            .env("TELEPORT_CA_KEY", "ca.crt")
            .env("TARGET_SECRET", "db-client-ca-bundle")
            .env("POOLERS", "db-pooler-rw db-pooler-ro")
            .env("TMPDIR", self.dir.path());
        command
    }

    fn once(&self) -> Output {
        self.command("once").output().unwrap()
    }
}

fn sha256(text: &str) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

#[test]
fn sync_writes_only_when_the_bundle_changes_and_replaces_a_rotated_ca() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let cluster = pki.ca("cluster-ca");
    let teleport = pki.ca("teleport-ca");
    let api = Api::new(&cluster, &teleport);

    let out = api.once();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = read(&bundle_ok(&pki, "expected.crt", &[&cluster, &teleport]));
    assert_eq!(api.bundle().as_deref(), Some(expected.as_str()));
    assert_eq!(api.writes(), 1);
    let write = api
        .calls()
        .into_iter()
        .find(|c| c.contains(" patch secret "))
        .unwrap();
    assert!(
        write.contains("--field-manager=cnpgtp-ca-bundle --type=merge"),
        "{write}"
    );
    assert!(!write.contains("ca.key"), "{write}");
    // PgBouncer: the existing Pooler is annotated with the bundle's digest; the missing one is
    // reported, not fatal.
    assert!(
        api.pooler_patch("db-pooler-rw")
            .contains(&sha256(&expected))
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("could not annotate Pooler db-pooler-ro")
    );

    // Nothing changed: nothing written, however often it runs.
    for _ in 0..2 {
        assert!(api.once().status.success());
    }
    assert_eq!(api.writes(), 1);
    let annotation_before = api.pooler_patch("db-pooler-rw");

    // Teleport rotates its database client CA: the new one replaces the old one.
    let user_old = pki.leaf("teleport-ca", "user-old");
    let rotated = pki.ca("teleport-ca-2");
    let user_new = pki.leaf("teleport-ca-2", "user-new");
    api.set("teleport-ca", "ca.crt", &read(&rotated));
    assert!(api.once().status.success());
    assert_eq!(api.writes(), 2);
    let current = pki.write("current.crt", &api.bundle().unwrap());
    assert_eq!(subjects(&current), ["cluster-ca", "teleport-ca-2"]);
    assert!(verifies(&current, &user_new));
    assert!(
        !verifies(&current, &user_old),
        "the old Teleport CA is gone"
    );
    assert_ne!(api.pooler_patch("db-pooler-rw"), annotation_before);

    // cert-manager renews the cluster CA (same key, rotationPolicy: Never): the renewed
    // certificate replaces the old one, and leaves signed before the renewal still verify.
    let replica = pki.leaf("cluster-ca", "streaming_replica");
    let renewed = pki.ca_with(
        "cluster-ca-renewed",
        "cluster-ca",
        Some(&pki.path("cluster-ca.key")),
    );
    api.set("db-client-ca", "tls.crt", &read(&renewed));
    assert!(api.once().status.success());
    assert_eq!(api.writes(), 3);
    assert_eq!(
        api.bundle().unwrap(),
        read(&renewed) + &read(&rotated),
        "renewed cluster CA first, then Teleport's"
    );
    let current = pki.write("current2.crt", &api.bundle().unwrap());
    assert!(verifies(&current, &replica));

    // Someone wipes the bundle (kubectl replace, an ArgoCD Replace sync): it is written again.
    api.set("db-client-ca-bundle", "ca.crt", "");
    assert!(api.once().status.success());
    assert_eq!(api.writes(), 4);
    assert_eq!(api.bundle().unwrap(), read(&renewed) + &read(&rotated));
}

/// The operator registration with a server CA generated in the cluster: the sync workload writes
/// that CA into `spec.tls.ca_cert` of the TeleportDatabaseV3 objects it is given (the render
/// leaves the field out), only when it differs, follows a rotation, and refuses a Secret that
/// holds anything but certificates, leaving the databases as they were.
#[test]
fn sync_writes_the_server_ca_into_the_teleport_databases() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let cluster = pki.ca("cluster-ca");
    let teleport = pki.ca("teleport-ca");
    let server_ca = pki.ca("server-ca");
    let api = Api::new(&cluster, &teleport);
    std::fs::create_dir_all(api.dir.path().join("secrets/db-server")).unwrap();
    api.set("db-server", "ca.crt", &read(&server_ca));
    let databases = api.dir.path().join("teleportdatabases");
    std::fs::create_dir_all(&databases).unwrap();
    for db in ["databases-db-rw", "databases-db-ro"] {
        std::fs::write(databases.join(db), "").unwrap();
    }
    let once = || {
        let mut command = api.command("once");
        command
            .env("SERVER_CA_SECRET", "db-server")
            .env("SERVER_CA_KEY", "ca.crt")
            .env("TELEPORT_NAMESPACE", "teleport")
            .env("TELEPORT_DATABASES", "databases-db-rw databases-db-ro");
        command.output().unwrap()
    };
    let patches = || {
        api.calls()
            .iter()
            .filter(|c| {
                c.starts_with("-n teleport patch teleportdatabasesv3.resources.teleport.dev ")
            })
            .count()
    };
    let out = once();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = read(&bundle_ok(&pki, "server-expected.crt", &[&server_ca]));
    let server_leaf = pki.leaf("server-ca", "appdb-rw");
    for db in ["databases-db-rw", "databases-db-ro"] {
        let written = read(&databases.join(db));
        assert_eq!(written, expected, "{db}");
        // What Teleport verifies the server with: the leaf the issuer signs verifies.
        assert!(verifies(&databases.join(db), &server_leaf), "{db}");
    }
    assert_eq!(patches(), 2);
    // Unchanged: nothing written.
    assert!(once().status.success());
    assert_eq!(patches(), 2);
    // Someone resets a database (an ArgoCD Replace sync, a re-created object): written again.
    std::fs::write(databases.join("databases-db-ro"), "").unwrap();
    assert!(once().status.success());
    assert_eq!(patches(), 3);
    // cert-manager re-issues the CA: both databases follow.
    let rotated = pki.ca("server-ca-2");
    api.set("db-server", "ca.crt", &read(&rotated));
    assert!(once().status.success());
    assert_eq!(patches(), 5);
    let rotated_leaf = pki.leaf("server-ca-2", "appdb-rw-2");
    assert!(verifies(&databases.join("databases-db-rw"), &rotated_leaf));
    assert!(!verifies(&databases.join("databases-db-rw"), &server_leaf));
    // A Secret holding a key is refused: the databases keep the CA they had.
    let before = read(&databases.join("databases-db-rw"));
    api.set("db-server", "ca.crt", &read(&pki.path("server-ca-2.key")));
    let out = once();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server CA not written"));
    assert_eq!(read(&databases.join("databases-db-rw")), before);
    assert_eq!(patches(), 5);
}

#[test]
fn sync_refusing_a_source_keeps_the_previous_bundle() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let cluster = pki.ca("cluster-ca");
    let teleport = pki.ca("teleport-ca");
    let api = Api::new(&cluster, &teleport);
    assert!(api.once().status.success());
    let before = api.bundle().unwrap();

    let key = read(&pki.path("teleport-ca.key"));
    api.set("teleport-ca", "ca.crt", &(read(&teleport) + &key));
    let out = api.once();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "rejected: Secret teleport-ca key ca.crt block 2 is a PRIVATE KEY, not a CERTIFICATE"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("bundle not written"), "{stderr}");
    assert!(
        !stderr.contains("BEGIN"),
        "never logs key material: {stderr}"
    );
    assert_eq!(api.writes(), 1);
    assert_eq!(api.bundle().unwrap(), before);

    // A missing source Secret: nothing written either.
    std::fs::remove_dir_all(api.dir.path().join("secrets/teleport-ca")).unwrap();
    let out = api.once();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read Secret teleport-ca"));
    assert_eq!(api.bundle().unwrap(), before);
}

/// Kills the child on drop so a failing test leaves no process behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn run_follows_changes_and_exits_when_a_watch_ends() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let cluster = pki.ca("cluster-ca");
    let teleport = pki.ca("teleport-ca");
    let api = Api::new(&cluster, &teleport);
    let mut running = Running(
        api.command("run")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let expected = read(&bundle_ok(&pki, "expected.crt", &[&cluster, &teleport]));
    wait_for("the first bundle", || {
        api.bundle().as_deref() == Some(&expected)
    });

    // Every watcher reported the current state (and the target watch saw the write): one write.
    wait_for("three watches", || {
        api.calls().iter().filter(|c| c.contains("--watch")).count() == 3
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(api.writes(), 1);

    let rotated = pki.ca("teleport-ca-2");
    api.set("teleport-ca", "ca.crt", &read(&rotated));
    let expected = read(&cluster) + &read(&rotated);
    wait_for("the rotated bundle", || {
        api.bundle().as_deref() == Some(&expected)
    });
    assert_eq!(api.writes(), 2);

    // The API server ends the watches: the script exits (non-zero) so Kubernetes restarts it.
    std::fs::write(api.dir.path().join("end-watches"), "").unwrap();
    let child = &mut running.0;
    wait_for("the script to exit", || child.try_wait().unwrap().is_some());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("ended"), "{stderr}");
    assert!(
        stderr.contains("exiting so Kubernetes restarts the container"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// The render.

fn render(args: &[&str]) -> Vec<Json> {
    let mut full = vec!["render"];
    full.extend_from_slice(args);
    let out = common::cnpgtp(&full).unwrap_or_else(|e| panic!("{args:?}: {}", e.0));
    cnpgtp::yaml::large_documents(&out).unwrap()
}

fn find<'a>(objects: &'a [Json], kind: &str, name: &str) -> &'a Json {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn of_kind<'a>(objects: &'a [Json], kind: &'a str) -> impl Iterator<Item = &'a Json> {
    objects.iter().filter(move |o| o["kind"] == kind)
}

/// Every shipped values file and the defaults, each with both mechanisms.
fn all_renders() -> Vec<(String, Vec<Json>)> {
    let mut files = vec![None];
    files.extend(
        common::shipped_values()
            .into_iter()
            .map(|p| Some(common::relative(&p))),
    );
    let mut renders = Vec::new();
    for file in &files {
        for mechanism in ["externalSecrets", "syncWorkload"] {
            let set = format!("clientCaBundle.mechanism={mechanism}");
            let mut args = Vec::new();
            if let Some(file) = file {
                args.extend(["-f", file.as_str()]);
            }
            args.extend(["--set", set.as_str()]);
            // The operator registration with a CA generated in the cluster needs the sync
            // workload; with external-secrets the CA is then given at render time.
            let uses_operator_without_ca = |args: &[&str]| {
                let mut full = vec!["render"];
                full.extend_from_slice(args);
                common::cnpgtp(&full).is_err_and(|(e, _)| e.contains("nothing writes it there"))
            };
            if mechanism == "externalSecrets" && uses_operator_without_ca(&args) {
                args.extend(["--set", "tls.server.ca.pem=<path:kv/data/pki#ca.crt>"]);
            }
            let label = format!("{} ({mechanism})", file.as_deref().unwrap_or("<defaults>"));
            renders.push((label, render(&args)));
        }
    }
    renders
}

#[test]
fn cluster_client_ca_secret_is_always_a_rendered_bundle_without_a_key() {
    for (label, objects) in all_renders() {
        let cluster = of_kind(&objects, "Cluster").next().unwrap();
        let name = cluster["spec"]["certificates"]["clientCASecret"]
            .as_str()
            .unwrap()
            .to_string();
        let secret = of_kind(&objects, "Secret").find(|s| s["metadata"]["name"] == name.as_str());
        let external = of_kind(&objects, "ExternalSecret").find(|e| {
            let target = &e["spec"]["target"]["name"];
            let target = if target.is_null() {
                &e["metadata"]["name"]
            } else {
                target
            };
            *target == name.as_str()
        });
        match (secret, external) {
            (Some(secret), None) => {
                // The sync workload's Secret: reload label, no data at all (the workload writes
                // ca.crt; a rendered value would be fought over), so certainly no ca.key.
                assert_eq!(
                    secret["metadata"]["labels"]["cnpg.io/reload"], "true",
                    "{label}"
                );
                assert!(
                    secret["data"].is_null() && secret["stringData"].is_null(),
                    "{label}"
                );
                assert!(
                    of_kind(&objects, "Deployment").any(|d| d["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.ends_with("-ca-bundle"))),
                    "{label}: no sync workload"
                );
            }
            (None, Some(external)) => {
                let template = &external["spec"]["target"]["template"];
                assert_eq!(
                    template["metadata"]["labels"]["cnpg.io/reload"], "true",
                    "{label}"
                );
                let keys: Vec<&String> = template["data"].as_object().unwrap().keys().collect();
                assert_eq!(
                    keys,
                    ["ca.crt"],
                    "{label}: the bundle holds ca.crt only, no ca.key"
                );
                assert_eq!(
                    template["data"]["ca.crt"],
                    cnpgtp::resources::ca_bundle::BUNDLE_TEMPLATE,
                    "{label}"
                );
                assert_eq!(
                    template["mergePolicy"], "Replace",
                    "{label}: no source keys copied"
                );
            }
            (s, e) => panic!(
                "{label}: clientCASecret {name} must be exactly one rendered Secret or ExternalSecret target (Secret: {}, ExternalSecret: {})",
                s.is_some(),
                e.is_some()
            ),
        }
    }
}

#[test]
fn external_secrets_reads_the_sources_the_sync_workload_watches() {
    let eso = render(&[
        "-f",
        "values/sync-workload.yaml",
        "--set",
        "clientCaBundle.mechanism=externalSecrets",
        "--set",
        "tls.server.ca.pem=<path:kv/data/pki#ca.crt>",
    ]);
    let sync = render(&["-f", "values/sync-workload.yaml"]);
    let external = find(&eso, "ExternalSecret", "ledger-db-client-ca-bundle");
    let sources: Vec<(String, String)> = external["spec"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["remoteRef"]["key"].as_str().unwrap().to_string(),
                d["remoteRef"]["property"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let deployment = find(&sync, "Deployment", "ledger-db-ca-bundle");
    let env: std::collections::BTreeMap<&str, &Json> =
        deployment["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["name"].as_str().unwrap(), &e["value"]))
            .collect();
    let watched = vec![
        (
            env["CLUSTER_CA_SECRET"].as_str().unwrap().to_string(),
            env["CLUSTER_CA_KEY"].as_str().unwrap().to_string(),
        ),
        (
            env["TELEPORT_CA_SECRET"].as_str().unwrap().to_string(),
            env["TELEPORT_CA_KEY"].as_str().unwrap().to_string(),
        ),
    ];
    assert_eq!(sources, watched, "same sources, same order");
    assert_eq!(
        sources,
        [
            ("ledger-db-client-ca".to_string(), "tls.crt".to_string()),
            ("teleport-db-client-ca".to_string(), "ca.crt".to_string())
        ]
    );
    assert_eq!(env["TARGET_SECRET"], "ledger-db-client-ca-bundle");
}

#[test]
fn sync_workload_rbac_names_every_object_and_the_fewest_verbs() {
    let objects = render(&["-f", "values/sync-workload.yaml"]);
    let role = find(&objects, "Role", "ledger-db-ca-bundle");
    let poolers: Vec<&str> = of_kind(&objects, "Pooler")
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(poolers, ["ledger-db-pooler-rw", "ledger-db-pooler-ro"]);
    let expected = serde_json::json!([
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["ledger-db-client-ca", "teleport-db-client-ca"], "verbs": ["get", "watch"]},
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["ledger-db-client-ca-bundle"], "verbs": ["get", "watch", "patch"]},
        // The server CA it writes into the Teleport databases (generated in the cluster).
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["ledger-db-server"], "verbs": ["get", "watch"]},
        {"apiGroups": ["postgresql.cnpg.io"], "resources": ["poolers"], "resourceNames": poolers, "verbs": ["patch"]},
    ]);
    assert_eq!(role["rules"], expected);
    let binding = find(&objects, "RoleBinding", "ledger-db-ca-bundle");
    assert_eq!(binding["roleRef"]["name"], "ledger-db-ca-bundle");
    assert_eq!(binding["subjects"][0]["name"], "ledger-db-ca-bundle");
    let pod = &find(&objects, "Deployment", "ledger-db-ca-bundle")["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "ledger-db-ca-bundle");

    // Without poolers there is no Pooler rule and nothing to annotate.
    let objects = render(&[
        "-f",
        "values/sync-workload.yaml",
        "--set",
        "pooler.enabled=false",
        "--set",
        "pooler.readOnly=false",
    ]);
    let rules = find(&objects, "Role", "ledger-db-ca-bundle")["rules"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rules.len(), 3);
    let deployment = find(&objects, "Deployment", "ledger-db-ca-bundle");
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap();
    assert!(
        env.iter()
            .any(|e| e["name"] == "POOLERS" && e["value"] == "")
    );
}

#[test]
fn sync_workload_pod_meets_pod_security_restricted() {
    let objects = render(&["-f", "values/sync-workload.yaml"]);
    let deployment = find(&objects, "Deployment", "ledger-db-ca-bundle");
    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["strategy"]["type"], "Recreate", "never two writers");
    let pod = &spec["template"]["spec"];
    let security = &pod["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert!(security["runAsUser"].as_i64().unwrap() > 0);
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(pod["containers"].as_array().unwrap().len(), 1);
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert!(security["capabilities"]["add"].is_null());
    assert!(pod["hostNetwork"].is_null() && pod["hostPID"].is_null());
    for volume in pod["volumes"].as_array().unwrap() {
        assert!(volume["hostPath"].is_null());
    }
    assert_eq!(container["resources"]["requests"]["cpu"], "10m");
    assert_eq!(container["resources"]["requests"]["memory"], "128Mi");
    assert_eq!(container["resources"]["limits"]["memory"], "384Mi");
    assert_eq!(container["image"], "docker.io/alpine/k8s:1.34.5");
    assert_eq!(
        container["command"],
        serde_json::json!(["/bin/sh", "/scripts/sync.sh", "run"])
    );
    // The script comes from the ConfigMap, which holds the repository's script verbatim.
    let config_map = find(&objects, "ConfigMap", "ledger-db-ca-bundle");
    assert_eq!(config_map["data"]["sync.sh"], read(Path::new(SCRIPT)));
    assert_eq!(
        config_map["data"]["sync.sh"],
        cnpgtp::resources::ca_bundle::SYNC_SCRIPT
    );
    let script_volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "script")
        .unwrap();
    assert_eq!(script_volume["configMap"]["name"], "ledger-db-ca-bundle");
    // A new script changes the pod template, so the Deployment rolls (a ConfigMap change alone
    // would not restart the pod).
    let hash = spec["template"]["metadata"]["annotations"]["cnpgtp.io/script-hash"]
        .as_str()
        .unwrap();
    assert!(
        hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{hash}"
    );
    // kubectl and mktemp write under /tmp only, an emptyDir.
    let mounts = container["volumeMounts"].as_array().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m["name"] == "tmp" && m["mountPath"] == "/tmp")
    );
}

#[test]
fn sync_workload_image_must_be_pinned() {
    let digest = "sha256:".to_string() + &"0123456789abcdef".repeat(4);
    let pinned = format!(
        "clientCaBundle.syncWorkload.image=registry.example.com:5000/tools/kubectl:1.34.5@{digest}"
    );
    let objects = render(&["-f", "values/sync-workload.yaml", "--set", &pinned]);
    let deployment = find(&objects, "Deployment", "ledger-db-ca-bundle");
    assert!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .ends_with(&digest)
    );
    for (image, message) in [
        ("docker.io/alpine/k8s", "not pinned"),
        ("docker.io/alpine/k8s:latest", "not pinned"),
        ("registry.example.com:5000/kubectl", "not pinned"),
        ("docker.io/alpine/k8s:1.34.5@sha256:abc", "digest"),
        ("docker.io/Alpine/k8s:1.34.5", "not an image reference"),
    ] {
        let set = format!("clientCaBundle.syncWorkload.image={image}");
        let (stderr, code) =
            common::cnpgtp(&["render", "-f", "values/sync-workload.yaml", "--set", &set])
                .expect_err(image);
        assert_eq!(code, cnpgtp::cli::exit::INVALID, "{image}");
        assert!(
            stderr.contains("clientCaBundle.syncWorkload.image"),
            "{image}: {stderr}"
        );
        assert!(stderr.contains(message), "{image}: {stderr}");
    }
    let (stderr, _) = common::cnpgtp(&[
        "render",
        "-f",
        "values/sync-workload.yaml",
        "--set-string",
        "clientCaBundle.syncWorkload.resources.memoryLimit=lots",
    ])
    .unwrap_err();
    assert!(
        stderr.contains("clientCaBundle.syncWorkload.resources.memoryLimit"),
        "{stderr}"
    );
}
