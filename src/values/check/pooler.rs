//! `pooler`: the PgBouncer pooler, its instances and parameters.
//!
//! CloudNativePG's webhook accepts only the PgBouncer parameters it knows, and a read-only pooler
//! makes sense only with replicas behind it.

use super::{Findings, closest};
use crate::values::Values;

/// The PgBouncer parameters CloudNativePG's webhook accepts:
/// `AllowedPgbouncerGenericConfigurationParameters` in `internal/webhook/v1/pooler_webhook.go`
/// at v1.30.0 (4b5e244a). `auth_user`, `auth_query` and `auth_dbname` CloudNativePG writes itself.
pub const POOLER_PARAMETERS: &[&str] = &[
    "application_name_add_host",
    "auth_type",
    "autodb_idle_timeout",
    "cancel_wait_timeout",
    "client_idle_timeout",
    "client_login_timeout",
    "client_tls_ciphers",
    "client_tls_sslmode",
    "client_tls13_ciphers",
    "default_pool_size",
    "disable_pqexec",
    "dns_max_ttl",
    "dns_nxdomain_ttl",
    "idle_transaction_timeout",
    "ignore_startup_parameters",
    "listen_backlog",
    "log_connections",
    "log_disconnections",
    "log_pooler_errors",
    "log_stats",
    "max_client_conn",
    "max_db_connections",
    "max_packet_size",
    "max_prepared_statements",
    "max_user_connections",
    "min_pool_size",
    "pkt_buf",
    "query_timeout",
    "query_wait_timeout",
    "reserve_pool_size",
    "reserve_pool_timeout",
    "sbuf_loopcnt",
    "server_check_delay",
    "server_check_query",
    "server_connect_timeout",
    "server_fast_close",
    "server_idle_timeout",
    "server_lifetime",
    "server_login_retry",
    "server_reset_query",
    "server_reset_query_always",
    "server_round_robin",
    "server_tls_ciphers",
    "server_tls13_ciphers",
    "server_tls_protocols",
    "server_tls_sslmode",
    "stats_period",
    "suspend_timeout",
    "tcp_defer_accept",
    "tcp_socket_buffer",
    "tcp_keepalive",
    "tcp_keepcnt",
    "tcp_keepidle",
    "tcp_keepintvl",
    "tcp_user_timeout",
    "track_extra_parameters",
    "verbose",
];

/// `auth_type` values that let a client in without proving who it is, or send its password in
/// clear text: the webhook does not check values, PgBouncer would accept them.
const WEAK_AUTH_TYPES: &[&str] = &["trust", "any", "plain"];

pub(super) fn check(values: &Values, f: &mut Findings) {
    let p = &values.pooler;
    if let Some(auth) = p.parameters.get("auth_type")
        && WEAK_AUTH_TYPES.contains(&auth.0.to_ascii_lowercase().as_str())
    {
        f.error_key(
            "pooler.parameters",
            "auth_type",
            format!("`{}` lets clients through PgBouncer without proving who they are (or sends passwords in clear text)", auth.0),
            "remove it (CloudNativePG's default is hba: scram-sha-256 or md5 against the auth query), or use scram-sha-256",
        );
    }
    if p.enabled && p.instances < 1 {
        f.error(
            "pooler.instances",
            "an enabled pooler needs at least one instance",
            "set pooler.instances to 1 or more, or pooler.enabled to false",
        );
    }
    let budget = &p.pod_disruption_budget;
    if p.enabled && budget.enabled && p.instances > 1 && budget.max_unavailable == 0 {
        f.error(
            "pooler.podDisruptionBudget.maxUnavailable",
            "0 forbids every eviction: node drains and cluster upgrades hang on the PgBouncer pods",
            "allow at least 1, or set pooler.podDisruptionBudget.enabled to false",
        );
    }
    if p.enabled && budget.enabled && p.instances > 1 && budget.max_unavailable >= p.instances {
        f.error(
            "pooler.podDisruptionBudget.maxUnavailable",
            format!(
                "{} of {} PgBouncer pods may be evicted at once: a drain can take them all",
                budget.max_unavailable, p.instances
            ),
            "allow fewer than pooler.instances (1 is usual)",
        );
    }
    if p.read_only && !p.enabled {
        f.error(
            "pooler.readOnly",
            "a read-only pooler needs `pooler.enabled: true`",
            "enable the pooler or set readOnly to false",
        );
    }
    if p.read_only && values.postgres.instances < 2 {
        f.error(
            "pooler.readOnly",
            "a read-only pooler needs replicas (postgres.instances >= 2)",
            "add instances or set readOnly to false",
        );
    }
    for key in p.parameters.keys() {
        if !POOLER_PARAMETERS.contains(&key.as_str()) {
            let known: Vec<String> = POOLER_PARAMETERS.iter().map(ToString::to_string).collect();
            let fix = closest(key, &known).map_or_else(
                || "remove it; CloudNativePG's documentation lists the accepted PgBouncer parameters".to_string(),
                |best| format!("did you mean `{best}`?"),
            );
            f.error_key(
                "pooler.parameters",
                key,
                "CloudNativePG does not accept this PgBouncer parameter",
                fix,
            );
        }
    }
}
