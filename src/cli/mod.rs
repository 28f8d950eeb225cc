//! Command-line interface: arguments -> library calls -> stdout / files, and the exit code.
//!
//! stdout carries manifests only (ArgoCD applies whatever it reads there); every diagnostic goes
//! to stderr, and on any error nothing at all is printed to stdout.

use std::collections::BTreeMap;
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
use fleet::{directory_targets, overrides, read_sources, render_all, render_all_warning};

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
    /// `diff`: the render differs from the committed manifests.
    pub const DIFFERS: u8 = 1;
    /// `diff`: anything that kept the comparison from happening.
    pub const TROUBLE: u8 = 2;
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
    /// A note for stderr (e.g. `diff`'s summary, kept out of a PR comment built from stdout).
    pub stderr: String,
    pub code: u8,
}

impl Outcome {
    fn ok(stdout: String) -> Self {
        Self {
            stdout,
            stderr: String::new(),
            code: exit::OK,
        }
    }
}

/// Entry point of the binary.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match parse(args) {
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
            eprint!("{}", outcome.stderr);
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

/// Parses a command line (the program name first).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(help_as_flag(args.into_iter().collect()))
}

/// `cnpgtp help [COMMAND] --help` means what `cnpgtp [COMMAND] --help` means (clap's `help`
/// subcommand takes no flags of its own).
fn help_as_flag(mut args: Vec<OsString>) -> Vec<OsString> {
    let asks_help = |a: &OsString| a == "--help" || a == "-h";
    if args.get(1).is_some_and(|a| a == "help") && args.iter().skip(2).any(asks_help) {
        args.remove(1);
        args.retain(|a| !asks_help(a));
        args.push("--help".into());
    }
    args
}

/// Runs a command and returns what goes to stdout. Nothing is printed on failure.
pub fn run(cli: &Cli) -> Result<Outcome, Failure> {
    match &cli.command {
        Command::Render(args) => render(args).map(Outcome::ok),
        Command::Diff(args) => diff(args),
        Command::Lint(args) => lint(args),
        Command::Values => Ok(Outcome::ok(values::DEFAULTS.to_string())),
        Command::Teleport(command) => {
            let layers = match command {
                TeleportCommand::Role(args) => &args.layers,
                TeleportCommand::AgentValues(layers) | TeleportCommand::Token(layers) => layers,
            };
            let sources =
                read_sources(&layers.values).map_err(|p| Failure::new(exit::INVALID, p))?;
            let overrides = overrides(layers).map_err(|p| Failure::new(exit::INVALID, p))?;
            let loaded =
                values::load(&sources, &overrides).map_err(|p| Failure::new(exit::INVALID, p))?;
            let documents = match command {
                TeleportCommand::Role(args) => {
                    use crate::resources::teleport::{Access, role_documents};
                    let only = args.access.map(|a| match a {
                        AccessArg::Read => Access::Read,
                        AccessArg::Write => Access::Write,
                    });
                    role_documents(&loaded.values, only)
                }
                TeleportCommand::AgentValues(_) => {
                    vec![crate::resources::teleport::agent_values(&loaded.values)]
                }
                TeleportCommand::Token(_) => {
                    crate::resources::teleport::token_documents(&loaded.values)
                        .map_err(|e| Failure::new(exit::INVALID, anyhow::anyhow!(e)))?
                }
            };
            yaml_documents(&documents)
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

/// Documents as one YAML stream, `---` between them.
fn yaml_documents(documents: &[serde_json::Value]) -> Result<Outcome, Failure> {
    let texts: Vec<String> = documents
        .iter()
        .map(crate::yaml::object_to_string)
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::new(exit::INTERNAL, anyhow::anyhow!(e)))?;
    Ok(Outcome::ok(texts.join("---\n")))
}

fn render(args: &RenderArgs) -> Result<String, Failure> {
    match (&args.output_dir, args.format) {
        (None, Format::Json) => {
            let all: Vec<_> = render_all_warning(args, true, |m| Ok(std::mem::take(m)))?
                .into_iter()
                .flat_map(|(_, manifests)| manifests)
                .collect();
            output::stream(&all, Format::Json).map_err(|e| Failure::new(exit::INTERNAL, e))
        }
        (None, Format::Yaml) => {
            let streams =
                render_all_warning(args, true, |manifests| output::yaml_stream(manifests))?;
            Ok(streams.into_iter().map(|(_, text)| text).collect())
        }
        (Some(dir), format) => {
            let files = render_all_warning(args, true, |m| output::directory_files(m, format))?;
            let fleet = !args.databases.is_empty();
            let targets = directory_targets(dir, fleet, files)?;
            let io = |e| Failure::new(exit::IO, e);
            output::write_directories(&targets).map_err(io)?;
            // A database no longer rendered leaves no folder behind (only what cnpgtp wrote).
            if fleet {
                for stale in output::stale_databases(dir, &targets).map_err(io)? {
                    output::remove_stale_database(&stale).map_err(io)?;
                }
            }
            Ok(String::new())
        }
    }
}

/// `diff` exits like diff(1) and `helm diff --detailed-exitcode`: 0 same, 1 different, 2 trouble
/// (invalid values, an unreadable or missing directory), so CI can tell a change from a failure.
fn diff(args: &DiffArgs) -> Result<Outcome, Failure> {
    let trouble = |failure: Failure| Failure::new(exit::TROUBLE, failure.error);
    diff_inner(args).map_err(trouble)
}

fn diff_inner(args: &DiffArgs) -> Result<Outcome, Failure> {
    refuse_output_dir("diff", &args.render)?;
    if !args.committed.is_dir() {
        return Err(Failure::new(
            exit::TROUBLE,
            anyhow::anyhow!(
                "{} is not a directory of committed manifests (write one with `cnpgtp render --output-dir`)",
                args.committed.display()
            ),
        ));
    }
    let format = args.render.format;
    let files = render_all(&args.render, |m| output::directory_files(m, format))?;
    let fleet = !args.render.databases.is_empty();
    let mut targets = directory_targets(&args.committed, fleet, files)?;
    // Databases committed but no longer rendered show as removed.
    if fleet {
        let stale = output::stale_databases(&args.committed, &targets)
            .map_err(|e| Failure::new(exit::TROUBLE, e))?;
        targets.extend(stale.into_iter().map(|dir| (dir, BTreeMap::new())));
    }
    let comparison = crate::diff::compare(&targets).map_err(|e| Failure::new(exit::IO, e))?;
    Ok(Outcome {
        stdout: comparison.text,
        stderr: comparison.summary,
        code: if comparison.changed {
            exit::DIFFERS
        } else {
            exit::OK
        },
    })
}

/// `lint` and `diff` write no manifests: a flag that would choose where or how is refused
/// rather than silently ignored.
fn refuse_output_dir(command: &str, args: &RenderArgs) -> Result<(), Failure> {
    if args.output_dir.is_some() {
        return Err(Failure::new(
            exit::USAGE,
            anyhow::anyhow!(
                "`cnpgtp {command}` writes no manifests, so --output-dir does not apply (render them with `cnpgtp render --output-dir`)"
            ),
        ));
    }
    Ok(())
}

fn lint(args: &LintArgs) -> Result<Outcome, Failure> {
    refuse_output_dir("lint", &args.render)?;
    let crds = match &args.crds {
        Some(dir) => Some(
            crate::lint::crd_schema::CrdSchemas::load_dir(dir)
                .map_err(|e| Failure::new(exit::IO, e))?,
        ),
        None => None,
    };
    let rendered = render_all(&args.render, |m| Ok(std::mem::take(m)))?;
    let mut report = String::new();
    let mut errors = false;
    let mut records = Vec::new();
    for (name, manifests) in &rendered {
        let findings = crate::lint::lint(manifests, crds.as_ref());
        errors |= crate::lint::has_errors(&findings);
        for finding in &findings {
            let _ = writeln!(report, "{name}: {finding}");
            records.push(serde_json::json!({
                "database": name, "severity": finding.severity.as_str(), "rule": finding.rule.as_str(),
                "kind": finding.kind, "namespace": finding.namespace, "name": finding.name,
                "message": finding.message,
            }));
        }
        for input in crate::lint::external_inputs(manifests) {
            let _ = writeln!(report, "{name}: input: {input}");
            records.push(serde_json::json!({
                "database": name, "severity": "input", "kind": input.kind,
                "namespace": input.namespace, "name": input.name, "message": input.input.describe(),
            }));
        }
    }
    // JSON for CI annotations: one array of findings and inputs.
    if args.render.format == Format::Json {
        report = serde_json::to_string_pretty(&records)
            .map_err(|e| Failure::new(exit::INTERNAL, e))?
            + "\n";
    }
    Ok(Outcome {
        stdout: report,
        stderr: String::new(),
        code: if errors { exit::INVALID } else { exit::OK },
    })
}
