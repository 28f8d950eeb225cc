//! The integrations, one module each, and the one place that decides which objects exist.
//!
//! Each module turns the validated values into `Planned` objects for its part of the stack;
//! `plan` composes them in apply order and gives each its ArgoCD sync wave. Modules import only
//! the layers below (`plan`, `values`, `naming`, `manifest`) and, within this folder, `certs`
//! (the TLS chain every other part points at), `cnpg` (the Cluster the pooler attaches to) and
//! the few other edges `tests/layers.rs` lists (`network` reads the pods `pooler` and `teleport`
//! create, to admit them).

pub mod backup;
pub mod ca_bundle;
pub mod certs;
pub mod cnpg;
pub mod databases;
pub mod monitoring;
pub mod network;
pub mod pooler;
pub mod teleport;

use crate::manifest::Kind;
use crate::plan::{Common, Planned};

/// Every object of one database, in apply order (by kind, then in the order the modules
/// planned them), each with its sync wave.
pub fn plan(common: &Common) -> Vec<Planned> {
    let mut planned = Vec::new();
    planned.extend(certs::plan(common));
    planned.extend(ca_bundle::plan(common));
    planned.extend(cnpg::plan(common));
    planned.extend(databases::plan(common));
    planned.extend(backup::plan(common));
    planned.extend(pooler::plan(common));
    planned.extend(teleport::plan(common));
    planned.extend(network::plan(common));
    let monitoring = monitoring::plan(common, &planned);
    planned.extend(monitoring);
    let mut planned: Vec<Planned> = planned.into_iter().map(with_sync_wave).collect();
    planned.sort_by_key(|p| p.kind);
    planned
}

/// ArgoCD applies waves in order and waits for each to be healthy, so a wave per layer makes a
/// sync converge: inputs (Secrets, RBAC, NetworkPolicies), issuers, certificates and the CA bundle, the Cluster,
/// then what needs a running Cluster (poolers, Teleport registration). Hook Jobs run in their own
/// phase and get no wave. `kubectl apply` ignores the annotation; the output order is the same.
fn sync_wave(kind: Kind, component: &str) -> Option<i32> {
    let late = component == "teleport";
    Some(match kind {
        Kind::Job | Kind::Other => return None,
        Kind::ServiceAccount
        | Kind::Secret
        | Kind::ConfigMap
        | Kind::Role
        | Kind::RoleBinding
        | Kind::NetworkPolicy => -4,
        Kind::Issuer => -3,
        Kind::Certificate | Kind::SecretStore => -2,
        Kind::Deployment if late => 2,
        Kind::ExternalSecret | Kind::Deployment => -1,
        Kind::ObjectStore => -1,
        Kind::Cluster => 0,
        Kind::ScheduledBackup | Kind::PodMonitor | Kind::PrometheusRule => 1,
        // Reconciled by the running Cluster's primary; before Teleport offers them (wave 2).
        Kind::Database => 1,
        Kind::Pooler | Kind::PodDisruptionBudget => 1,
        // Before the agent (wave 2) joins with it; hook Jobs run after every wave.
        Kind::TeleportProvisionToken => 1,
        Kind::TeleportRoleV7 | Kind::TeleportRoleV8 | Kind::TeleportDatabaseV3 => 2,
    })
}

fn with_sync_wave(planned: Planned) -> Planned {
    match sync_wave(planned.kind, planned.metadata.component) {
        Some(wave) => planned.with_annotation("argocd.argoproj.io/sync-wave", &wave.to_string()),
        None => planned,
    }
}
