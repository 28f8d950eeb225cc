//! Hostile input, clean failure, safe output.
//!
//! - Every bad input is refused with exit code 1 and an error naming the file, line, key and a
//!   fix, with nothing on stdout and no panic: malformed YAML, wrong types, unknown and misspelt
//!   keys at every level, duplicate keys, non-UTF-8 bytes, alias bombs, deep nesting, huge files,
//!   missing files, directories, malformed `--set`.
//! - No value can change the output's structure: property tests put hostile strings into every
//!   free-form string field (found by walking the values' JSON Schema) and check that the render
//!   either refuses them naming the key, or re-parses to the same objects with the value intact.
//! - Secrets never reach stderr; a plaintext secret draws a warning, a placeholder does not.
//! - `--output-dir` is all-or-nothing and never touches files cnpgtp did not write.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use cnpgtp::cli::exit;
use cnpgtp::render::Renderer;
use cnpgtp::values::{self, KeyPath, Override, Segment, Source};
use common::cnpgtp;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value as Json, json};

// ---------------------------------------------------------------------------------------------
// Bad input: refused with exit 1, file:line:column, key path and a fix

/// Runs `args`, which must fail as invalid input; returns stderr.
#[track_caller]
fn refused(args: &[&str]) -> String {
    match cnpgtp(args) {
        Ok(out) => panic!("{args:?} was accepted:\n{out}"),
        Err((stderr, code)) => {
            assert_eq!(code, exit::INVALID, "{args:?}: {stderr}");
            assert!(stderr.starts_with("error: invalid values ("), "{stderr}");
            assert!(stderr.contains("\n  fix: "), "no fix in: {stderr}");
            stderr
        }
    }
}

/// Asserts that one problem line starts with `at` (file:line:) and contains `text`, and that
/// a fix follows it.
#[track_caller]
fn assert_problem(stderr: &str, at: &str, text: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    let found = lines.windows(2).any(|pair| {
        pair[0].starts_with(at) && pair[0].contains(text) && pair[1].starts_with("  fix: ")
    });
    assert!(
        found,
        "expected a problem at {at} with {text:?} and a fix in:\n{stderr}"
    );
}

#[track_caller]
fn assert_contains(stderr: &str, needles: &[&str]) {
    for needle in needles {
        assert!(stderr.contains(needle), "expected {needle:?} in:\n{stderr}");
    }
}

/// A values file, the problems expected as (line, text), and their count.
type FileCase = (&'static str, &'static [(usize, &'static str)], usize);

#[test]
fn bad_values_files_name_file_line_key_and_fix() {
    // (file, problems as (line, text), problem count). Columns are not pinned: they may move
    // between a key and its value as error positions improve.
    let cases: &[FileCase] = &[
        (
            "unknown-keys-everywhere.yaml",
            &[
                (2, "nmae: unknown key"),
                (5, "postgres.storage.sise: unknown key"),
                (10, "tls.server.vault.appRole.secretID: unknown key"),
                (13, "roles[0].nmae: unknown key"),
                (16, "teleport.job.identty: unknown key"),
            ],
            5,
        ),
        (
            "wrong-types.yaml",
            &[
                (3, "postgres.instances: expected integer, found a string"),
                (4, "postgres.parameters: expected object, found an integer"),
                (5, "labels: expected object, found a list"),
                (6, "roles: expected array, found a mapping"),
                (
                    9,
                    "tls.server.extraDnsNames: expected array, found a string",
                ),
                (11, "pooler.enabled: expected boolean, found a string"),
            ],
            6,
        ),
        (
            "duplicate-keys-nested.yaml",
            &[(4, "duplicate key `size` (first written at line 3)")],
            1,
        ),
        (
            "duplicate-keys-in-list.yaml",
            &[(4, "duplicate key `login` (first written at line 3)")],
            1,
        ),
        ("bad-indentation.yaml", &[(4, "this is not valid YAML")], 1),
        (
            "unclosed-quote.yaml",
            &[(2, "this is not valid YAML: unclosed quote")],
            1,
        ),
        (
            "top-level-scalar.yaml",
            &[(
                1,
                "the top level of a values file must be a mapping, found a string",
            )],
            1,
        ),
        (
            "two-documents.yaml",
            &[(3, "a values file holds exactly one YAML document")],
            1,
        ),
        ("tab-indentation.yaml", &[(2, "tabs")], 1),
        ("unknown-anchor.yaml", &[(2, "anchor")], 1),
        (
            "complex-key.yaml",
            &[(2, "a mapping key must be a plain string")],
            1,
        ),
        (
            "alias-bomb.yaml",
            &[(0, "more than 100000 nodes (aliases included)")],
            1,
        ),
    ];
    for (file, problems, count) in cases {
        let path = format!("tests/hostile/{file}");
        let stderr = refused(&["render", "-f", &path]);
        let plural = if *count == 1 { "" } else { "s" };
        assert_contains(&stderr, &[&format!("({count} problem{plural})")]);
        for (line, text) in *problems {
            let at = if *line == 0 {
                format!("{path}:")
            } else {
                format!("{path}:{line}:")
            };
            assert_problem(&stderr, &at, text);
        }
    }
    // Misspelt keys come with the closest known key.
    let stderr = refused(&["render", "-f", "tests/hostile/unknown-keys-everywhere.yaml"]);
    for (key, suggestion) in [
        ("nmae", "name"),
        ("postgres.storage.sise", "size"),
        ("tls.server.vault.appRole.secretID", "secretId"),
        ("roles[0].nmae", "name"),
        ("teleport.job.identty", "identity"),
    ] {
        assert_contains(
            &stderr,
            &[&format!(
                "{key}: unknown key\n  fix: did you mean `{suggestion}`?"
            )],
        );
    }
    // The same files are refused by every command that reads values.
    let stderr = refused(&[
        "teleport",
        "role",
        "-f",
        "tests/hostile/unknown-keys-everywhere.yaml",
    ]);
    assert_contains(&stderr, &["roles[0].nmae: unknown key"]);
}

/// Writes `bytes` to a fresh temporary file named `name`.
fn temp_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

#[test]
fn generated_hostile_files_are_refused_by_their_bounds() {
    let dir = tempfile::tempdir().unwrap();
    // Non-UTF-8: the position of the first bad byte.
    let file = temp_file(&dir, "latin1.yaml", b"name: ok\nstage: caf\xe9\n");
    let stderr = refused(&["render", "-f", &file]);
    assert_contains(
        &stderr,
        &[
            &format!("{file}:2:11: the file is not UTF-8"),
            "fix: save the file as UTF-8",
        ],
    );
    // Deep nesting, three ways: each is refused with the depth error, not a crash or a hang.
    let depth = 100_000;
    let flow_lists = format!("labels: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let flow_maps = format!("labels: {}1{}\n", "{a: ".repeat(depth), "}".repeat(depth));
    let mut block = String::from("labels:\n");
    for level in 1..2_000 {
        block.push_str(&"  ".repeat(level));
        block.push_str("a:\n");
    }
    for (name, text) in [
        ("flow-lists.yaml", flow_lists),
        ("flow-maps.yaml", flow_maps),
        ("block.yaml", block),
    ] {
        let file = temp_file(&dir, name, text.as_bytes());
        let stderr = refused(&["render", "-f", &file]);
        assert_contains(
            &stderr,
            &[
                &format!("{file}:"),
                "values are nested deeper than 64 levels",
                "fix: flatten the structure",
            ],
        );
    }
    // An alias bomb much larger than the fixture: 10^12 nodes if expanded.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let previous = format!("*a{}", level - 1);
        writeln!(
            bomb,
            "a{level}: &a{level} [{}]",
            vec![previous; 10].join(", ")
        )
        .unwrap();
    }
    let file = temp_file(&dir, "bomb.yaml", bomb.as_bytes());
    let stderr = refused(&["render", "-f", &file]);
    assert_contains(
        &stderr,
        &["more than 100000 nodes", "fix: remove the aliases"],
    );
    // Larger than 4 MiB: refused before parsing.
    let huge = format!(
        "name: huge\nstage: {}\n",
        "a".repeat(usize::try_from(values::MAX_SOURCE_BYTES).unwrap())
    );
    let file = temp_file(&dir, "huge.yaml", huge.as_bytes());
    let stderr = refused(&["render", "-f", &file]);
    assert_contains(
        &stderr,
        &[
            &format!("{file}: the values file is larger than 4 MiB"),
            "fix:",
        ],
    );
    // NUL bytes in the text.
    let file = temp_file(&dir, "nul.yaml", b"name: a\0b\n");
    let stderr = refused(&["render", "-f", &file]);
    assert_contains(&stderr, &[&format!("{file}:1:"), "not valid YAML"]);
}

#[test]
fn missing_files_and_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml").display().to_string();
    let stderr = refused(&["render", "-f", &missing]);
    assert_contains(
        &stderr,
        &[
            &format!("{missing}: cannot read the values file"),
            "fix: check the path",
        ],
    );
    let directory = dir.path().display().to_string();
    let stderr = refused(&["render", "-f", &directory]);
    assert_contains(
        &stderr,
        &[&format!(
            "{directory}: this is a directory, not a values file"
        )],
    );
    // A fleet directory without values.yaml, and a missing positional file.
    let stderr = refused(&["render", &directory]);
    assert_contains(
        &stderr,
        &[
            "this directory holds no values.yaml",
            "fix: add a values.yaml",
        ],
    );
    let stderr = refused(&["render", &missing]);
    assert_contains(&stderr, &["cannot read the values file"]);
}

#[test]
fn malformed_set_is_refused() {
    let cases: &[(&str, &str)] = &[
        ("postgres.instances", "has no `=`"),
        ("=3", "an empty key"),
        ("postgres..instances=3", "an empty key"),
        ("roles[=x", "a `[` without `]`"),
        ("roles[x].name=a", "not a number"),
        ("roles[0]x.name=a", "text after `]`"),
        ("roles[10001].name=a", "above 10000"),
    ];
    for (argument, needle) in cases {
        for flag in ["--set", "--set-string"] {
            let stderr = refused(&["render", flag, argument]);
            assert_contains(&stderr, &["<command line>: ", flag, needle]);
        }
    }
    // A well-formed --set that names a wrong key or type is reported with its key path.
    let stderr = refused(&["render", "--set", "roles[0].nmae=x"]);
    assert_contains(
        &stderr,
        &[
            "--set roles[0].nmae: roles[0].nmae: unknown key",
            "did you mean `name`?",
        ],
    );
    let stderr = refused(&["render", "--set", "postgres.instances={1;2}"]);
    assert_contains(
        &stderr,
        &["postgres.instances: expected integer, found a list"],
    );
}

#[test]
fn error_output_is_bounded_and_escaped() {
    // A list index of 10000 yields 10000 problems; the listing stops at MAX_PROBLEMS_SHOWN.
    let stderr = refused(&["render", "--set", "roles[9999].name=x"]);
    assert_contains(
        &stderr,
        &[
            "invalid values (9999 problems)",
            "... and 9949 more problems",
        ],
    );
    assert_eq!(
        stderr.matches("\n  fix: ").count(),
        values::MAX_PROBLEMS_SHOWN,
        "{stderr}"
    );
    // Keys are user text: a terminal escape or a bidirectional override is shown escaped.
    let dir = tempfile::tempdir().unwrap();
    let file = temp_file(
        &dir,
        "escape.yaml",
        "labels:\n  \"\\e]0;owned\\a\": x\n  \"\\u202eevil\": y\n".as_bytes(),
    );
    let stderr = refused(&["render", "-f", &file]);
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
    assert!(!stderr.contains('\u{202e}'), "{stderr:?}");
    assert_contains(&stderr, &["\\u{1b}]0;owned\\u{7}", "\\u{202e}evil"]);
}

#[test]
fn map_keys_with_dots_are_reported_at_the_users_line() {
    // Label keys and parameter names hold `.` and `/`: the error must still point at the line
    // that wrote them, not at the embedded defaults.
    let dir = tempfile::tempdir().unwrap();
    let file = temp_file(
        &dir,
        "dotted.yaml",
        b"labels:\n  example.com/team: \"bad value!\"\npostgres:\n  parameters:\n    bad.dotted.key: \"1\"\n  nodeSelector:\n    kubernetes.io/os: \"a b\"\npooler:\n  parameters:\n    a.b: \"1\"\nteleport:\n  labels:\n    x.y/z: \"!\"\n",
    );
    let stderr = refused(&["render", "-f", &file]);
    for (line, text) in [
        (2, "labels[\"example.com/team\"]: not a valid label value"),
        (
            5,
            "postgres.parameters[\"bad.dotted.key\"]: must be a valid PostgreSQL configuration parameter name",
        ),
        (
            7,
            "postgres.nodeSelector[\"kubernetes.io/os\"]: not a valid node label",
        ),
        (
            10,
            "pooler.parameters[\"a.b\"]: CloudNativePG does not accept",
        ),
        (13, "teleport.labels[\"x.y/z\"]: not a valid label"),
    ] {
        assert_problem(&stderr, &format!("{file}:{line}:"), text);
    }
    assert!(!stderr.contains("<embedded defaults>"), "{stderr}");
}

/// Arguments, stdin, expected exit code, and a text expected in stderr.
type BinaryCase<'a> = (&'a [&'a str], Option<&'a [u8]>, i32, &'a str);

/// The real binary: stdout stays empty on every failure, and the exit code is documented.
fn binary(args: &[&str], stdin: Option<&[u8]>) -> (i32, Vec<u8>, String) {
    use std::io::Write as _;
    let mut command = Command::new(env!("CARGO_BIN_EXE_cnpgtp"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().expect("exited, not killed by a signal"),
        out.stdout,
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_binary_prints_nothing_on_stdout_when_it_fails() {
    let dir = tempfile::tempdir().unwrap();
    let collision = dir.path().join("out");
    std::fs::create_dir(&collision).unwrap();
    std::fs::write(collision.join("kustomization.yaml"), "resources: []\n").unwrap();
    let collision = collision.display().to_string();
    let cases: &[BinaryCase] = &[
        (
            &["render", "-f", "tests/hostile/bad-indentation.yaml"],
            None,
            1,
            "bad-indentation.yaml:4:2:",
        ),
        (
            &["render", "-f", "tests/hostile/alias-bomb.yaml"],
            None,
            1,
            "100000 nodes",
        ),
        (
            &["render", "-f", "does/not/exist.yaml"],
            None,
            1,
            "cannot read the values file",
        ),
        (
            &["render", "-f", "-"],
            Some(b"postgres: [\n"),
            1,
            "-:1:11: this is not valid YAML",
        ),
        (&["render", "-f", "-"], Some(b"\xff\xfe"), 1, "not UTF-8"),
        (
            &["render", "--set", "postgres.instances"],
            None,
            1,
            "has no `=`",
        ),
        (&["render", "--bogus"], None, 2, "--bogus"),
        (&["render", "--format", "xml"], None, 2, "xml"),
        (&["nonsense"], None, 2, "nonsense"),
        (
            &["render", "--output-dir", &collision],
            None,
            3,
            "was not written by cnpgtp",
        ),
    ];
    for (args, stdin, code, needle) in cases {
        let (got, stdout, stderr) = binary(args, *stdin);
        assert_eq!(got, *code, "{args:?}: {stderr}");
        assert!(
            stdout.is_empty(),
            "{args:?} wrote to stdout: {}",
            String::from_utf8_lossy(&stdout)
        );
        assert!(stderr.starts_with("error"), "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?}: expected {needle:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // And the same binary does print on success, so the emptiness above means something.
    let (code, stdout, stderr) = binary(&["render"], None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with(b"---\n"));
}

// ---------------------------------------------------------------------------------------------
// --output-dir: atomic, and never touches what cnpgtp did not write

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn output_dir_renders_into_a_fresh_directory() {
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("manifests");
    let out_arg = out.display().to_string();
    assert_eq!(
        cnpgtp(&["render", "--output-dir", &out_arg]).unwrap(),
        "",
        "nothing on stdout"
    );
    let files = tree(&out);
    assert!(files.len() > 10, "{:?}", files.keys());
    for (name, bytes) in &files {
        assert!(
            bytes.starts_with(cnpgtp::output::HEADER.as_bytes()),
            "{} lacks the header",
            name.display()
        );
    }
    let kustomization = String::from_utf8(files[Path::new("kustomization.yaml")].clone()).unwrap();
    for name in files
        .keys()
        .filter(|n| *n != Path::new("kustomization.yaml"))
    {
        assert!(
            kustomization.contains(&*name.to_string_lossy()),
            "{} not listed",
            name.display()
        );
    }
    // Nothing is left beside it (no temporary directory).
    assert_eq!(
        names(parent.path()),
        BTreeSet::from(["manifests".to_string()])
    );
}

#[test]
fn output_dir_rerender_removes_stale_files_and_keeps_the_users() {
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("manifests");
    let out_arg = out.display().to_string();
    cnpgtp(&[
        "render",
        "--output-dir",
        &out_arg,
        "--set",
        "pooler.readOnly=true",
    ])
    .unwrap();
    std::fs::write(out.join("notes.txt"), "my notes\n").unwrap();
    std::fs::write(out.join("extra.yaml"), "kind: ConfigMap\n").unwrap();
    let before = tree(&out);
    assert!(
        before
            .keys()
            .any(|n| n.to_string_lossy().contains("pooler-ro"))
    );
    cnpgtp(&[
        "render",
        "--output-dir",
        &out_arg,
        "--set",
        "pooler.enabled=false",
    ])
    .unwrap();
    let after = tree(&out);
    assert!(
        !after.keys().any(|n| n.to_string_lossy().contains("pooler")),
        "stale pooler files remain: {:?}",
        after.keys()
    );
    assert_eq!(after[Path::new("notes.txt")], b"my notes\n");
    assert_eq!(after[Path::new("extra.yaml")], b"kind: ConfigMap\n");
    // Everything else is exactly this render.
    let fresh = tempfile::tempdir().unwrap();
    let fresh_arg = fresh.path().join("m").display().to_string();
    cnpgtp(&[
        "render",
        "--output-dir",
        &fresh_arg,
        "--set",
        "pooler.enabled=false",
    ])
    .unwrap();
    let mut expected = tree(&fresh.path().join("m"));
    expected.insert("notes.txt".into(), b"my notes\n".to_vec());
    expected.insert("extra.yaml".into(), b"kind: ConfigMap\n".to_vec());
    assert_eq!(after, expected);
    assert_eq!(
        names(parent.path()),
        BTreeSet::from(["manifests".to_string()])
    );
}

#[test]
fn output_dir_never_overwrites_a_file_it_did_not_write() {
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("manifests");
    let out_arg = out.display().to_string();
    cnpgtp(&["render", "--output-dir", &out_arg]).unwrap();
    // The user replaces one of our files by their own (no header), and adds a note.
    std::fs::write(out.join("kustomization.yaml"), "resources: [mine.yaml]\n").unwrap();
    std::fs::write(out.join("notes.txt"), "my notes\n").unwrap();
    let before = tree(parent.path());
    let (stderr, code) = cnpgtp(&[
        "render",
        "--output-dir",
        &out_arg,
        "--set",
        "pooler.enabled=false",
    ])
    .unwrap_err();
    assert_eq!(code, exit::IO, "{stderr}");
    assert_contains(
        &stderr,
        &["kustomization.yaml exists and was not written by cnpgtp"],
    );
    assert_eq!(
        tree(parent.path()),
        before,
        "a refused render changed files"
    );
    assert_eq!(
        names(parent.path()),
        BTreeSet::from(["manifests".to_string()])
    );
    // A directory with a colliding name is refused the same way.
    std::fs::write(
        out.join("kustomization.yaml"),
        tree(parent.path())[&PathBuf::from("manifests/kustomization.yaml")].clone(),
    )
    .unwrap();
    let first = names(&out)
        .into_iter()
        .find(|n| n.starts_with("serviceaccount-"))
        .unwrap();
    std::fs::remove_file(out.join(&first)).unwrap();
    std::fs::create_dir(out.join(&first)).unwrap();
    let before = tree(parent.path());
    let (_, code) = cnpgtp(&["render", "--output-dir", &out_arg]).unwrap_err();
    assert_eq!(code, exit::IO);
    assert_eq!(tree(parent.path()), before);
    assert!(out.join(&first).is_dir());
}

#[test]
fn output_dir_is_not_created_when_the_render_fails() {
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("manifests");
    let out_arg = out.display().to_string();
    let (_, code) = cnpgtp(&[
        "render",
        "--output-dir",
        &out_arg,
        "--set",
        "postgres.instances=x",
    ])
    .unwrap_err();
    assert_eq!(code, exit::INVALID);
    assert!(
        names(parent.path()).is_empty(),
        "{:?}",
        names(parent.path())
    );
    // A target that is a file, and a parent that is a file: I/O errors, nothing written.
    std::fs::write(parent.path().join("file"), "x").unwrap();
    for target in ["file", "file/sub"] {
        let target = parent.path().join(target).display().to_string();
        let (stderr, code) = cnpgtp(&["render", "--output-dir", &target]).unwrap_err();
        assert_eq!(code, exit::IO, "{stderr}");
    }
    assert_eq!(names(parent.path()), BTreeSet::from(["file".to_string()]));
    // An existing directory keeps its files when the values are invalid.
    cnpgtp(&["render", "--output-dir", &out_arg]).unwrap();
    let before = tree(&out);
    let (_, code) =
        cnpgtp(&["render", "--output-dir", &out_arg, "--set", "name=Bad_Name"]).unwrap_err();
    assert_eq!(code, exit::INVALID);
    assert_eq!(tree(&out), before);
}

// ---------------------------------------------------------------------------------------------
// Hostile strings in every free-form string field

/// Proptest settings: no regression files in the tree, bounded shrinking.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    }
}

/// Where a free-form string sits in the values.
#[derive(Clone, Debug)]
struct Field {
    /// As the schema walk names it: `roles[].name`, `labels.*` (a map value), `labels.<key>`
    /// (a map key).
    schema_path: String,
    /// The concrete path: list items are `[0]`, map entries use a fixed key. For a key slot,
    /// the path of the map.
    steps: Vec<Segment>,
    key_slot: bool,
    /// Values the field needs around it to be rendered at all (e.g. `issuer: vault`).
    context: Json,
    /// A valid value, used for the baseline render.
    benign: String,
    /// For a key slot, the value of the entry.
    entry_value: String,
    /// Object names derive from this field, so only the kinds are compared.
    names_follow: bool,
}

impl Field {
    /// The key path an error about this field names, with `hostile` as the key of a key slot.
    fn key_path(&self, hostile: &str) -> KeyPath {
        let mut path = KeyPath(self.steps.clone());
        if self.key_slot {
            path = path.key(hostile);
        }
        path
    }

    /// The values document with `text` in this field.
    fn document(&self, text: &str) -> Json {
        let mut document = self.context.clone();
        let mut node = &mut document;
        for segment in &self.steps {
            node = match segment {
                Segment::Key(key) => {
                    if !node.is_object() {
                        *node = json!({});
                    }
                    node.as_object_mut()
                        .unwrap()
                        .entry(key.clone())
                        .or_insert(Json::Null)
                }
                Segment::Index(index) => {
                    if !node.is_array() {
                        *node = json!([]);
                    }
                    let list = node.as_array_mut().unwrap();
                    while list.len() <= *index {
                        list.push(Json::Null);
                    }
                    &mut list[*index]
                }
            };
        }
        if self.key_slot {
            // An entry beside those the context holds (e.g. the other credential keys).
            if !node.is_object() {
                *node = json!({});
            }
            node.as_object_mut()
                .unwrap()
                .insert(text.to_string(), entry(&self.entry_value));
        } else {
            *node = Json::String(text.to_string());
        }
        document
    }
}

/// A map entry's value: a JSON object when it reads as one (a custom query), else the string.
fn entry(value: &str) -> Json {
    if value.starts_with('{') {
        serde_json::from_str(value).expect("a MAP_ENTRIES object is JSON")
    } else {
        json!(value)
    }
}

/// YAML for `value`, in flow style, every string double-quoted with everything outside
/// printable ASCII escaped: any string survives, whatever its characters.
fn to_yaml(value: &Json) -> String {
    fn quote(text: &str, out: &mut String) {
        out.push('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                ' '..='~' => out.push(c),
                c if u32::from(c) <= 0xffff => write!(out, "\\u{:04x}", u32::from(c)).unwrap(),
                c => write!(out, "\\U{:08x}", u32::from(c)).unwrap(),
            }
        }
        out.push('"');
    }
    fn emit(value: &Json, out: &mut String) {
        match value {
            Json::String(text) => quote(text, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    emit(item, out);
                }
                out.push(']');
            }
            Json::Object(entries) => {
                out.push('{');
                for (i, (key, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    quote(key, out);
                    out.push_str(": ");
                    emit(item, out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    emit(value, &mut out);
    out.push('\n');
    out
}

/// Escapes a `--set-string` value so it arrives byte for byte.
fn set_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace(',', "\\,")
}

fn set_path(steps: &[Segment]) -> String {
    let mut path = String::new();
    for segment in steps {
        match segment {
            Segment::Key(key) if path.is_empty() => path.push_str(key),
            Segment::Key(key) => {
                path.push('.');
                path.push_str(key);
            }
            Segment::Index(index) => write!(path, "[{index}]").unwrap(),
        }
    }
    path
}

/// Every free-form string field of the values' JSON Schema (enums are not free-form).
fn schema_string_fields() -> BTreeSet<String> {
    fn resolve<'a>(root: &'a Json, mut node: &'a Json) -> &'a Json {
        while let Some(reference) = node.get("$ref").and_then(Json::as_str) {
            node = root.pointer(reference.trim_start_matches('#')).unwrap();
        }
        node
    }
    fn walk(root: &Json, node: &Json, path: &str, out: &mut BTreeSet<String>) {
        let node = resolve(root, node);
        if node.get("enum").is_some() || node.get("oneOf").is_some() || node.get("const").is_some()
        {
            return;
        }
        for branch in node
            .get("anyOf")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            walk(root, branch, path, out);
        }
        let is_string = match node.get("type") {
            Some(Json::String(t)) => t == "string",
            Some(Json::Array(types)) => types.iter().any(|t| t == "string"),
            _ => false,
        };
        if is_string {
            out.insert(path.to_string());
        }
        let join = |key: &str| {
            if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            }
        };
        for (key, child) in node
            .get("properties")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
        {
            walk(root, child, &join(key), out);
        }
        if let Some(child) = node.get("additionalProperties").filter(|c| c.is_object()) {
            out.insert(join("<key>"));
            walk(root, child, &join("*"), out);
        }
        if let Some(child) = node.get("items") {
            walk(root, child, &format!("{path}[]"), out);
        }
    }
    let schema = values::schema();
    let mut out = BTreeSet::new();
    walk(&schema, &schema, "", &mut out);
    out
}

/// An object store in `bucket` for the store contexts; `variant` picks how it authenticates:
/// "" a Secret by name, `keys` that Secret with its key names, `gcs` a Google Cloud Storage
/// bucket, `placeholders` a Secret rendered from placeholders, `wi` workload identity, `ca` an
/// S3-compatible endpoint with its CA.
fn object_store(variant: &str, bucket: &str) -> Json {
    let path = format!("s3://{bucket}/db/");
    let secret = json!({"secretName": format!("{bucket}-credentials")});
    match variant {
        "" => json!({"destinationPath": path, "credentials": secret}),
        "keys" => json!({"destinationPath": path, "credentials": {
            "secretName": format!("{bucket}-credentials"),
            "keys": {"accessKeyId": "S3_ID", "secretAccessKey": "S3_SECRET"},
        }}),
        "gcs" => json!({"provider": "gcs", "destinationPath": format!("gs://{bucket}/db/"),
            "credentials": secret}),
        "placeholders" => json!({"destinationPath": path, "credentials": {"placeholders": {
            "ACCESS_KEY_ID": format!("<path:kv/data/{bucket}#id>"),
            "ACCESS_SECRET_KEY": format!("<path:kv/data/{bucket}#secret>"),
        }}}),
        "wi" => json!({"destinationPath": path, "credentials": {
            "source": "workloadIdentity",
            "workloadIdentity": format!("arn:aws:iam::123456789012:role/{bucket}"),
        }}),
        "ca" => json!({"destinationPath": path, "credentials": secret,
            "endpointUrl": "https://minio.storage.svc:9000",
            "endpointCa": {"secretName": "minio-ca", "key": "ca.crt"}}),
        other => panic!("no object store variant {other}"),
    }
}

/// `backup`, enabled, archiving into `store`, with one schedule (list items get no defaults).
fn backup_with(store: Json) -> Json {
    let mut backup = json!({"enabled": true,
        "schedules": [{"name": "daily", "schedule": "0 0 3 * * *"}]});
    backup["objectStore"] = store;
    backup
}

/// A recovery from another cluster's archive (`legacy-db` in `legacy-backups`), this cluster
/// archiving into its own bucket; `target` is `recovery.target`.
fn recovery_with(variant: &str, target: Json) -> Json {
    let mut store = object_store(variant, "legacy-backups");
    store["serverName"] = json!("legacy-db");
    let mut values = json!({
        "backup": backup_with(object_store("", "appdb-backups")),
        "recovery": {"enabled": true},
    });
    values["recovery"]["objectStore"] = store;
    values["recovery"]["target"] = target;
    values
}

/// A demotion token as CloudNativePG writes it in `status.demotionToken` (base64 of JSON).
const PROMOTION_TOKEN: &str = "eyJsYXRlc3RDaGVja3BvaW50VGltZWxpbmVJRCI6IjEiLCJyZWRvV2FsRmlsZSI6IjAwMDAwMDAxMDAwMDAwMDAwMDAwMDAwMyIsImRhdGFiYXNlU3lzdGVtSWRlbnRpZmllciI6Ijc0NDAwMDAwMDAwMDAwMDAwMDEiLCJsYXRlc3RDaGVja3BvaW50UkVET0xvY2F0aW9uIjoiMC8zMDAwMDI4IiwidGltZU9mTGF0ZXN0Q2hlY2twb2ludCI6Ik1vbiBOb3YgMzAgMTQ6MDA6MDAgMjAyNiIsIm9wZXJhdG9yVmVyc2lvbiI6IjEuMzAuMCJ9";

/// A distributed topology of this cluster (`appdb`, archiving into its own bucket) and
/// `appdb-east` (reached through `store`), `appdb-east` being primary; the keys of `changes`
/// replace those of `replica`.
fn replica_with(store: Json, changes: Json) -> Json {
    let mut spec = json!({"primary": "appdb-east", "source": "appdb-east",
        "externalClusters": [{"name": "appdb-east"}]});
    spec["externalClusters"][0]["objectStore"] = store;
    let Json::Object(changes) = changes else {
        panic!("changes to `replica` are a mapping")
    };
    for (key, value) in changes {
        spec[key] = value;
    }
    let mut values = json!({"backup": backup_with(object_store("", "appdb-backups"))});
    values["replica"] = spec;
    values
}

/// The contexts of the object store fields: `backup`, `recovery` or `replica`, then `-` and an
/// `object_store` variant.
fn store_context(name: &str) -> Option<Json> {
    let (place, variant) = name.split_once('-').unwrap_or((name, ""));
    Some(match place {
        "backup" => json!({"backup": backup_with(object_store(variant, "appdb-backups"))}),
        "recovery" => recovery_with(variant, json!({})),
        "replica" => replica_with(object_store(variant, "east-backups"), json!({})),
        _ => return None,
    })
}

/// Contexts some fields need to be rendered at all.
fn context(name: &str) -> Json {
    let proxy = "teleport.example.com:443";
    match name {
        "" => json!({}),
        "job" => json!({
            "teleport": {"registration": "job", "proxyAddress": proxy},
            "tls": {"server": {"ca": {"pem": null}}},
        }),
        "job-identity" => json!({
            "teleport": {"registration": "job", "proxyAddress": proxy,
                "job": {"identity": "existingSecret", "identitySecret": "tbot-identity"}},
        }),
        "job-existing-ca" => json!({
            "teleport": {"registration": "job", "proxyAddress": proxy},
            "tls": {"server": {"ca": {"pem": null, "existingSecret": "server-ca"}}},
        }),
        "agent" => json!({"teleport": {"registration": "agent", "proxyAddress": proxy}}),
        // The join keys and the bot name reach the render only in the rendered join token.
        "job-token" => json!({
            "teleport": {"registration": "job", "proxyAddress": proxy, "join": {"renderToken": true}},
        }),
        "join-jwks" => json!({"teleport": {"registration": "agent", "proxyAddress": proxy,
            "join": {"type": "staticJwks", "clusterName": "example.teleport.sh", "renderToken": true}}}),
        "join-oidc" => json!({"teleport": {"registration": "agent", "proxyAddress": proxy,
            "join": {"type": "oidc", "clusterName": "example.teleport.sh", "renderToken": true}}}),
        // The cluster name is the audience of the agent's projected token.
        "join-audience" => json!({"teleport": {"registration": "agent", "proxyAddress": proxy,
            "join": {"type": "oidc", "oidcIssuer": "https://oidc.example.com"}}}),
        "sync" => json!({"clientCaBundle": {"mechanism": "syncWorkload"}}),
        // external-secrets with the operator registration needs the server CA at render time.
        "eso" => json!({"clientCaBundle": {"mechanism": "externalSecrets"},
            "tls": {"server": {"ca": {"pem": "<path:kv#server-ca>"}}}}),
        "existing-issuer" => json!({"tls": {"server": {"issuer": "existing"}}}),
        "vault" => json!({"tls": {"server": {"issuer": "vault", "vault": {
            "server": "https://vault.example.com:8200", "path": "pki/sign/postgres",
            "appRole": {"roleId": "role-id", "secretId": {"value": "<path:kv#secret-id>"}},
        }}}}),
        "vault-existing" => json!({"tls": {"server": {"issuer": "vault", "vault": {
            "server": "https://vault.example.com:8200", "path": "pki/sign/postgres",
            "appRole": {"roleId": "role-id", "secretId": {"existingSecret": "approle"}},
        }}}}),
        "vault-kubernetes" => json!({"tls": {"server": {"issuer": "vault", "vault": {
            "server": "https://vault.example.com:8200", "path": "pki/sign/postgres",
            "auth": "kubernetes", "kubernetes": {"role": "postgres"},
        }}}}),
        "roles" => json!({"roles": [{
            "name": "reporting", "login": true, "comment": "reporting role",
            "inRoles": ["pg_monitor"], "passwordSecret": "reporting-password",
        }]}),
        "pooler-scheduling" => json!({"pooler": {"template": {"nodeAffinity": {
            "required": [{"key": "pool", "operator": "In", "values": ["poolers"]}],
            "preferred": [{"weight": 10, "matchExpressions": [
                {"key": "zone", "operator": "In", "values": ["a"]},
            ]}],
        }}}}),
        // An extra database with a schema and an extension; `reporting` may own things, and
        // the standard image has every locale.
        "databases" => json!({
            "postgres": {"imageFlavour": "standard"},
            "roles": [{"name": "reporting"}],
            "databases": [{"name": "events", "owner": "app",
                "schemas": [{"name": "audit"}], "extensions": [{"name": "pg_trgm"}]}],
        }),
        "scheduling" => json!({"postgres": {
            "tolerations": [{"key": "dedicated", "value": "postgres", "effect": "NoSchedule"}],
            "nodeAffinity": {
                "required": [{"key": "disktype", "operator": "In", "values": ["ssd"]}],
                "preferred": [{"weight": 10, "matchExpressions": [
                    {"key": "zone", "operator": "In", "values": ["a"]},
                ]}],
            },
        }}),
        "pooler-tolerations" => json!({"pooler": {"template": {
            "tolerations": [{"key": "dedicated", "value": "poolers", "effect": "NoSchedule"}],
        }}}),
        "teleport-pem" => json!({"teleport": {"databaseClientCa": {
            "existingSecret": null, "pem": "<path:kv#teleport-ca>",
        }}}),
        "role-render" => json!({"teleport": {"role": {"render": true}}}),
        "auto-users" => json!({"teleport": {"access": {"model": "autoUsers"}}}),
        // Backups off on purpose: the reason is written on the Cluster.
        "no-backup" => json!({"backup": {"enabled": false, "disabledReason": "scratch data"}}),
        "snapshots" => json!({"backup": {"volumeSnapshot": {"className": "csi-snapclass"}}}),
        "recovery-snapshot" => json!({"recovery": {"enabled": true, "source": "volumeSnapshot",
            "volumeSnapshots": {"storage": "appdb-pgdata-snap", "walStorage": "appdb-wal-snap"}}}),
        // Recovery targets are mutually exclusive: one context each; name and xid need a
        // backup to start from.
        "recovery-time" => recovery_with("", json!({"time": "2026-11-30T14:00:00Z"})),
        "recovery-lsn" => recovery_with("", json!({"lsn": "0/3000060"})),
        "recovery-name" => recovery_with(
            "",
            json!({"name": "before-migration", "backupId": "20261130T020000"}),
        ),
        "recovery-xid" => {
            recovery_with("", json!({"xid": "1234567", "backupId": "20261130T020000"}))
        }
        // Two members besides this cluster: the one under test is referenced by nothing.
        "replica-members" => replica_with(
            object_store("", "east-backups"),
            json!({"externalClusters": [
                {"name": "appdb-west", "objectStore": object_store("", "west-backups")},
                {"name": "appdb-east", "objectStore": object_store("", "east-backups")},
            ]}),
        ),
        // A standalone, delayed replica of appdb-east (no backup needed).
        "replica-standalone" => json!({"replica": {
            "enabled": true, "source": "appdb-east", "minApplyDelay": "30m",
            "externalClusters": [
                {"name": "appdb-east", "objectStore": object_store("", "east-backups")},
            ],
        }}),
        // The switchover: this cluster becomes primary with the old primary's demotion token.
        "replica-self-primary" => replica_with(
            object_store("", "east-backups"),
            json!({"primary": "appdb", "promotionToken": PROMOTION_TOKEN}),
        ),
        // An extra Service (its metadata fields under test), and an image catalog.
        "services" => json!({"postgres": {"services": {"additional": [
            {"name": "appdb-external", "selectorType": "rw", "type": "LoadBalancer"}]}}}),
        "extensions" => json!({"postgres": {"major": 18, "extensions": [{"name": "pgvector",
            "image": "ghcr.io/cloudnative-pg/pgvector:0.8.1", "extensionControlPath": ["share"],
            "dynamicLibraryPath": ["lib"], "ldLibraryPath": ["system"]}]}}),
        "catalog" => {
            json!({"postgres": {"imageCatalogRef": {"kind": "ImageCatalog", "name": "postgres-trixie"}}})
        }
        // Every monitoring object and alert: a custom query and an existing queries ConfigMap,
        // backups (their alerts) and the ExternalSecret bundle (its alert).
        "monitoring" => json!({"backup": backup_with(object_store("", "appdb-backups")),
            "clientCaBundle": {"mechanism": "externalSecrets"}, "teleport": {"registration": "none"},
            "monitoring": {
            "podMonitors": {"enabled": true}, "alerts": {"enabled": true}, "dashboard": {"enabled": true},
            "customQueries": {"q1": {"query": "SELECT 1 AS one", "metrics": [{"one": {"usage": "GAUGE", "description": "One"}}]}},
            "customQueriesConfigMaps": [{"name": "extra-queries", "key": "queries"}],
        }}),
        // Every source of the NetworkPolicies: one application entry, and PodMonitors so the
        // metrics ports are opened to the monitoring namespace.
        "netpol" => json!({"monitoring": {"podMonitors": {"enabled": true}},
            "networkPolicy": {"enabled": true, "applications": {"from": [{"podLabels": {"app": "api"}}]}}}),
        // A merge patch of the Cluster: the target fields are the strings under test.
        "patch" => json!({"patches": [{"target": {"kind": "Cluster", "name": "appdb"},
            "merge": {"metadata": {"annotations": {"example.com/owner": "team-a"}}}}]}),
        other => store_context(other).unwrap_or_else(|| panic!("no context {other}")),
    }
}

/// Every free-form string field: (schema path, context, benign value). A new string field in
/// the values model must be added here (`every_string_field_is_covered` fails until it is).
const FIELDS: &[(&str, &str, &str)] = &[
    ("access.readUser.name", "", "reader_x"),
    ("access.writeUser.name", "", "writer_x"),
    (
        "backup.disabledReason",
        "no-backup",
        "rebuilt nightly from the warehouse",
    ),
    (
        "backup.objectStore.credentials.keys.<key>",
        "backup-keys",
        "region",
    ),
    (
        "backup.objectStore.credentials.keys.*",
        "backup-keys",
        "S3_KEY_ID",
    ),
    (
        "backup.objectStore.credentials.placeholders.<key>",
        "backup-gcs",
        "credentials.json",
    ),
    (
        "backup.objectStore.credentials.placeholders.*",
        "backup-placeholders",
        "<path:kv/data/s3#key-id>",
    ),
    (
        "backup.objectStore.credentials.secretName",
        "backup",
        "s3-credentials-2",
    ),
    (
        "backup.objectStore.credentials.workloadIdentity",
        "backup-wi",
        "arn:aws:iam::123456789012:role/appdb-2",
    ),
    ("backup.objectStore.data.compression", "backup", "bzip2"),
    ("backup.objectStore.data.encryption", "backup", "AES256"),
    (
        "backup.objectStore.destinationPath",
        "backup",
        "s3://bucket-2/postgres/",
    ),
    (
        "backup.objectStore.endpointCa.key",
        "backup-ca",
        "minio-ca.pem",
    ),
    (
        "backup.objectStore.endpointCa.secretName",
        "backup-ca",
        "minio-ca-2",
    ),
    (
        "backup.objectStore.endpointUrl",
        "backup",
        "https://s3.eu-west-1.amazonaws.com",
    ),
    ("backup.objectStore.serverName", "backup", "appdb-v2"),
    ("backup.objectStore.wal.compression", "backup", "zstd"),
    ("backup.objectStore.wal.encryption", "backup", "aws:kms"),
    ("backup.retentionPolicy", "backup", "4w"),
    ("backup.schedules[].name", "backup", "nightly"),
    ("backup.schedules[].schedule", "backup", "0 30 2 * * 1-5"),
    ("backup.schedules[].target", "backup", "primary"),
    ("backup.sidecarResources.cpu", "backup", "150m"),
    ("backup.sidecarResources.memory", "backup", "300Mi"),
    (
        "backup.volumeSnapshot.className",
        "snapshots",
        "csi-snapclass-2",
    ),
    (
        "backup.volumeSnapshot.walClassName",
        "snapshots",
        "csi-wal-snapclass",
    ),
    ("clientCaBundle.refreshInterval", "eso", "15m"),
    (
        "clientCaBundle.syncWorkload.image",
        "sync",
        "docker.io/alpine/k8s:1.34.6",
    ),
    ("clientCaBundle.syncWorkload.resources.cpu", "sync", "20m"),
    (
        "clientCaBundle.syncWorkload.resources.memory",
        "sync",
        "65Mi",
    ),
    (
        "clientCaBundle.syncWorkload.resources.memoryLimit",
        "sync",
        "257Mi",
    ),
    ("database.encoding", "", "SQL_ASCII"),
    ("database.localeCType", "", "C.UTF-8"),
    ("database.localeCollate", "", "POSIX"),
    ("database.name", "", "orders"),
    ("database.owner", "", "orders_owner"),
    ("database.ownerPassword.existingSecret", "", "owner-secret"),
    (
        "database.ownerPassword.value",
        "",
        "<path:kv/data/db#password>",
    ),
    ("labels.<key>", "", "team"),
    ("labels.*", "", "blue"),
    ("name", "", "orders"),
    ("namespace", "", "shop"),
    (
        "networkPolicy.applications.from[].namespace",
        "netpol",
        "billing-app",
    ),
    (
        "networkPolicy.applications.from[].podLabels.<key>",
        "netpol",
        "tier",
    ),
    (
        "networkPolicy.applications.from[].podLabels.*",
        "netpol",
        "billing-api",
    ),
    (
        "networkPolicy.monitoring.namespace",
        "netpol",
        "observability",
    ),
    (
        "networkPolicy.monitoring.podLabels.<key>",
        "netpol",
        "release",
    ),
    (
        "networkPolicy.monitoring.podLabels.*",
        "netpol",
        "prometheus",
    ),
    (
        "networkPolicy.operator.namespace",
        "netpol",
        "postgres-operator",
    ),
    (
        "networkPolicy.operator.podLabels.<key>",
        "netpol",
        "control-plane",
    ),
    ("networkPolicy.operator.podLabels.*", "netpol", "cnpg"),
    (
        "networkPolicy.teleport.namespace",
        "netpol",
        "teleport-agents",
    ),
    (
        "networkPolicy.teleport.podLabels.<key>",
        "netpol",
        "component",
    ),
    (
        "networkPolicy.teleport.podLabels.*",
        "netpol",
        "teleport-kube-agent",
    ),
    ("monitoring.alerts.certificates.for", "monitoring", "15m"),
    ("monitoring.alerts.clientCaBundle.for", "monitoring", "15m"),
    ("monitoring.alerts.connections.for", "monitoring", "15m"),
    ("monitoring.alerts.dataVolume.for", "monitoring", "15m"),
    ("monitoring.alerts.instancesDown.for", "monitoring", "15m"),
    ("monitoring.alerts.lastBackup.for", "monitoring", "15m"),
    ("monitoring.alerts.longTransaction.for", "monitoring", "15m"),
    ("monitoring.alerts.poolerDown.for", "monitoring", "15m"),
    ("monitoring.alerts.poolerWaiting.for", "monitoring", "15m"),
    ("monitoring.alerts.replicationLag.for", "monitoring", "15m"),
    ("monitoring.alerts.walArchiving.for", "monitoring", "15m"),
    ("monitoring.alerts.walVolume.for", "monitoring", "15m"),
    ("monitoring.alerts.xidAge.for", "monitoring", "15m"),
    (
        "monitoring.alerts.exclude[]",
        "monitoring",
        "CnpgtpLongTransaction",
    ),
    ("monitoring.alerts.failover.window", "monitoring", "15m"),
    ("monitoring.alerts.labels.*", "monitoring", "payments"),
    ("monitoring.alerts.labels.<key>", "monitoring", "team"),
    ("monitoring.alerts.lastBackup.maxAge", "monitoring", "26h"),
    (
        "monitoring.alerts.namespaceLabels.certManager",
        "monitoring",
        "exported_namespace",
    ),
    (
        "monitoring.alerts.namespaceLabels.externalSecrets",
        "monitoring",
        "exported_namespace",
    ),
    (
        "monitoring.alerts.namespaceLabels.kubernetes",
        "monitoring",
        "namespace",
    ),
    (
        "monitoring.alerts.runbookBaseUrl",
        "monitoring",
        "https://git.example.com/docs/runbooks.md",
    ),
    (
        "monitoring.customQueries.*.metrics[].*.description",
        "monitoring",
        "Rows",
    ),
    (
        "monitoring.customQueries.*.metrics[].<key>",
        "monitoring",
        "rows",
    ),
    (
        "monitoring.customQueries.*.query",
        "monitoring",
        "SELECT 1 AS one",
    ),
    (
        "monitoring.customQueries.*.target_databases[]",
        "monitoring",
        "app",
    ),
    ("monitoring.customQueries.<key>", "monitoring", "q2"),
    (
        "monitoring.customQueriesConfigMaps[].key",
        "monitoring",
        "queries",
    ),
    (
        "monitoring.customQueriesConfigMaps[].name",
        "monitoring",
        "extra-queries",
    ),
    ("monitoring.dashboard.labels.*", "monitoring", "1"),
    (
        "monitoring.dashboard.labels.<key>",
        "monitoring",
        "grafana_dashboard",
    ),
    ("monitoring.labels.*", "monitoring", "monitoring"),
    ("monitoring.labels.<key>", "monitoring", "release"),
    ("monitoring.podMonitors.interval", "monitoring", "30s"),
    (
        "postgres.imageCatalogRef.name",
        "catalog",
        "postgres-trixie",
    ),
    (
        "postgres.services.additional[].metadata.annotations.*",
        "services",
        "internal",
    ),
    (
        "postgres.services.additional[].metadata.annotations.<key>",
        "services",
        "service.beta.kubernetes.io/aws-load-balancer-scheme",
    ),
    (
        "postgres.services.additional[].metadata.labels.*",
        "services",
        "external",
    ),
    (
        "postgres.services.additional[].metadata.labels.<key>",
        "services",
        "exposure",
    ),
    (
        "postgres.services.additional[].name",
        "services",
        "appdb-public",
    ),
    ("postgres.extensions[].name", "extensions", "pgvector"),
    (
        "postgres.extensions[].image",
        "extensions",
        "ghcr.io/cloudnative-pg/pgvector:0.8.1",
    ),
    (
        "postgres.extensions[].extensionControlPath[]",
        "extensions",
        "share",
    ),
    (
        "postgres.extensions[].dynamicLibraryPath[]",
        "extensions",
        "lib",
    ),
    (
        "postgres.extensions[].ldLibraryPath[]",
        "extensions",
        "system",
    ),
    (
        "pooler.template.nodeAffinity.preferred[].matchExpressions[].key",
        "pooler-scheduling",
        "topology.kubernetes.io/zone",
    ),
    (
        "pooler.template.nodeAffinity.preferred[].matchExpressions[].values[]",
        "pooler-scheduling",
        "eu-west-1b",
    ),
    (
        "pooler.template.nodeAffinity.required[].key",
        "pooler-scheduling",
        "node.kubernetes.io/instance-type",
    ),
    (
        "pooler.template.nodeAffinity.required[].values[]",
        "pooler-scheduling",
        "m7i.large",
    ),
    ("patches[].target.kind", "patch", "Cluster"),
    ("patches[].target.name", "patch", "appdb"),
    ("pooler.parameters.<key>", "", "server_check_delay"),
    (
        "pooler.serviceTemplate.metadata.annotations.<key>",
        "",
        "example.com/lb",
    ),
    (
        "pooler.serviceTemplate.metadata.annotations.*",
        "",
        "internal nlb",
    ),
    (
        "pooler.serviceTemplate.metadata.labels.<key>",
        "",
        "example.com/exposure",
    ),
    ("pooler.serviceTemplate.metadata.labels.*", "", "internal"),
    ("pooler.template.nodeSelector.<key>", "", "example.com/pool"),
    ("pooler.template.nodeSelector.*", "", "poolers"),
    ("pooler.template.resources.cpu", "", "250m"),
    ("pooler.template.resources.memory", "", "256Mi"),
    (
        "pooler.template.tolerations[].key",
        "pooler-tolerations",
        "workload",
    ),
    (
        "pooler.template.tolerations[].value",
        "pooler-tolerations",
        "pgbouncer",
    ),
    ("pooler.parameters.*", "", "select 1"),
    (
        "postgres.image",
        "",
        "ghcr.io/cloudnative-pg/postgresql:18.5-minimal-trixie",
    ),
    (
        "postgres.nodeAffinity.preferred[].matchExpressions[].key",
        "scheduling",
        "topology.kubernetes.io/zone",
    ),
    (
        "postgres.nodeAffinity.preferred[].matchExpressions[].values[]",
        "scheduling",
        "eu-west-1b",
    ),
    (
        "postgres.nodeAffinity.required[].key",
        "scheduling",
        "node.kubernetes.io/instance-type",
    ),
    (
        "postgres.nodeAffinity.required[].values[]",
        "scheduling",
        "m7i.large",
    ),
    ("postgres.imagePullSecrets[]", "", "registry-mirror"),
    (
        "postgres.inheritedMetadata.annotations.<key>",
        "",
        "example.com/owner",
    ),
    (
        "postgres.inheritedMetadata.annotations.*",
        "",
        "payments team",
    ),
    (
        "postgres.inheritedMetadata.labels.<key>",
        "",
        "example.com/team",
    ),
    ("postgres.inheritedMetadata.labels.*", "", "payments"),
    ("postgres.nodeSelector.<key>", "", "disktype"),
    ("postgres.nodeSelector.*", "", "ssd"),
    ("postgres.parameters.<key>", "", "work_mem"),
    ("postgres.parameters.*", "", "64MB"),
    (
        "postgres.pgIdent[]",
        "",
        "reporting reports.example.com analyst",
    ),
    ("postgres.priorityClassName", "", "high-priority"),
    ("postgres.resources.cpu", "", "750m"),
    ("postgres.resources.memory", "", "3Gi"),
    (
        "postgres.serviceAccountTemplate.annotations.<key>",
        "",
        "example.com/purpose",
    ),
    (
        "postgres.serviceAccountTemplate.annotations.*",
        "",
        "backups and WAL",
    ),
    (
        "postgres.serviceAccountTemplate.labels.<key>",
        "",
        "example.com/unit",
    ),
    ("postgres.serviceAccountTemplate.labels.*", "", "storage"),
    ("postgres.sharedPreloadLibraries[]", "", "pg_cron"),
    ("postgres.storage.size", "", "25Gi"),
    ("postgres.tolerations[].key", "scheduling", "workload"),
    ("postgres.tolerations[].value", "scheduling", "databases"),
    ("postgres.storage.storageClass", "", "fast-ssd"),
    (
        "postgres.topologySpread.topologyKey",
        "",
        "topology.kubernetes.io/region",
    ),
    ("postgres.walStorage.size", "", "3Gi"),
    ("postgres.walStorage.storageClass", "", "wal-ssd"),
    (
        "recovery.objectStore.credentials.keys.<key>",
        "recovery-keys",
        "region",
    ),
    (
        "recovery.objectStore.credentials.keys.*",
        "recovery-keys",
        "S3_KEY_ID",
    ),
    (
        "recovery.objectStore.credentials.placeholders.<key>",
        "recovery-gcs",
        "credentials.json",
    ),
    (
        "recovery.objectStore.credentials.placeholders.*",
        "recovery-placeholders",
        "<path:kv/data/s3#key-id>",
    ),
    (
        "recovery.objectStore.credentials.secretName",
        "recovery",
        "s3-credentials-2",
    ),
    (
        "recovery.objectStore.credentials.workloadIdentity",
        "recovery-wi",
        "arn:aws:iam::123456789012:role/appdb-2",
    ),
    ("recovery.objectStore.data.compression", "recovery", "bzip2"),
    ("recovery.objectStore.data.encryption", "recovery", "AES256"),
    (
        "recovery.objectStore.destinationPath",
        "recovery",
        "s3://bucket-2/postgres/",
    ),
    (
        "recovery.objectStore.endpointCa.key",
        "recovery-ca",
        "minio-ca.pem",
    ),
    (
        "recovery.objectStore.endpointCa.secretName",
        "recovery-ca",
        "minio-ca-2",
    ),
    (
        "recovery.objectStore.endpointUrl",
        "recovery",
        "https://s3.eu-west-1.amazonaws.com",
    ),
    (
        "recovery.objectStore.serverName",
        "recovery",
        "legacy-db-v2",
    ),
    ("recovery.objectStore.wal.compression", "recovery", "zstd"),
    ("recovery.objectStore.wal.encryption", "recovery", "aws:kms"),
    (
        "recovery.target.backupId",
        "recovery-name",
        "20261201T030000",
    ),
    ("recovery.target.lsn", "recovery-lsn", "1A/3000028"),
    ("recovery.target.name", "recovery-name", "after-import"),
    (
        "recovery.target.time",
        "recovery-time",
        "2026-12-01 09:30:00+01",
    ),
    ("recovery.target.timeline", "recovery", "latest"),
    ("recovery.target.xid", "recovery-xid", "7654321"),
    (
        "recovery.volumeSnapshots.storage",
        "recovery-snapshot",
        "appdb-pgdata-snap-2",
    ),
    (
        "recovery.volumeSnapshots.walStorage",
        "recovery-snapshot",
        "appdb-wal-snap-2",
    ),
    (
        "replica.externalClusters[].name",
        "replica-members",
        "appdb-south",
    ),
    (
        "replica.externalClusters[].objectStore.credentials.keys.<key>",
        "replica-keys",
        "region",
    ),
    (
        "replica.externalClusters[].objectStore.credentials.keys.*",
        "replica-keys",
        "S3_KEY_ID",
    ),
    (
        "replica.externalClusters[].objectStore.credentials.placeholders.<key>",
        "replica-gcs",
        "credentials.json",
    ),
    (
        "replica.externalClusters[].objectStore.credentials.placeholders.*",
        "replica-placeholders",
        "<path:kv/data/s3#key-id>",
    ),
    (
        "replica.externalClusters[].objectStore.credentials.secretName",
        "replica",
        "s3-credentials-2",
    ),
    (
        "replica.externalClusters[].objectStore.credentials.workloadIdentity",
        "replica-wi",
        "arn:aws:iam::123456789012:role/appdb-2",
    ),
    (
        "replica.externalClusters[].objectStore.data.compression",
        "replica",
        "bzip2",
    ),
    (
        "replica.externalClusters[].objectStore.data.encryption",
        "replica",
        "AES256",
    ),
    (
        "replica.externalClusters[].objectStore.destinationPath",
        "replica",
        "s3://bucket-2/postgres/",
    ),
    (
        "replica.externalClusters[].objectStore.endpointCa.key",
        "replica-ca",
        "minio-ca.pem",
    ),
    (
        "replica.externalClusters[].objectStore.endpointCa.secretName",
        "replica-ca",
        "minio-ca-2",
    ),
    (
        "replica.externalClusters[].objectStore.endpointUrl",
        "replica",
        "https://s3.eu-west-1.amazonaws.com",
    ),
    (
        "replica.externalClusters[].objectStore.serverName",
        "replica",
        "appdb-east-v2",
    ),
    (
        "replica.externalClusters[].objectStore.wal.compression",
        "replica",
        "zstd",
    ),
    (
        "replica.externalClusters[].objectStore.wal.encryption",
        "replica",
        "aws:kms",
    ),
    ("replica.minApplyDelay", "replica-standalone", "1h30m"),
    ("replica.primary", "replica-members", "appdb-west"),
    (
        "replica.promotionToken",
        "replica-self-primary",
        "eyJsYXRlc3RDaGVja3BvaW50VGltZWxpbmVJRCI6IjEiLCJyZWRvV2FsRmlsZSI6IjAwMDAwMDAxMDAwMDAwMDAwMDAwMDAwMyIsImRhdGFiYXNlU3lzdGVtSWRlbnRpZmllciI6Ijc0NDAwMDAwMDAwMDAwMDAwMDEiLCJsYXRlc3RDaGVja3BvaW50UkVET0xvY2F0aW9uIjoiMC8zMDAwMDI4IiwidGltZU9mTGF0ZXN0Q2hlY2twb2ludCI6Ik1vbiBOb3YgMzAgMTQ6MDA6MDAgMjAyNiIsIm9wZXJhdG9yVmVyc2lvbiI6IjEuMzAuMSJ9",
    ),
    ("replica.source", "replica-members", "appdb-west"),
    ("databases[].encoding", "databases", "LATIN1"),
    ("databases[].extensions[].name", "databases", "uuid-ossp"),
    ("databases[].extensions[].schema", "databases", "public"),
    ("databases[].extensions[].version", "databases", "1.1"),
    ("databases[].localeCType", "databases", "en_US.UTF-8"),
    ("databases[].localeCollate", "databases", "de_DE.UTF-8"),
    ("databases[].name", "databases", "event_log"),
    ("databases[].owner", "databases", "reporting"),
    ("databases[].schemas[].name", "databases", "staging"),
    ("databases[].schemas[].owner", "databases", "reporting"),
    ("roles[].comment", "roles", "reports only"),
    ("roles[].inRoles[]", "roles", "pg_read_all_stats"),
    ("roles[].name", "roles", "analyst"),
    ("roles[].passwordSecret", "roles", "analyst-password"),
    ("stage", "", "staging"),
    (
        "teleport.access.autoUsers.adminUser",
        "auto-users",
        "db-admin",
    ),
    (
        "teleport.access.autoUsers.readRoles[]",
        "auto-users",
        "pg_read_all_stats",
    ),
    (
        "teleport.access.autoUsers.writeRoles[]",
        "auto-users",
        "pg_write_all_data",
    ),
    ("teleport.agent.joinToken", "agent", "agent-token"),
    (
        "teleport.databaseClientCa.existingSecret",
        "",
        "tp-client-ca",
    ),
    (
        "teleport.databaseClientCa.pem",
        "teleport-pem",
        "<path:kv#tp-ca>",
    ),
    ("teleport.databaseName", "", "orders-db"),
    ("teleport.job.botName", "job-token", "orders-bot"),
    ("teleport.job.identitySecret", "job-identity", "tbot-id"),
    ("teleport.job.joinToken", "job", "job-token"),
    (
        "teleport.job.shellImage",
        "job",
        "docker.io/library/busybox:1.36.1",
    ),
    (
        "teleport.join.clusterName",
        "join-audience",
        "tp.example.com",
    ),
    (
        "teleport.join.oidcIssuer",
        "join-oidc",
        "https://oidc.example.com/id/c1",
    ),
    (
        "teleport.join.staticJwks",
        "join-jwks",
        r#"{"keys":[{"kty":"RSA","kid":"k1","n":"AQAB","e":"AQAB"}]}"#,
    ),
    ("teleport.kubernetesCluster", "", "prod-eu-1"),
    ("teleport.labels.<key>", "", "team"),
    ("teleport.labels.*", "", "blue"),
    ("teleport.operator.namespace", "", "teleport-operator"),
    ("teleport.proxyAddress", "job", "proxy.example.com:3080"),
    ("teleport.role.name", "role-render", "orders-access"),
    ("teleport.version", "job", "18.7.2"),
    ("tls.clientCa.duration", "", "87000h"),
    ("tls.clientCa.renewBefore", "", "8000h"),
    ("tls.clientCertificates.duration", "", "2100h"),
    ("tls.clientCertificates.renewBefore", "", "700h"),
    (
        "tls.server.ca.existingSecret",
        "job-existing-ca",
        "corp-server-ca",
    ),
    ("tls.server.ca.pem", "", "<path:kv#server-ca>"),
    ("tls.server.duration", "", "2000h"),
    (
        "tls.server.existingIssuer.name",
        "existing-issuer",
        "corp-issuer",
    ),
    ("tls.server.extraDnsNames[]", "", "db.example.com"),
    ("tls.server.renewBefore", "", "600h"),
    ("tls.server.vault.appRole.path", "vault", "approle2"),
    ("tls.server.vault.appRole.roleId", "vault", "role-id-2"),
    (
        "tls.server.vault.appRole.secretId.existingSecret",
        "vault-existing",
        "approle-2",
    ),
    (
        "tls.server.vault.appRole.secretId.value",
        "vault",
        "<path:kv#secret-id-2>",
    ),
    (
        "tls.server.vault.caBundle",
        "vault",
        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=",
    ),
    (
        "tls.server.vault.kubernetes.certManagerNamespace",
        "vault-kubernetes",
        "cm-system",
    ),
    (
        "tls.server.vault.kubernetes.certManagerServiceAccount",
        "vault-kubernetes",
        "cm-sa",
    ),
    (
        "tls.server.vault.kubernetes.mountPath",
        "vault-kubernetes",
        "/v1/auth/k8s",
    ),
    (
        "tls.server.vault.kubernetes.role",
        "vault-kubernetes",
        "pg-role",
    ),
    ("tls.server.vault.path", "vault", "pki/sign/pg"),
    (
        "tls.server.vault.server",
        "vault",
        "https://vault2.example.com:8200",
    ),
];

/// The fixed entry of each map: (map, key, value).
const MAP_ENTRIES: &[(&str, &str, &str)] = &[
    (
        "backup.objectStore.credentials.keys",
        "accessKeyId",
        "S3_REGION",
    ),
    (
        "backup.objectStore.credentials.placeholders",
        "ACCESS_KEY_ID",
        "<path:kv/data/gcs#service-account.json>",
    ),
    ("labels", "team", "blue"),
    (
        "postgres.services.additional.metadata.annotations",
        "lb",
        "internal",
    ),
    (
        "postgres.services.additional.metadata.labels",
        "exposure",
        "external",
    ),
    (
        "monitoring.customQueries",
        "q1",
        r#"{"query": "SELECT 1 AS one", "metrics": [{"one": {"usage": "GAUGE", "description": "One"}}]}"#,
    ),
    (
        "monitoring.customQueries.metrics",
        "one",
        r#"{"usage": "GAUGE", "description": "One"}"#,
    ),
    ("monitoring.alerts.labels", "team", "payments"),
    ("monitoring.dashboard.labels", "grafana_dashboard", "1"),
    ("monitoring.labels", "release", "monitoring"),
    ("networkPolicy.applications.from.podLabels", "app", "api"),
    // Keys without dots: `--set` splits its path at them.
    ("networkPolicy.monitoring.podLabels", "app", "prometheus"),
    ("networkPolicy.operator.podLabels", "app", "cloudnative-pg"),
    (
        "networkPolicy.teleport.podLabels",
        "app",
        "teleport-kube-agent",
    ),
    ("pooler.parameters", "server_check_query", "select 1"),
    ("pooler.serviceTemplate.metadata.annotations", "lb", "nlb"),
    (
        "pooler.serviceTemplate.metadata.labels",
        "exposure",
        "internal",
    ),
    ("pooler.template.nodeSelector", "pool", "poolers"),
    (
        "postgres.inheritedMetadata.annotations",
        "owner",
        "payments",
    ),
    ("postgres.inheritedMetadata.labels", "team", "payments"),
    ("postgres.nodeSelector", "disktype", "ssd"),
    (
        "postgres.serviceAccountTemplate.annotations",
        "purpose",
        "backups",
    ),
    ("postgres.serviceAccountTemplate.labels", "unit", "storage"),
    ("postgres.parameters", "work_mem", "64MB"),
    (
        "recovery.objectStore.credentials.keys",
        "accessKeyId",
        "S3_REGION",
    ),
    (
        "recovery.objectStore.credentials.placeholders",
        "ACCESS_KEY_ID",
        "<path:kv/data/gcs#service-account.json>",
    ),
    (
        "replica.externalClusters.objectStore.credentials.keys",
        "accessKeyId",
        "S3_REGION",
    ),
    (
        "replica.externalClusters.objectStore.credentials.placeholders",
        "ACCESS_KEY_ID",
        "<path:kv/data/gcs#service-account.json>",
    ),
    ("teleport.labels", "team", "blue"),
];

/// Fields from which object names derive.
const NAME_FIELDS: &[&str] = &[
    "backup.schedules[].name",
    "databases[].name",
    "name",
    "namespace",
    "replica.externalClusters[].name",
    "teleport.databaseName",
    "teleport.role.name",
];

fn fields() -> &'static [Field] {
    static FIELDS_: OnceLock<Vec<Field>> = OnceLock::new();
    FIELDS_.get_or_init(|| {
        FIELDS
            .iter()
            .map(|(schema_path, context_name, benign)| {
                let key_slot = schema_path.ends_with(".<key>");
                let mut steps = Vec::new();
                let mut map = String::new();
                let mut entry_value = String::new();
                for part in schema_path.split('.') {
                    let (name, lists) = part
                        .split_once("[]")
                        .map_or((part, false), |(n, _)| (n, true));
                    match name {
                        "<key>" => {
                            let (_, _, value) =
                                MAP_ENTRIES.iter().find(|(m, ..)| *m == map).unwrap();
                            entry_value = (*value).to_string();
                        }
                        "*" => {
                            let (_, key, _) = MAP_ENTRIES.iter().find(|(m, ..)| *m == map).unwrap();
                            steps.push(Segment::Key((*key).to_string()));
                        }
                        name => {
                            steps.push(Segment::Key(name.to_string()));
                            if !map.is_empty() {
                                map.push('.');
                            }
                            map.push_str(name);
                        }
                    }
                    if lists {
                        steps.push(Segment::Index(0));
                        if part.ends_with("[][]") {
                            steps.push(Segment::Index(0));
                        }
                    }
                }
                Field {
                    schema_path: (*schema_path).to_string(),
                    steps,
                    key_slot,
                    context: context(context_name),
                    benign: (*benign).to_string(),
                    entry_value,
                    names_follow: NAME_FIELDS.contains(schema_path),
                }
            })
            .collect()
    })
}

fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(Renderer::new)
}

/// A render re-parsed from its YAML text, as `kubectl` would read it.
struct Reparsed {
    documents: Vec<Json>,
    /// (kind, name) of every object.
    objects: BTreeSet<(String, String)>,
    kinds: Vec<String>,
}

fn load(document: &Json, set: Option<String>) -> Result<values::Loaded, values::Problems> {
    let source = Source {
        name: "hostile.yaml".into(),
        text: to_yaml(document),
    };
    let overrides: Vec<Override> = set
        .into_iter()
        .map(|argument| Override::Set {
            argument,
            typed: false,
        })
        .collect();
    values::load(&[source], &overrides)
}

fn render_and_reparse(loaded: &values::Loaded) -> Result<Reparsed, String> {
    let manifests = renderer()
        .render(&loaded.values)
        .map_err(|e| format!("the render failed (exit 4): {e:#}"))?;
    let text = cnpgtp::output::yaml_stream(&manifests).map_err(|e| format!("{e:#}"))?;
    let documents = cnpgtp::yaml::large_documents(&text)
        .map_err(|e| format!("the output does not parse back: {e}\n{text}"))?;
    if documents.len() != manifests.len() {
        return Err(format!(
            "{} objects rendered, {} documents in the output",
            manifests.len(),
            documents.len()
        ));
    }
    let objects = documents
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or_default().to_string(),
                d["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let mut kinds: Vec<String> = documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    kinds.sort();
    Ok(Reparsed {
        documents,
        objects,
        kinds,
    })
}

/// (kind, name) of every object, and the sorted kinds.
type Objects = (BTreeSet<(String, String)>, Vec<String>);

/// A baseline render: its objects, and whether the benign value is carried into it.
type Baseline = (Objects, bool);

/// The objects of the render with the field's benign value (cached).
fn baseline(field: &Field) -> Baseline {
    static CACHE: OnceLock<Mutex<HashMap<String, Baseline>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().unwrap().get(&field.schema_path) {
        return hit.clone();
    }
    let loaded = load(&field.document(&field.benign), None)
        .unwrap_or_else(|p| panic!("{}: the benign value is refused: {p}", field.schema_path));
    let reparsed = render_and_reparse(&loaded).unwrap();
    let carried = reparsed
        .documents
        .iter()
        .any(|d| carries(d, &field.benign, true));
    let value = ((reparsed.objects, reparsed.kinds), carried);
    cache
        .lock()
        .unwrap()
        .insert(field.schema_path.clone(), value.clone());
    value
}

/// Whether `needle` is carried as data (a string, or a key) somewhere in `value`; with
/// `nested`, also inside strings that are JSON or YAML documents (ConfigMap files).
fn carries(value: &Json, needle: &str, nested: bool) -> bool {
    match value {
        Json::String(text) => {
            text.contains(needle)
                || (nested
                    && text.contains('\n')
                    && serde_json::from_str::<Json>(text)
                        .map(|d| vec![d])
                        .or_else(|_| cnpgtp::yaml::large_documents(text))
                        .is_ok_and(|docs| docs.iter().any(|d| carries(d, needle, false))))
        }
        Json::Array(items) => items.iter().any(|i| carries(i, needle, nested)),
        Json::Object(entries) => entries
            .iter()
            .any(|(k, v)| k.contains(needle) || carries(v, needle, nested)),
        _ => false,
    }
}

/// A refusal must say which key, and give a fix.
fn refusal_names_its_key(
    field: &Field,
    text: &str,
    problems: &values::Problems,
) -> Result<(), String> {
    let expected = field.key_path(text).to_string();
    let names_key = problems
        .0
        .iter()
        .any(|p| p.path.to_string() == expected || p.message.contains(&expected));
    let shown = problems.to_string();
    if !names_key || !shown.contains("\n  fix: ") {
        return Err(format!("refused without naming `{expected}`:\n{shown}"));
    }
    Ok(())
}

/// The structural property for one field and one value.
fn check_field(field: &Field, text: &str, by_set: bool) -> Result<(), String> {
    let by_set = by_set && !field.key_slot;
    let loaded = if by_set {
        let argument = format!("{}={}", set_path(&field.steps), set_escape(text));
        load(&field.document(&field.benign), Some(argument))
    } else {
        load(&field.document(text), None)
    };
    let loaded = match loaded {
        Err(problems) => return refusal_names_its_key(field, text, &problems),
        Ok(loaded) => loaded,
    };
    // Patches are matched against the rendered objects: a render can refuse them too.
    if let Err(e) = renderer().render(&loaded.values)
        && let Some(problems) = e.downcast_ref::<values::Problems>()
    {
        return refusal_names_its_key(field, text, problems);
    }
    let reparsed = render_and_reparse(&loaded)?;
    let ((objects, kinds), _) = baseline(field);
    if field.names_follow {
        if reparsed.kinds != kinds {
            return Err(format!(
                "the kinds changed: {:?} -> {:?}",
                kinds, reparsed.kinds
            ));
        }
    } else if reparsed.objects != objects {
        return Err(format!(
            "the objects changed:\n  baseline {objects:?}\n  now      {:?}",
            reparsed.objects
        ));
    }
    let carried = |nested| reparsed.documents.iter().any(|d| carries(d, text, nested));
    if !(carried(false) || carried(true)) {
        return Err("the value is not in the output".into());
    }
    Ok(())
}

#[test]
fn every_string_field_is_covered() {
    let walked = schema_string_fields();
    let listed: BTreeSet<String> = FIELDS.iter().map(|(p, ..)| (*p).to_string()).collect();
    let missing: Vec<_> = walked.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&walked).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "string fields missing from FIELDS (add a context and a benign value): {missing:?}\nlisted but no longer string fields: {stale:?}"
    );
    // Every context really renders its field: the benign value is carried into the output.
    for field in fields() {
        assert!(
            baseline(field).1,
            "{}: the benign value {:?} is not in the output",
            field.schema_path,
            field.benign
        );
    }
}

/// Pieces of hostile strings: YAML and template syntax, SQL, control and odd Unicode characters.
const FRAGMENTS: &[&str] = &[
    "\n",
    "\r\n",
    "\r",
    "---",
    "...",
    "--- !!str",
    "\"",
    "'",
    "''",
    "{{ 7*7 }}",
    "{{",
    "}}",
    "{% if true %}x{% endif %}",
    "{#",
    "<path:kv/data/db#password>",
    "<",
    ">",
    "'; DROP TABLE x; --",
    "$1",
    "$$",
    "\\",
    "\\n",
    "#",
    " # comment",
    ": ",
    ":",
    "- ",
    "-",
    " ",
    "  ",
    "\t",
    "\0",
    "\u{1}",
    "\u{7f}",
    "\u{1b}[31m",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "\u{202e}",
    "\u{feff}",
    "\u{fffd}",
    "é",
    "日本",
    "🦀",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a",
    "*a",
    "!!binary",
    "!tag",
    "|",
    ">-",
    "%YAML",
    "@",
    "`",
    "~",
    "null",
    "true",
    "no",
    "0755",
    "1e3",
    ".inf",
    "<<",
    "?",
    "=",
    ".",
    "a",
    "db",
    "app",
    "x1",
    "pg_monitor",
    "example.com",
    "/",
    "0",
    "18",
    "Gi",
    "h",
];

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(proptest::sample::select(FRAGMENTS), 1..7)
            .prop_map(|parts| parts.concat()),
        2 => any::<String>(),
        1 => "[a-z][a-z0-9.-]{0,20}[a-z0-9]",
        1 => "[ -~]{0,30}",
    ]
}

proptest! {
    #![proptest_config(config(2000))]

    /// No value changes the output's structure: it is refused naming its key, or it renders
    /// the same objects and comes out intact as data.
    #[test]
    fn hostile_strings_never_change_the_output_structure(
        index in 0..FIELDS.len(),
        text in hostile(),
        by_set in any::<bool>(),
    ) {
        let field = &fields()[index];
        let outcome = catch_unwind(AssertUnwindSafe(|| check_field(field, &text, by_set)));
        match outcome {
            Err(_) => prop_assert!(false, "{}: panicked on {text:?}", field.schema_path),
            Ok(Err(message)) => prop_assert!(false, "{} = {text:?} (--set-string: {by_set}): {message}", field.schema_path),
            Ok(Ok(())) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Arbitrary input never panics

/// Tokens that make random text look like values files often enough to reach deep code.
const YAML_TOKENS: &[&str] = &[
    "name",
    "postgres",
    "instances",
    "parameters",
    "roles",
    "tls",
    "server",
    "vault",
    "teleport",
    "pooler",
    "labels",
    "database",
    "ownerPassword",
    "value",
    "existingSecret",
    "registration",
    "job",
    "agent",
    "mechanism",
    "syncWorkload",
    ": ",
    ":",
    "\n",
    "\n  ",
    "\n    ",
    "  ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "!!str ",
    "!!int ",
    "!!binary ",
    "!x ",
    "? ",
    "|\n",
    ">-\n",
    "---\n",
    "...\n",
    "\"",
    "'",
    "#",
    "%YAML 1.2\n",
    "%TAG ! tag:x:\n",
    "<<: ",
    "~",
    "null",
    "true",
    "1",
    "-1",
    "3",
    "0x1F",
    "1e999",
    ".nan",
    "\t",
    "\u{feff}",
    "\u{85}",
    "é",
    "\0",
    "\u{7f}",
    "\\",
    "\\u0000",
    "x",
];

fn yamlish() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(YAML_TOKENS), 0..40)
        .prop_map(|tokens| tokens.concat())
}

/// Loads `sources` and `overrides` and renders; returns whether it neither panicked nor
/// produced an error without a fix.
fn survives(sources: &[Source], overrides: &[Override]) -> Result<(), String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        match values::load(sources, overrides) {
            Err(problems) => {
                let shown = problems.to_string();
                if problems.0.is_empty() || !shown.contains("\n  fix: ") {
                    return Err(format!("an error without a problem or a fix: {shown}"));
                }
                Ok(())
            }
            Ok(loaded) => render_and_reparse(&loaded).map(|_| ()),
        }
    }));
    outcome.unwrap_or_else(|_| Err("panicked".into()))
}

proptest! {
    #![proptest_config(config(1000))]

    /// Whatever the bytes of a values file, loading never panics.
    #[test]
    fn arbitrary_values_files_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
        text in yamlish(),
        raw in any::<String>(),
        pick in 0..3_u8,
    ) {
        let text = match pick {
            0 => String::from_utf8_lossy(&bytes).into_owned(),
            1 => text,
            _ => raw,
        };
        let source = Source { name: "fuzz.yaml".into(), text: text.clone() };
        let result = survives(&[source], &[]);
        prop_assert!(result.is_ok(), "{text:?}: {}", result.unwrap_err());
    }

}

proptest! {
    #![proptest_config(config(300))]

    /// Whatever a `--set` or `--set-string` argument holds, loading never panics.
    #[test]
    fn arbitrary_set_arguments_never_panic(
        argument in proptest::collection::vec(
            proptest::sample::select(&[
                "postgres", "instances", "roles", "name", "labels", "a", ".", "[", "]", "0", "1",
                "10000", "=", ",", "\\", "{", "}", ";", "true", "null", " ", "\u{7f}", "é",
                "parameters", "x=y", "[0]", "tls.server.issuer", "vault",
            ][..]),
            0..12,
        ).prop_map(|parts| parts.concat()),
        typed in any::<bool>(),
    ) {
        let result = survives(&[], &[Override::Set { argument: argument.clone(), typed }]);
        prop_assert!(result.is_ok(), "{argument:?}: {}", result.unwrap_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets never reach stderr

#[test]
fn plaintext_secrets_draw_a_warning_and_placeholders_do_not() {
    let load_with = |sets: &[&str]| {
        let overrides: Vec<Override> = sets
            .iter()
            .map(|s| Override::Set {
                argument: (*s).to_string(),
                typed: false,
            })
            .collect();
        values::load(&[], &overrides).unwrap()
    };
    let vault = [
        "tls.server.issuer=vault",
        "tls.server.vault.server=https://vault.example.com:8200",
        "tls.server.vault.path=pki/sign/postgres",
        "tls.server.vault.appRole.roleId=role",
    ];
    for (path, extra) in [
        ("database.ownerPassword.value", &[][..]),
        ("tls.server.vault.appRole.secretId.value", &vault[..]),
    ] {
        let plain = format!("{path}=hunter2-plain");
        let loaded = load_with(&[extra, &[plain.as_str()]].concat());
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        let warning = warnings
            .iter()
            .find(|w| w.contains(path))
            .unwrap_or_else(|| panic!("no warning for a plaintext {path}: {warnings:?}"));
        assert!(warning.contains("plaintext"), "{warning}");
        assert!(warning.contains("existingSecret"), "{warning}");
        assert!(warning.contains("placeholder"), "{warning}");
        assert!(!warning.contains("hunter2"), "{warning}");
        let placeholder = format!("{path}=<path:kv/data/db#secret>");
        let loaded = load_with(&[extra, &[placeholder.as_str()]].concat());
        assert!(
            loaded
                .warnings
                .iter()
                .all(|w| !w.to_string().contains(path)),
            "a placeholder draws a warning: {:?}",
            loaded.warnings
        );
    }
}

/// A distinctive secret: a marker plus random text (any characters).
fn secret() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9!@#%^&*()_+=~ /.:;,'\"\\\\-]{4,24}",
        any::<String>().prop_filter("long enough", |s| s.chars().count() >= 4),
        proptest::collection::vec(proptest::sample::select(FRAGMENTS), 2..6)
            .prop_map(|parts| parts.concat()),
    ]
    .prop_map(|s| format!("Zq9{s}"))
}

/// Secret fields and, for each, what makes the values invalid around it.
fn secret_scenario(scenario: u8, secret: &str) -> Json {
    let vault = json!({"issuer": "vault", "vault": {
        "server": "https://vault.example.com:8200", "path": "pki/sign/postgres",
        "appRole": {"roleId": "role", "secretId": {"value": secret}},
    }});
    match scenario {
        // A conflicting key beside the secret.
        0 => json!({"database": {"ownerPassword": {"value": secret, "existingSecret": "owner"}}}),
        1 => {
            let mut v = vault;
            v["vault"]["appRole"]["secretId"]["existingSecret"] = json!("approle");
            json!({"tls": {"server": v}})
        }
        // The default existingSecret conflicts with a pem.
        2 => json!({"teleport": {"databaseClientCa": {"pem": secret}}}),
        3 => json!({"tls": {"server": {"ca": {"pem": secret, "existingSecret": "server-ca"}}}}),
        // An invalid type or an unknown key elsewhere.
        4 => {
            json!({"database": {"ownerPassword": {"value": secret}}, "postgres": {"instances": "three"}})
        }
        5 => json!({"tls": {"server": vault}, "postgres": {"instnaces": 3}}),
        6 => json!({"teleport": {"databaseClientCa": {"pem": secret, "existingSecret": null}},
                    "pooler": {"enabled": "maybe"}}),
        // A secret in the wrong place: an enum, a number, a name.
        7 => json!({"tls": {"server": {"ca": {"pem": secret}, "issuer": secret}}}),
        _ => json!({"database": {"ownerPassword": {"value": secret}}, "name": 42}),
    }
}

proptest! {
    #![proptest_config(config(200))]

    /// Secrets set beside a conflicting key or an invalid value elsewhere never appear in the
    /// error, whether they come from a file or from `--set-string`, raw or escaped.
    #[test]
    fn secrets_never_appear_in_errors(secret in secret(), scenario in 0..9_u8, by_set in any::<bool>()) {
        let document = secret_scenario(scenario, &secret);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("values.yaml");
        let mut args: Vec<String> = vec!["render".into()];
        if by_set {
            // The secret on the command line, the rest in the file.
            let mut rest = document.clone();
            let mut sets = Vec::new();
            strip_secret(&mut rest, &secret, &mut Vec::new(), &mut sets);
            std::fs::write(&file, to_yaml(&rest)).unwrap();
            for path in sets {
                args.push("--set-string".into());
                args.push(format!("{path}={}", set_escape(&secret)));
            }
        } else {
            std::fs::write(&file, to_yaml(&document)).unwrap();
        }
        args.splice(1..1, ["-f".to_string(), file.display().to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let Err((stderr, code)) = cnpgtp(&args) else {
            return Err(TestCaseError::fail(format!("scenario {scenario} was accepted")));
        };
        prop_assert_eq!(code, exit::INVALID);
        let escaped = values::printable(&secret).into_owned();
        prop_assert!(
            !stderr.contains(&secret) && !stderr.contains(&escaped) && !stderr.contains("Zq9"),
            "the secret is in stderr:\n{}", stderr
        );
        // A plaintext secret that is valid draws a warning that does not show it either.
        let loaded = values::load(
            &[Source { name: "v.yaml".into(), text: to_yaml(&json!({"database": {"ownerPassword": {"value": secret}}})) }],
            &[],
        );
        if let Ok(loaded) = loaded {
            for warning in &loaded.warnings {
                prop_assert!(!warning.to_string().contains("Zq9"), "{}", warning);
            }
        }
    }
}

/// Moves every string equal to `secret` out of `value`, recording its `--set` path.
fn strip_secret(value: &mut Json, secret: &str, path: &mut Vec<String>, found: &mut Vec<String>) {
    if let Json::Object(entries) = value {
        let keys: Vec<String> = entries.keys().cloned().collect();
        for key in keys {
            path.push(key.clone());
            if entries[&key] == Json::String(secret.to_string()) {
                entries.remove(&key);
                found.push(path.join("."));
            } else {
                strip_secret(entries.get_mut(&key).unwrap(), secret, path, found);
            }
            path.pop();
        }
    }
}

#[test]
fn names_kubernetes_would_refuse_are_refused_before_the_render() {
    // Fields that go into Kubernetes names unchanged: a bad value must fail here, naming its
    // key, not at apply time.
    let vault = [
        "--set",
        "tls.server.issuer=vault",
        "--set",
        "tls.server.vault.server=https://vault:8200",
        "--set",
        "tls.server.vault.path=pki/sign/postgres",
        "--set",
        "tls.server.vault.auth=kubernetes",
        "--set",
        "tls.server.vault.kubernetes.role=postgres",
    ];
    for (set, key, extra) in [
        (
            "postgres.storage.storageClass=fast ssd",
            "postgres.storage.storageClass",
            &[][..],
        ),
        (
            "postgres.walStorage.storageClass=Fast_SSD",
            "postgres.walStorage.storageClass",
            &[][..],
        ),
        (
            "tls.server.vault.kubernetes.certManagerServiceAccount=cert manager",
            "tls.server.vault.kubernetes.certManagerServiceAccount",
            &vault[..],
        ),
        (
            "tls.server.vault.kubernetes.certManagerNamespace=cert.manager",
            "tls.server.vault.kubernetes.certManagerNamespace",
            &vault[..],
        ),
    ] {
        let mut args = vec!["render", "--set-string", set];
        args.extend_from_slice(extra);
        let stderr = refused(&args);
        assert_contains(&stderr, &[&format!("{key}: not a valid")]);
    }
}

#[test]
fn hostile_values_through_the_command_line() {
    // The property above drives the library; here the same contract end to end: refused with
    // exit 1 naming the key, or rendered with the value intact and nothing else changed.
    let hostile =
        "x\n---\nkind: ClusterRole\n{{ 7*7 }}{% raw %}: \"' <path:kv#k> #; DROP ROLE app; --\t\0é";
    for key in [
        "name",
        "namespace",
        "stage",
        "labels.team",
        "teleport.kubernetesCluster",
    ] {
        let set = format!("{key}={}", set_escape(hostile));
        let stderr = refused(&["render", "--set-string", &set]);
        let path = KeyPath::parse(key).to_string();
        assert!(
            stderr.lines().any(|l| l.contains(&format!(": {path}: "))),
            "{key}: {stderr}"
        );
    }
    let baseline = cnpgtp::yaml::large_documents(&cnpgtp(&["render"]).unwrap()).unwrap();
    for key in [
        "postgres.storage.storageClass",
        "postgres.parameters.application_name",
        "roles[0].comment",
    ] {
        let set = format!("{key}={}", set_escape(hostile));
        let mut args = vec!["render", "--set-string", &set];
        if key.starts_with("roles") {
            args.extend(["--set", "roles[0].name=reporting"]);
        }
        match cnpgtp(&args) {
            Err((stderr, code)) => {
                assert_eq!(code, exit::INVALID, "{stderr}");
                assert!(stderr.contains(&format!(": {key}: ")), "{key}: {stderr}");
            }
            Ok(out) => {
                let documents = cnpgtp::yaml::large_documents(&out).unwrap();
                let kinds =
                    |docs: &[Json]| docs.iter().map(|d| d["kind"].clone()).collect::<Vec<_>>();
                assert_eq!(kinds(&documents), kinds(&baseline), "{key}");
                assert!(
                    documents.iter().any(|d| carries(d, hostile, false)),
                    "{key}"
                );
                assert!(!out.contains("kind: ClusterRole\n"), "{key}");
            }
        }
    }
}
