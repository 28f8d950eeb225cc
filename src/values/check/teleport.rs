//! `teleport`: the Teleport database names, labels, version, role, and the registration mode
//! (operator, job or agent) with what each needs.
//!
//! Teleport and its operator reject these only once applied, or silently skip the database; the
//! registration modes each need their own keys (proxy address, identity, join token).

use super::Findings;
use super::images::pinned_image;
use super::syntax::{is_dns_name, is_label_key, is_label_value};
use crate::naming;
use crate::values::{BundleMechanism, DeletionHook, JobIdentity, Registration, Values};

/// Teleport accepts database names matching `^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`; the
/// operator also uses the name as a Kubernetes name, so cnpgtp requires a lower-case DNS label
/// that starts with a letter.
fn is_teleport_name(name: &str) -> bool {
    naming::is_dns_label(name) && name.as_bytes()[0].is_ascii_lowercase()
}

pub(super) fn check(values: &Values, f: &mut Findings) {
    let t = &values.teleport;
    // Names derived from an invalid `name` or `namespace` would only repeat that error.
    let roots_valid = naming::is_dns_label(&values.name) && naming::is_dns_label(&values.namespace);
    let prefix = values.teleport_database_prefix();
    let longest = format!("{prefix}-ro");
    if !is_teleport_name(&longest) && (roots_valid || t.database_name.is_some()) {
        let path = if t.database_name.is_some() {
            "teleport.databaseName"
        } else {
            "namespace"
        };
        f.error(
            path,
            format!("the Teleport database names `{prefix}-rw`/`-ro` are not valid: they need a letter first, then letters, digits and '-', at most 63 characters"),
            "set teleport.databaseName to a short name such as `orders-prod`",
        );
    }
    if !is_label_value(&t.kubernetes_cluster) || t.kubernetes_cluster.is_empty() {
        f.error(
            "teleport.kubernetesCluster",
            "not a valid label value",
            "name this Kubernetes cluster, e.g. `prod-eu-1`",
        );
    }
    for (key, value) in &t.labels {
        if !is_label_key(key) || !is_label_value(value) {
            f.error_key(
                "teleport.labels",
                key,
                "not a valid label",
                "use Kubernetes-style label keys and values",
            );
        }
    }
    let version_ok = t.version.split('.').count() == 3
        && t.version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !version_ok {
        f.error(
            "teleport.version",
            "not a Teleport version",
            "write it as MAJOR.MINOR.PATCH, e.g. 18.7.3",
        );
    }
    // `-write` is the longer of the two suffixes.
    let role_name = values.teleport_role_name("write");
    if !naming::is_dns_label(&role_name)
        && (roots_valid || t.role.name.is_some() || t.database_name.is_some())
    {
        let path = if t.role.name.is_some() {
            "teleport.role.name"
        } else {
            "teleport.databaseName"
        };
        f.error(
            path,
            format!("the Teleport role name `{role_name}` is not a valid name"),
            "set teleport.role.name to a short prefix such as `orders-db` (roles `orders-db-read` and `orders-db-write`)",
        );
    }
    if !naming::is_dns_label(&t.operator.namespace) {
        f.error(
            "teleport.operator.namespace",
            "not a valid namespace",
            "name the namespace the Teleport operator runs in",
        );
    }
    let needs_proxy = matches!(t.registration, Registration::Job | Registration::Agent);
    if needs_proxy {
        let valid = t.proxy_address.as_ref().is_some_and(|a| {
            a.rsplit_once(':').is_some_and(|(host, port)| {
                is_dns_name(host) && port.parse::<u16>().is_ok_and(|p| p > 0)
            })
        });
        if !valid {
            f.error_at(
                "teleport.proxyAddress",
                "teleport.registration",
                "the job and agent registrations need the Teleport proxy address as host:port",
                "set teleport.proxyAddress, e.g. teleport.example.com:443",
            );
        }
    }
    match t.registration {
        // Without a render-time CA the client-CA sync workload writes it into the
        // TeleportDatabaseV3 objects; external-secrets cannot.
        Registration::Operator
            if values.tls.server.ca.pem.is_none()
                && values.client_ca_bundle.mechanism == BundleMechanism::ExternalSecrets =>
        {
            f.error_pair(
                "teleport.registration",
                "clientCaBundle.mechanism",
                "the operator registration needs the server CA in each TeleportDatabaseV3; this CA exists only in the cluster, and with `externalSecrets` nothing writes it there",
                "use clientCaBundle.mechanism: syncWorkload (its workload writes the CA into the Teleport databases), set tls.server.ca.pem (PEM or a <path:...> placeholder), or use `registration: job` or `agent`",
            );
        }
        Registration::Job => {
            if t.job.identity == JobIdentity::ExistingSecret
                && t.job
                    .identity_secret
                    .as_ref()
                    .is_none_or(|s| !is_dns_name(s))
            {
                f.error_at("teleport.job.identitySecret", "teleport.job.identity", "`identity: existingSecret` needs the name of the Secret holding the identity file", "set teleport.job.identitySecret");
            }
            if t.job.identity == JobIdentity::MachineId
                && t.job.deletion_hook == DeletionHook::PostDelete
            {
                f.error(
                    "teleport.job.deletionHook",
                    "a PostDelete hook runs after the Job's ServiceAccount is deleted, so Machine ID cannot join",
                    "use `preDelete` (ArgoCD >= 3.3), or `identity: existingSecret`",
                );
            }
            let bot_ok = !t.job.bot_name.is_empty()
                && t.job.bot_name.len() <= 253
                && t.job
                    .bot_name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if t.job.identity == JobIdentity::MachineId && !bot_ok {
                f.error(
                    "teleport.job.botName",
                    "not a Teleport bot name: letters, digits, '-', '_' and '.'",
                    "name the bot created with `tctl bots add`, e.g. `cnpgtp-registration`",
                );
            }
            if t.job.join_token.is_empty() {
                f.error(
                    "teleport.job.joinToken",
                    "empty join token name",
                    "name the Teleport join token for the Job's bot",
                );
            }
            pinned_image(
                f,
                "teleport.job.shellImage",
                &t.job.shell_image,
                "docker.io/library/busybox:1.37.0",
            );
        }
        Registration::Agent => {
            if t.agent.replicas < 1 {
                f.error(
                    "teleport.agent.replicas",
                    "the agent needs at least one replica",
                    "set 1 or more",
                );
            }
            if t.agent.join_token.is_empty() {
                f.error(
                    "teleport.agent.joinToken",
                    "empty join token name",
                    "name the Teleport join token for the agent",
                );
            }
        }
        Registration::Operator | Registration::None => {}
    }
    if t.role.render && t.registration != Registration::Operator {
        f.error(
            "teleport.role.render",
            "the role resource is rendered only in operator mode",
            "print it with `cnpgtp teleport role` and apply it with `tctl create -f`",
        );
    }
}
