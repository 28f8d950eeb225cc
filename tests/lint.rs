//! `cnpgtp::lint`: every values combination lints clean (Pod Security "restricted", resources,
//! pinned images, namespaced least-privilege RBAC, resolved references, CRD schemas), and each
//! check fires on a manifest broken on purpose, so a check that stops working fails here.

mod common;

use std::sync::OnceLock;

use cnpgtp::lint::crd_schema::CrdSchemas;
use cnpgtp::lint::{self, Finding, Input, Rule, Severity};
use cnpgtp::manifest::{Kind, Manifest, Object};
use cnpgtp::render::Renderer;
use cnpgtp::values::{self, Override};
use serde_json::{Value as Json, json};

/// The CRDs of `../shared/crds`, loaded once (None: skipped loudly, or failed in CI).
fn crds() -> Option<&'static CrdSchemas> {
    static CRDS: OnceLock<Option<CrdSchemas>> = OnceLock::new();
    CRDS.get_or_init(|| {
        let shared = common::require_shared("lint against CRD schemas")?;
        Some(CrdSchemas::load_dir(&shared.join("crds")).expect("the CRDs in ../shared/crds load"))
    })
    .as_ref()
}

fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(Renderer::new)
}

/// Renders the defaults plus `sets` (each `path=value`, typed like `--set`).
fn render(sets: &[&str]) -> Vec<Manifest> {
    let overrides: Vec<Override> = sets
        .iter()
        .map(|s| Override::Set {
            argument: (*s).to_string(),
            typed: true,
        })
        .collect();
    let loaded = values::load(&[], &overrides).unwrap_or_else(|p| panic!("{sets:?}: {p}"));
    renderer().render(&loaded.values).unwrap()
}

fn render_file(file: &str) -> Vec<Manifest> {
    let source = values::Source::read(std::path::Path::new(file)).unwrap_or_else(|p| panic!("{p}"));
    let loaded = values::load(&[source], &[]).unwrap_or_else(|p| panic!("{file}: {p}"));
    renderer().render(&loaded.values).unwrap()
}

/// Errors other than the missing-backup rule: most renders here have no bucket on purpose, and
/// `a_cluster_without_backups_is_reported` tests that rule.
fn errors(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error && f.rule != Rule::Backup)
        .map(ToString::to_string)
        .collect()
}

/// Replaces the object `kind`/`name` with `edit` applied to its JSON form, re-typed through
/// `Object::parse`, with the checks the renderer types its templates' output with.
fn edit(
    manifests: &[Manifest],
    kind: Kind,
    name: &str,
    edit: impl FnOnce(&mut Json),
) -> Vec<Manifest> {
    let position = manifests
        .iter()
        .position(|m| m.kind == kind && m.object.name() == name)
        .unwrap_or_else(|| panic!("no {} {name} in the render", kind.as_str()));
    let mut value = serde_json::to_value(&manifests[position].object).unwrap();
    edit(&mut value);
    let object = Object::parse(kind, &serde_json::to_string(&value).unwrap())
        .unwrap_or_else(|e| panic!("the edited {name} does not type-check: {e}"));
    let mut edited = manifests.to_vec();
    edited[position] = Manifest { kind, object };
    edited
}

fn without(manifests: &[Manifest], kind: Kind, name: &str) -> Vec<Manifest> {
    let kept: Vec<Manifest> = manifests
        .iter()
        .filter(|m| !(m.kind == kind && m.object.name() == name))
        .cloned()
        .collect();
    assert_eq!(
        kept.len() + 1,
        manifests.len(),
        "no {} {name}",
        kind.as_str()
    );
    kept
}

/// Findings of `rule` about `kind`/`name`.
fn findings_of(findings: &[Finding], rule: Rule, kind: &str, name: &str) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.rule == rule && f.kind == kind && f.name == name)
        .map(|f| f.message.clone())
        .collect()
}

/// Asserts that linting `manifests` yields an error of `rule` on `kind`/`name` whose message
/// contains `needle`.
#[track_caller]
fn assert_error(manifests: &[Manifest], rule: Rule, kind: &str, name: &str, needle: &str) {
    let findings = lint::lint(manifests, None);
    let hit = findings.iter().any(|f| {
        f.severity == Severity::Error
            && f.rule == rule
            && f.kind == kind
            && f.name == name
            && f.message.contains(needle)
    });
    assert!(
        hit,
        "expected error[{}] on {kind} {name} containing {needle:?}; got:\n{}",
        rule.as_str(),
        findings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Values combinations that between them render every kind of object cnpgtp has: each
/// registration mode, both bundle mechanisms, every server issuer, the pooler variants.
fn combinations() -> Vec<Vec<&'static str>> {
    const PROXY: &str = "teleport.proxyAddress=teleport.example.com:443";
    let mut list: Vec<Vec<&'static str>> = Vec::new();
    for registration in [
        "teleport.registration=operator",
        "teleport.registration=job",
        "teleport.registration=agent",
        "teleport.registration=none",
    ] {
        for mechanism in [
            "clientCaBundle.mechanism=externalSecrets",
            "clientCaBundle.mechanism=syncWorkload",
        ] {
            for ca in ["tls.server.ca.pem=<path:kv#ca>", "tls.server.ca.pem=null"] {
                if registration.ends_with("operator") && ca.ends_with("null") {
                    continue; // refused by the values checks: the operator needs the CA inline
                }
                for pooler in [
                    "pooler.enabled=false",
                    "pooler.readOnly=false",
                    "pooler.readOnly=true",
                ] {
                    list.push(vec![registration, mechanism, ca, pooler, PROXY]);
                }
            }
        }
    }
    let job = ["teleport.registration=job", PROXY];
    list.push(
        [
            &job[..],
            &[
                "teleport.job.identity=existingSecret",
                "teleport.job.identitySecret=tbot-identity",
                "teleport.job.deletionHook=postDelete",
            ],
        ]
        .concat(),
    );
    list.push(vec![
        "tls.server.issuer=selfSigned",
        "tls.server.ca.pem=null",
        "teleport.registration=agent",
        PROXY,
    ]);
    let vault = [
        "tls.server.issuer=vault",
        "tls.server.vault.server=https://vault.example.com:8200",
        "tls.server.vault.path=pki/sign/postgres",
    ];
    list.push(
        [
            &vault[..],
            &[
                "tls.server.vault.appRole.roleId=role",
                "tls.server.vault.appRole.secretId.value=<path:kv#secret-id>",
            ],
        ]
        .concat(),
    );
    list.push(
        [
            &vault[..],
            &[
                "tls.server.vault.appRole.roleId=role",
                "tls.server.vault.appRole.secretId.existingSecret=approle",
            ],
        ]
        .concat(),
    );
    list.push(
        [
            &vault[..],
            &[
                "tls.server.vault.auth=kubernetes",
                "tls.server.vault.kubernetes.role=postgres",
            ],
        ]
        .concat(),
    );
    list.push(vec![
        "tls.server.existingIssuer.kind=Issuer",
        "database.ownerPassword.existingSecret=owner",
        "roles[0].name=reporting",
        "roles[0].login=true",
        "roles[0].passwordSecret=reporting-password",
        "teleport.databaseClientCa.existingSecret=null",
        "teleport.databaseClientCa.pem=<path:kv#teleport-ca>",
        "teleport.role.render=true",
    ]);
    list.push(vec![
        "teleport.role.render=true",
        "teleport.role.version=v8",
    ]);
    // The rendered join tokens (type oidc is left out: the provisiontokens CRD in ../shared
    // predates it; staticJwks is a values file below), and the agent with more replicas than
    // its state Secret serves.
    list.push(vec![
        "teleport.registration=job",
        PROXY,
        "teleport.join.renderToken=true",
    ]);
    list.push(vec![
        "teleport.registration=agent",
        PROXY,
        "teleport.join.renderToken=true",
        "teleport.agent.replicas=2",
    ]);
    list
}

#[test]
fn every_combination_lints_clean() {
    let crds = crds();
    let mut failures = Vec::new();
    let mut renders = combinations()
        .into_iter()
        .map(|sets| (format!("--set {}", sets.join(" --set ")), render(&sets)))
        .collect::<Vec<_>>();
    renders.push(("<defaults>".into(), render(&[])));
    for file in common::shipped_values() {
        let file = common::relative(&file);
        renders.push((file.clone(), render_file(&file)));
    }
    let jwks = "tests/inputs/ok-teleport-join-static-jwks.yaml";
    renders.push((jwks.into(), render_file(jwks)));
    let mut kinds = std::collections::BTreeSet::new();
    for (label, manifests) in &renders {
        kinds.extend(manifests.iter().map(|m| m.kind));
        let findings = lint::lint(manifests, crds);
        for error in errors(&findings) {
            failures.push(format!("{label}: {error}"));
        }
        // Warnings are allowed only for what these values ask for.
        for finding in findings.iter().filter(|f| f.severity == Severity::Warning) {
            let expected = match finding.rule {
                Rule::PlaintextSecret => label.contains("article") || label.contains("production"),
                // ../shared/crds has no CRD for every Teleport kind.
                Rule::Schema => finding.message.contains("no CRD"),
                Rule::Backup => true,
                // Placeholders only where values write them.
                Rule::Placeholder => {
                    label.contains("<path:")
                        || label.contains("article")
                        || label.contains("production")
                }
                _ => false,
            };
            if !expected {
                failures.push(format!("{label}: unexpected {finding}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for kind in [
        Kind::Job,
        Kind::Deployment,
        Kind::Role,
        Kind::RoleBinding,
        Kind::Pooler,
    ] {
        assert!(
            kinds.contains(&kind),
            "no combination renders a {}",
            kind.as_str()
        );
    }
}

const JOB: &[&str] = &[
    "teleport.registration=job",
    "teleport.proxyAddress=teleport.example.com:443",
    "tls.server.ca.pem=null",
];
const AGENT: &[&str] = &[
    "teleport.registration=agent",
    "teleport.proxyAddress=teleport.example.com:443",
];
const SYNC: &[&str] = &["clientCaBundle.mechanism=syncWorkload"];

#[test]
fn unresolved_references_are_errors() {
    let defaults = render(&[]);
    // A Secret no Certificate produces any more.
    let broken = without(&defaults, Kind::Certificate, "appdb-replication");
    assert_error(
        &broken,
        Rule::Reference,
        "Cluster",
        "appdb",
        "spec.certificates.replicationTLSSecret",
    );
    // A documented input's name in a field that must point into the render is still an error.
    let broken = edit(&defaults, Kind::Cluster, "appdb", |c| {
        c["spec"]["certificates"]["serverTLSSecret"] = json!("teleport-db-client-ca");
    });
    assert_error(
        &broken,
        Rule::Reference,
        "Cluster",
        "appdb",
        "spec.certificates.serverTLSSecret",
    );
    let broken = edit(&defaults, Kind::Pooler, "appdb-pooler-rw", |p| {
        p["spec"]["cluster"]["name"] = json!("other");
    });
    assert_error(
        &broken,
        Rule::Reference,
        "Pooler",
        "appdb-pooler-rw",
        "Cluster `other`",
    );
    let broken = edit(&defaults, Kind::RoleBinding, "appdb-ca-bundle", |b| {
        b["roleRef"]["name"] = json!("missing");
    });
    assert_error(
        &broken,
        Rule::Reference,
        "RoleBinding",
        "appdb-ca-bundle",
        "Role `missing`",
    );
    let broken = without(&defaults, Kind::ServiceAccount, "appdb-ca-bundle");
    assert_error(
        &broken,
        Rule::Reference,
        "Deployment",
        "appdb-ca-bundle",
        "ServiceAccount",
    );
    assert_error(
        &broken,
        Rule::Reference,
        "RoleBinding",
        "appdb-ca-bundle",
        "ServiceAccount",
    );
    let broken = edit(&defaults, Kind::Issuer, "appdb-client-ca", |i| {
        i["spec"]["ca"]["secretName"] = json!("nope");
    });
    assert_error(
        &broken,
        Rule::Reference,
        "Issuer",
        "appdb-client-ca",
        "spec.ca.secretName",
    );
    // Only the server certificate may use an issuer that exists outside the render.
    let broken = edit(&defaults, Kind::Certificate, "appdb-replication", |c| {
        c["spec"]["issuerRef"]["name"] = json!("somewhere");
    });
    assert_error(
        &broken,
        Rule::Reference,
        "Certificate",
        "appdb-replication",
        "Issuer `somewhere`",
    );
    let eso = render(&[
        "clientCaBundle.mechanism=externalSecrets",
        "tls.server.ca.pem=<path:kv#ca>",
    ]);
    let broken = without(&eso, Kind::ServiceAccount, "appdb-ca-bundle");
    assert_error(
        &broken,
        Rule::Reference,
        "SecretStore",
        "appdb-ca-bundle",
        "ServiceAccount",
    );
    let broken = edit(&eso, Kind::ExternalSecret, "appdb-client-ca-bundle", |e| {
        e["spec"]["secretStoreRef"]["name"] = json!("elsewhere");
    });
    assert_error(
        &broken,
        Rule::Reference,
        "ExternalSecret",
        "appdb-client-ca-bundle",
        "SecretStore `elsewhere`",
    );

    let job = render(JOB);
    let broken = without(&job, Kind::ServiceAccount, "appdb-teleport-register");
    assert_error(
        &broken,
        Rule::Reference,
        "Job",
        "appdb-teleport-register",
        "serviceAccountName",
    );
    let broken = without(&job, Kind::ConfigMap, "appdb-teleport-register");
    assert_error(
        &broken,
        Rule::Reference,
        "Job",
        "appdb-teleport-register",
        "configMap.name",
    );

    // Write access needs a Secret the render owns; read access may name an input.
    let sync = render(SYNC);
    let broken = edit(&sync, Kind::Role, "appdb-ca-bundle", |r| {
        for rule in r["rules"].as_array_mut().unwrap() {
            if rule["verbs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == "patch")
                && rule["resources"][0] == "secrets"
            {
                rule["resourceNames"] = json!(["someone-elses-secret"]);
            }
        }
    });
    assert_error(
        &broken,
        Rule::Reference,
        "Role",
        "appdb-ca-bundle",
        "someone-elses-secret",
    );
}

#[test]
fn documented_inputs_are_listed_not_reported() {
    let manifests = render(&[
        "tls.server.issuer=existing",
        "clientCaBundle.mechanism=externalSecrets",
        "tls.server.ca.pem=<path:kv#ca>",
        "database.ownerPassword.existingSecret=owner",
        "roles[0].name=reporting",
        "roles[0].passwordSecret=reporting-password",
    ]);
    assert!(errors(&lint::lint(&manifests, None)).is_empty());
    let inputs: Vec<(Input, String, String, String)> = lint::external_inputs(&manifests)
        .into_iter()
        .map(|i| (i.input, i.kind, i.namespace, i.name))
        .collect();
    for expected in [
        (
            Input::TeleportClientCa,
            "Secret",
            "databases",
            "teleport-db-client-ca",
        ),
        (Input::OwnerSecret, "Secret", "databases", "owner"),
        (
            Input::RolePasswordSecret,
            "Secret",
            "databases",
            "reporting-password",
        ),
        (
            Input::ExistingIssuer,
            "ClusterIssuer",
            "",
            "postgres-server-ca",
        ),
        (Input::BuiltIn, "ConfigMap", "databases", "kube-root-ca.crt"),
        (Input::Namespace, "Namespace", "", "databases"),
        (Input::Namespace, "Namespace", "", "teleport"),
    ] {
        let expected = (
            expected.0,
            expected.1.to_string(),
            expected.2.to_string(),
            expected.3.to_string(),
        );
        assert!(inputs.contains(&expected), "{expected:?} not in {inputs:?}");
    }
    // Rendered and produced objects are not inputs.
    assert!(
        !inputs.iter().any(|i| i.3.starts_with("appdb")),
        "{inputs:?}"
    );
    let job = render(&[
        "teleport.registration=job",
        "teleport.proxyAddress=teleport.example.com:443",
        "teleport.job.identity=existingSecret",
        "teleport.job.identitySecret=tbot-identity",
    ]);
    assert!(
        lint::external_inputs(&job)
            .iter()
            .any(|i| i.input == Input::TeleportIdentitySecret && i.name == "tbot-identity")
    );
}

#[test]
fn tls_without_verification_is_reported() {
    let defaults = render(&[]);
    let broken = edit(
        &defaults,
        Kind::TeleportDatabaseV3,
        "databases-appdb-rw",
        |d| {
            d["spec"]["tls"]["mode"] = json!("insecure");
        },
    );
    assert_error(
        &broken,
        Rule::Tls,
        "TeleportDatabaseV3",
        "databases-appdb-rw",
        "insecure",
    );

    let agent = render(AGENT);
    let broken = edit(&agent, Kind::ConfigMap, "appdb-teleport-agent", |c| {
        let text = c["data"]["teleport.yaml"].as_str().unwrap().to_string();
        assert!(text.contains("mode: verify-full"));
        c["data"]["teleport.yaml"] = json!(text.replacen("mode: verify-full", "mode: insecure", 1));
    });
    assert_error(
        &broken,
        Rule::Tls,
        "ConfigMap",
        "appdb-teleport-agent",
        "teleport.yaml",
    );

    let job = render(JOB);
    let broken = edit(&job, Kind::ConfigMap, "appdb-teleport-register", |c| {
        let text = c["data"]["rw.json"].as_str().unwrap().to_string();
        assert!(text.contains("\"verify-full\""));
        c["data"]["rw.json"] = json!(text.replace("\"verify-full\"", "\"verify-ca\""));
    });
    assert_error(
        &broken,
        Rule::Tls,
        "ConfigMap",
        "appdb-teleport-register",
        "verify-ca",
    );

    // PgBouncer to PostgreSQL: anything below verify-ca is reported, straight from values.
    for mode in ["disable", "allow", "prefer"] {
        let manifests = render(&[&format!("pooler.parameters.server_tls_sslmode={mode}")]);
        assert_error(&manifests, Rule::Tls, "Pooler", "appdb-pooler-rw", mode);
    }
    let require = lint::lint(
        &render(&["pooler.parameters.server_tls_sslmode=require"]),
        None,
    );
    assert_eq!(
        findings_of(&require, Rule::Tls, "Pooler", "appdb-pooler-rw").len(),
        1,
        "require encrypts but does not verify: a warning"
    );
    assert!(errors(&require).is_empty());
    let full = lint::lint(
        &render(&["pooler.parameters.server_tls_sslmode=verify-full"]),
        None,
    );
    assert!(findings_of(&full, Rule::Tls, "Pooler", "appdb-pooler-rw").is_empty());
    let client = lint::lint(
        &render(&["pooler.parameters.client_tls_sslmode=disable"]),
        None,
    );
    assert_eq!(
        findings_of(&client, Rule::Tls, "Pooler", "appdb-pooler-rw").len(),
        1
    );

    let vault = render(&[
        "tls.server.issuer=vault",
        "tls.server.vault.server=http://vault:8200",
        "tls.server.vault.path=pki/sign/postgres",
        "tls.server.vault.auth=kubernetes",
        "tls.server.vault.kubernetes.role=postgres",
    ]);
    let findings = lint::lint(&vault, None);
    assert_eq!(
        findings_of(&findings, Rule::Tls, "Issuer", "appdb-vault").len(),
        1
    );
}

#[test]
fn plaintext_secrets_in_rendered_secrets_draw_a_warning() {
    let plain = lint::lint(
        &render(&["database.ownerPassword.value=hunter2-plain"]),
        None,
    );
    let warnings = findings_of(&plain, Rule::PlaintextSecret, "Secret", "appdb-owner");
    assert_eq!(warnings.len(), 1, "{plain:?}");
    assert!(warnings[0].contains("stringData.password"), "{warnings:?}");
    assert!(warnings[0].contains("placeholder"), "{warnings:?}");
    for finding in &plain {
        assert!(!finding.to_string().contains("hunter2"), "{finding}");
    }
    let placeholder = lint::lint(
        &render(&["database.ownerPassword.value=<path:kv/data/db#password>"]),
        None,
    );
    assert!(findings_of(&placeholder, Rule::PlaintextSecret, "Secret", "appdb-owner").is_empty());
    let approle = lint::lint(
        &render(&[
            "tls.server.issuer=vault",
            "tls.server.vault.server=https://vault:8200",
            "tls.server.vault.path=pki/sign/postgres",
            "tls.server.vault.appRole.roleId=role",
            "tls.server.vault.appRole.secretId.value=s.plain-secret-id",
        ]),
        None,
    );
    assert_eq!(
        findings_of(
            &approle,
            Rule::PlaintextSecret,
            "Secret",
            "appdb-vault-approle"
        )
        .len(),
        1
    );
    // A CA certificate is public: no warning for it.
    let ca = lint::lint(
        &render(&[
            "teleport.databaseClientCa.existingSecret=null",
            "teleport.databaseClientCa.pem=-----BEGIN CERTIFICATE-----",
        ]),
        None,
    );
    assert!(ca.iter().all(|f| f.rule != Rule::PlaintextSecret), "{ca:?}");
}

#[test]
fn superuser_access_draws_a_warning() {
    let findings = lint::lint(&render(&["postgres.enableSuperuserAccess=true"]), None);
    assert_eq!(
        findings_of(&findings, Rule::SuperuserAccess, "Cluster", "appdb").len(),
        1
    );
    let findings = lint::lint(&render(&[]), None);
    assert!(findings.iter().all(|f| f.rule != Rule::SuperuserAccess));
}

/// A change to one object's JSON.
type Edit = Box<dyn Fn(&mut Json)>;

/// Edits of a pod spec (JSON at `spec.template.spec`) and what each must draw.
fn pod_edits() -> Vec<(&'static str, Rule, Edit)> {
    fn first(pod: &mut Json) -> &mut Json {
        &mut pod["containers"][0]
    }
    vec![
        (
            "allowPrivilegeEscalation",
            Rule::PodSecurity,
            Box::new(|p| {
                first(p)["securityContext"]["allowPrivilegeEscalation"] = json!(true);
            }),
        ),
        (
            "privileged",
            Rule::PodSecurity,
            Box::new(|p| {
                first(p)["securityContext"]["privileged"] = json!(true);
            }),
        ),
        (
            "capabilities.drop",
            Rule::PodSecurity,
            Box::new(|p| {
                first(p)["securityContext"]["capabilities"]["drop"] = json!(["NET_RAW"]);
            }),
        ),
        (
            "capabilities.add",
            Rule::PodSecurity,
            Box::new(|p| {
                first(p)["securityContext"]["capabilities"]["add"] = json!(["SYS_ADMIN"]);
            }),
        ),
        (
            "runAsNonRoot is false",
            Rule::PodSecurity,
            Box::new(|p| {
                first(p)["securityContext"]["runAsNonRoot"] = json!(false);
            }),
        ),
        (
            "runAsNonRoot is set neither",
            Rule::PodSecurity,
            Box::new(|p| {
                p["securityContext"]
                    .as_object_mut()
                    .unwrap()
                    .remove("runAsNonRoot");
                for c in p["containers"].as_array_mut().unwrap() {
                    c["securityContext"]
                        .as_object_mut()
                        .unwrap()
                        .remove("runAsNonRoot");
                }
            }),
        ),
        (
            "runAsUser is 0",
            Rule::PodSecurity,
            Box::new(|p| {
                p["securityContext"]["runAsUser"] = json!(0);
            }),
        ),
        (
            "seccompProfile",
            Rule::PodSecurity,
            Box::new(|p| {
                first(p)["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"});
            }),
        ),
        (
            "seccompProfile",
            Rule::PodSecurity,
            Box::new(|p| {
                p["securityContext"]
                    .as_object_mut()
                    .unwrap()
                    .remove("seccompProfile");
                for c in p["containers"].as_array_mut().unwrap() {
                    c["securityContext"]
                        .as_object_mut()
                        .unwrap()
                        .remove("seccompProfile");
                }
            }),
        ),
        (
            "readOnlyRootFilesystem",
            Rule::PodSecurity,
            Box::new(|p| {
                first(p)["securityContext"]["readOnlyRootFilesystem"] = json!(false);
            }),
        ),
        (
            "hostNetwork",
            Rule::PodSecurity,
            Box::new(|p| {
                p["hostNetwork"] = json!(true);
            }),
        ),
        (
            "hostPath",
            Rule::PodSecurity,
            Box::new(|p| {
                p["volumes"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "host", "hostPath": {"path": "/"}}));
            }),
        ),
        (
            "hostPort",
            Rule::PodSecurity,
            Box::new(|p| {
                first(p)["ports"] = json!([{"containerPort": 80, "hostPort": 80}]);
            }),
        ),
        (
            "memory limit",
            Rule::Resources,
            Box::new(|p| {
                first(p)["resources"]["limits"]
                    .as_object_mut()
                    .unwrap()
                    .remove("memory");
            }),
        ),
        (
            "CPU request",
            Rule::Resources,
            Box::new(|p| {
                first(p)["resources"]["requests"]
                    .as_object_mut()
                    .unwrap()
                    .remove("cpu");
            }),
        ),
        (
            "memory request",
            Rule::Resources,
            Box::new(|p| {
                first(p)["resources"] = json!({});
            }),
        ),
        (
            "latest",
            Rule::Image,
            Box::new(|p| {
                first(p)["image"] = json!("docker.io/library/busybox:latest");
            }),
        ),
        (
            "no tag",
            Rule::Image,
            Box::new(|p| {
                first(p)["image"] = json!("registry.example.com:5000/busybox");
            }),
        ),
    ]
}

#[test]
fn pod_security_resources_and_image_violations_are_errors() {
    let job = render(JOB);
    let agent = render(AGENT);
    let sync = render(SYNC);
    for (manifests, kind, name) in [
        (&job, Kind::Job, "appdb-teleport-register"),
        (&job, Kind::Job, "appdb-teleport-deregister"),
        (&agent, Kind::Deployment, "appdb-teleport-agent"),
        (&sync, Kind::Deployment, "appdb-ca-bundle"),
    ] {
        for (needle, rule, change) in pod_edits() {
            let broken = edit(manifests, kind, name, |o| {
                change(&mut o["spec"]["template"]["spec"]);
            });
            assert_error(&broken, rule, kind.as_str(), name, needle);
        }
    }
    // Init containers are checked too.
    let broken = edit(&job, Kind::Job, "appdb-teleport-register", |o| {
        o["spec"]["template"]["spec"]["initContainers"][0]["securityContext"]["allowPrivilegeEscalation"] =
            json!(true);
    });
    assert_error(
        &broken,
        Rule::PodSecurity,
        "Job",
        "appdb-teleport-register",
        "initContainers[",
    );
    // The Cluster's own image is pinned too.
    let broken = edit(&render(&[]), Kind::Cluster, "appdb", |c| {
        c["spec"]["imageName"] = json!("ghcr.io/cloudnative-pg/postgresql");
    });
    let findings = lint::lint(&broken, None);
    assert_eq!(
        findings_of(&findings, Rule::Image, "Cluster", "appdb").len(),
        1,
        "{findings:?}"
    );
}

#[test]
fn a_join_token_allows_only_a_rendered_service_account_and_the_agent_state_is_produced() {
    let agent = render(&[
        "teleport.registration=agent",
        "teleport.proxyAddress=teleport.example.com:443",
        "teleport.join.renderToken=true",
    ]);
    assert!(errors(&lint::lint(&agent, None)).is_empty());
    let broken = edit(
        &agent,
        Kind::TeleportProvisionToken,
        "cnpgtp-db-agent",
        |t| {
            t["spec"]["kubernetes"]["allow"][0]["service_account"] =
                json!("databases:someone-else");
        },
    );
    assert_error(
        &broken,
        Rule::Reference,
        "TeleportProvisionToken",
        "cnpgtp-db-agent",
        "ServiceAccount `someone-else`",
    );
    // The Role names the Secret the agent writes; without the state storage's environment
    // nothing produces it.
    let broken = edit(&agent, Kind::Deployment, "appdb-teleport-agent", |d| {
        d["spec"]["template"]["spec"]["containers"][0]["env"] = json!([]);
    });
    assert_error(
        &broken,
        Rule::Reference,
        "Role",
        "appdb-teleport-agent",
        "Secret `appdb-teleport-agent-state`",
    );
}

#[test]
fn rbac_violations_are_errors() {
    let sync = render(SYNC);
    let rule_edits: Vec<(&str, Edit)> = vec![
        (
            "verbs holds a wildcard",
            Box::new(|r| r["verbs"] = json!(["*"])),
        ),
        (
            "apiGroups holds a wildcard",
            Box::new(|r| r["apiGroups"] = json!(["*"])),
        ),
        (
            "resources holds a wildcard",
            Box::new(|r| r["resources"] = json!(["*"])),
        ),
        (
            "resourceNames holds a wildcard",
            Box::new(|r| r["resourceNames"] = json!(["*"])),
        ),
        (
            "without resourceNames",
            Box::new(|r| {
                r.as_object_mut().unwrap().remove("resourceNames");
            }),
        ),
        (
            "`create` on secrets",
            Box::new(|r| {
                r["verbs"] = json!(["get", "create"]);
                r.as_object_mut().unwrap().remove("resourceNames");
            }),
        ),
        (
            "`deletecollection` on secrets",
            Box::new(|r| r["verbs"] = json!(["get", "deletecollection"])),
        ),
        (
            "`escalate`",
            Box::new(|r| r["verbs"] = json!(["get", "escalate"])),
        ),
    ];
    for (needle, change) in rule_edits {
        let broken = edit(&sync, Kind::Role, "appdb-ca-bundle", |r| {
            change(&mut r["rules"][0]);
        });
        assert_error(&broken, Rule::Rbac, "Role", "appdb-ca-bundle", needle);
    }
    let broken = edit(&sync, Kind::RoleBinding, "appdb-ca-bundle", |b| {
        b["roleRef"]["kind"] = json!("ClusterRole");
        b["roleRef"]["name"] = json!("admin");
    });
    assert_error(
        &broken,
        Rule::Rbac,
        "RoleBinding",
        "appdb-ca-bundle",
        "ClusterRole",
    );
    // cnpgtp has no ClusterRole kind; linting manifests read back from files still refuses one.
    let cluster_role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    });
    let findings = lint::lint_objects(&[cluster_role], None);
    assert_eq!(
        findings_of(&findings, Rule::Rbac, "ClusterRole", "reader").len(),
        1
    );
}

#[test]
fn schema_violations_are_errors() {
    let Some(crds) = crds() else { return };
    let defaults = render(&[]);
    assert!(errors(&lint::lint(&defaults, Some(crds))).is_empty());
    let broken = edit(&defaults, Kind::Certificate, "appdb-replication", |c| {
        c["spec"]["usages"] = json!(["clientAuth"]);
    });
    let findings = lint::lint(&broken, Some(crds));
    let schema = findings_of(&findings, Rule::Schema, "Certificate", "appdb-replication");
    assert!(!schema.is_empty(), "{findings:?}");
    assert!(
        schema.iter().all(|m| m.starts_with("/spec/usages")),
        "{schema:?}"
    );
    assert!(lint::has_errors(&findings));
    // Without a CRD for a kind, the object is reported as not validated.
    let empty = tempfile::tempdir().unwrap();
    let none = CrdSchemas::load_dir(empty.path()).unwrap();
    let findings = lint::lint(&defaults, Some(&none));
    let cluster = findings_of(&findings, Rule::Schema, "Cluster", "appdb");
    assert_eq!(cluster.len(), 1, "{findings:?}");
    assert!(cluster[0].contains("no CRD"));
    assert!(errors(&findings).is_empty(), "a missing CRD is a warning");
    assert!(findings_of(&findings, Rule::Schema, "Secret", "appdb-server-ca-pem").is_empty());
}

#[test]
fn findings_read_well() {
    let finding = Finding {
        severity: Severity::Error,
        rule: Rule::Rbac,
        kind: "Role".into(),
        namespace: "databases".into(),
        name: "x\u{1b}[31m".into(),
        message: "rules[0].verbs holds a wildcard".into(),
    };
    assert_eq!(
        finding.to_string(),
        "error[rbac]: Role databases/x\\u{1b}[31m: rules[0].verbs holds a wildcard"
    );
}

#[test]
fn a_cluster_without_backups_is_reported() {
    let backup_findings = |sets: &[&str]| -> Vec<(Severity, String)> {
        lint::lint(&render(sets), None)
            .into_iter()
            .filter(|f| f.rule == Rule::Backup)
            .map(|f| (f.severity, f.to_string()))
            .collect()
    };
    let production = backup_findings(&[]);
    assert_eq!(production.len(), 1, "{production:?}");
    assert_eq!(production[0].0, Severity::Error);
    assert!(
        production[0]
            .1
            .contains("Cluster databases/appdb: no WAL archive"),
        "{production:?}"
    );
    let staging = backup_findings(&["stage=staging"]);
    assert_eq!(staging.len(), 1);
    assert_eq!(staging[0].0, Severity::Warning);
    assert!(backup_findings(&["backup.disabledReason=scratch data"]).is_empty());
    assert!(
        backup_findings(&[
            "backup.enabled=true",
            "backup.objectStore.destinationPath=s3://bucket/appdb/",
        ])
        .is_empty()
    );
    assert!(backup_findings(&["backup.volumeSnapshot.className=csi-snapclass"]).is_empty());
}

#[test]
fn a_pod_the_api_server_refuses_is_an_error() {
    const PROXY: &str = "teleport.proxyAddress=teleport.example.com:443";
    // The deregistration Job of a generated server CA has no `server-ca` volume: its containers
    // must not mount one (they did, and the API server refused the Job).
    let job = render(&["teleport.registration=job", "tls.server.ca.pem=null", PROXY]);
    let wiring: Vec<_> = lint::lint(&job, None)
        .into_iter()
        .filter(|f| f.rule == Rule::PodWiring)
        .collect();
    assert!(wiring.is_empty(), "{wiring:?}");
    let broken = edit(&job, Kind::Job, "appdb-teleport-deregister", |job| {
        let pod = &mut job["spec"]["template"]["spec"];
        pod["initContainers"][0]["volumeMounts"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"name": "server-ca", "mountPath": "/server-ca"}));
        let volumes = pod["volumes"].as_array_mut().unwrap();
        let first = volumes[0].clone();
        volumes.push(first);
    });
    assert_error(
        &broken,
        Rule::PodWiring,
        "Job",
        "appdb-teleport-deregister",
        "mounts volume `server-ca`, which is not among the pod's volumes",
    );
    assert_error(
        &broken,
        Rule::PodWiring,
        "Job",
        "appdb-teleport-deregister",
        "is listed twice",
    );
}

#[test]
fn a_pooler_that_lets_clients_in_unauthenticated_is_an_error() {
    let rendered = render(&[]);
    let trusting = edit(&rendered, Kind::Pooler, "appdb-pooler-rw", |pooler| {
        pooler["spec"]["pgbouncer"]["parameters"]["auth_type"] = serde_json::json!("trust");
    });
    assert_error(
        &trusting,
        Rule::Authentication,
        "Pooler",
        "appdb-pooler-rw",
        "auth_type is `trust`",
    );
}

/// The rendered objects in JSON form with `edit` applied to `kind`/`name`: objects as `cnpgtp
/// lint` reads them back from files, where fields cnpgtp never renders can appear.
fn edit_json(
    manifests: &[Manifest],
    kind: &str,
    name: &str,
    edit: impl Fn(&mut Json),
) -> Vec<Json> {
    let mut objects: Vec<Json> = manifests
        .iter()
        .map(|m| serde_json::to_value(&m.object).expect("a manifest serializes"))
        .collect();
    let target = objects
        .iter_mut()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the render"));
    edit(target);
    objects
}

#[track_caller]
fn assert_cel(objects: &[Json], kind: &str, name: &str, needle: &str, present: bool) {
    let crds = crds().expect("the CRDs are loaded");
    let findings = lint::lint_objects(objects, Some(crds));
    let messages: Vec<String> = findings
        .iter()
        .filter(|f| f.rule == Rule::Schema && f.kind == kind && f.name == name)
        .map(|f| format!("{:?}: {}", f.severity, f.message))
        .collect();
    let hit = messages
        .iter()
        .any(|m| m.starts_with("Error") && m.contains(needle));
    assert_eq!(hit, present, "{kind} {name}: `{needle}` in {messages:?}");
}

#[test]
fn crd_cel_rules_refuse_what_the_api_server_would() {
    if crds().is_none() {
        return;
    }
    let production = render_file("values/production.yaml");
    let clean = edit_json(&production, "Cluster", "billing", |_| {});
    assert!(errors(&lint::lint_objects(&clean, crds())).is_empty());
    // ObjectStore: `!has(self.serverName)` (the plugin parameter names the server).
    let named = edit_json(&production, "ObjectStore", "billing-backup", |store| {
        store["spec"]["configuration"]["serverName"] = json!("billing");
    });
    let needle = "use the 'serverName' plugin parameter in the Cluster resource";
    assert_cel(&named, "ObjectStore", "billing-backup", needle, true);
    assert_cel(&clean, "ObjectStore", "billing-backup", needle, false);
    // A rule on a list item's string: no `--log-level` in additionalContainerArgs.
    let args = edit_json(&production, "ObjectStore", "billing-backup", |store| {
        store["spec"]["instanceSidecarConfiguration"]["additionalContainerArgs"] =
            json!(["--log-level=debug"]);
    });
    assert_cel(&args, "ObjectStore", "billing-backup", "--log-level", true);
    let other_args = edit_json(&production, "ObjectStore", "billing-backup", |store| {
        store["spec"]["instanceSidecarConfiguration"]["additionalContainerArgs"] =
            json!(["--verbose"]);
    });
    assert_cel(
        &other_args,
        "ObjectStore",
        "billing-backup",
        "--log-level",
        false,
    );
    // Cluster: `!(has(self.imageCatalogRef) && has(self.imageName))`, and the nested
    // `self.kind == 'ImageCatalog' || self.kind == 'ClusterImageCatalog'`.
    let catalog = json!({"apiGroup": "postgresql.cnpg.io", "kind": "ClusterImageCatalog",
        "name": "postgresql", "major": 18});
    let both = edit_json(&production, "Cluster", "billing", |cluster| {
        cluster["spec"]["imageCatalogRef"] = catalog.clone();
    });
    let exclusive = "imageName and imageCatalogRef are mutually exclusive";
    assert_cel(&both, "Cluster", "billing", exclusive, true);
    assert_cel(&both, "Cluster", "billing", "Only image catalogs", false);
    let catalog_only = edit_json(&production, "Cluster", "billing", |cluster| {
        let spec = cluster["spec"].as_object_mut().unwrap();
        spec.remove("imageName");
        spec.insert("imageCatalogRef".into(), catalog.clone());
    });
    assert_cel(&catalog_only, "Cluster", "billing", exclusive, false);
    let wrong_kind = edit_json(&production, "Cluster", "billing", |cluster| {
        let spec = cluster["spec"].as_object_mut().unwrap();
        spec.remove("imageName");
        spec.insert("imageCatalogRef".into(), catalog.clone());
        spec["imageCatalogRef"]["kind"] = json!("ConfigMap");
    });
    assert_cel(
        &wrong_kind,
        "Cluster",
        "billing",
        "Only image catalogs",
        true,
    );
}

#[test]
fn placeholders_are_reported_only_where_values_write_them() {
    let placeholders = |manifests: &[Manifest]| {
        lint::lint(manifests, None)
            .into_iter()
            .filter(|f| f.rule == Rule::Placeholder)
            .map(|f| format!("{} {}: {}", f.kind, f.name, f.message))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        placeholders(&render(&[])),
        Vec::<String>::new(),
        "the defaults hold none"
    );
    let article = placeholders(&render_file("values/article.yaml"));
    assert!(
        article.iter().any(
            |f| f.starts_with("Secret cnpg-postgres-teleport-db-client-ca")
                && f.contains("stringData/ca.crt")
        ),
        "{article:?}"
    );
    assert!(article.iter().all(|f| f.contains("argocd-vault-plugin")));
}

/// Renders the defaults plus the values text `yaml` (for patches, which `--set` cannot write).
fn render_yaml(yaml: &str) -> Vec<Manifest> {
    let source = values::Source {
        name: "patched.yaml".into(),
        text: yaml.into(),
    };
    let loaded = values::load(&[source], &[]).unwrap_or_else(|p| panic!("{p}"));
    renderer().render(&loaded.values).unwrap()
}

#[test]
fn patches_and_extra_objects_do_not_escape_lint() {
    // lint reads the patched objects, not the values: each weakening is still seen.
    let findings = lint::lint(
        &render_yaml(
            "patches:
  - target: {kind: Pooler}
    merge: {spec: {pgbouncer: {parameters: {auth_type: trust}}}}
  - target: {kind: Cluster, name: appdb}
    json: [{op: add, path: /spec/enableSuperuserAccess, value: true}]
extraObjects:
  - apiVersion: v1
    kind: Secret
    metadata: {name: app-login}
    stringData: {password: hunter2-plain}
",
        ),
        None,
    );
    assert_eq!(
        findings_of(&findings, Rule::Authentication, "Pooler", "appdb-pooler-rw").len(),
        1,
        "{findings:?}"
    );
    assert_eq!(
        findings_of(&findings, Rule::SuperuserAccess, "Cluster", "appdb").len(),
        1,
        "{findings:?}"
    );
    assert_eq!(
        findings_of(&findings, Rule::PlaintextSecret, "Secret", "app-login").len(),
        1,
        "{findings:?}"
    );
    assert!(findings.iter().all(|f| !f.to_string().contains("hunter2")));
    // The unpatched render has none of them.
    let clean = lint::lint(&render(&[]), None);
    for rule in [
        Rule::Authentication,
        Rule::SuperuserAccess,
        Rule::PlaintextSecret,
    ] {
        assert!(clean.iter().all(|f| f.rule != rule), "{rule:?}: {clean:?}");
    }
}

/// The extra databases' objects lint clean against CloudNativePG's Database CRD; the CRD's CEL
/// rules on `spec.name` (which `databases[].name` checks mirror) refuse `postgres`, and a
/// Database naming another Cluster is an unresolved reference.
#[test]
fn database_objects_lint_clean_and_point_at_the_cluster() {
    let rendered = render_file("tests/inputs/ok-databases.yaml");
    let databases: Vec<&str> = rendered
        .iter()
        .filter(|m| m.kind == Kind::Database)
        .map(|m| m.object.name())
        .collect();
    assert_eq!(
        databases,
        ["appdb-app-events", "appdb-reports", "appdb-legacy"]
    );
    assert!(errors(&lint::lint(&rendered, crds())).is_empty());
    let broken = edit(&rendered, Kind::Database, "appdb-reports", |d| {
        d["spec"]["cluster"]["name"] = json!("other");
    });
    assert_error(
        &broken,
        Rule::Reference,
        "Database",
        "appdb-reports",
        "Cluster `other`",
    );
    if crds().is_none() {
        return;
    }
    let clean = edit_json(&rendered, "Database", "appdb-reports", |_| {});
    let reserved = edit_json(&rendered, "Database", "appdb-reports", |d| {
        d["spec"]["name"] = json!("postgres");
    });
    assert_cel(
        &clean,
        "Database",
        "appdb-reports",
        "self != 'postgres'",
        false,
    );
    assert_cel(&reserved, "Database", "appdb-reports", "postgres", true);
}
