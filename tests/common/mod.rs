//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cnpgtp::cli::run;

/// `../shared` beside the repository (CI puts it there); `CNPGTP_SHARED` overrides.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CNPGTP_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
        PathBuf::from,
    );
    dir.join("crds").is_dir().then_some(dir)
}

/// Like `shared_dir`, but in CI (env `CI` set) a missing directory fails the test; elsewhere the
/// test is skipped with a loud message.
pub fn require_shared(test: &str) -> Option<PathBuf> {
    match shared_dir() {
        Some(dir) => Some(dir),
        None if std::env::var_os("CI").is_some() => {
            panic!("{test}: ../shared/crds is missing, and CI must run this test")
        }
        None => {
            eprintln!("\n!!! SKIPPED {test}: ../shared/crds not found (set CNPGTP_SHARED) !!!\n");
            None
        }
    }
}

/// Runs the CLI in-process; Ok(stdout) or Err(stderr text as the user sees it, or for a
/// non-zero successful outcome its stdout, with the exit code).
pub fn cnpgtp(args: &[&str]) -> Result<String, (String, u8)> {
    let mut full = vec!["cnpgtp"];
    full.extend_from_slice(args);
    let cli = cnpgtp::cli::parse(full.iter().map(std::ffi::OsString::from))
        .map_err(|e| (e.to_string(), 2))?;
    match run(&cli) {
        Ok(outcome) if outcome.code == 0 => Ok(outcome.stdout),
        // `diff` reports differences on stdout with exit code 1.
        Ok(outcome) => Err((outcome.stdout, outcome.code)),
        Err(f) => Err((format!("error: {:#}", f.error), f.code)),
    }
}

/// The shipped example values files (everything in `values/` but the defaults).
pub fn shipped_values() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("values"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("defaults.yaml"))
            .collect();
    files.sort();
    files
}

/// Path relative to the crate root, for stable snapshot text.
pub fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A finished process: whether it succeeded, and its stdout then stderr as text.
pub fn outcome(out: &std::process::Output) -> (bool, String) {
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
