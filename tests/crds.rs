//! Every object of every shipped values file validates against the real CRDs in
//! `../shared/crds/` (unknown fields rejected), and core kinds against the Kubernetes OpenAPI
//! schema via `kubernetes-validate --strict` (installed by `.ci/run`).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use cnpgtp::lint::crd_schema::CrdSchemas;
use serde_json::Value as Json;

/// Kinds built into Kubernetes (validated by kubernetes-validate, not by CRDs).
fn is_core(object: &Json) -> bool {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    match api_version.split_once('/') {
        None => true,
        Some((group, _)) => !group.contains('.') || group.ends_with(".k8s.io"),
    }
}

fn rendered_objects(args: &[&str]) -> Vec<Json> {
    let out = common::cnpgtp(args).unwrap_or_else(|e| panic!("{args:?}: {}", e.0));
    cnpgtp::yaml::large_documents(&out).unwrap()
}

fn all_renders() -> Vec<(String, Vec<Json>)> {
    let mut renders = vec![("<defaults>".to_string(), rendered_objects(&["render"]))];
    let inputs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inputs");
    let mut ok_inputs: Vec<_> = std::fs::read_dir(inputs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("ok-"))
        })
        .collect();
    ok_inputs.sort();
    for file in common::shipped_values().into_iter().chain(ok_inputs) {
        let file = common::relative(&file);
        renders.push((file.clone(), rendered_objects(&["render", "-f", &file])));
    }
    renders
}

fn schemas() -> Option<CrdSchemas> {
    let shared = common::require_shared("crd validation")?;
    Some(CrdSchemas::load_dir(&shared.join("crds")).expect("the CRDs in ../shared/crds load"))
}

/// The provisiontokens CRD in ../shared predates `spec.kubernetes.oidc` (see its SOURCE.md):
/// Teleport added the oidc join type in 18.1.5, and the operators of those releases ship a CRD
/// that has it. Only that one unknown field of a token is let through, and only while the copy
/// lacks it; every other field of the token is still checked.
fn known_gap(object: &Json, error: &str) -> bool {
    object["kind"] == "TeleportProvisionToken"
        && error.contains("/spec/kubernetes: unknown field(s) oidc")
        && !shared_token_crd().contains("oidc:")
}

fn shared_token_crd() -> String {
    let shared = common::require_shared("crd validation").expect("checked by the caller");
    std::fs::read_to_string(
        shared.join("crds/teleport/resources.teleport.dev_provisiontokens.yaml"),
    )
    .expect("the provisiontokens CRD is in ../shared/crds/teleport")
}

#[test]
fn every_custom_resource_matches_its_crd() {
    let Some(schemas) = schemas() else { return };
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut tokens = 0;
    for (file, objects) in all_renders() {
        for object in objects {
            let api_version = object["apiVersion"].as_str().unwrap_or_default();
            if is_core(&object) {
                continue; // see `core_kinds_match_kubernetes_openapi`
            }
            match schemas.validate(&object) {
                None => failures.push(format!(
                    "{file}: no CRD for {api_version} {}",
                    object["kind"]
                )),
                Some(errors) => {
                    checked += 1;
                    if object["kind"] == "TeleportProvisionToken" {
                        tokens += 1;
                    }
                    failures.extend(errors.into_iter().filter(|e| !known_gap(&object, e)).map(
                        |e| {
                            format!(
                                "{file}: {} {}: {e}",
                                object["kind"], object["metadata"]["name"]
                            )
                        },
                    ));
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} custom resources were checked");
    assert!(
        tokens >= 2,
        "only {tokens} TeleportProvisionTokens were checked"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn crd_validation_rejects_unknown_and_mistyped_fields() {
    // The check above must be able to fail: a misspelt field and a wrong type are caught.
    let Some(schemas) = schemas() else { return };
    let mut objects = rendered_objects(&["render"]);
    let cluster = objects.iter_mut().find(|o| o["kind"] == "Cluster").unwrap();
    cluster["spec"]["bootstrap"]["initdb"]["localeCtype"] = Json::String("C".into());
    cluster["spec"]["instances"] = Json::String("two".into());
    let errors = schemas.validate(cluster).unwrap();
    assert!(
        errors.iter().any(|e| e.contains("localeCtype")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("/spec/instances")),
        "{errors:?}"
    );
    let certificate = objects
        .iter_mut()
        .find(|o| o["kind"] == "Certificate")
        .unwrap();
    certificate["spec"]["usages"] = serde_json::json!(["clientAuth"]);
    assert!(!schemas.validate(certificate).unwrap().is_empty());
    // The join token too: a misspelt allow rule and a wrong type are caught.
    let mut tokens = rendered_objects(&[
        "render",
        "-f",
        "tests/inputs/ok-teleport-join-static-jwks.yaml",
    ]);
    let token = tokens
        .iter_mut()
        .find(|o| o["kind"] == "TeleportProvisionToken")
        .unwrap();
    assert!(schemas.validate(token).unwrap().is_empty());
    token["spec"]["kubernetes"]["allow"][0]["serviceAccount"] = Json::String("x:y".into());
    token["spec"]["roles"] = Json::String("Db".into());
    let errors = schemas.validate(token).unwrap();
    assert!(
        errors.iter().any(|e| e.contains("serviceAccount")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("/spec/roles")),
        "{errors:?}"
    );
}

fn kubernetes_validate() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("kubernetes-validate"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "kubernetes-validate is missing: .ci/run installs it"
        );
        eprintln!(
            "\n!!! SKIPPED core-kind validation: kubernetes-validate not on PATH (pip install kubernetes-validate) !!!\n"
        );
    }
    found
}

fn run_kubernetes_validate(binary: &std::path::Path, stream: &str) -> (bool, String) {
    let mut child = Command::new(binary)
        .args(["--strict", "--quiet", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    common::outcome(&child.wait_with_output().unwrap())
}

#[test]
fn core_kinds_match_kubernetes_openapi() {
    let Some(binary) = kubernetes_validate() else {
        return;
    };
    for (file, objects) in all_renders() {
        let core: Vec<&Json> = objects.iter().filter(|o| is_core(o)).collect();
        let mut stream = String::new();
        for object in core {
            stream.push_str("---\n");
            stream.push_str(&serde_json::to_string(object).unwrap());
            stream.push('\n');
        }
        let (ok, output) = run_kubernetes_validate(&binary, &stream);
        assert!(ok, "{file}: kubernetes-validate --strict failed:\n{output}");
    }
    // And it can fail: an unknown top-level field on a core kind is rejected.
    let (ok, _) = run_kubernetes_validate(
        &binary,
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x}\nbogus: 1\n",
    );
    assert!(!ok, "kubernetes-validate accepted an unknown field");
}
