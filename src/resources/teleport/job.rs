//! Registration through a Job (`teleport.registration: job`): `tctl create -f` after every sync
//! and a deletion hook running `tctl rm`, with a Machine ID or an existing identity.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::{
    CA_PLACEHOLDER, container, db_document, endpoints, image, join_token_projection,
    render_time_ca, restricted_pod_security,
};
use crate::manifest::Kind;
use crate::plan::{Common, Planned};
use crate::resources::certs;
use crate::values::{DeletionHook, JobIdentity};

pub(super) fn plan(common: &Common) -> Vec<Planned> {
    let values = common.values;
    let teleport = &values.teleport;
    let register = super::token::register_service_account(values);
    let deregister = format!("{}-teleport-deregister", values.name);
    let proxy = teleport.proxy_address.clone().unwrap_or_default();
    let endpoints = endpoints(common);
    let generated_ca = render_time_ca(values).is_none();

    // One JSON document per database (JSON is YAML; each file is one `tctl create` call). The CA
    // is always embedded by the init container: a render-time CA is often an argocd-vault-plugin
    // placeholder, which must stay a whole scalar (its own ConfigMap key) because AVP would put
    // raw newlines into a JSON string.
    let mut files = BTreeMap::new();
    if let Some(pem) = render_time_ca(values) {
        files.insert("server-ca.crt".to_string(), pem.to_string());
    }
    for endpoint in &endpoints {
        let document = db_document(values, endpoint, CA_PLACEHOLDER);
        files.insert(
            format!("{}.json", endpoint.service_kind),
            serde_json::to_string_pretty(&document).expect("json"),
        );
    }
    let machine_id = teleport.job.identity == JobIdentity::MachineId;
    if machine_id {
        let tbot = json!({
            "version": "v2",
            "proxy_server": proxy,
            "onboarding": {"join_method": "kubernetes", "token": teleport.job.join_token},
            "oneshot": true,
            "storage": {"type": "memory"},
            "outputs": [{"type": "identity", "destination": {"type": "directory", "path": "/identity"}}],
        });
        files.insert(
            "tbot.yaml".into(),
            crate::yaml::object_to_string(&tbot).expect("tbot config serializes"),
        );
    }
    files.insert("embed-ca.sh".into(), EMBED_CA_SCRIPT.to_string());

    let mut planned = vec![common.object(
        "service-account.json",
        Kind::ServiceAccount,
        &register,
        "teleport",
        json!({}),
    )];
    planned.push(common.object(
        "config-map.json",
        Kind::ConfigMap,
        &register,
        "teleport",
        json!({"data": files}),
    ));

    let identity_volume = match teleport.job.identity {
        JobIdentity::MachineId => json!({"name": "identity", "emptyDir": {"medium": "Memory"}}),
        JobIdentity::ExistingSecret => {
            json!({"name": "identity", "secret": {"secretName": teleport.job.identity_secret, "items": [{"key": "identity", "path": "identity"}]}})
        }
    };
    let mut volumes = vec![
        json!({"name": "resources", "configMap": {"name": register}}),
        identity_volume,
        json!({"name": "work", "emptyDir": {}}),
        json!({"name": "tmp", "emptyDir": {}}),
    ];
    if generated_ca {
        volumes.push(json!({"name": "server-ca", "secret": {"secretName": certs::server_ca_secret(common), "items": [{"key": "ca.crt", "path": "ca.crt"}]}}));
    }
    let env = json!([{"name": "HOME", "value": "/tmp"}]);
    let mounts = json!([
        {"name": "resources", "mountPath": "/resources", "readOnly": true},
        {"name": "identity", "mountPath": "/identity"},
        {"name": "work", "mountPath": "/work"},
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "server-ca", "mountPath": "/server-ca", "readOnly": true},
    ]);
    let mounts_without_ca = json!(
        mounts
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["name"] != "server-ca")
            .cloned()
            .collect::<Vec<_>>()
    );
    let job_mounts = if generated_ca {
        &mounts
    } else {
        &mounts_without_ca
    };
    let tctl = image(values, "teleport-distroless");
    let tctl_command = |verb: &[&str]| {
        let mut command = vec![
            "tctl".to_string(),
            format!("--auth-server={proxy}"),
            "--identity=/identity/identity".into(),
        ];
        command.extend(verb.iter().map(ToString::to_string));
        command
    };
    // Each Job's tbot mounts only the volumes of its own pod: the deregistration Job has no
    // server CA volume.
    // The static JWKS and OIDC join types need a projected token for tbot (only tbot joins).
    let projection = join_token_projection(values);
    if let Some(projection) = &projection {
        volumes.push(projection.volume.clone());
    }
    let tbot_container = |mounts: &Json| {
        machine_id.then(|| {
            let mut mounts = mounts.clone();
            let mut env = env.clone();
            if let Some(projection) = &projection {
                mounts
                    .as_array_mut()
                    .unwrap()
                    .push(projection.mount.clone());
                env.as_array_mut().unwrap().push(projection.env.clone());
            }
            container(
                "tbot",
                &image(values, "tbot-distroless"),
                &[
                    "tbot".into(),
                    "start".into(),
                    "--config=/resources/tbot.yaml".into(),
                ],
                &mounts,
                &env,
            )
        })
    };

    // Register: [tbot] embed CA, tctl create rw, tctl create ro.
    let mut steps: Vec<Json> = tbot_container(job_mounts).into_iter().collect();
    let ca_file = if generated_ca {
        "/server-ca/ca.crt"
    } else {
        "/resources/server-ca.crt"
    };
    let embed_env =
        json!([{"name": "HOME", "value": "/tmp"}, {"name": "CA_FILE", "value": ca_file}]);
    steps.push(container(
        "embed-ca",
        &teleport.job.shell_image,
        &["sh".into(), "/resources/embed-ca.sh".into()],
        job_mounts,
        &embed_env,
    ));
    for endpoint in &endpoints {
        let file = format!("/work/{}.json", endpoint.service_kind);
        steps.push(container(
            &format!("create-{}", endpoint.service_kind),
            &tctl,
            &tctl_command(&["create", "-f", &file]),
            job_mounts,
            &env,
        ));
    }
    planned.push(hook_job(
        common,
        &register,
        &register,
        steps,
        &volumes,
        machine_id,
        &register_hooks(),
    ));

    // Deregister: [tbot] tctl rm db/<name> for each endpoint.
    let mut steps: Vec<Json> = tbot_container(&mounts_without_ca).into_iter().collect();
    for endpoint in &endpoints {
        let target = format!("db/{}", endpoint.name);
        steps.push(container(
            &format!("remove-{}", endpoint.service_kind),
            &tctl,
            &tctl_command(&["rm", &target]),
            &mounts_without_ca,
            &env,
        ));
    }
    let volumes_without_ca: Vec<Json> = volumes
        .iter()
        .filter(|v| v["name"] != "server-ca")
        .cloned()
        .collect();
    // PostDelete runs after the Application's own ServiceAccount is gone; validation allows it
    // only with an existing identity Secret, which needs no ServiceAccount token.
    let deregister_account = match teleport.job.deletion_hook {
        DeletionHook::PreDelete => register.clone(),
        DeletionHook::PostDelete => "default".to_string(),
    };
    planned.push(hook_job(
        common,
        &deregister,
        &deregister_account,
        steps,
        &volumes_without_ca,
        machine_id,
        &deletion_hooks(teleport.job.deletion_hook),
    ));
    planned
}

/// Hooks of the registration Job: after every sync (ArgoCD) / install and upgrade (Helm).
fn register_hooks() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("argocd.argoproj.io/hook".into(), "PostSync".into()),
        (
            "argocd.argoproj.io/hook-delete-policy".into(),
            "BeforeHookCreation,HookSucceeded".into(),
        ),
        ("helm.sh/hook".into(), "post-install,post-upgrade".into()),
        (
            "helm.sh/hook-delete-policy".into(),
            "before-hook-creation,hook-succeeded".into(),
        ),
    ])
}

fn deletion_hooks(hook: DeletionHook) -> BTreeMap<String, String> {
    let (argocd, helm) = match hook {
        DeletionHook::PreDelete => ("PreDelete", "pre-delete"),
        DeletionHook::PostDelete => ("PostDelete", "post-delete"),
    };
    BTreeMap::from([
        ("argocd.argoproj.io/hook".into(), argocd.into()),
        (
            "argocd.argoproj.io/hook-delete-policy".into(),
            "BeforeHookCreation,HookSucceeded".into(),
        ),
        ("helm.sh/hook".into(), helm.into()),
        (
            "helm.sh/hook-delete-policy".into(),
            "before-hook-creation,hook-succeeded".into(),
        ),
    ])
}

/// A Job whose steps run in order: all but the last as init containers.
fn hook_job(
    common: &Common,
    name: &str,
    service_account: &str,
    mut steps: Vec<Json>,
    volumes: &[Json],
    automount: bool,
    hooks: &BTreeMap<String, String>,
) -> Planned {
    let main = steps.pop().expect("a job has at least one step");
    let mut planned = common.object(
        "job.json",
        Kind::Job,
        name,
        "teleport",
        json!({
            "pod_labels": common.labels("teleport"),
            "service_account": service_account,
            "automount": automount,
            "init_containers": steps,
            "containers": [main],
            "volumes": volumes,
            "pod_security": restricted_pod_security(),
        }),
    );
    for (key, value) in hooks {
        planned = planned.with_annotation(key, value);
    }
    planned
}

/// Replaces the CA placeholder in each resource file with the JSON-escaped server CA, after
/// checking that the file holds only certificate PEM (so nothing else can reach the document).
pub const EMBED_CA_SCRIPT: &str = r#"set -eu
ca=${CA_FILE:-/server-ca/ca.crt}
resources=${RESOURCES_DIR:-/resources}
work=${WORK_DIR:-/work}
grep -q -- '-----BEGIN CERTIFICATE-----' "$ca" || { echo "embed-ca: $ca holds no certificate" >&2; exit 1; }
if grep -vqE '^(-----(BEGIN|END) CERTIFICATE-----|[A-Za-z0-9+/=]+)$' "$ca"; then
  echo "embed-ca: $ca holds something other than certificate PEM; refusing to embed it" >&2
  exit 1
fi
for file in "$resources"/*.json; do
  awk -v cafile="$ca" -v marker="__SERVER_CA_PEM__" '
    BEGIN { while ((getline line < cafile) > 0) pem = pem line "\\n" }
    { i = index($0, marker); if (i) { $0 = substr($0, 1, i - 1) pem substr($0, i + length(marker)) } print }
  ' "$file" > "$work/$(basename "$file")"
done
"#;
