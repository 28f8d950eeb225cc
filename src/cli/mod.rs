//! Command-line interface: arguments -> library calls -> stdout / files, and the exit code.
//!
//! stdout carries manifests only (ArgoCD applies whatever it reads there); every diagnostic goes
//! to stderr, and on any error nothing at all is printed to stdout.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};

pub mod argocd;

use crate::manifest::Manifest;
use crate::output::{self, Format};
use crate::render::Renderer;
use crate::values::{self, Override, Problem, Problems, Source};

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

const EXAMPLES: &str = "\
Examples:
  cnpgtp render                              render the embedded defaults
  cnpgtp render -f values/minimal.yaml       render one database
  cnpgtp render -f base.yaml -f prod.yaml --set postgres.instances=3
  cnpgtp render values.yaml | kubectl apply -f -
  cnpgtp render --output-dir manifests/ -f values.yaml
  cnpgtp render dbs/*/ --output-dir out/     one database per directory (fleet)
  cnpgtp values > values.yaml                commented defaults to start from
  cnpgtp schema > values.schema.json         JSON Schema for editors";

#[derive(Debug, Parser)]
#[command(name = "cnpgtp", version, about = "Render CloudNativePG + cert-manager + Teleport manifests for a production PostgreSQL cluster from one values file", after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the manifests (to stdout, or to --output-dir).
    #[command(after_help = EXAMPLES)]
    Render(RenderArgs),
    /// Compare a render with committed manifests; print a unified diff; exit 1 when they differ.
    Diff(DiffArgs),
    /// Render and check the result: references, TLS, secrets, Pod Security, RBAC and, with
    /// --crds, the CRD schemas. Findings on stdout; exit 1 when one is an error.
    Lint(LintArgs),
    /// Print the commented default values.
    Values,
    /// Print the JSON Schema of the values file.
    Schema,
    /// Teleport resources to apply outside the render.
    #[command(subcommand)]
    Teleport(TeleportCommand),
    /// Print a shell completion script.
    Completions {
        /// Shell to generate completions for.
        shell: clap_complete::Shell,
    },
}

/// Where the values come from: shared by every command that loads values.
#[derive(Debug, Clone, clap::Args)]
pub struct LayerArgs {
    /// Values file layered over the defaults (repeatable, in order; `-` reads stdin).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Set a value, typed like Helm (`postgres.instances=3`, `a.b=true`, `list={a;b}`); repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Set a value as a string (`stage=01`); repeatable.
    #[arg(long = "set-string", value_name = "PATH=VALUE")]
    pub set_string: Vec<String>,
    /// Namespace of every object (overrides `namespace`).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Cluster (release) name (overrides `name`).
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RenderArgs {
    /// Databases to render: each FILE (or DIR containing values.yaml) is one database, layered
    /// after the -f files. Without any, one database is rendered from the -f files alone.
    #[arg(value_name = "FILE|DIR")]
    pub databases: Vec<PathBuf>,
    #[command(flatten)]
    pub layers: LayerArgs,
    /// Write one file per object plus kustomization.yaml into DIR (DIR/<name>/ for several databases).
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
    /// Read ArgoCD's plugin environment: ARGOCD_APP_NAME and ARGOCD_APP_NAMESPACE as defaults of
    /// `name` and `namespace`, and ARGOCD_APP_PARAMETERS (`values-files`, `set`, `set-string`).
    #[arg(long)]
    pub argocd: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// Directory of committed manifests, as written by `render --output-dir`.
    #[arg(value_name = "COMMITTED_DIR")]
    pub committed: PathBuf,
    #[command(flatten)]
    pub render: RenderArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub render: RenderArgs,
    /// Directory of CustomResourceDefinitions (e.g. from `kubectl get crd NAME -o yaml`); every
    /// custom resource is validated against them, unknown fields rejected.
    #[arg(long, value_name = "DIR")]
    pub crds: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TeleportCommand {
    /// Print the Teleport role (`kind: role`) granting the database users, for `tctl create -f`.
    Role(LayerArgs),
    /// Print the `databaseResources` values for a shared teleport-kube-agent Helm release.
    AgentValues(LayerArgs),
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
            let loaded = values::load(&sources, &overrides(layers))
                .map_err(|p| Failure::new(exit::INVALID, p))?;
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

/// One database to render: the per-database source (if any) and the directory name that
/// supplies its default name.
struct Database {
    source: Option<Source>,
    default_name: Option<String>,
}

fn read_sources(paths: &[PathBuf]) -> Result<Vec<Source>, Problems> {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        match Source::read(path) {
            Ok(source) => sources.push(source),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(sources)
    } else {
        Err(Problems(problems))
    }
}

/// File names looked for in a database directory, in order.
pub const DIRECTORY_VALUES: &[&str] = &["values.yaml", "cnpgtp.yaml"];

fn database_list(args: &RenderArgs) -> Result<Vec<Database>, Problems> {
    if args.databases.is_empty() {
        return Ok(vec![Database {
            source: None,
            default_name: None,
        }]);
    }
    let mut databases = Vec::new();
    let mut problems = Vec::new();
    for path in &args.databases {
        let (file, default_name) = if path.is_dir() {
            let found = DIRECTORY_VALUES
                .iter()
                .map(|n| path.join(n))
                .find(|p| p.is_file());
            let dir_name = path
                .canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
            if let Some(file) = found {
                (file, dir_name)
            } else {
                problems.push(values::Problem::new(
                    Some(crate::yaml::Origin {
                        source: path.display().to_string().into(),
                        line: 0,
                        column: 0,
                    }),
                    values::KeyPath::default(),
                    "this directory holds no values.yaml",
                    "add a values.yaml to it, or name the values file directly",
                ));
                continue;
            }
        } else {
            (path.clone(), None)
        };
        match Source::read(&file) {
            Ok(source) => databases.push(Database {
                source: Some(source),
                default_name,
            }),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(databases)
    } else {
        Err(Problems(problems))
    }
}

fn overrides(args: &LayerArgs) -> Vec<Override> {
    let mut list: Vec<Override> = args
        .set
        .iter()
        .map(|s| Override::Set {
            argument: s.clone(),
            typed: true,
        })
        .collect();
    list.extend(args.set_string.iter().map(|s| Override::Set {
        argument: s.clone(),
        typed: false,
    }));
    if let Some(name) = &args.name {
        list.push(Override::Key {
            path: "name".into(),
            value: name.clone(),
            from: "--name".into(),
        });
    }
    if let Some(namespace) = &args.namespace {
        list.push(Override::Key {
            path: "namespace".into(),
            value: namespace.clone(),
            from: "--namespace".into(),
        });
    }
    list
}

/// One database's render: (warnings, name, finished output), or the problems with its values.
type DatabaseResult<T> = Result<(Vec<Problem>, String, T), Problems>;

/// Renders every database the arguments name and hands each one's manifests to `finish`
/// (serializing them, say) on the thread that rendered them, so a fleet's output is written on
/// every core too: (name, finished) in argument order.
fn render_all<T: Send>(
    args: &RenderArgs,
    finish: impl Fn(Vec<Manifest>) -> Result<T> + Sync,
) -> Result<Vec<(String, T)>, Failure> {
    let invalid = |p: Problems| Failure::new(exit::INVALID, p);
    let argocd = if args.argocd {
        argocd::inputs(&|key| std::env::var(key).ok()).map_err(invalid)?
    } else {
        argocd::Inputs::default()
    };
    let mut files = args.layers.values.clone();
    files.extend(argocd.values_files.iter().cloned());
    let shared = read_sources(&files).map_err(invalid)?;
    let databases = database_list(args).map_err(invalid)?;
    let renderer = Renderer::new();
    let mut overrides = argocd.overrides.clone();
    overrides.extend(self::overrides(&args.layers));

    let render_one = |database: &Database| -> Result<DatabaseResult<T>, Failure> {
        let mut sources: Vec<Source> = argocd.defaults.iter().cloned().collect();
        if let Some(name) = &database.default_name {
            // The directory name is the default name; any values file may still set `name`.
            sources.push(Source {
                name: format!("directory name of {name}"),
                text: format!("name: {}\n", serde_json::Value::String(name.clone())),
            });
        }
        sources.extend(shared.iter().cloned());
        sources.extend(database.source.clone());
        match values::load(&sources, &overrides) {
            Ok(loaded) => {
                let manifests = renderer
                    .render(&loaded.values)
                    .map_err(|e| Failure::new(exit::INTERNAL, e))?;
                let finished = finish(manifests).map_err(|e| Failure::new(exit::INTERNAL, e))?;
                Ok(Ok((loaded.warnings, loaded.values.name.clone(), finished)))
            }
            Err(problems) => Ok(Err(problems)),
        }
    };
    // A fleet renders on every core, in chunks that keep the argument order; the templates are
    // compiled once and shared. One database renders on the main thread.
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(databases.len().max(1));
    let chunk = databases.len().div_ceil(threads).max(1);
    let results: Vec<_> = if threads == 1 {
        databases.iter().map(render_one).collect()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = databases
                .chunks(chunk)
                .map(|part| scope.spawn(|| part.iter().map(render_one).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a render thread panicked"))
                .collect()
        })
    };

    let mut rendered = Vec::new();
    let mut all_problems = Vec::new();
    for result in results {
        match result? {
            Ok((warnings, name, finished)) => {
                for warning in &warnings {
                    eprintln!("warning: {warning}");
                }
                rendered.push((name, finished));
            }
            Err(problems) => all_problems.extend(problems.0),
        }
    }
    if !all_problems.is_empty() {
        return Err(invalid(Problems(all_problems)));
    }
    check_unique_names(&rendered)?;
    Ok(rendered)
}

/// Where each database's files go under `--output-dir DIR` (DIR/<name>/ for several databases).
fn directory_targets(
    dir: &Path,
    rendered: Vec<(String, BTreeMap<String, String>)>,
) -> BTreeMap<PathBuf, BTreeMap<String, String>> {
    let several = rendered.len() > 1;
    rendered
        .into_iter()
        .map(|(name, files)| {
            let target = if several {
                dir.join(name)
            } else {
                dir.to_path_buf()
            };
            (target, files)
        })
        .collect()
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

fn check_unique_names<T>(rendered: &[(String, T)]) -> Result<(), Failure> {
    let mut seen = std::collections::BTreeSet::new();
    for (name, _) in rendered {
        if !seen.insert(name) {
            return Err(Failure::new(
                exit::INVALID,
                anyhow::anyhow!("two databases are both named `{name}`: give each its own `name`"),
            ));
        }
    }
    Ok(())
}
