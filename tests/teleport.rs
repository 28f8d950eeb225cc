//! Teleport registration: names, labels, CA handling and pod security across the three modes.

mod common;

use std::process::Command;

use common::cnpgtp;
use serde_json::Value as Json;

fn objects(args: &[&str]) -> Vec<Json> {
    let out = cnpgtp(args).unwrap_or_else(|e| panic!("{args:?}: {}", e.0));
    cnpgtp::yaml::large_documents(&out).unwrap()
}

fn of_kind<'a>(objects: &'a [Json], kind: &str) -> Vec<&'a Json> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn teleport_name_ok(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

#[test]
fn operator_mode_registers_rw_and_ro_in_the_operator_namespace() {
    let objects = objects(&["render"]);
    let dbs = of_kind(&objects, "TeleportDatabaseV3");
    assert_eq!(dbs.len(), 2, "rw and ro with 2 instances");
    for db in &dbs {
        assert_eq!(db["metadata"]["namespace"], "teleport");
        let name = db["metadata"]["name"].as_str().unwrap();
        assert!(teleport_name_ok(name) && name.len() <= 63, "{name}");
        assert_eq!(db["spec"]["tls"]["mode"], "verify-full");
        // The defaults generate the server CA in the cluster: the sync workload writes it.
        assert!(db["spec"]["tls"].get("ca_cert").is_none(), "{db}");
        assert!(
            db["spec"].get("ca_cert").is_none(),
            "never the deprecated top-level ca_cert"
        );
        let uri = db["spec"]["uri"].as_str().unwrap();
        let labels = &db["metadata"]["labels"];
        match labels["sql_type"].as_str().unwrap() {
            "primary" => assert_eq!(uri, "appdb-rw.databases.svc:5432"),
            "standby" => assert_eq!(uri, "appdb-ro.databases.svc:5432"),
            other => panic!("sql_type {other}"),
        }
        for key in [
            "provisioned_by",
            "database",
            "stage",
            "kubernetes_cluster",
            "cnpg_cluster",
        ] {
            assert!(labels[key].is_string(), "label {key} missing on {name}");
        }
        // No label that churns with every cnpgtp or PostgreSQL upgrade.
        assert!(labels.get("cnpgtp_version").is_none(), "{name}");
    }
}

#[test]
fn read_only_endpoint_only_with_replicas() {
    let objects = objects(&["render", "--set", "postgres.instances=1"]);
    let dbs = of_kind(&objects, "TeleportDatabaseV3");
    assert_eq!(dbs.len(), 1);
    assert_eq!(dbs[0]["metadata"]["labels"]["sql_type"], "primary");
}

#[test]
fn every_uri_host_is_in_the_server_certificate() {
    for args in [
        vec!["render"],
        vec!["render", "-f", "values/minimal.yaml"],
        vec!["render", "-f", "values/article.yaml"],
        vec!["render", "-f", "values/production.yaml"],
    ] {
        let out = cnpgtp(&args).unwrap();
        let objects = cnpgtp::yaml::large_documents(&out).unwrap();
        let server = objects
            .iter()
            .find(|o| {
                o["kind"] == "Certificate"
                    && o["spec"]["dnsNames"].is_array()
                    && o["spec"]["usages"].to_string().contains("server auth")
            })
            .unwrap();
        let dns: Vec<&str> = server["spec"]["dnsNames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for uri in out.lines().filter_map(|l| l.trim().strip_prefix("uri: ")) {
            let host = uri.rsplit_once(':').unwrap().0;
            assert!(dns.contains(&host), "{args:?}: {host} not in {dns:?}");
        }
    }
}

/// A CA known only in the cluster reaches the TeleportDatabaseV3s through the sync workload;
/// with external-secrets nothing would write it, so that is refused.
#[test]
fn operator_mode_with_a_ca_known_only_in_the_cluster_needs_the_sync_workload() {
    let (stderr, code) = cnpgtp(&[
        "render",
        "--set",
        "clientCaBundle.mechanism=externalSecrets",
    ])
    .unwrap_err();
    assert_eq!(code, 1);
    insta::assert_snapshot!("operator_generated_ca", stderr);
    // A render-time CA goes inline, and the sync workload leaves the databases alone.
    let objects = objects(&["render", "--set", "tls.server.ca.pem=<path:kv#ca>"]);
    for db in of_kind(&objects, "TeleportDatabaseV3") {
        assert_eq!(db["spec"]["tls"]["ca_cert"], "<path:kv#ca>");
    }
    let sync = objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "appdb-ca-bundle")
        .expect("the sync workload");
    let env = &sync["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(
        !env.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "TELEPORT_DATABASES"),
        "{env}"
    );
    assert!(
        !objects
            .iter()
            .any(|o| o["kind"] == "Role" && o["metadata"]["namespace"] == "teleport"),
        "no access to the Teleport namespace without a reason"
    );
}

/// The defaults: the sync workload is told exactly the rendered TeleportDatabaseV3s and the
/// Secret that holds the server CA the Cluster uses, and may touch only those objects.
#[test]
fn sync_workload_writes_the_generated_ca_into_exactly_the_rendered_databases() {
    let objects = objects(&["render"]);
    let names: Vec<&str> = of_kind(&objects, "TeleportDatabaseV3")
        .iter()
        .map(|db| db["metadata"]["name"].as_str().unwrap())
        .collect();
    let sync = objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "appdb-ca-bundle")
        .expect("the sync workload");
    let env: std::collections::BTreeMap<&str, &str> =
        sync["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| Some((e["name"].as_str()?, e["value"].as_str()?)))
            .collect();
    assert_eq!(
        env["TELEPORT_DATABASES"].split(' ').collect::<Vec<_>>(),
        names
    );
    assert_eq!(env["TELEPORT_NAMESPACE"], "teleport");
    let cluster = objects.iter().find(|o| o["kind"] == "Cluster").unwrap();
    assert_eq!(
        cluster["spec"]["certificates"]["serverCASecret"], env["SERVER_CA_SECRET"],
        "the CA the Cluster presents is the one Teleport is given"
    );
    assert_eq!(env["SERVER_CA_KEY"], "ca.crt");
    let role = objects
        .iter()
        .find(|o| o["kind"] == "Role" && o["metadata"]["namespace"] == "teleport")
        .expect("a Role in the operator's namespace");
    assert_eq!(
        role["rules"],
        serde_json::json!([{"apiGroups": ["resources.teleport.dev"], "resources": ["teleportdatabasesv3"],
            "resourceNames": names, "verbs": ["get", "watch", "patch"]}])
    );
    let binding = objects
        .iter()
        .find(|o| o["kind"] == "RoleBinding" && o["metadata"]["namespace"] == "teleport")
        .expect("its RoleBinding");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(
        binding["subjects"][0]["name"],
        sync["spec"]["template"]["spec"]["serviceAccountName"]
    );
    assert_eq!(binding["subjects"][0]["namespace"], "databases");
}

fn documents(args: &[&str]) -> Vec<Json> {
    cnpgtp::yaml::large_documents(&cnpgtp(args).unwrap_or_else(|e| panic!("{args:?}: {}", e.0)))
        .unwrap()
}

#[test]
fn role_and_agent_values_select_exactly_the_rendered_databases() {
    let roles = documents(&["teleport", "role", "-f", "values/production.yaml"]);
    let agent = documents(&["teleport", "agent-values", "-f", "values/production.yaml"]).remove(0);
    let objects = objects(&["render", "-f", "values/production.yaml"]);
    let dbs = of_kind(&objects, "TeleportDatabaseV3");
    assert_eq!(dbs.len(), 2);
    let selectors: Vec<&Json> = roles
        .iter()
        .map(|r| &r["spec"]["allow"]["db_labels"])
        .chain([&agent["databaseResources"][0]["labels"]])
        .collect();
    for db in &dbs {
        for selector in &selectors {
            for (key, value) in selector.as_object().unwrap() {
                assert_eq!(&db["metadata"]["labels"][key], value, "{key}");
            }
        }
    }
    // A database of the same namespace and Kubernetes cluster but another CNPG cluster is not
    // selected by the roles.
    let other = self::objects(&[
        "render",
        "-f",
        "values/production.yaml",
        "--set",
        "name=other",
        "--set",
        "teleport.databaseName=other-prod",
    ]);
    for db in of_kind(&other, "TeleportDatabaseV3") {
        for role in &roles {
            let selector = role["spec"]["allow"]["db_labels"].as_object().unwrap();
            assert!(
                selector
                    .iter()
                    .any(|(key, value)| &db["metadata"]["labels"][key] != value),
                "{} selects {}",
                role["metadata"]["name"],
                db["metadata"]["name"]
            );
        }
    }
    let names: Vec<&str> = roles
        .iter()
        .map(|r| r["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["billing-prod-read", "billing-prod-write"]);
    for role in &roles {
        assert_eq!(role["kind"], "role");
        assert_eq!(role["version"], "v8");
        assert_eq!(
            role["spec"]["allow"]["db_names"],
            serde_json::json!(["billing"])
        );
        // Teleport certificates must never stand in for CNPG's internal users (their `cert` rules
        // come first in pg_hba and the Teleport CA is in the same bundle), nor for a certificate
        // role Teleport is not meant to reach (production.yaml's `reporting`).
        let denied = role["spec"]["deny"]["db_users"].as_array().unwrap();
        for user in [
            "streaming_replica",
            "cnpg_pooler_pgbouncer",
            "postgres",
            "reporting",
        ] {
            assert!(denied.iter().any(|u| u == user), "{user}");
        }
    }
    // Least privilege: the read role reaches only the read user, so writing can be granted on
    // its own; neither denies the other's user, so holding both gives both.
    assert_eq!(
        roles[0]["spec"]["allow"]["db_users"],
        serde_json::json!(["tp_billing_read"])
    );
    assert_eq!(
        roles[1]["spec"]["allow"]["db_users"],
        serde_json::json!(["tp_billing_write"])
    );
    for (role, other_user) in [
        (&roles[0], "tp_billing_write"),
        (&roles[1], "tp_billing_read"),
    ] {
        let denied = role["spec"]["deny"]["db_users"].as_array().unwrap();
        assert!(!denied.iter().any(|u| u == other_user), "{role}");
    }
    // `--access` selects one of them.
    for (access, index) in [("read", 0), ("write", 1)] {
        let one = documents(&[
            "teleport",
            "role",
            "--access",
            access,
            "-f",
            "values/production.yaml",
        ]);
        assert_eq!(one, [roles[index].clone()], "--access {access}");
    }
    // Operator mode renders the same roles as resources when asked.
    let rendered = of_kind(&objects, "TeleportRoleV8");
    assert_eq!(rendered.len(), 2);
    for (resource, document) in rendered.iter().zip(&roles) {
        assert_eq!(resource["metadata"]["name"], document["metadata"]["name"]);
        assert_eq!(resource["metadata"]["namespace"], "teleport");
        assert_eq!(resource["spec"], document["spec"]);
    }
    insta::assert_snapshot!(
        "role_production",
        cnpgtp(&["teleport", "role", "-f", "values/production.yaml"]).unwrap()
    );
    insta::assert_snapshot!(
        "agent_values_production",
        cnpgtp(&["teleport", "agent-values", "-f", "values/production.yaml"]).unwrap()
    );
}

/// An extra certificate role opened to Teleport is reached through the write role only, and one
/// that is not opened is denied by both.
#[test]
fn extra_certificate_roles_go_with_the_write_role_or_are_denied() {
    let roles = documents(&["teleport", "role", "-f", "tests/pg-values/ledger.yaml"]);
    for role in &roles {
        let denied = role["spec"]["deny"]["db_users"].as_array().unwrap();
        assert!(denied.iter().any(|u| u == "auditor"), "{role}");
    }
    let opened = documents(&[
        "teleport",
        "role",
        "-f",
        "tests/pg-values/ledger.yaml",
        "--set",
        "roles[0].teleportAccess=true",
    ]);
    assert_eq!(
        opened[0]["spec"]["allow"]["db_users"],
        serde_json::json!(["teleport_ledger_ro"])
    );
    assert_eq!(
        opened[1]["spec"]["allow"]["db_users"],
        serde_json::json!(["teleport_ledger_rw", "auditor"])
    );
    for role in &opened {
        let denied = role["spec"]["deny"]["db_users"].as_array().unwrap();
        assert!(!denied.iter().any(|u| u == "auditor"), "{role}");
    }
}

#[test]
fn job_mode_always_passes_auth_server_and_has_a_deletion_hook() {
    let objects = objects(&["render", "-f", "values/article.yaml"]);
    let jobs = of_kind(&objects, "Job");
    assert_eq!(jobs.len(), 2);
    let hooks: Vec<&str> = jobs
        .iter()
        .map(|j| {
            j["metadata"]["annotations"]["argocd.argoproj.io/hook"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(hooks, ["PostSync", "PreDelete"]);
    for job in &jobs {
        let spec = &job["spec"]["template"]["spec"];
        let containers = spec["initContainers"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(spec["containers"].as_array().unwrap());
        for container in containers.filter(|c| c["command"][0] == "tctl") {
            assert!(
                container["command"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a == "--auth-server=teleport.example.com:443"),
                "{container}"
            );
        }
    }
    // Machine ID by default: tbot one-shot first.
    let objects = objects_for_job_machine_id();
    let register = of_kind(&objects, "Job")[0];
    assert_eq!(
        register["spec"]["template"]["spec"]["initContainers"][0]["name"],
        "tbot"
    );
    // PostDelete cannot use Machine ID: the ServiceAccount is gone by then.
    let (stderr, _) = cnpgtp(&[
        "render",
        "-f",
        "values/article.yaml",
        "--set",
        "teleport.job.identity=machineId",
        "--set",
        "teleport.job.deletionHook=postDelete",
    ])
    .unwrap_err();
    assert!(stderr.contains("teleport.job.deletionHook"), "{stderr}");
}

fn objects_for_job_machine_id() -> Vec<Json> {
    objects(&[
        "render",
        "-f",
        "values/minimal.yaml",
        "--set",
        "teleport.registration=job",
    ])
}

#[test]
fn agent_mode_verifies_the_server_certificate_with_the_mounted_ca() {
    let objects = objects(&["render", "-f", "values/minimal.yaml"]);
    let config = of_kind(&objects, "ConfigMap")
        .into_iter()
        .find(|c| c["data"]["teleport.yaml"].is_string())
        .unwrap();
    let teleport: Json =
        cnpgtp::yaml::large_documents(config["data"]["teleport.yaml"].as_str().unwrap())
            .unwrap()
            .remove(0);
    assert_eq!(teleport["version"], "v3");
    let databases = teleport["db_service"]["databases"].as_array().unwrap();
    assert_eq!(databases.len(), 1, "one instance: rw only");
    assert_eq!(databases[0]["tls"]["mode"], "verify-full");
    assert_eq!(
        databases[0]["tls"]["ca_cert_file"],
        "/etc/teleport-server-ca/ca.crt"
    );
    assert!(
        !config["data"]["teleport.yaml"]
            .as_str()
            .unwrap()
            .contains("insecure")
    );
    let deployment = of_kind(&objects, "Deployment")
        .into_iter()
        .find(|d| d["metadata"]["name"] == "orders-db-teleport-agent")
        .unwrap();
    let volumes = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    let ca = volumes.iter().find(|v| v["name"] == "server-ca").unwrap();
    // The generated server CA lives in the server certificate's Secret as ca.crt.
    assert_eq!(ca["secret"]["secretName"], "orders-db-server");
}

#[test]
fn every_pod_meets_pod_security_restricted() {
    for args in [
        vec!["render", "-f", "values/minimal.yaml"],
        vec!["render", "-f", "values/article.yaml"],
        vec![
            "render",
            "-f",
            "values/minimal.yaml",
            "--set",
            "teleport.registration=job",
        ],
    ] {
        for object in objects(&args)
            .iter()
            .filter(|o| o["kind"] == "Job" || o["kind"] == "Deployment")
        {
            let name = &object["metadata"]["name"];
            let pod = &object["spec"]["template"]["spec"];
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
                "{name}"
            );
            let containers = pod["initContainers"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(pod["containers"].as_array().unwrap());
            for container in containers {
                let security = &container["securityContext"];
                assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
                assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
                assert_eq!(
                    security["capabilities"]["drop"],
                    serde_json::json!(["ALL"]),
                    "{name}"
                );
                assert!(
                    container["resources"]["requests"]["memory"].is_string(),
                    "{name}"
                );
                assert!(
                    container["resources"]["limits"]["memory"].is_string(),
                    "{name}"
                );
                let image = container["image"].as_str().unwrap();
                let tag = image.rsplit_once(':').map_or("", |(_, t)| t);
                assert!(
                    !tag.is_empty() && tag != "latest" && !tag.contains('/'),
                    "{name}: image {image} is not pinned"
                );
            }
        }
    }
}

/// Runs the shipped CA-embedding script (as the job's init container does) on a real CA.
#[test]
fn embed_ca_script_embeds_a_real_certificate_and_refuses_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let (resources, work) = (dir.path().join("resources"), dir.path().join("work"));
    std::fs::create_dir_all(&resources).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let ca = dir.path().join("ca.crt");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=server-ca",
        ])
        .arg("-keyout")
        .arg(dir.path().join("ca.key"))
        .arg("-out")
        .arg(&ca)
        .output()
        .expect("openssl is installed");
    assert!(status.status.success());
    let objects = objects(&[
        "render",
        "-f",
        "values/minimal.yaml",
        "--set",
        "teleport.registration=job",
    ]);
    let config = of_kind(&objects, "ConfigMap")
        .into_iter()
        .find(|c| c["data"]["embed-ca.sh"].is_string())
        .unwrap();
    let script = dir.path().join("embed-ca.sh");
    std::fs::write(&script, config["data"]["embed-ca.sh"].as_str().unwrap()).unwrap();
    std::fs::write(
        resources.join("rw.json"),
        config["data"]["rw.json"].as_str().unwrap(),
    )
    .unwrap();
    let run = |ca: &std::path::Path| {
        Command::new("sh")
            .arg(&script)
            .env("CA_FILE", ca)
            .env("RESOURCES_DIR", &resources)
            .env("WORK_DIR", &work)
            .output()
            .unwrap()
    };
    let out = run(&ca);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let document: Json =
        serde_json::from_str(&std::fs::read_to_string(work.join("rw.json")).unwrap()).unwrap();
    assert_eq!(
        document["spec"]["tls"]["ca_cert"].as_str().unwrap(),
        std::fs::read_to_string(&ca).unwrap()
    );
    assert_eq!(document["kind"], "db");

    let hostile = dir.path().join("hostile.crt");
    let mut text = std::fs::read_to_string(&ca).unwrap();
    text.push_str("\"}, \"extra\": \"x\n");
    std::fs::write(&hostile, text).unwrap();
    std::fs::remove_file(work.join("rw.json")).unwrap();
    let out = run(&hostile);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing"));
    assert!(!work.join("rw.json").exists());
}

#[test]
fn job_shell_image_must_be_pinned() {
    for image in [
        "docker.io/library/busybox",
        "docker.io/library/busybox:latest",
    ] {
        let set = format!("teleport.job.shellImage={image}");
        let (stderr, code) = cnpgtp(&[
            "render",
            "-f",
            "values/minimal.yaml",
            "--set",
            "teleport.registration=job",
            "--set",
            &set,
        ])
        .unwrap_err();
        assert_eq!(code, 1);
        assert!(
            stderr.contains("teleport.job.shellImage") && stderr.contains("not pinned"),
            "{stderr}"
        );
    }
}

/// Automatic user provisioning: only the rw database has `admin_user`, in every registration
/// mode; the roles enable provisioning, hand out the configured PostgreSQL roles and select only
/// databases with an admin user; the Cluster admits the admin and the provisioned users by
/// certificate only and speaks English.
#[test]
fn auto_users_admin_only_on_the_primary_and_roles_select_only_it() {
    let file = "tests/inputs/ok-teleport-autousers.yaml";
    let objects = objects(&["render", "-f", file]);
    let dbs = of_kind(&objects, "TeleportDatabaseV3");
    assert_eq!(dbs.len(), 2);
    let roles = documents(&["teleport", "role", "-f", file]);
    for db in &dbs {
        let primary = db["metadata"]["labels"]["sql_type"] == "primary";
        assert_eq!(
            db["spec"]["admin_user"].is_object(),
            primary,
            "admin_user on the primary only: {db}"
        );
        for role in &roles {
            let selected = role["spec"]["allow"]["db_labels"]
                .as_object()
                .unwrap()
                .iter()
                .all(|(key, value)| &db["metadata"]["labels"][key] == value);
            assert_eq!(selected, primary, "{} and {}", role["metadata"]["name"], db);
        }
    }
    assert_eq!(dbs[0]["spec"]["admin_user"]["name"], "teleport-admin");
    for role in &roles {
        assert_eq!(
            role["spec"]["options"]["create_db_user_mode"],
            "best_effort_drop"
        );
        assert!(role["spec"]["allow"].get("db_users").is_none(), "{role}");
        assert_eq!(
            role["spec"]["allow"]["db_names"],
            serde_json::json!(["shop"])
        );
    }
    assert_eq!(
        roles[0]["spec"]["allow"]["db_roles"],
        serde_json::json!(["pg_read_all_data", "shop_reporting"])
    );
    assert_eq!(
        roles[1]["spec"]["allow"]["db_roles"],
        serde_json::json!(["pg_read_all_data", "pg_write_all_data"])
    );
    let rendered = of_kind(&objects, "TeleportRoleV8");
    assert_eq!(rendered.len(), 2);
    for (resource, document) in rendered.iter().zip(&roles) {
        assert_eq!(resource["spec"], document["spec"]);
    }
    let cluster = of_kind(&objects, "Cluster")[0];
    assert_eq!(
        cluster["spec"]["postgresql"]["pg_hba"],
        serde_json::json!([
            "hostssl all teleport-admin all cert",
            "hostssl all +teleport-auto-user all cert",
            "host all teleport-admin all reject",
            "host all +teleport-auto-user all reject",
        ])
    );
    assert_eq!(
        cluster["spec"]["postgresql"]["parameters"]["lc_messages"],
        "C"
    );
    let managed: Vec<&str> = cluster["spec"]["managed"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        managed,
        ["shop_reporting"],
        "the admin is not a managed role"
    );
    let init = &cluster["spec"]["bootstrap"]["initdb"];
    let post_init: Vec<&str> = init["postInitSQL"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        post_init.contains(&"CREATE ROLE \"teleport-admin\" WITH LOGIN CREATEROLE NOSUPERUSER")
    );
    for role in ["pg_read_all_data", "pg_write_all_data", "shop_reporting"] {
        let grant = format!(
            "GRANT \"{role}\" TO \"teleport-admin\" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE"
        );
        assert_eq!(
            post_init.iter().filter(|s| **s == grant).count(),
            1,
            "{grant}"
        );
    }
    // The job and agent registrations give the admin to the rw database alone, too.
    for file in [
        "tests/inputs/ok-teleport-autousers-job.yaml",
        "tests/inputs/ok-teleport-autousers-agent.yaml",
    ] {
        let text = cnpgtp(&["render", "-f", file]).unwrap();
        let objects = cnpgtp::yaml::large_documents(&text).unwrap();
        let configs = of_kind(&objects, "ConfigMap");
        let mut databases: Vec<Json> = Vec::new();
        for config in configs {
            for (key, value) in config["data"].as_object().unwrap() {
                let value = value.as_str().unwrap();
                if key == "rw.json" || key == "ro.json" {
                    databases.push(serde_json::from_str(value).unwrap());
                } else if key == "teleport.yaml" {
                    let conf = &cnpgtp::yaml::large_documents(value).unwrap()[0];
                    for db in conf["db_service"]["databases"].as_array().unwrap() {
                        databases.push(
                            serde_json::json!({"metadata": {"name": db["name"]}, "spec": db}),
                        );
                    }
                }
            }
        }
        assert!(!databases.is_empty(), "{file}");
        for db in databases {
            let name = db["metadata"]["name"].as_str().unwrap();
            assert_eq!(
                db["spec"]["admin_user"].is_object(),
                name.ends_with("-rw"),
                "{file}: {db}"
            );
        }
    }
    // On PostgreSQL 15 CREATEROLE grants every role: the bootstrap grants the admin nothing.
    let job = objects_of("tests/inputs/ok-teleport-autousers-job.yaml");
    let init = &of_kind(&job, "Cluster")[0]["spec"]["bootstrap"]["initdb"];
    assert!(
        !init["postInitSQL"].to_string().contains("ADMIN OPTION"),
        "{init}"
    );
}

fn objects_of(file: &str) -> Vec<Json> {
    objects(&["render", "-f", file])
}

/// The extra databases that are to exist reach every Teleport role (`teleport role` in each
/// registration mode, the rendered `TeleportRoleV8`s) and the pg_hba rules of the Teleport users,
/// the bootstrap database first; one being dropped reaches neither. With automatic provisioning
/// the roles list them too, and pg_hba's rules already name `all` databases.
#[test]
fn extra_databases_reach_every_teleport_role_and_the_teleport_users_pg_hba_rules() {
    let file = "tests/inputs/ok-databases.yaml";
    let want = serde_json::json!(["app", "app_events", "reports"]);
    for mode in [
        "teleport.registration=operator",
        "teleport.registration=job",
        "teleport.registration=agent",
    ] {
        let args = [
            "teleport",
            "role",
            "-f",
            file,
            "--set",
            mode,
            "--set",
            "teleport.proxyAddress=teleport.example.com:443",
            "--set",
            "teleport.role.render=false",
        ];
        for role in documents(&args) {
            assert_eq!(role["spec"]["allow"]["db_names"], want, "{mode}: {role}");
        }
    }
    let rendered_objects = objects_of(file);
    let rendered = of_kind(&rendered_objects, "TeleportRoleV8");
    assert_eq!(rendered.len(), 2);
    for role in rendered {
        assert_eq!(role["spec"]["allow"]["db_names"], want, "{role}");
    }
    let hba: Vec<&str> = of_kind(&rendered_objects, "Cluster")[0]["spec"]["postgresql"]["pg_hba"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    for user in ["teleport_user_read", "teleport_user_write", "analyst"] {
        let rule = format!("hostssl app,app_events,reports {user} all cert");
        assert!(hba.contains(&rule.as_str()), "{rule} in {hba:?}");
    }
    // A certificate role Teleport does not reach keeps the application database only.
    assert!(hba.contains(&"hostssl app auditor all cert"), "{hba:?}");
    assert!(!hba.iter().any(|l| l.contains("legacy")), "{hba:?}");

    let auto = objects(&[
        "render",
        "-f",
        "tests/inputs/ok-teleport-autousers.yaml",
        "--set-string",
        "databases[0].name=shop_archive",
        "--set-string",
        "databases[0].owner=shop_app",
    ]);
    let roles = of_kind(&auto, "TeleportRoleV8");
    assert_eq!(roles.len(), 2);
    for role in roles {
        assert_eq!(
            role["spec"]["allow"]["db_names"],
            serde_json::json!(["shop", "shop_archive"])
        );
    }
    let cluster = of_kind(&auto, "Cluster")[0];
    let hba = cluster["spec"]["postgresql"]["pg_hba"].to_string();
    assert!(hba.contains("hostssl all teleport-admin all cert"), "{hba}");
    // Only the bootstrap database exists when the bootstrap SQL runs.
    let app_sql = cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"].to_string();
    assert!(app_sql.contains("ON DATABASE shop TO"), "{app_sql}");
    assert!(!app_sql.contains("shop_archive"), "{app_sql}");
}
