//! The shipped ArgoCD plugin: its `generate` command, run as ArgoCD runs it (in a temporary
//! application directory with ArgoCD's variables set), and `cnpgtp diff` for CI review.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;

fn plugin() -> Json {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("argocd/plugin.yaml"))
            .unwrap();
    cnpgtp::yaml::large_documents(&text).unwrap().remove(0)
}

/// Runs `spec.generate` of plugin.yaml in `app_dir` with `env`, the test build of cnpgtp first on PATH.
fn generate(app_dir: &Path, env: &[(&str, &str)], extra_path: Option<&Path>) -> Output {
    let plugin = plugin();
    let generate = &plugin["spec"]["generate"];
    let command: Vec<&str> = generate["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let args: Vec<&str> = generate["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let binary_dir = PathBuf::from(env!("CARGO_BIN_EXE_cnpgtp"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut path =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect::<Vec<_>>();
    path.insert(0, binary_dir);
    if let Some(extra) = extra_path {
        path.insert(0, extra.to_path_buf());
    }
    Command::new(command[0])
        .args(&command[1..])
        .args(args)
        .current_dir(app_dir)
        .env_clear()
        .env("PATH", std::env::join_paths(path).unwrap())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn app_dir(values: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cnpgtp.yaml"), values).unwrap();
    dir
}

fn documents(output: &Output) -> Vec<Json> {
    assert!(
        output.status.success(),
        "generate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    cnpgtp::yaml::large_documents(&String::from_utf8(output.stdout.clone()).unwrap()).unwrap()
}

#[test]
fn plugin_is_discovered_by_its_values_file_and_announces_its_parameters() {
    let plugin = plugin();
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(plugin["spec"]["discover"]["fileName"], "./cnpgtp.yaml");
    let announced: Vec<&str> = plugin["spec"]["parameters"]["static"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(announced, cnpgtp::cli::argocd::PARAMETERS);
}

#[test]
fn name_and_namespace_come_from_the_application() {
    let dir = app_dir("database:\n  name: orders\n  owner: orders_owner\n");
    let out = generate(
        dir.path(),
        &[
            ("ARGOCD_APP_NAME", "orders-prod"),
            ("ARGOCD_APP_NAMESPACE", "shop"),
        ],
        None,
    );
    let docs = documents(&out);
    let cluster = docs.iter().find(|d| d["kind"] == "Cluster").unwrap();
    assert_eq!(cluster["metadata"]["name"], "orders-prod");
    assert_eq!(cluster["metadata"]["namespace"], "shop");
    // The values file wins over the Application's name.
    let dir = app_dir("name: explicit\nnamespace: elsewhere\n");
    let docs = documents(&generate(
        dir.path(),
        &[
            ("ARGOCD_APP_NAME", "orders-prod"),
            ("ARGOCD_APP_NAMESPACE", "shop"),
        ],
        None,
    ));
    let cluster = docs.iter().find(|d| d["kind"] == "Cluster").unwrap();
    assert_eq!(cluster["metadata"]["name"], "explicit");
    assert_eq!(cluster["metadata"]["namespace"], "elsewhere");
}

#[test]
fn parameters_add_values_files_and_sets() {
    let dir = app_dir("stage: staging\n");
    std::fs::write(
        dir.path().join("prod.yaml"),
        "stage: production\npostgres:\n  instances: 4\n",
    )
    .unwrap();
    let parameters = r#"[{"name":"values-files","array":["prod.yaml"]},{"name":"set","map":{"postgres.instances":"5","pooler.enabled":"false"}}]"#;
    let docs = documents(&generate(
        dir.path(),
        &[
            ("ARGOCD_APP_NAME", "p1"),
            ("ARGOCD_APP_NAMESPACE", "ns1"),
            ("ARGOCD_APP_PARAMETERS", parameters),
        ],
        None,
    ));
    let cluster = docs.iter().find(|d| d["kind"] == "Cluster").unwrap();
    assert_eq!(
        cluster["spec"]["instances"], 5,
        "set parameter wins over values files"
    );
    assert_eq!(
        cluster["metadata"]["labels"]["cnpgtp.io/stage"], "production",
        "values-files layered after cnpgtp.yaml"
    );
    assert!(
        !docs.iter().any(|d| d["kind"] == "Pooler"),
        "typed set: pooler.enabled=false"
    );
}

#[test]
fn a_failing_render_prints_nothing_and_fails() {
    let dir = app_dir("postgres:\n  instnaces: 3\n");
    let out = generate(
        dir.path(),
        &[("ARGOCD_APP_NAME", "bad"), ("ARGOCD_APP_NAMESPACE", "ns")],
        None,
    );
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "stdout must stay empty, or ArgoCD would prune everything"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cnpgtp.yaml:2:3: postgres.instnaces: unknown key")
    );
    // Bad plugin parameters fail the same way.
    let dir = app_dir("{}\n");
    let out = generate(
        dir.path(),
        &[(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"values-files","array":["../../etc/passwd"]}]"#,
        )],
        None,
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}

/// With `AVP=true` the script pipes into argocd-vault-plugin; a stand-in that copies its input
/// (this test checks our pipeline's failure handling, not AVP) shows that a failed render still
/// fails the whole command with nothing on stdout (`pipefail`).
#[test]
fn the_vault_plugin_pipeline_keeps_failures() {
    let bin = tempfile::tempdir().unwrap();
    let stand_in = bin.path().join("argocd-vault-plugin");
    std::fs::write(
        &stand_in,
        "#!/bin/sh\n[ \"$1\" = generate ] && [ \"$2\" = - ] && exec cat\nexit 2\n",
    )
    .unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&stand_in).unwrap().permissions(),
        0o755,
    );
    std::fs::set_permissions(
        &stand_in,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let good = app_dir("{}\n");
    let docs = documents(&generate(
        good.path(),
        &[("ARGOCD_ENV_AVP", "true"), ("ARGOCD_APP_NAME", "vaulted")],
        Some(bin.path()),
    ));
    assert!(
        docs.iter()
            .any(|d| d["kind"] == "Cluster" && d["metadata"]["name"] == "vaulted")
    );
    let bad = app_dir("name: Not_Valid\n");
    let out = generate(bad.path(), &[("ARGOCD_ENV_AVP", "true")], Some(bin.path()));
    assert!(
        !out.status.success(),
        "pipefail must propagate the render's failure"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn placeholders_stay_single_scalars_everywhere() {
    let out = common::cnpgtp(&["render", "-f", "values/article.yaml"]).unwrap();
    for placeholder in [
        "<path:secret/data/cnpg-postgres#owner-password>",
        "<path:secret/data/cert-manager#role-id>",
        "<path:secret/data/cert-manager#secret-id>",
        "<path:secret/data/db-root-certificate#ca>",
        "<path:secret/data/teleport/ca#db_client>",
    ] {
        let lines: Vec<&str> = out.lines().filter(|l| l.contains(placeholder)).collect();
        assert!(!lines.is_empty(), "{placeholder} missing");
        for line in lines {
            let value = line.split_once(": ").map_or("", |(_, v)| v.trim());
            assert_eq!(
                value, placeholder,
                "the placeholder is the whole scalar: {line}"
            );
        }
    }
}

#[test]
fn sync_waves_order_inputs_certificates_cluster_then_consumers() {
    let docs = cnpgtp::yaml::large_documents(
        &common::cnpgtp(&["render", "-f", "values/production.yaml"]).unwrap(),
    )
    .unwrap();
    let wave = |kind: &str| -> i64 {
        let d = docs
            .iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("{kind}"));
        d["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(wave("Secret") < wave("Issuer") || !docs.iter().any(|d| d["kind"] == "Secret"));
    assert!(wave("Issuer") < wave("Certificate"));
    assert!(wave("Certificate") < wave("ExternalSecret"));
    assert!(wave("ExternalSecret") < wave("Cluster"));
    assert!(wave("Cluster") < wave("Pooler"));
    assert!(wave("Cluster") < wave("TeleportDatabaseV3"));
    // The extra databases: after the Cluster whose primary creates them, before the Teleport
    // roles that offer them.
    let with_databases = cnpgtp::yaml::large_documents(
        &common::cnpgtp(&["render", "-f", "tests/inputs/ok-databases.yaml"]).unwrap(),
    )
    .unwrap();
    let waves = |kind: &str| -> Vec<i64> {
        with_databases
            .iter()
            .filter(|d| d["kind"] == kind)
            .map(|d| {
                d["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect()
    };
    let (cluster, roles) = (waves("Cluster")[0], waves("TeleportRoleV8"));
    assert_eq!(waves("Database").len(), 3);
    for database in waves("Database") {
        assert!(cluster < database && roles.iter().all(|r| database < *r));
    }
    // No long-lived object is a hook (ArgoCD would prune it).
    for d in &docs {
        if d["kind"] != "Job" {
            assert!(
                d["metadata"]["annotations"]["argocd.argoproj.io/hook"].is_null(),
                "{}",
                d["kind"]
            );
            assert!(
                d["metadata"]["annotations"]["helm.sh/hook"].is_null(),
                "{}",
                d["kind"]
            );
        }
    }
}

#[test]
fn diff_reports_changed_added_and_removed_objects() {
    let dir = tempfile::tempdir().unwrap();
    let committed = dir.path().join("orders");
    let committed_str = committed.to_str().unwrap();
    common::cnpgtp(&[
        "render",
        "-f",
        "values/minimal.yaml",
        "--output-dir",
        committed_str,
    ])
    .unwrap();
    // Identical: exit 0, nothing printed.
    assert_eq!(
        common::cnpgtp(&["diff", committed_str, "-f", "values/minimal.yaml"]).unwrap(),
        ""
    );
    // A user's notes are ignored.
    std::fs::write(committed.join("NOTES.md"), "ours\n").unwrap();
    assert_eq!(
        common::cnpgtp(&["diff", committed_str, "-f", "values/minimal.yaml"]).unwrap(),
        ""
    );
    let (diff, code) = common::cnpgtp(&[
        "diff",
        committed_str,
        "-f",
        "values/minimal.yaml",
        "--set",
        "postgres.instances=3",
        "--set",
        "pooler.enabled=true",
    ])
    .unwrap_err();
    assert_eq!(code, 1);
    let diff = diff.replace(committed_str, "COMMITTED");
    // stdout is the diff alone, ready for a PR comment; the summary goes to stderr.
    assert!(!diff.contains("differ from the render"), "{diff}");
    insta::assert_snapshot!("diff_minimal_scaled_with_pooler", diff);
    // Trouble is 2, never 1 ("differs"): invalid values, a missing directory, --output-dir.
    let (_, code) = common::cnpgtp(&[
        "diff",
        committed_str,
        "-f",
        "values/minimal.yaml",
        "--set",
        "name=Bad_",
    ])
    .unwrap_err();
    assert_eq!(code, 2);
    let missing = dir.path().join("never-rendered");
    let (err, code) = common::cnpgtp(&[
        "diff",
        missing.to_str().unwrap(),
        "-f",
        "values/minimal.yaml",
    ])
    .unwrap_err();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is not a directory of committed manifests"),
        "{err}"
    );
    let (_, code) =
        common::cnpgtp(&["diff", committed_str, "--output-dir", committed_str]).unwrap_err();
    assert_eq!(code, 2);
}

/// Removing a database from Git, deleting its Application or the ApplicationSet never deletes
/// the data: the shipped ApplicationSet preserves resources, and every data-bearing object
/// carries ArgoCD's keep options unless the values opt out.
#[test]
fn data_survives_prune_and_delete() {
    let set: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string("argocd/applicationset.yaml").unwrap())
            .unwrap();
    assert_eq!(
        set["spec"]["syncPolicy"]["preserveResourcesOnDeletion"],
        true
    );
    let options = |args: &[&str]| -> Vec<(String, Option<String>)> {
        let out = common::cnpgtp(args).unwrap();
        cnpgtp::yaml::large_documents(&out)
            .unwrap()
            .into_iter()
            .filter(|o| {
                matches!(
                    o["kind"].as_str(),
                    Some("Cluster" | "ObjectStore" | "ScheduledBackup")
                )
            })
            .map(|o| {
                (
                    o["kind"].as_str().unwrap().to_string(),
                    o["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
                        .as_str()
                        .map(str::to_string),
                )
            })
            .collect()
    };
    let protected = options(&["render", "-f", "values/production.yaml"]);
    let kinds: Vec<&str> = protected.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["ObjectStore", "Cluster", "ScheduledBackup"]);
    for (kind, option) in &protected {
        assert_eq!(
            option.as_deref(),
            Some("Prune=false,Delete=false"),
            "{kind}"
        );
    }
    let opted_out = options(&[
        "render",
        "-f",
        "values/production.yaml",
        "--set",
        "deletionProtection.enabled=false",
    ]);
    assert!(
        opted_out.iter().all(|(_, option)| option.is_none()),
        "{opted_out:?}"
    );
    // Databases: only one whose deletion drops its data is kept.
    let out = common::cnpgtp(&["render", "-f", "tests/inputs/ok-databases.yaml"]).unwrap();
    let databases: Vec<(String, Option<String>)> = cnpgtp::yaml::large_documents(&out)
        .unwrap()
        .into_iter()
        .filter(|o| o["kind"] == "Database")
        .map(|o| {
            (
                o["spec"]["databaseReclaimPolicy"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                o["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
                    .as_str()
                    .map(str::to_string),
            )
        })
        .collect();
    assert_eq!(databases.len(), 3);
    for (policy, option) in &databases {
        let want = (policy == "delete").then_some("Prune=false,Delete=false");
        assert_eq!(option.as_deref(), want, "{policy}");
    }
}

/// A fleet keeps one layout whatever its size, removes the folders of databases it no longer
/// renders, and `diff` shows a removed database as removed.
#[test]
fn fleets_track_added_and_removed_databases() {
    let dir = tempfile::tempdir().unwrap();
    let database = |name: &str| {
        let folder = dir.path().join("dbs").join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join("values.yaml"),
            "teleport:\n  registration: none\npooler:\n  enabled: false\n",
        )
        .unwrap();
        folder.display().to_string()
    };
    let (orders, billing, third) = (database("orders"), database("billing"), database("third"));
    let out = dir.path().join("out");
    let out_str = out.to_str().unwrap();
    // One database named as a positional argument already gets its own folder.
    common::cnpgtp(&["render", &orders, "--output-dir", out_str]).unwrap();
    assert!(out.join("orders/kustomization.yaml").is_file());
    assert!(!out.join("kustomization.yaml").exists());
    common::cnpgtp(&["render", &orders, &billing, "--output-dir", out_str]).unwrap();
    assert!(out.join("orders/cluster-orders.yaml").is_file());
    assert!(out.join("billing/cluster-billing.yaml").is_file());
    std::fs::write(out.join("NOTES.md"), "ours\n").unwrap();
    // Rendering `orders third` against the committed `orders billing`: billing shows as removed.
    let (diff, code) = common::cnpgtp(&["diff", out_str, &orders, &third]).unwrap_err();
    assert_eq!(code, 1);
    let diff = diff.replace(out_str, "OUT");
    assert!(
        diff.contains("--- a/OUT/billing/cluster-billing.yaml\n+++ /dev/null"),
        "{diff}"
    );
    assert!(
        diff.contains("--- /dev/null\n+++ b/OUT/third/cluster-third.yaml"),
        "{diff}"
    );
    // And rendering it removes billing/ (a user's file would keep the folder, not our files).
    std::fs::write(out.join("billing/README.md"), "the billing team's notes\n").unwrap();
    common::cnpgtp(&["render", &orders, &third, "--output-dir", out_str]).unwrap();
    assert!(out.join("third/cluster-third.yaml").is_file());
    let left: Vec<String> = std::fs::read_dir(out.join("billing"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["README.md"]);
    assert!(out.join("NOTES.md").is_file());
    std::fs::remove_file(out.join("billing/README.md")).unwrap();
    common::cnpgtp(&["render", &orders, &third, "--output-dir", out_str]).unwrap();
    // With no file of ours left, the folder is no database, and the render and diff agree.
    assert_eq!(
        common::cnpgtp(&["diff", out_str, &orders, &third]).unwrap(),
        ""
    );
}

/// Collisions are judged on (kind, namespace, name) over every rendered object.
#[test]
fn fleet_collisions_are_judged_on_objects() {
    let dir = tempfile::tempdir().unwrap();
    let file = |stem: &str, text: &str| {
        let path = dir.path().join(format!("{stem}.yaml"));
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let shop = file("shop", "name: orders-db\nnamespace: shop\n");
    let staging = file("staging", "name: orders-db\nnamespace: shop-staging\n");
    // Same name in two namespaces: legal on stdout.
    common::cnpgtp(&["render", &shop, &staging]).unwrap();
    // ... but not in one --output-dir, where both would be DIR/orders-db/.
    let out = dir.path().join("out");
    let (err, code) = common::cnpgtp(&[
        "render",
        &shop,
        &staging,
        "--output-dir",
        out.to_str().unwrap(),
    ])
    .unwrap_err();
    assert_eq!(code, 1);
    assert!(err.contains("would share"), "{err}");
    assert!(!out.exists());
    // Two databases registering the same Teleport database in the operator's namespace collide.
    let same_teleport = file(
        "other",
        "name: other-db\nnamespace: shop\nteleport:\n  databaseName: shop-orders-db\n",
    );
    let (err, code) = common::cnpgtp(&["render", &shop, &same_teleport]).unwrap_err();
    assert_eq!(code, 1);
    assert!(
        // The first shared object in apply order: the sync workload's Role for the databases,
        // or the TeleportDatabaseV3 itself.
        err.contains("databases `orders-db` and `other-db` both render ")
            && err.contains(" teleport/shop-orders-db-"),
        "{err}"
    );
}

/// `render` warns on stderr about placeholders the values hold unless `--argocd` says
/// argocd-vault-plugin follows; the defaults hold none.
#[test]
fn render_warns_about_placeholders_unless_argocd_vault_plugin_follows() {
    let stderr = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cnpgtp"))
            .args(args)
            .env_remove("ARGOCD_APP_NAME")
            .env_remove("ARGOCD_APP_NAMESPACE")
            .env_remove("ARGOCD_APP_PARAMETERS")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let warned = stderr(&["render", "-f", "values/article.yaml"]);
    assert!(
        warned.contains("argocd-vault-plugin placeholder(s) in"),
        "{warned}"
    );
    assert!(warned.contains("tls.server.ca.pem"), "{warned}");
    assert!(
        !warned.contains("<path:"),
        "keys are named, never values: {warned}"
    );
    assert!(!stderr(&["render", "-f", "values/article.yaml", "--argocd"]).contains("placeholder"));
    assert!(!stderr(&["render"]).contains("placeholder"));
}
