//! Every object name cnpgtp derives, in one place.
//!
//! Templates never build names: they receive them from here, so one object can only point at
//! another through a name both got from the same function, and the domain checks can verify that
//! every derived name is a valid DNS-1123 label of at most 63 characters.

/// The role PgBouncer authenticates as; CloudNativePG's fixed pg_hba rule admits it by certificate.
pub const POOLER_AUTH_ROLE: &str = "cnpg_pooler_pgbouncer";

/// Names derived from the cluster name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Names {
    pub cluster: String,
    pub rw_service: String,
    pub ro_service: String,
    pub r_service: String,
    /// CloudNativePG's generated owner secret (`<cluster>-app`), used when no password is given.
    pub generated_app_secret: String,
    /// Owner credentials rendered from a value or placeholder.
    pub owner_secret: String,
    pub selfsigned_issuer: String,
    pub client_ca: String,
    pub client_ca_issuer: String,
    pub replication_cert: String,
    pub pooler_auth_cert: String,
    pub server_cert: String,
    pub server_ca: String,
    pub server_ca_issuer: String,
    pub server_ca_pem_secret: String,
    pub vault_issuer: String,
    pub vault_approle_secret: String,
    pub vault_token_role: String,
    pub client_ca_bundle: String,
    pub teleport_ca_secret: String,
    pub bundle_sync: String,
    pub pooler_rw: String,
    pub pooler_ro: String,
    /// The ObjectStore this cluster archives to, and the Secret rendered for its credentials.
    pub backup_store: String,
    pub backup_credentials: String,
    /// The ObjectStore of the cluster a recovery restores from, and its credentials Secret.
    pub recovery_store: String,
    pub recovery_credentials: String,
    /// The ConfigMap of `monitoring.customQueries`, the PrometheusRule and the dashboard.
    pub monitoring_queries: String,
    pub alert_rules: String,
    pub dashboard: String,
    /// The NetworkPolicy of the instances (each Pooler's has the Pooler's name).
    pub instances_policy: String,
}

impl Names {
    pub fn new(cluster: &str) -> Self {
        // Concatenated, not format!ed: Names is built several times per render, and format!'s
        // machinery cost more than the rest of it.
        let n = |suffix: &str| [cluster, "-", suffix].concat();
        Self {
            cluster: cluster.to_string(),
            rw_service: n("rw"),
            ro_service: n("ro"),
            r_service: n("r"),
            generated_app_secret: n("app"),
            owner_secret: n("owner"),
            selfsigned_issuer: n("selfsigned"),
            client_ca: n("client-ca"),
            client_ca_issuer: n("client-ca"),
            replication_cert: n("replication"),
            pooler_auth_cert: n("pooler-auth"),
            server_cert: n("server"),
            server_ca: n("server-ca"),
            server_ca_issuer: n("server-ca"),
            server_ca_pem_secret: n("server-ca-pem"),
            vault_issuer: n("vault"),
            vault_approle_secret: n("vault-approle"),
            vault_token_role: n("vault-token"),
            client_ca_bundle: n("client-ca-bundle"),
            teleport_ca_secret: n("teleport-db-client-ca"),
            bundle_sync: n("ca-bundle"),
            pooler_rw: n("pooler-rw"),
            pooler_ro: n("pooler-ro"),
            backup_store: n("backup"),
            backup_credentials: n("backup-credentials"),
            recovery_store: n("recovery"),
            recovery_credentials: n("recovery-credentials"),
            monitoring_queries: n("monitoring-queries"),
            alert_rules: n("alerts"),
            dashboard: n("dashboard"),
            instances_policy: n("instances"),
        }
    }

    /// Every derived name, for the length and syntax checks.
    pub fn all(&self) -> Vec<&str> {
        vec![
            &self.rw_service,
            &self.ro_service,
            &self.r_service,
            &self.generated_app_secret,
            &self.owner_secret,
            &self.selfsigned_issuer,
            &self.client_ca,
            &self.replication_cert,
            &self.pooler_auth_cert,
            &self.server_cert,
            &self.server_ca,
            &self.server_ca_pem_secret,
            &self.vault_issuer,
            &self.vault_approle_secret,
            &self.vault_token_role,
            &self.client_ca_bundle,
            &self.teleport_ca_secret,
            &self.bundle_sync,
            &self.pooler_rw,
            &self.pooler_ro,
            &self.backup_store,
            &self.backup_credentials,
            &self.recovery_store,
            &self.recovery_credentials,
            &self.monitoring_queries,
            &self.alert_rules,
            &self.dashboard,
            &self.instances_policy,
        ]
    }

    /// The ObjectStore through which this cluster reads the replica-topology member `member`.
    pub fn member_store(&self, member: &str) -> String {
        format!("{}-{member}-store", self.cluster)
    }

    /// The CloudNativePG Database object of the extra database `database` (a SQL identifier, so
    /// `_` is the one character a DNS name cannot hold).
    pub fn database(&self, database: &str) -> String {
        format!("{}-{}", self.cluster, database.replace('_', "-"))
    }

    /// The credentials Secret rendered for `member_store(member)`.
    pub fn member_credentials(&self, member: &str) -> String {
        format!("{}-{member}-credentials", self.cluster)
    }

    /// The DNS names clients may use for `service` in `namespace`, in the four usual forms.
    pub fn service_dns_names(service: &str, namespace: &str) -> [String; 4] {
        [
            service.to_string(),
            format!("{service}.{namespace}"),
            format!("{service}.{namespace}.svc"),
            format!("{service}.{namespace}.svc.cluster.local"),
        ]
    }
}

/// Kubernetes' limit on names that are DNS labels and on label values.
pub const MAX_LABEL_LEN: usize = 63;

/// Whether `name` is an RFC 1123 DNS label: lower-case alphanumerics and `-`, starting and ending
/// alphanumeric, at most 63 characters.
pub fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_LABEL_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("pg-1"));
        assert!(!is_dns_label("-pg"));
        assert!(!is_dns_label("Pg"));
        assert!(!is_dns_label("pg_1"));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert!(is_dns_label(&"a".repeat(63)));
    }

    #[test]
    fn database_objects_are_named_after_cluster_and_database() {
        let names = Names::new("db");
        assert_eq!(names.database("app_events"), "db-app-events");
        assert_eq!(names.database("reports"), "db-reports");
    }

    #[test]
    fn derived_names_are_distinct_per_kind() {
        let names = Names::new("db");
        let mut all = names.all();
        all.sort_unstable();
        let before = all.len();
        all.dedup();
        assert_eq!(before, all.len());
    }
}
