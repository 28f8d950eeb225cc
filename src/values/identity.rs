//! The cloud identity backups need: service-account annotations (and pod labels) for IRSA, GKE
//! and Azure workload identity. Here, not in `resources`, because the checks refuse values keys
//! (`postgres.serviceAccountTemplate`, `postgres.inheritedMetadata`) that contradict them.

use std::collections::BTreeMap;

use super::{CredentialSource, Provider, RecoverySource, Values};

impl Values {
    /// Whether the bootstrap restores from an object store (which then needs credentials).
    pub fn recovery_reads_store(&self) -> bool {
        let r = &self.recovery;
        r.enabled
            && (r.source == RecoverySource::ObjectStore
                || r.object_store.destination_path.is_some())
    }

    /// Whether this cluster is a replica cluster or a member of a distributed topology.
    pub fn replica_active(&self) -> bool {
        self.replica.enabled || self.replica.primary.is_some()
    }

    /// Service-account annotations (and pod labels) that give the pods their cloud identity.
    pub fn workload_identity(
        &self,
    ) -> (
        BTreeMap<&'static str, String>,
        BTreeMap<&'static str, &'static str>,
    ) {
        let mut stores = vec![];
        if self.backup.enabled {
            stores.push(&self.backup.object_store);
        }
        if self.recovery_reads_store() {
            stores.push(&self.recovery.object_store);
        }
        if self.replica_active() {
            stores.extend(
                self.replica
                    .external_clusters
                    .iter()
                    .map(|m| &m.object_store),
            );
        }
        let mut annotations = BTreeMap::new();
        let mut labels = BTreeMap::new();
        for store in stores {
            if store.credentials.source != CredentialSource::WorkloadIdentity {
                continue;
            }
            let identity = store
                .credentials
                .workload_identity
                .clone()
                .unwrap_or_default();
            let key = match store.provider {
                Provider::S3 => "eks.amazonaws.com/role-arn",
                Provider::Gcs => "iam.gke.io/gcp-service-account",
                Provider::Azure => {
                    labels.insert("azure.workload.identity/use", "true");
                    "azure.workload.identity/client-id"
                }
            };
            annotations.entry(key).or_insert(identity);
        }
        (annotations, labels)
    }
}
