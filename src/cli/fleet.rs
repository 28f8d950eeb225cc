//! Which databases one command renders (a values layer stack, or one database per positional
//! FILE or DIR) and rendering them on every core.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::args::{LayerArgs, RenderArgs};
use super::{Failure, argocd, exit};
use crate::manifest::Manifest;
use crate::render::Renderer;
use crate::values::{self, Override, Problem, Problems, Source};

/// One database to render: the per-database source (if any) and the directory name that
/// supplies its default name.
pub(super) struct Database {
    source: Option<Source>,
    default_name: Option<String>,
}

pub(super) fn read_sources(paths: &[PathBuf]) -> Result<Vec<Source>, Problems> {
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

pub(super) fn overrides(args: &LayerArgs) -> Result<Vec<Override>, Problems> {
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
    let mut problems = Vec::new();
    for argument in &args.set_file {
        let Some((path, file)) = argument.split_once('=') else {
            problems.push(Problem::new(
                None,
                values::KeyPath::default(),
                "`--set-file` expects path=FILE, and this argument has no `=`",
                "write it as --set-file tls.server.ca.pem=ca.crt",
            ));
            continue;
        };
        match read_limited(Path::new(file)) {
            Ok(contents) => list.push(Override::File {
                path: path.to_string(),
                file: file.to_string(),
                contents,
            }),
            Err(why) => problems.push(Problem::new(
                None,
                values::KeyPath::parse(path),
                format!("--set-file cannot read {file}: {why}"),
                "name a readable text file",
            )),
        }
    }
    list.extend(args.set_json.iter().map(|s| Override::Json {
        argument: s.clone(),
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
    if problems.is_empty() {
        Ok(list)
    } else {
        Err(Problems(problems))
    }
}

/// A `--set-file` file's text, refused past the size of any values file.
fn read_limited(path: &Path) -> Result<String, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| e.kind().to_string())?
        .len();
    if size > values::MAX_SOURCE_BYTES {
        return Err(format!("larger than {} bytes", values::MAX_SOURCE_BYTES));
    }
    let bytes = std::fs::read(path).map_err(|e| e.kind().to_string())?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// (kind, namespace, name) of one rendered object.
type ObjectId = (String, String, String);

/// One database's render: (warnings, name, its objects, finished output), or the problems with
/// its values.
type DatabaseResult<T> = Result<(Vec<String>, String, Vec<ObjectId>, T), Problems>;

/// Renders every database the arguments name and hands each one's manifests to `finish`
/// (serializing them, say) on the thread that rendered them, so a fleet's output is written on
/// every core too: (name, finished) in argument order.
pub(super) fn render_all<T: Send>(
    args: &RenderArgs,
    finish: impl Fn(&mut Vec<Manifest>) -> Result<T> + Sync,
) -> Result<Vec<(String, T)>, Failure> {
    render_all_warning(args, false, finish)
}

/// [`render_all`], warning on stderr about argocd-vault-plugin placeholders in the values
/// unless `--argocd` says the plugin follows (`render`; `lint` reports them itself).
pub(super) fn render_all_warning<T: Send>(
    args: &RenderArgs,
    warn_placeholders: bool,
    finish: impl Fn(&mut Vec<Manifest>) -> Result<T> + Sync,
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
    // One database: the process ends soon after, so its plan and objects are left to the exit
    // instead of freed block by block (BENCHMARKS.md, round 6); a fleet frees each database's.
    let only_one = databases.len() == 1;
    let renderer = if only_one {
        Renderer::for_one_database()
    } else {
        Renderer::new()
    };
    let mut overrides = argocd.overrides.clone();
    overrides.extend(self::overrides(&args.layers).map_err(invalid)?);

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
                let mut manifests = match renderer.render(&loaded.values) {
                    Ok(manifests) => manifests,
                    // A patch or an extra object that does not fit: the user's, at their line.
                    Err(e) => match e.downcast::<Problems>() {
                        Ok(problems) => return Ok(Err(problems)),
                        Err(e) => return Err(Failure::new(exit::INTERNAL, e)),
                    },
                };
                let ids = manifests
                    .iter()
                    .map(|m| {
                        let namespace = m.object.metadata().namespace.clone().unwrap_or_default();
                        (
                            m.kind_name().to_string(),
                            namespace,
                            m.object.name().to_string(),
                        )
                    })
                    .collect();
                let finished =
                    finish(&mut manifests).map_err(|e| Failure::new(exit::INTERNAL, e))?;
                // What `finish` did not take is not looked at again.
                if only_one {
                    std::mem::forget(manifests);
                }
                let mut warnings: Vec<String> =
                    loaded.warnings.iter().map(ToString::to_string).collect();
                if !args.argocd && warn_placeholders {
                    warnings.extend(placeholder_warning(&loaded));
                }
                Ok(Ok((warnings, loaded.values.name.clone(), ids, finished)))
            }
            Err(problems) => Ok(Err(problems)),
        }
    };
    // A fleet renders on every core, in chunks that keep the argument order; the templates are
    // compiled once and shared. One database renders on the main thread.
    // One database asks nothing: the core count costs some 20 system calls (cgroup files).
    let threads = if databases.len() > 1 {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(databases.len())
    } else {
        1
    };
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
    let mut owners: BTreeMap<ObjectId, String> = BTreeMap::new();
    for result in results {
        match result? {
            Ok((warnings, name, ids, finished)) => {
                for warning in &warnings {
                    eprintln!("warning: {warning}");
                }
                for id in ids {
                    if let Some(first) = owners.get(&id) {
                        return Err(collision(first, &name, &id));
                    }
                    owners.insert(id, name.clone());
                }
                rendered.push((name, finished));
            }
            Err(problems) => all_problems.extend(problems.0),
        }
    }
    if !all_problems.is_empty() {
        return Err(invalid(Problems(all_problems)));
    }
    Ok(rendered)
}

/// Where each database's files go under `--output-dir DIR` (DIR/<name>/ for several databases).
/// Where each database's files go. One rule, whatever the count: databases named as positional
/// FILE/DIR arguments (a fleet) each get `DIR/<name>/`, so adding a second database does not
/// move the first; a render from `-f` files alone writes into `DIR/`.
pub(super) fn directory_targets(
    dir: &Path,
    fleet: bool,
    rendered: Vec<(String, BTreeMap<String, String>)>,
) -> Result<BTreeMap<PathBuf, BTreeMap<String, String>>, Failure> {
    let mut targets = BTreeMap::new();
    for (name, files) in rendered {
        let target = if fleet {
            dir.join(&name)
        } else {
            dir.to_path_buf()
        };
        if targets.insert(target, files).is_some() {
            return Err(Failure::new(
                exit::INVALID,
                anyhow::anyhow!(
                    "two databases named `{name}` would share {}: in one --output-dir each database needs its own name",
                    dir.join(&name).display()
                ),
            ));
        }
    }
    Ok(targets)
}

/// Two databases of one fleet render the same object: applied together, one would overwrite
/// the other. Databases may share a name in different namespaces; objects may not collide.
fn collision(first: &str, second: &str, (kind, namespace, name): &ObjectId) -> Failure {
    let object = if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    };
    let who = if first == second {
        format!("two databases named `{first}`")
    } else {
        format!("databases `{first}` and `{second}`")
    };
    Failure::new(
        exit::INVALID,
        anyhow::anyhow!(
            "{who} both render {object}: give them distinct names, namespaces or Teleport names (teleport.databaseName, teleport.role.name, teleport.job.joinToken, teleport.agent.joinToken)"
        ),
    )
}

/// The warning for values that hold argocd-vault-plugin placeholders: rendered as they are, they
/// need the plugin before apply. The keys are named, never their values.
fn placeholder_warning(loaded: &values::Loaded) -> Option<String> {
    // Most values hold no placeholder, and every placeholder holds a `<`: the values are
    // serialized to look only when the loader saw one (BENCHMARKS.md, round 6).
    if !loaded.may_hold_placeholders {
        return None;
    }
    let values = &loaded.values;
    let tree = serde_json::to_value(values).ok()?;
    let keys: Vec<String> = crate::lint::placeholder_fields(&tree)
        .into_iter()
        .map(|pointer| pointer.replace('/', "."))
        .collect();
    (!keys.is_empty()).then(|| {
        format!(
            "{}: argocd-vault-plugin placeholder(s) in {}: the manifests hold them as they are; apply them through argocd-vault-plugin (and pass --argocd to say it follows), or give the values themselves",
            values.name,
            keys.join(", ")
        )
    })
}
