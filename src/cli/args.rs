//! The command line's shape: commands, flags and the examples `--help` prints.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::output::Format;

pub const EXAMPLES: &str = "\
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
    /// Set a value, typed like Helm (`postgres.instances=3`, `a.b=true`, `list={a,b}`); repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Set a value as a string (`stage=01`); repeatable.
    #[arg(long = "set-string", value_name = "PATH=VALUE")]
    pub set_string: Vec<String>,
    /// Set a value to a file's text (`tls.server.ca.pem=ca.crt`); repeatable.
    #[arg(long = "set-file", value_name = "PATH=FILE")]
    pub set_file: Vec<String>,
    /// Set a value to a JSON document (`postgres.nodeSelector={"disk":"ssd"}`); repeatable.
    #[arg(long = "set-json", value_name = "PATH=JSON")]
    pub set_json: Vec<String>,
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

#[derive(Debug, Clone, clap::Args)]
pub struct RoleArgs {
    #[command(flatten)]
    pub layers: LayerArgs,
    /// Print only the read role or only the write role (default: both, as a YAML stream).
    #[arg(long, value_enum, value_name = "ACCESS")]
    pub access: Option<AccessArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccessArg {
    Read,
    Write,
}

pub const TOKEN_EXAMPLES: &str = "\
The token allows exactly the ServiceAccount of the registration Job (registration: job,
identity: machineId; roles [Bot], bot_name teleport.job.botName) or of the agent
(registration: agent; roles [Db]), with the join type of teleport.join.

Examples:
  cnpgtp teleport token -f values.yaml > token.yaml && tctl create -f token.yaml
  cnpgtp teleport token -f values.yaml --set teleport.join.type=staticJwks \\
    --set-file teleport.join.staticJwks=jwks.json   # jwks.json: kubectl get --raw /openid/v1/jwks";

#[derive(Debug, Subcommand)]
pub enum TeleportCommand {
    /// Print the Teleport roles (`kind: role`) granting read and write access, for `tctl create -f`.
    Role(RoleArgs),
    /// Print the `databaseResources` values for a shared teleport-kube-agent Helm release.
    AgentValues(LayerArgs),
    /// Print the join token (`kind: token`, kubernetes join method) the registration Job's tbot
    /// or the agent joins with, for `tctl create -f`.
    #[command(after_help = TOKEN_EXAMPLES)]
    Token(LayerArgs),
}
