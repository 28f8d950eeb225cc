//! `replica`: replica clusters and the distributed topology.
//!
//! Mirrors CloudNativePG's Cluster webhook (`enabled` and `primary` exclusive, every topology
//! name an external cluster, `promotionToken` only on the designated primary and not with
//! `minApplyDelay`), and refuses a member whose archive is this cluster's own: two clusters
//! would write one timeline history.

use super::Findings;
use super::backup::object_store;
use super::recovery::archive_of;
use super::syntax::is_go_duration;
use crate::naming::is_dns_label;
use crate::values::Values;

/// Why a promotion token is not one CloudNativePG would accept (`status.demotionToken` of the
/// old primary: base64 of a JSON object with these six fields, none empty), if it is not.
fn promotion_token_problem(token: &str) -> Option<String> {
    use base64::Engine as _;
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(token.trim()) else {
        return Some("not base64: copy status.demotionToken of the old primary whole".into());
    };
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Some("its base64 content is not JSON: copy status.demotionToken whole".into());
    };
    // `ParsePgControldataToken` decodes into a struct of six strings (`pkg/utils/parser.go` at
    // v1.30.0): Go's decoder refuses any other JSON than an object (or null), and a field that
    // is not a string; it matches field names without regard to case.
    let object = match &json {
        serde_json::Value::Object(object) => Some(object),
        serde_json::Value::Null => None,
        _ => {
            return Some(
                "its content is not a JSON object: copy status.demotionToken whole".into(),
            );
        }
    };
    let field = |key: &str| {
        object.and_then(|o| {
            o.get(key).or_else(|| {
                o.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
        })
    };
    let keys = [
        "latestCheckpointTimelineID",
        "redoWalFile",
        "databaseSystemIdentifier",
        "latestCheckpointREDOLocation",
        "timeOfLatestCheckpoint",
        "operatorVersion",
    ];
    if let Some(key) = keys
        .into_iter()
        .find(|key| field(key).is_some_and(|v| !v.is_string() && !v.is_null()))
    {
        return Some(format!(
            "the token's `{key}` is not a JSON string: CloudNativePG cannot decode it; copy status.demotionToken whole"
        ));
    }
    keys.into_iter()
        .find(|key| field(key).is_none_or(|v| v.is_null() || v == ""))
        .map(|key| format!("the token has no `{key}`: copy status.demotionToken whole"))
}

pub(super) fn check(values: &Values, f: &mut Findings) {
    let r = &values.replica;
    let names: Vec<&str> = r
        .external_clusters
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    for (index, member) in r.external_clusters.iter().enumerate() {
        let at = format!("replica.externalClusters[{index}]");
        if !is_dns_label(&member.name) || member.name == values.name {
            f.error(
                &format!("{at}.name"),
                "not a DNS label, or this cluster's own name",
                "name the other cluster (this cluster is `self` already)",
            );
        } else if names[..index].contains(&member.name.as_str()) {
            f.error(
                &format!("{at}.name"),
                "two external clusters with one name",
                "list each cluster once",
            );
        }
        object_store(f, &format!("{at}.objectStore"), &member.object_store);
    }
    let in_topology = |name: &str| name == values.name || names.contains(&name);
    if r.enabled && r.primary.is_some() {
        f.error(
            "replica.primary",
            "replica mode enabled is not compatible with the primary field",
            "a standalone replica sets `enabled: true`; a distributed topology sets `primary` only",
        );
    }
    let active = r.enabled || r.primary.is_some();
    if !active {
        for key in ["source", "promotionToken", "minApplyDelay"] {
            let set = match key {
                "source" => r.source.is_some(),
                "promotionToken" => r.promotion_token.is_some(),
                _ => r.min_apply_delay.is_some(),
            };
            if set {
                f.error(
                    &format!("replica.{key}"),
                    "set, but this is no replica cluster",
                    "set replica.enabled or replica.primary, or remove it",
                );
            }
        }
        return;
    }
    match &r.source {
        None => f.error(
            "replica.source",
            "a replica cluster needs the cluster it follows",
            "name one of replica.externalClusters",
        ),
        Some(source) if !names.contains(&source.as_str()) => f.error(
            "replica.source",
            format!("external cluster {source} not found"),
            "add it to replica.externalClusters (with its object store)",
        ),
        Some(_) => {}
    }
    if let Some(primary) = &r.primary {
        if !in_topology(primary) {
            f.error(
                "replica.primary",
                format!("`{primary}` is neither this cluster nor one of replica.externalClusters"),
                "name a member of the topology",
            );
        }
        if !values.backup.enabled {
            f.error(
                "replica.primary",
                "in a distributed topology every member archives to its own object store, which the others read",
                "enable backup with this cluster's own backup.objectStore",
            );
        }
    }
    let designated_primary = r.primary.as_deref() == Some(values.name.as_str());
    if r.promotion_token.is_some() {
        if !designated_primary {
            f.error(
                "replica.promotionToken",
                "a promotion token applies only on the cluster `primary` names",
                "set replica.primary to this cluster in the same change, or remove the token",
            );
        }
        if r.min_apply_delay.is_some() {
            f.error(
                "replica.promotionToken",
                "a promotion token cannot be combined with minApplyDelay",
                "remove minApplyDelay for the switchover",
            );
        }
        if let Some(problem) = r
            .promotion_token
            .as_deref()
            .and_then(promotion_token_problem)
        {
            f.error(
                "replica.promotionToken",
                problem,
                "kubectl get cluster <old primary> -o jsonpath='{.status.demotionToken}'",
            );
        }
    }
    if let Some(delay) = &r.min_apply_delay
        && !is_go_duration(delay)
    {
        f.error("replica.minApplyDelay", "not a duration", "e.g. 1h or 30m");
    }
    // The guard, for replicas: this cluster's own archive must not be a member's.
    if values.backup.enabled
        && let Some(own) = archive_of(&values.backup.object_store, &values.name)
    {
        for (index, member) in r.external_clusters.iter().enumerate() {
            if archive_of(&member.object_store, &member.name) == Some(own) {
                f.error(
                    &format!("replica.externalClusters[{index}].objectStore.serverName"),
                    format!("`{}` archives where this cluster does ({}, server `{}`): two clusters would write one archive", member.name, own.0, own.1),
                    "give each cluster its own destinationPath or serverName",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::promotion_token_problem;

    #[test]
    fn promotion_tokens() {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(
            r#"{"latestCheckpointTimelineID":"1","redoWalFile":"000000010000000000000003","databaseSystemIdentifier":"7","latestCheckpointREDOLocation":"0/3000028","timeOfLatestCheckpoint":"Mon","operatorVersion":"1.30.0"}"#,
        );
        assert_eq!(promotion_token_problem(&token), None);
        assert!(promotion_token_problem("abc").is_some());
        let number = base64::engine::general_purpose::STANDARD.encode(
            r#"{"latestCheckpointTimelineID":1,"redoWalFile":"000000010000000000000003","databaseSystemIdentifier":"7","latestCheckpointREDOLocation":"0/3000028","timeOfLatestCheckpoint":"Mon","operatorVersion":"1.30.0"}"#,
        );
        assert!(
            promotion_token_problem(&number)
                .unwrap()
                .contains("not a JSON string")
        );
        let partial = base64::engine::general_purpose::STANDARD.encode(r#"{"redoWalFile":"x"}"#);
        assert!(
            promotion_token_problem(&partial)
                .unwrap()
                .contains("latestCheckpointTimelineID")
        );
    }
}
