//! The PgBouncer Poolers.
//!
//! CloudNativePG's automatic pooler integration needs `ca.key` in the client CA secret to sign
//! `<cluster>-pooler` (issue #2841, never fixed). cnpgtp instead gives the Pooler a certificate
//! cert-manager issued for `cnpg_pooler_pgbouncer` (`pgbouncer.serverTLSSecret`, CloudNativePG
//! >= 1.28) and the matching `authQuery`; the role and its lookup function come from the
//! > Cluster's bootstrap SQL (see `cnpg`). PgBouncer runs the query in database `postgres`.

use serde_json::json;

use crate::manifest::Kind;
use crate::plan::{Common, Planned};
use crate::resources::cnpg::POOLER_AUTH_QUERY;
use crate::values::PoolMode;

pub fn plan(common: &Common) -> Vec<Planned> {
    let values = common.values;
    let names = &common.names;
    if !values.pooler.enabled {
        return Vec::new();
    }
    let mut kinds = vec![("rw", &names.pooler_rw)];
    if values.pooler.read_only {
        kinds.push(("ro", &names.pooler_ro));
    }
    kinds
        .into_iter()
        .map(|(kind, name)| {
            common.object(
                "pooler.json",
                Kind::Pooler,
                name,
                "pooler",
                json!({
                    "cluster": names.cluster,
                    "instances": values.pooler.instances,
                    "type": kind,
                    "pool_mode": match values.pooler.pool_mode { PoolMode::Session => "session", PoolMode::Transaction => "transaction" },
                    "auth_query": POOLER_AUTH_QUERY,
                    "auth_secret": names.pooler_auth_cert,
                    "parameters": values.pooler.parameters,
                }),
            )
        })
        .collect()
}
