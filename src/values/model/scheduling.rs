//! Where instance pods may run, besides `nodeSelector`: tolerations and node affinity.
//!
//! Both are typed subsets of the Kubernetes shapes CloudNativePG copies into every instance pod
//! (`spec.affinity.tolerations`, `spec.affinity.nodeAffinity`), so that a bad operator or effect
//! is refused with the values key instead of a pod the API server will not create.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A toleration of instance pods (`spec.affinity.tolerations[]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Toleration {
    /// Taint key (a label key); null with `operator: Exists` tolerates every taint.
    #[serde(default)]
    pub key: Option<String>,
    /// `Equal` (the default) or `Exists`.
    #[serde(default)]
    pub operator: TolerationOperator,
    /// Taint value (a label value) for `Equal`; must be null for `Exists`.
    #[serde(default)]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`; null matches every effect.
    #[serde(default)]
    pub effect: Option<TaintEffect>,
    /// Seconds a `NoExecute` taint is tolerated before eviction; null for ever.
    #[serde(default)]
    pub toleration_seconds: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum TolerationOperator {
    #[default]
    Equal,
    Exists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

/// Node affinity of instance pods (`spec.affinity.nodeAffinity`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeAffinity {
    /// Node label requirements every instance node must meet (all of them: one node selector
    /// term). Empty for none.
    #[serde(default)]
    pub required: Vec<NodeRequirement>,
    /// Weighted preferences; the scheduler favours nodes meeting more of them.
    #[serde(default)]
    pub preferred: Vec<NodePreference>,
}

/// One node label requirement (a `matchExpressions` entry).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeRequirement {
    /// Node label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` or `Lt`.
    pub operator: NodeOperator,
    /// Values: one or more for `In`/`NotIn`, none for `Exists`/`DoesNotExist`, one integer for
    /// `Gt`/`Lt`.
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum NodeOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

/// A weighted node preference.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodePreference {
    /// 1-100.
    pub weight: i32,
    /// Requirements the preferred nodes meet (all of them).
    pub match_expressions: Vec<NodeRequirement>,
}
