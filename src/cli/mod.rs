//! Command-line interface: arguments -> library calls -> stdout / files, and the exit code.
//!
//! stdout carries manifests only (ArgoCD applies whatever it reads there); every diagnostic goes
//! to stderr, and on any error nothing at all is printed to stdout.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, Parser};

pub mod argocd;
mod args;
mod fleet;

pub use args::*;
use fleet::{directory_targets, overrides, read_sources, render_all};

use crate::output::{self, Format};
use crate::values::{self};

/// Exit codes, documented in the README.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// The values are invalid (or, for `diff`, the manifests differ).
    pub const INVALID: u8 = 1;
    /// The command line is wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// Reading or writing a file failed.
    pub const IO: u8 = 3;
    /// A bug in cnpgtp: a template rendered something that does not type-check.
    pub const INTERNAL: u8 = 4;
}

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    fn new(code: u8, error: impl Into<anyhow::Error>) -> Self {
        Self {
            code,
            error: error.into(),
        }
    }
}

/// What a successful command prints and the exit code it ends with (`diff` exits 1 with a diff).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub code: u8,
}

impl Outcome {
    fn ok(stdout: String) -> Self {
        Self {
            stdout,
            code: exit::OK,
        }
    }
}

/// Entry point of the binary.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    match run(&cli) {
        Ok(outcome) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(outcome.stdout.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::from(outcome.code),
                // A closed pipe (`| head`) is the reader's choice, not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    ExitCode::from(outcome.code)
                }
                Err(e) => {
                    eprintln!("error: writing to stdout: {e}");
                    ExitCode::from(exit::IO)
                }
            }
        }
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}

/// Runs a command and returns what goes to stdout. Nothing is printed on failure.
pub fn run(cli: &Cli) -> Result<Outcome, Failure> {
    match &cli.command {
        Command::Render(args) => render(args).map(Outcome::ok),
        Command::Diff(args) => diff(args),
        Command::Lint(args) => lint(args),
        Command::Values => Ok(Outcome::ok(values::DEFAULTS.to_string())),
        Command::Teleport(command) => {
            let (layers, document) = match command {
                TeleportCommand::Role(layers) => (
                    layers,
                    crate::resources::teleport::role_document
                        as fn(&values::Values) -> serde_json::Value,
                ),
                TeleportCommand::AgentValues(layers) => (
                    layers,
                    crate::resources::teleport::agent_values
                        as fn(&values::Values) -> serde_json::Value,
                ),
            };
            let sources =
                read_sources(&layers.values).map_err(|p| Failure::new(exit::INVALID, p))?;
            let overrides = overrides(layers).map_err(|p| Failure::new(exit::INVALID, p))?;
            let loaded =
                values::load(&sources, &overrides).map_err(|p| Failure::new(exit::INVALID, p))?;
            crate::yaml::object_to_string(&document(&loaded.values))
                .map(Outcome::ok)
                .map_err(|e| Failure::new(exit::INTERNAL, anyhow::anyhow!(e)))
        }
        Command::Schema => Ok(Outcome::ok(
            serde_json::to_string_pretty(&values::schema())
                .map_err(|e| Failure::new(exit::INTERNAL, e))?
                + "\n",
        )),
        Command::Completions { shell } => {
            let mut buffer = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "cnpgtp", &mut buffer);
            Ok(Outcome::ok(String::from_utf8_lossy(&buffer).into_owned()))
        }
    }
}

fn render(args: &RenderArgs) -> Result<String, Failure> {
    match (&args.output_dir, args.format) {
        (None, Format::Json) => {
            let all: Vec<_> = render_all(args, Ok)?
                .into_iter()
                .flat_map(|(_, manifests)| manifests)
                .collect();
            output::stream(&all, Format::Json).map_err(|e| Failure::new(exit::INTERNAL, e))
        }
        (None, Format::Yaml) => {
            let streams = render_all(args, |manifests| output::yaml_stream(&manifests))?;
            Ok(streams.into_iter().map(|(_, text)| text).collect())
        }
        (Some(dir), format) => {
            let files = render_all(args, |m| output::directory_files(&m, format))?;
            output::write_directories(&directory_targets(dir, files))
                .map_err(|e| Failure::new(exit::IO, e))?;
            Ok(String::new())
        }
    }
}

fn diff(args: &DiffArgs) -> Result<Outcome, Failure> {
    let format = args.render.format;
    let files = render_all(&args.render, |m| output::directory_files(&m, format))?;
    let targets = directory_targets(&args.committed, files);
    let comparison = crate::diff::compare(&targets).map_err(|e| Failure::new(exit::IO, e))?;
    Ok(Outcome {
        stdout: comparison.text,
        code: if comparison.changed {
            exit::INVALID
        } else {
            exit::OK
        },
    })
}

fn lint(args: &LintArgs) -> Result<Outcome, Failure> {
    let crds = match &args.crds {
        Some(dir) => Some(
            crate::lint::crd_schema::CrdSchemas::load_dir(dir)
                .map_err(|e| Failure::new(exit::IO, e))?,
        ),
        None => None,
    };
    let rendered = render_all(&args.render, Ok)?;
    let mut report = String::new();
    let mut errors = false;
    for (name, manifests) in &rendered {
        let findings = crate::lint::lint(manifests, crds.as_ref());
        errors |= crate::lint::has_errors(&findings);
        for finding in &findings {
            let _ = writeln!(report, "{name}: {finding}");
        }
        for input in crate::lint::external_inputs(manifests) {
            let _ = writeln!(report, "{name}: input: {input}");
        }
    }
    Ok(Outcome {
        stdout: report,
        code: if errors { exit::INVALID } else { exit::OK },
    })
}
