//! Teleport joining: the join token printed by `cnpgtp teleport token` and rendered as a
//! `TeleportProvisionToken` allows exactly the ServiceAccount the rendered Job or agent runs
//! as; the agent rolls on a changed configuration, is probed on its diagnostics endpoint and
//! keeps its identity in the Secret its Role names.

mod common;

use common::cnpgtp;
use serde_json::Value as Json;

const AGENT: &[&str] = &[
    "--set",
    "teleport.registration=agent",
    "--set",
    "teleport.proxyAddress=teleport.example.com:443",
];
const JOB: &[&str] = &[
    "--set",
    "teleport.registration=job",
    "--set",
    "teleport.proxyAddress=teleport.example.com:443",
];

fn documents(args: &[&str]) -> Vec<Json> {
    cnpgtp::yaml::large_documents(&cnpgtp(args).unwrap_or_else(|e| panic!("{args:?}: {}", e.0)))
        .unwrap()
}

fn with(base: &[&str], head: &[&str], more: &[&str]) -> Vec<String> {
    head.iter()
        .chain(base)
        .chain(more)
        .map(ToString::to_string)
        .collect()
}

fn run(args: &[String]) -> Vec<Json> {
    documents(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn find<'a>(objects: &'a [Json], kind: &str, name: &str) -> &'a Json {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn the_printed_and_the_rendered_token_allow_exactly_the_rendered_service_account() {
    for (mode, role, account) in [
        (AGENT, "Db", "appdb-teleport-agent"),
        (JOB, "Bot", "appdb-teleport-register"),
    ] {
        let printed = run(&with(mode, &["teleport", "token"], &[]));
        assert_eq!(printed.len(), 1);
        let token = &printed[0];
        assert_eq!(token["kind"], "token");
        assert_eq!(token["version"], "v2");
        assert_eq!(token["spec"]["roles"], serde_json::json!([role]));
        assert_eq!(token["spec"]["join_method"], "kubernetes");
        assert_eq!(token["spec"]["kubernetes"]["type"], "in_cluster");
        let allow = format!("databases:{account}");
        assert_eq!(
            token["spec"]["kubernetes"]["allow"],
            serde_json::json!([{ "service_account": allow }])
        );
        assert_eq!(token["spec"]["bot_name"].is_string(), role == "Bot");

        let objects = run(&with(
            mode,
            &["render"],
            &["--set", "teleport.join.renderToken=true"],
        ));
        let name = token["metadata"]["name"].as_str().unwrap();
        let rendered = find(&objects, "TeleportProvisionToken", name);
        // The operator watches only its own namespace.
        assert_eq!(rendered["metadata"]["namespace"], "teleport");
        assert_eq!(
            rendered["spec"], token["spec"],
            "one spec for tctl and the operator"
        );
        find(&objects, "ServiceAccount", account);
        let pods_run_as: Vec<&Json> = objects
            .iter()
            .filter_map(|o| o.pointer("/spec/template/spec/serviceAccountName"))
            .collect();
        assert!(pods_run_as.iter().any(|a| *a == account), "{pods_run_as:?}");
        // Without renderToken there is none.
        let plain = run(&with(mode, &["render"], &[]));
        assert!(!plain.iter().any(|o| o["kind"] == "TeleportProvisionToken"));
    }
}

#[test]
fn each_join_type_writes_its_own_key() {
    let jwks = r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#;
    let jwks_set = format!("teleport.join.staticJwks={jwks}");
    let token = run(&with(
        AGENT,
        &["teleport", "token"],
        &[
            "--set",
            "teleport.join.type=staticJwks",
            "--set-string",
            &jwks_set,
            "--set",
            "teleport.join.clusterName=example.teleport.sh",
        ],
    ))
    .remove(0);
    let kubernetes = &token["spec"]["kubernetes"];
    assert_eq!(kubernetes["type"], "static_jwks");
    assert_eq!(
        kubernetes["static_jwks"]["jwks"], jwks,
        "the JWKS text as given"
    );
    assert!(kubernetes.get("oidc").is_none());

    let issuer = "https://oidc.example.com/id/1";
    let issuer_set = format!("teleport.join.oidcIssuer={issuer}");
    let token = run(&with(
        JOB,
        &["teleport", "token"],
        &[
            "--set",
            "teleport.join.type=oidc",
            "--set",
            &issuer_set,
            "--set",
            "teleport.join.clusterName=example.teleport.sh",
        ],
    ))
    .remove(0);
    let kubernetes = &token["spec"]["kubernetes"];
    assert_eq!(kubernetes["type"], "oidc");
    assert_eq!(kubernetes["oidc"]["issuer"], issuer);
    assert!(kubernetes.get("static_jwks").is_none());
}

#[test]
fn no_token_where_nothing_joins_and_help_shows_an_example() {
    let (stderr, code) = cnpgtp(&["teleport", "token"]).unwrap_err();
    assert_eq!(code, cnpgtp::cli::exit::INVALID);
    assert!(
        stderr.contains("teleport.registration: operator"),
        "{stderr}"
    );
    let existing: Vec<String> = with(
        JOB,
        &["teleport", "token"],
        &[
            "--set",
            "teleport.job.identity=existingSecret",
            "--set",
            "teleport.job.identitySecret=tbot",
        ],
    );
    let existing: Vec<&str> = existing.iter().map(String::as_str).collect();
    let (stderr, _) = cnpgtp(&existing).unwrap_err();
    assert!(stderr.contains("existingSecret"), "{stderr}");
    let (help, _) = cnpgtp(&["teleport", "token", "--help"]).unwrap_err();
    assert!(help.contains("tctl create -f"), "{help}");
}

fn agent_deployment(objects: &[Json]) -> &Json {
    find(objects, "Deployment", "appdb-teleport-agent")
}

#[test]
fn the_agent_rolls_on_a_new_config_is_probed_and_keeps_its_identity() {
    let objects = run(&with(AGENT, &["render"], &[]));
    let deployment = agent_deployment(&objects);
    let checksum =
        &deployment["spec"]["template"]["metadata"]["annotations"]["cnpgtp.io/config-sha256"];
    assert_eq!(checksum.as_str().unwrap().len(), 64);
    let changed = run(&with(
        AGENT,
        &["render"],
        &["--set", "teleport.agent.joinToken=other-token"],
    ));
    assert_ne!(
        &agent_deployment(&changed)["spec"]["template"]["metadata"]["annotations"]["cnpgtp.io/config-sha256"],
        checksum,
        "a changed teleport.yaml changes the pod template"
    );

    let config = find(&objects, "ConfigMap", "appdb-teleport-agent");
    let teleport_yaml =
        cnpgtp::yaml::large_documents(config["data"]["teleport.yaml"].as_str().unwrap())
            .unwrap()
            .remove(0);
    assert_eq!(teleport_yaml["teleport"]["diag_addr"], "0.0.0.0:3000");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["ports"][0]["containerPort"], 3000);
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");

    // One replica: the identity in `<agent>-state`, which is all its Role reaches.
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    let env = container["env"].as_array().unwrap();
    assert!(env.iter().any(|e| e["name"] == "KUBE_NAMESPACE"));
    assert!(
        env.iter()
            .any(|e| e["name"] == "TELEPORT_REPLICA_NAME" && e["value"] == "appdb-teleport-agent")
    );
    let role = find(&objects, "Role", "appdb-teleport-agent");
    assert_eq!(
        role["rules"],
        serde_json::json!([{"apiGroups": [""], "resources": ["secrets"],
            "resourceNames": ["appdb-teleport-agent-state"], "verbs": ["get", "patch", "create"]}])
    );
    let binding = find(&objects, "RoleBinding", "appdb-teleport-agent");
    assert_eq!(binding["subjects"][0]["name"], "appdb-teleport-agent");

    // Several replicas: no shared identity, no Role.
    let many = run(&with(
        AGENT,
        &["render"],
        &["--set", "teleport.agent.replicas=2"],
    ));
    let deployment = agent_deployment(&many);
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["env"],
        serde_json::json!([])
    );
    assert!(
        !many
            .iter()
            .any(|o| o["kind"] == "Role" && o["metadata"]["name"] == "appdb-teleport-agent")
    );
}

/// The projected token's audience: the Teleport cluster name, named by `KUBERNETES_TOKEN_PATH`,
/// in the joining containers only (the agent, and tbot in both Jobs).
fn projected_audience(pod: &Json, container: &Json) -> Option<String> {
    let volume = pod["volumes"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == "join-token")?;
    let mount = container["volumeMounts"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == "join-token")?;
    let path = container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == "KUBERNETES_TOKEN_PATH")?["value"]
        .as_str()?
        .to_string();
    let source = &volume["projected"]["sources"][0]["serviceAccountToken"];
    let expected = format!(
        "{}/{}",
        mount["mountPath"].as_str()?,
        source["path"].as_str()?
    );
    (path == expected).then(|| source["audience"].as_str().unwrap().to_string())
}

#[test]
fn static_jwks_and_oidc_pods_present_a_token_for_the_teleport_cluster() {
    let oidc = [
        "--set",
        "teleport.join.type=oidc",
        "--set",
        "teleport.join.oidcIssuer=https://oidc.example.com",
        "--set",
        "teleport.join.clusterName=example.teleport.sh",
    ];
    let agent = run(&with(AGENT, &["render"], &oidc));
    let pod = &agent_deployment(&agent)["spec"]["template"]["spec"];
    assert_eq!(
        projected_audience(pod, &pod["containers"][0]).as_deref(),
        Some("example.teleport.sh")
    );
    let job = run(&with(JOB, &["render"], &oidc));
    for name in ["appdb-teleport-register", "appdb-teleport-deregister"] {
        let pod = &find(&job, "Job", name)["spec"]["template"]["spec"];
        let all: Vec<&Json> = pod["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(pod["containers"].as_array().unwrap())
            .collect();
        for container in all {
            let audience = projected_audience(pod, container);
            if container["name"] == "tbot" {
                assert_eq!(audience.as_deref(), Some("example.teleport.sh"), "{name}");
            } else {
                assert_eq!(audience, None, "{name}: only tbot joins");
            }
        }
    }
    // inCluster: the pod's own token, no projection.
    let plain = run(&with(AGENT, &["render"], &[]));
    let pod = &agent_deployment(&plain)["spec"]["template"]["spec"];
    assert_eq!(projected_audience(pod, &pod["containers"][0]), None);
}
