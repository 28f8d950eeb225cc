//! The Teleport join token (`kind: token`, `version: v2`, join method `kubernetes`) of the
//! registration mode that joins: the Job's tbot (`roles: [Bot]`, with Machine ID) or the agent
//! (`roles: [Db]`). Its allow rule names exactly the ServiceAccount the rendered pod runs as, so
//! no other workload of the cluster can join with it.
//!
//! The same spec goes into the `tctl create -f` document of `cnpgtp teleport token` and, with
//! `teleport.join.renderToken`, into a `TeleportProvisionToken` in the operator's namespace (the
//! operator watches only its own namespace; the allow rule still names this namespace).

use serde_json::{Value as Json, json};

use super::in_operator_namespace;
use crate::manifest::Kind;
use crate::plan::{Common, Planned};
use crate::values::{JobIdentity, JoinType, Registration, Values};

/// One join token: its name, Teleport system role and the bot it grants, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinToken {
    pub name: String,
    /// `Bot` or `Db`.
    pub role: &'static str,
    pub bot_name: Option<String>,
    /// The ServiceAccount the joining pod runs as, in this database's namespace.
    pub service_account: String,
}

/// The ServiceAccount of the registration Job (and of its tbot).
pub fn register_service_account(values: &Values) -> String {
    format!("{}-teleport-register", values.name)
}

/// The ServiceAccount of the dedicated database agent.
pub fn agent_service_account(values: &Values) -> String {
    format!("{}-teleport-agent", values.name)
}

/// The token the current registration mode joins with; none where nothing joins (operator and
/// none modes, or a Job with an existing identity).
pub fn join_token(values: &Values) -> Option<JoinToken> {
    let teleport = &values.teleport;
    match teleport.registration {
        Registration::Job if teleport.job.identity == JobIdentity::MachineId => Some(JoinToken {
            name: teleport.job.join_token.clone(),
            role: "Bot",
            bot_name: Some(teleport.job.bot_name.clone()),
            service_account: register_service_account(values),
        }),
        Registration::Agent => Some(JoinToken {
            name: teleport.agent.join_token.clone(),
            role: "Db",
            bot_name: None,
            service_account: agent_service_account(values),
        }),
        Registration::Job | Registration::Operator | Registration::None => None,
    }
}

/// `spec.kubernetes`: the join type, its keys or issuer, and the one allowed ServiceAccount.
fn kubernetes_spec(values: &Values, token: &JoinToken) -> Json {
    let join = &values.teleport.join;
    let mut spec = json!({
        "type": join.kind.teleport_name(),
        "allow": [{"service_account": format!("{}:{}", values.namespace, token.service_account)}],
    });
    // Validation guarantees the key of the chosen type is set; the JWKS stays the user's text,
    // as Teleport stores it.
    match join.kind {
        JoinType::InCluster => {}
        JoinType::StaticJwks => {
            spec["static_jwks"] = json!({"jwks": join.static_jwks.clone().unwrap_or_default()});
        }
        JoinType::Oidc => {
            spec["oidc"] = json!({"issuer": join.oidc_issuer.clone().unwrap_or_default()});
        }
    }
    spec
}

/// The token's `spec`, as `kind: token` and the `TeleportProvisionToken` share it.
fn token_spec(values: &Values, token: &JoinToken) -> Json {
    let mut spec = json!({
        "roles": [token.role],
        "join_method": "kubernetes",
        "kubernetes": kubernetes_spec(values, token),
    });
    if let Some(bot) = &token.bot_name {
        spec["bot_name"] = json!(bot);
    }
    spec
}

/// The `kind: token` documents for `tctl create -f` (`cnpgtp teleport token`).
pub fn token_documents(values: &Values) -> Result<Vec<Json>, String> {
    let token = join_token(values).ok_or_else(|| {
        let t = &values.teleport;
        let mode = match (t.registration, t.job.identity) {
            (Registration::Job, _) => "job with teleport.job.identity: existingSecret",
            (Registration::Operator, _) => "operator",
            (Registration::None, _) => "none",
            (Registration::Agent, _) => "agent",
        };
        format!(
            "teleport.registration: {mode}: nothing joins Teleport, so there is no join token; \
             it is for `registration: job` with `job.identity: machineId`, or `registration: agent`"
        )
    })?;
    Ok(vec![json!({
        "kind": "token",
        "version": "v2",
        "metadata": {"name": token.name},
        "spec": token_spec(values, &token),
    })])
}

/// The `TeleportProvisionToken` in the operator's namespace, when `join.renderToken` asks for
/// it (validation allows that only in the modes that join).
pub(super) fn plan(common: &Common) -> Vec<Planned> {
    let values = common.values;
    if !values.teleport.join.render_token {
        return Vec::new();
    }
    let Some(token) = join_token(values) else {
        return Vec::new();
    };
    let spec = token_spec(values, &token);
    let object = common.object(
        "teleport-provision-token.json",
        Kind::TeleportProvisionToken,
        &token.name,
        "teleport",
        json!({"roles": spec["roles"], "bot_name": spec.get("bot_name"), "kubernetes": spec["kubernetes"]}),
    );
    vec![in_operator_namespace(common, object)]
}
