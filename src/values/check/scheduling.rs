//! Tolerations and node affinity of instance pods.
//!
//! Tolerations follow CloudNativePG's `validateTolerations` (internal/webhook/v1/
//! cluster_webhook.go at a95a534dbe08). Node affinity is not checked by CloudNativePG's webhook
//! but copied into every instance pod, so it follows what the API server's
//! `ValidateNodeSelectorRequirement` and `validatePreferredSchedulingTerms` (kubernetes
//! pkg/apis/core/validation/validation.go) refuse: otherwise the Cluster is accepted and no pod
//! is ever created.

use super::Findings;
use super::syntax::{is_label_key, is_label_value};
use crate::values::{
    NodeOperator, NodeRequirement, TaintEffect, Toleration, TolerationOperator, Values,
};

pub(super) fn check(values: &Values, f: &mut Findings) {
    let pg = &values.postgres;
    tolerations(f, "postgres.tolerations", &pg.tolerations);
    node_affinity(f, "postgres.nodeAffinity", &pg.node_affinity);
    node_affinity(
        f,
        "pooler.template.nodeAffinity",
        &values.pooler.template.node_affinity,
    );
    tolerations(
        f,
        "pooler.template.tolerations",
        &values.pooler.template.tolerations,
    );
}

/// CloudNativePG's `validateTolerations`, for instance and PgBouncer pods alike.
pub(super) fn tolerations(f: &mut Findings, list: &str, items: &[Toleration]) {
    for (i, t) in items.iter().enumerate() {
        let at = format!("{list}[{i}]");
        let key = t.key.as_deref().unwrap_or_default();
        if !key.is_empty() && !is_label_key(key) {
            f.error(
                &format!("{at}.key"),
                "not a valid taint key (a label key)",
                "use the key of the node taint, e.g. `dedicated` or `example.com/postgres`",
            );
        }
        let value = t.value.as_deref().unwrap_or_default();
        match t.operator {
            TolerationOperator::Equal if key.is_empty() => f.error(
                &format!("{at}.operator"),
                // The key is named whole: an empty key is the value that needs the fix.
                format!(
                    "operator must be Exists when `{at}.key` is empty (which means every taint)"
                ),
                "set `key`, or write `operator: Exists` to tolerate every taint",
            ),
            TolerationOperator::Equal if !is_label_value(value) => f.error(
                &format!("{at}.value"),
                "not a valid taint value (a label value: 63 characters, alphanumerics, `-_.`)",
                "use the value of the node taint",
            ),
            TolerationOperator::Exists if !value.is_empty() => f.error(
                &format!("{at}.value"),
                "value must be empty when `operator` is Exists",
                "remove `value`, or use `operator: Equal`",
            ),
            _ => {}
        }
        if t.toleration_seconds.is_some() && t.effect != Some(TaintEffect::NoExecute) {
            f.error(
                &format!("{at}.tolerationSeconds"),
                "effect must be NoExecute when `tolerationSeconds` is set",
                "write `effect: NoExecute`, or remove `tolerationSeconds`",
            );
        }
    }
}

fn node_affinity(f: &mut Findings, key: &str, affinity: &crate::values::NodeAffinity) {
    for (i, r) in affinity.required.iter().enumerate() {
        requirement(f, &format!("{key}.required[{i}]"), r);
    }
    for (i, p) in affinity.preferred.iter().enumerate() {
        let at = format!("{key}.preferred[{i}]");
        if !(1..=100).contains(&p.weight) {
            f.error(
                &format!("{at}.weight"),
                "weight must be in the range 1-100",
                "use a weight from 1 (a hint) to 100 (a strong preference)",
            );
        }
        if p.match_expressions.is_empty() {
            f.error(
                &format!("{at}.matchExpressions"),
                "a preference without requirements matches every node",
                "add at least one node label requirement, or remove the preference",
            );
        }
        for (j, r) in p.match_expressions.iter().enumerate() {
            requirement(f, &format!("{at}.matchExpressions[{j}]"), r);
        }
    }
}

/// `ValidateNodeSelectorRequirement`: a label key, and as many values as the operator takes.
pub(super) fn requirement(f: &mut Findings, at: &str, r: &NodeRequirement) {
    if !is_label_key(&r.key) {
        f.error(
            &format!("{at}.key"),
            "not a valid node label key",
            "use a label key as on your nodes, e.g. `node.kubernetes.io/instance-type`",
        );
    }
    let problem = match r.operator {
        NodeOperator::In | NodeOperator::NotIn if r.values.is_empty() => {
            Some("In and NotIn need at least one value")
        }
        NodeOperator::Exists | NodeOperator::DoesNotExist if !r.values.is_empty() => {
            Some("Exists and DoesNotExist take no values")
        }
        NodeOperator::Gt | NodeOperator::Lt
            if r.values.len() != 1 || r.values[0].parse::<i64>().is_err() =>
        {
            Some("Gt and Lt take exactly one value, an integer")
        }
        _ => None,
    };
    if let Some(message) = problem {
        f.error(
            &format!("{at}.values"),
            message,
            "write the values the operator takes",
        );
    }
}
