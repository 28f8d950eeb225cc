//! Synchronous replication and primary updates, against the number of instances.
//!
//! Mirrors CloudNativePG's `validateSynchronousReplicaConfiguration` and
//! `validatePrimaryUpdateStrategy` (internal/webhook/v1/cluster_webhook.go at a95a534dbe08) and
//! the CRD's `self > 0` rule on `synchronous.number`. cnpgtp renders no standby names, so the
//! webhook's bound (`number < instances + standby names`) is `number < instances`.

use super::Findings;
use crate::values::{PrimaryUpdateStrategy, Values};

pub(super) fn check(values: &Values, f: &mut Findings) {
    let pg = &values.postgres;
    if let Some(sync) = &pg.synchronous {
        if sync.number == 0 {
            f.error(
                "postgres.synchronous.number",
                "the number of synchronous replicas must be greater than zero",
                "write 1 or more, or `synchronous: null` for asynchronous replication",
            );
        } else if sync.number >= pg.instances {
            f.error_pair(
                "postgres.synchronous.number",
                "postgres.instances",
                format!(
                    "the number of synchronous replicas must be less than the number of instances ({})",
                    pg.instances
                ),
                "lower `number`, or raise `postgres.instances` (a primary and at least `number` replicas)",
            );
        }
    }
    if pg.primary_update_strategy == Some(PrimaryUpdateStrategy::Supervised) && pg.instances == 1 {
        f.error_pair(
            "postgres.primaryUpdateStrategy",
            "postgres.instances",
            "supervised update strategy is not allowed for clusters with a single instance",
            "use `unsupervised` (or null), or run more than one instance",
        );
    }
}
