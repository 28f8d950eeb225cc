//! Snapshot tests of rendered output and of errors, driven by the files in `values/` and
//! `tests/inputs/`. Adding a case means adding a file.

mod common;

use common::{cnpgtp, relative};

#[test]
fn defaults_render() {
    let out = cnpgtp(&["render"]).unwrap();
    insta::assert_snapshot!("defaults", out);
}

#[test]
fn shipped_values_render() {
    insta::glob!("../values", "*.yaml", |path| {
        if path.ends_with("defaults.yaml") {
            return;
        }
        let file = relative(path);
        let out = cnpgtp(&["render", "-f", &file]).unwrap_or_else(|e| panic!("{file}: {}", e.0));
        insta::assert_snapshot!(out);
    });
}

#[test]
fn ok_inputs_render() {
    insta::glob!("inputs", "ok-*.yaml", |path| {
        let file = relative(path);
        let out = cnpgtp(&["render", "-f", &file]).unwrap_or_else(|e| panic!("{file}: {}", e.0));
        insta::assert_snapshot!(out);
    });
}

#[test]
fn bad_values_are_reported_as_users_see_them() {
    insta::glob!("inputs", "err-*.yaml", |path| {
        let file = relative(path);
        let (stderr, code) = cnpgtp(&["render", "-f", &file]).expect_err(&file);
        assert_eq!(code, cnpgtp::cli::exit::INVALID, "{file}");
        insta::assert_snapshot!(format!("exit code {code}\n{stderr}"));
    });
}

#[test]
fn secrets_never_appear_in_errors() {
    let (stderr, _) =
        cnpgtp(&["render", "-f", "tests/inputs/err-secret-conflict.yaml"]).unwrap_err();
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let (stderr, _) = cnpgtp(&[
        "render",
        "--set",
        "database.ownerPassword.value=hunter2",
        "--set",
        "database.ownerPassword.existingSecret=x",
    ])
    .unwrap_err();
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let (stderr, _) = cnpgtp(&["render", "--set", "postgres.instances=hunter2"]).unwrap_err();
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn render_is_deterministic() {
    for file in common::shipped_values() {
        let file = relative(&file);
        assert_eq!(
            cnpgtp(&["render", "-f", &file]).unwrap(),
            cnpgtp(&["render", "-f", &file]).unwrap()
        );
    }
}

#[test]
fn layering_order_is_defaults_then_files_then_set() {
    let out = cnpgtp(&[
        "render",
        "-f",
        "values/minimal.yaml",
        "-f",
        "values/production.yaml",
        "--set",
        "postgres.instances=5",
        "--name",
        "layered",
        "-n",
        "elsewhere",
    ])
    .unwrap();
    assert!(out.contains("  instances: 5\n"), "--set wins over files");
    assert!(
        out.contains("  name: layered\n  namespace: elsewhere\n"),
        "--name/-n win over files"
    );
    assert!(
        out.contains("database: billing"),
        "later file wins over earlier file"
    );
}

#[test]
fn set_typing_and_set_string() {
    let (stderr, _) = cnpgtp(&["render", "--set-string", "postgres.instances=3"]).unwrap_err();
    assert!(
        stderr.contains("postgres.instances: expected integer, found a string"),
        "{stderr}"
    );
    let out = cnpgtp(&[
        "render",
        "--set",
        "postgres.parameters.work_mem=64MB",
        "--set",
        "postgres.parameters.jit=off",
    ])
    .unwrap();
    assert!(out.contains("jit: \"off\""), "{out}");
    assert!(out.contains("work_mem: 64MB"), "{out}");
    let (stderr, code) = cnpgtp(&["render", "--set", "postgres.instances"]).unwrap_err();
    assert_eq!(code, 1);
    insta::assert_snapshot!("malformed_set", stderr);
}

#[test]
fn missing_file_and_directory_as_file() {
    let (stderr, code) = cnpgtp(&["render", "-f", "does/not/exist.yaml"]).unwrap_err();
    assert_eq!(code, 1);
    assert!(
        stderr.contains("does/not/exist.yaml: cannot read the values file"),
        "{stderr}"
    );
    let (stderr, _) = cnpgtp(&["render", "-f", "values"]).unwrap_err();
    assert!(
        stderr.contains("values: this is a directory, not a values file"),
        "{stderr}"
    );
}

#[test]
fn values_strings_never_add_structure() {
    // Newlines, document separators, quotes, template syntax and YAML indicators in a value must
    // come out as that one value: the render re-parses to the same objects, value intact.
    let hostile = "x\n---\nkind: Secret\n{{ 7*7 }} {% if true %}y{% endif %}: \"' <path:kv#k>";
    let set = format!(
        "database.ownerPassword.value={}",
        hostile.replace(',', "\\,")
    );
    let out = cnpgtp(&["render", "--set-string", &set]).unwrap();
    let baseline = cnpgtp(&[
        "render",
        "--set-string",
        "database.ownerPassword.value=<path:kv#k>",
    ])
    .unwrap();
    assert_eq!(
        out.matches("\n---\n").count(),
        baseline.matches("\n---\n").count()
    );
    let docs: Vec<serde_json::Value> = cnpgtp::yaml::large_documents(&out).unwrap();
    let secret = docs
        .iter()
        .find(|d| d["kind"] == "Secret" && d["metadata"]["name"] == "appdb-owner")
        .unwrap();
    assert_eq!(secret["stringData"]["password"], hostile);
    assert!(
        !out.contains("49"),
        "template syntax in values is never evaluated"
    );
}

#[test]
fn values_and_schema_commands() {
    let values = cnpgtp(&["values"]).unwrap();
    assert_eq!(values, cnpgtp::values::DEFAULTS);
    let schema: serde_json::Value = serde_json::from_str(&cnpgtp(&["schema"]).unwrap()).unwrap();
    assert_eq!(schema["title"], "cnpgtp values");
    assert!(schema["properties"]["postgres"].is_object());
    let completions = cnpgtp(&["completions", "bash"]).unwrap();
    assert!(completions.contains("cnpgtp"));
}

#[test]
fn every_default_key_has_a_comment() {
    // A key counts as documented when the line above it is a comment, or is a documented sibling
    // key at the same indentation (one comment may describe a short group of keys).
    let mut previous: Option<(usize, bool, bool)> = None; // (indent, is_comment, documented)
    for (i, line) in cnpgtp::values::DEFAULTS.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with('#') {
            previous = Some((indent, true, true));
            continue;
        }
        let documented = match previous {
            Some((_, true, _)) => true,
            Some((prev_indent, false, prev_documented)) => prev_indent == indent && prev_documented,
            None => false,
        };
        assert!(documented, "defaults line {} has no comment: {line}", i + 1);
        // The keys of a list item (`- name: x` then `  schedule: y`) are siblings of its first.
        let indent = if trimmed.starts_with("- ") {
            indent + 2
        } else {
            indent
        };
        previous = Some((indent, false, documented));
    }
}

#[test]
fn lint_command_reports_findings_and_inputs() {
    let Some(shared) = common::require_shared("lint command") else {
        return;
    };
    let crds = shared.join("crds");
    // The defaults are a production cluster without backups: an error until they say why.
    let (out, code) = cnpgtp(&["lint", "--crds", crds.to_str().unwrap()]).unwrap_err();
    assert_eq!(code, 1);
    assert!(
        out.contains("error[backup]: Cluster databases/appdb"),
        "{out}"
    );
    let no_backup = "backup.disabledReason=test";
    let out = cnpgtp(&["lint", "--crds", crds.to_str().unwrap(), "--set", no_backup]).unwrap();
    assert!(
        out.contains("appdb: input: Secret databases/teleport-db-client-ca"),
        "{out}"
    );
    assert!(!out.contains("error["), "{out}");
    // A CRD that does not know `walStorage` makes the same render an error (exit 1).
    let dir = tempfile::tempdir().unwrap();
    let cluster_crd =
        std::fs::read_to_string(crds.join("cnpg/postgresql.cnpg.io_clusters.yaml")).unwrap();
    std::fs::write(
        dir.path().join("clusters.yaml"),
        cluster_crd.replace(
            "\n              walStorage:\n",
            "\n              walStorageRenamed:\n",
        ),
    )
    .unwrap();
    let (out, code) = cnpgtp(&[
        "lint",
        "--crds",
        dir.path().to_str().unwrap(),
        "--set",
        no_backup,
    ])
    .unwrap_err();
    assert_eq!(code, 1);
    assert!(out.contains("walStorage"), "{out}");
    let (_, code) = cnpgtp(&["lint", "--crds", "does/not/exist"]).unwrap_err();
    assert_eq!(code, 3);
}

#[test]
fn an_image_pinned_by_tag_and_digest_renders() {
    let digest = "a".repeat(64);
    let image = format!("ghcr.io/cloudnative-pg/postgresql:18.1-minimal-trixie@sha256:{digest}");
    let out = cnpgtp(&[
        "render",
        "--set",
        "postgres.major=18",
        "--set",
        &format!("postgres.image={image}"),
    ])
    .unwrap();
    assert!(out.contains(&format!("imageName: {image}")), "{out}");
    // The major is read from the tag, not from the digest or a registry port.
    let (err, _) = cnpgtp(&[
        "render",
        "--set",
        "postgres.major=17",
        "--set",
        &format!("postgres.image={image}"),
    ])
    .unwrap_err();
    assert!(
        err.contains("must start with the major version 17"),
        "{err}"
    );
}

#[test]
fn helm_style_set_flags() {
    // Helm's list syntax with commas, beside another assignment in the same --set.
    let out = cnpgtp(&[
        "render",
        "--set",
        "tls.server.extraDnsNames={a.example.com,b.example.com},postgres.instances=3",
    ])
    .unwrap();
    assert!(
        out.contains("- a.example.com\n") && out.contains("- b.example.com\n"),
        "{out}"
    );
    assert!(out.contains("instances: 3"), "{out}");
    // --set-file passes a file's text; --set-json any JSON value.
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.crt");
    std::fs::write(
        &pem,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let out = cnpgtp(&[
        "render",
        "--set-file",
        &format!("tls.server.ca.pem={}", pem.display()),
        "--set-json",
        r#"postgres.nodeSelector={"disk":"ssd"}"#,
    ])
    .unwrap();
    assert!(out.contains("MIIB"), "{out}");
    assert!(out.contains("disk: ssd"), "{out}");
    // A boolean for a string key: on the command line the fix is --set-string.
    let (err, code) = cnpgtp(&["render", "--set", "stage=true"]).unwrap_err();
    assert_eq!(code, 1);
    assert!(err.contains("use --set-string stage="), "{err}");
    let (err, _) = cnpgtp(&["render", "--set-json", "postgres.nodeSelector={disk"]).unwrap_err();
    assert!(err.contains("not JSON"), "{err}");
    let (err, _) =
        cnpgtp(&["render", "--set-file", "tls.server.ca.pem=/does/not/exist"]).unwrap_err();
    assert!(err.contains("cannot read /does/not/exist"), "{err}");
}

#[test]
fn unknown_keys_and_domain_errors_are_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    std::fs::write(
        &file,
        "postgres:\n  instnaces: 3\ndatabase:\n  owner: Bad-Owner\n",
    )
    .unwrap();
    let (err, _) = cnpgtp(&["render", "-f", file.to_str().unwrap()]).unwrap_err();
    assert!(err.contains("2 problems"), "{err}");
    assert!(err.contains("postgres.instnaces: unknown key"), "{err}");
    assert!(
        err.contains("database.owner: not a plain SQL identifier"),
        "{err}"
    );
}

#[test]
fn help_and_lint_flags() {
    let main = cnpgtp(&["--help"]).unwrap_err();
    // `cnpgtp help --help` is `cnpgtp --help`, and `help render --help` is `render --help`.
    assert_eq!(cnpgtp(&["help", "--help"]).unwrap_err(), main);
    let render_help = cnpgtp(&["render", "--help"]).unwrap_err();
    assert_eq!(
        cnpgtp(&["help", "render", "--help"]).unwrap_err(),
        render_help
    );
    let (err, code) = cnpgtp(&["lint", "--output-dir", "x"]).unwrap_err();
    assert_eq!(code, 2);
    assert!(err.contains("writes no manifests"), "{err}");
    let (json, code) = cnpgtp(&["lint", "--format", "json"]).unwrap_err();
    assert_eq!(code, 1);
    let records: serde_json::Value = serde_json::from_str(&json).unwrap();
    let backup = records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "backup")
        .expect("the missing-backup error");
    assert_eq!(backup["severity"], "error");
    assert_eq!(backup["kind"], "Cluster");
}

#[test]
fn the_committed_schema_is_current_and_accepts_partial_values() {
    let printed = cnpgtp(&["schema"]).unwrap();
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("values.schema.json"),
    )
    .unwrap();
    assert!(
        printed == committed,
        "values.schema.json is stale: run `cargo run -- schema > values.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    // Partial files are the recommended style: `{}` and every shipped file validate.
    assert!(validator.is_valid(&serde_json::json!({})));
    for file in common::shipped_values() {
        let text = std::fs::read_to_string(&file).unwrap();
        let values: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&values)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
    }
    // ... and the domain limits an editor can check are there.
    for bad in [
        serde_json::json!({"postgres": {"major": 13}}),
        serde_json::json!({"name": "1db"}),
        serde_json::json!({"roles": [{"login": true}]}),
        serde_json::json!({"backup": {"retentionPolicy": "30 days"}}),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
}

#[test]
fn a_postgres_minor_bump_changes_only_the_cluster() {
    let objects = |image: &str| -> Vec<serde_json::Value> {
        let out = cnpgtp(&[
            "render",
            "-f",
            "values/production.yaml",
            "--set",
            "clientCaBundle.mechanism=syncWorkload",
            "--set",
            &format!("postgres.image=ghcr.io/cloudnative-pg/postgresql:{image}"),
        ])
        .unwrap();
        cnpgtp::yaml::large_documents(&out).unwrap()
    };
    let before = objects("17.10-standard-trixie");
    let after = objects("17.11-standard-trixie");
    assert_eq!(before.len(), after.len());
    let changed: Vec<String> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| format!("{} {}", a["kind"], a["metadata"]["name"]))
        .collect();
    assert_eq!(changed, [r#""Cluster" "billing""#], "{changed:?}");
}

/// PostgreSQL 18's initdb enables data checksums and CloudNativePG 1.30 never passes
/// `--no-data-checksums`: `dataChecksums: false` on 18 draws a warning (the PostgreSQL suite shows
/// the checksums on), and no warning on 17.
#[test]
fn data_checksums_off_on_postgresql_18_draws_a_warning() {
    let warnings = |major: u32| {
        let overrides = [
            format!("postgres.major={major}"),
            "database.dataChecksums=false".to_string(),
        ]
        .map(|argument| cnpgtp::values::Override::Set {
            argument,
            typed: true,
        });
        let loaded = cnpgtp::values::load(&[], &overrides).expect("valid values");
        loaded
            .warnings
            .iter()
            .map(ToString::to_string)
            .filter(|w| w.contains("database.dataChecksums"))
            .collect::<Vec<_>>()
    };
    let on_18 = warnings(18);
    assert_eq!(on_18.len(), 1, "{on_18:?}");
    assert!(on_18[0].contains("they will be on"), "{on_18:?}");
    assert!(warnings(17).is_empty());
}
