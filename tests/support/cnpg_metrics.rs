//! CloudNativePG's monitoring queries (the `cnpg-default-monitoring` ConfigMap format), read the
//! way the instance manager reads them, and the Prometheus metric names they export.
//!
//! Shared by `tests/postgres.rs` (which runs the queries on real servers) and
//! `tests/monitoring_fixture.rs` (which checks the names), and meant for any test that checks an
//! alert expression against what CloudNativePG really exports: an alert on a metric no query
//! produces never fires, and nothing else would notice.
//!
//! Everything here follows CloudNativePG v1.30.0 (the fixture's tag, see `tests/fixtures/README.md`):
//!
//! * parsing: `pkg/management/postgres/metrics/parser.go` (`UserQuery`, `ColumnMapping`);
//! * names: `QueriesCollector.ParseQueries` (collector.go) gives a query the namespace
//!   `cnpg_<name: override, else the key>` (the ConfigMap path; only the hard-coded
//!   `DefaultQueries` of pg_collector.go use the key), and `ColumnMapping.ToMetricMap`
//!   (mappings.go) names a column `<namespace>_<column name: override, else the column>`,
//!   DURATION adding `_milliseconds`; LABEL and DISCARD columns export nothing;
//! * `runonserver`: a Masterminds semver constraint checked against `server_version_num` read as
//!   `major.(num/100 % 100).(num % 100)` (`utils.parseVersionNum`), so 17.2 is `17.0.2`.
//!
//! Not here: the exporter's hard-coded metrics (`cnpg_collector_*` from pg_collector.go, including
//! the built-in `collector` query's `cnpg_collector_lo_pages`), which do not come from a queries
//! file.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

/// CloudNativePG's default monitoring ConfigMap at v1.30.0.
pub const FIXTURE: &str = include_str!("../fixtures/cnpg-default-monitoring.yaml");

/// The collector name CloudNativePG gives the queries collector (`NewQueriesCollector("cnpg", ...)`
/// in internal/management/controller/instance_controller.go): every metric's prefix.
pub const NAMESPACE: &str = "cnpg";

/// One query of a queries document (`metrics.UserQuery`). Unknown fields are refused, unlike Go's
/// YAML decoder: a field a newer fixture adds must be understood here before the tests trust it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    pub query: String,
    #[serde(default)]
    pub predicate_query: Option<String>,
    pub metrics: Vec<BTreeMap<String, ColumnMapping>>,
    /// The old spelling of `primary`; CloudNativePG honours both.
    #[serde(default)]
    pub master: bool,
    #[serde(default)]
    pub primary: bool,
    #[serde(default)]
    pub cache_seconds: Option<u64>,
    #[serde(default)]
    pub runonserver: Option<String>,
    #[serde(default)]
    pub target_databases: Vec<String>,
    /// Overrides the key in the metric namespace.
    #[serde(default)]
    pub name: Option<String>,
}

impl UserQuery {
    /// Whether the collector runs it on primaries only.
    pub fn primary_only(&self) -> bool {
        self.primary || self.master
    }

    /// `cnpg_<name override or key>`.
    pub fn namespace(&self, key: &str) -> String {
        format!("{NAMESPACE}_{}", self.name.as_deref().unwrap_or(key))
    }

    /// The `(column, mapping)` pairs in the order of `metrics:`.
    pub fn columns(&self) -> impl Iterator<Item = (&String, &ColumnMapping)> {
        self.metrics.iter().flat_map(|m| m.iter())
    }

    /// The result columns the collector maps (its `MetricMapSet` keys): every column of
    /// `metrics:`, and for a HISTOGRAM also `<column>_bucket`, `_sum` and `_count`. The collector
    /// exports nothing at all for a query whose result has a different number of columns
    /// (`computeMetrics`: "Columns number mismatch"), so the result must have exactly these.
    pub fn mapped_columns(&self) -> BTreeSet<String> {
        let mut columns = BTreeSet::new();
        for (column, mapping) in self.columns() {
            columns.insert(column.clone());
            if mapping.usage == Usage::Histogram {
                for suffix in ["_bucket", "_sum", "_count"] {
                    columns.insert(format!("{column}{suffix}"));
                }
            }
        }
        columns
    }

    /// The LABEL columns, in order: the labels of every metric of the query.
    pub fn labels(&self) -> Vec<String> {
        self.columns()
            .filter(|(_, m)| m.usage == Usage::Label)
            .map(|(c, _)| c.clone())
            .collect()
    }
}

/// How a result column is used (`metrics.ColumnMapping`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    pub usage: Usage,
    #[serde(default)]
    pub description: Option<String>,
    /// Text value to number, for MAPPEDMETRIC.
    #[serde(default)]
    pub metric_mapping: BTreeMap<String, f64>,
    /// Parsed by CloudNativePG but not used by the collector at v1.30.0.
    #[serde(default)]
    pub pg_version: Option<String>,
    /// Overrides the column in the metric name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `metrics.ColumnUsage`. An unknown usage is a parse error here; CloudNativePG would silently
/// map nothing for the column (and then, by the column count, export nothing for the query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Usage {
    Discard,
    Label,
    Counter,
    Gauge,
    Mappedmetric,
    Duration,
    Histogram,
}

/// One metric name a query exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedMetric {
    /// The series name as Prometheus stores it (a histogram's `_bucket`, `_sum`, `_count`).
    pub name: String,
    /// The key of the query in the queries document.
    pub query: String,
    pub usage: Usage,
    pub labels: Vec<String>,
    /// The query's `runonserver` constraint, if any.
    pub runonserver: Option<String>,
}

/// The queries document inside a `cnpg-default-monitoring`-style ConfigMap (`data.queries`).
pub fn parse_queries(fixture_text: &str) -> Result<BTreeMap<String, UserQuery>, String> {
    #[derive(Deserialize)]
    struct ConfigMap {
        data: BTreeMap<String, String>,
    }
    let config_map: ConfigMap =
        serde_saphyr::from_str(fixture_text).map_err(|e| format!("the ConfigMap: {e}"))?;
    let queries = config_map
        .data
        .get("queries")
        .ok_or("the ConfigMap has no data.queries")?;
    serde_saphyr::from_str(queries).map_err(|e| format!("data.queries: {e}"))
}

/// Every metric the queries export, on any server version.
pub fn exported_metrics(queries: &BTreeMap<String, UserQuery>) -> Vec<ExportedMetric> {
    let mut metrics = Vec::new();
    for (key, query) in queries {
        let namespace = query.namespace(key);
        let labels = query.labels();
        for (column, mapping) in query.columns() {
            let base = format!("{namespace}_{}", mapping.name.as_deref().unwrap_or(column));
            let names = match mapping.usage {
                Usage::Discard | Usage::Label => Vec::new(),
                Usage::Counter | Usage::Gauge | Usage::Mappedmetric => vec![base],
                Usage::Duration => vec![format!("{base}_milliseconds")],
                // A const histogram is exposed as these three series; PromQL never sees `base`.
                Usage::Histogram => ["_bucket", "_sum", "_count"]
                    .iter()
                    .map(|suffix| format!("{base}{suffix}"))
                    .collect(),
            };
            for name in names {
                metrics.push(ExportedMetric {
                    name,
                    query: key.clone(),
                    usage: mapping.usage,
                    labels: labels.clone(),
                    runonserver: query.runonserver.clone(),
                });
            }
        }
    }
    metrics
}

/// Every metric name CloudNativePG exports from the queries ConfigMap `fixture_text`, on any
/// server version (a name some query exports only on some majors is in).
///
/// Panics when the text does not parse: callers pass a checked-in fixture.
pub fn exported_metric_names(fixture_text: &str) -> BTreeSet<String> {
    let queries = parse_queries(fixture_text).unwrap_or_else(|e| panic!("{e}"));
    exported_metrics(&queries)
        .into_iter()
        .map(|m| m.name)
        .collect()
}

/// The names exported by a server of `major` (its `runonserver` constraints evaluated against
/// `major.0.0`, which decides every constraint written at a major boundary, as the fixture's are).
pub fn exported_metric_names_for_major(fixture_text: &str, major: u64) -> BTreeSet<String> {
    let queries = parse_queries(fixture_text).unwrap_or_else(|e| panic!("{e}"));
    exported_metrics(&queries)
        .into_iter()
        .filter(|m| {
            m.runonserver.as_deref().is_none_or(|c| {
                run_on_server_matches(c, (major, 0, 0)).unwrap_or_else(|e| panic!("{e}"))
            })
        })
        .map(|m| m.name)
        .collect()
}

/// A server version as CloudNativePG reads it from `server_version_num`
/// (`utils.parseVersionNum`): 170002 is 17.0.2.
pub fn version_from_num(num: u64) -> (u64, u64, u64) {
    (num / 10000, (num / 100) % 100, num % 100)
}

/// Whether `version` satisfies a `runonserver` constraint, for the subset of Masterminds semver
/// syntax that can be evaluated exactly without its library: `||` between alternatives, commas or
/// spaces between the comparisons of one alternative, comparisons `=`, `!=`, `>`, `>=`, `<`,
/// `<=` (`=<`) against a full `X.Y.Z`. Anything else (`~`, `^`, wildcards, ranges, partial
/// versions) is an error, so a new kind of constraint in the fixture is noticed rather than
/// guessed at.
pub fn run_on_server_matches(constraint: &str, version: (u64, u64, u64)) -> Result<bool, String> {
    let mut any = false;
    for alternative in constraint.split("||") {
        let mut all = true;
        // `op version` pairs; spaces may sit between the operator and its version, and
        // between comparisons (as may commas).
        let mut comparisons = Vec::new();
        let mut rest = alternative.trim_start_matches([' ', ',']);
        while !rest.is_empty() {
            let op_len = rest
                .find(|c: char| !"<>=!~^".contains(c))
                .unwrap_or(rest.len());
            let (op, after) = rest.split_at(op_len);
            let after = after.trim_start();
            let version_len = after.find([' ', ',']).unwrap_or(after.len());
            let (version, after) = after.split_at(version_len);
            if version.is_empty() {
                return Err(format!(
                    "runonserver {constraint:?}: no version after {op:?}"
                ));
            }
            comparisons.push((op, version));
            rest = after.trim_start_matches([' ', ',']);
        }
        if comparisons.is_empty() {
            return Err(format!("runonserver {constraint:?}: an empty alternative"));
        }
        for (op, wanted) in comparisons {
            let parts: Vec<u64> = wanted
                .split('.')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    format!("runonserver {constraint:?}: unsupported version {wanted:?}")
                })?;
            let [a, b, c] = parts[..] else {
                return Err(format!(
                    "runonserver {constraint:?}: {wanted:?} is not X.Y.Z (partial versions are not evaluated here)"
                ));
            };
            let wanted = (a, b, c);
            let ok = match op {
                "" | "=" => version == wanted,
                "!=" => version != wanted,
                ">" => version > wanted,
                ">=" | "=>" => version >= wanted,
                "<" => version < wanted,
                "<=" | "=<" => version <= wanted,
                _ => {
                    return Err(format!(
                        "runonserver {constraint:?}: operator {op:?} is not evaluated here"
                    ));
                }
            };
            all &= ok;
        }
        any |= all;
    }
    Ok(any)
}

/// Whether a `target_databases` entry is a pattern (CloudNativePG's `isPathPattern`, `[][*?]`).
pub fn is_pattern(target: &str) -> bool {
    target.contains(['[', ']', '*', '?'])
}

/// Go's `path.Match` for the patterns this evaluates exactly: `*` (any run of characters but
/// `/`), `?` (one character but `/`) and literals. Character classes are an error.
pub fn pattern_matches(pattern: &str, name: &str) -> Result<bool, String> {
    fn go(pattern: &[char], name: &[char]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some(('*', rest)) => (0..=name.len())
                .take_while(|&i| i == 0 || name[i - 1] != '/')
                .any(|i| go(rest, &name[i..])),
            Some(('?', rest)) => name.first().is_some_and(|&c| c != '/') && go(rest, &name[1..]),
            Some((c, rest)) => name.first() == Some(c) && go(rest, &name[1..]),
        }
    }
    if pattern.contains(['[', ']', '\\']) {
        return Err(format!(
            "target_databases pattern {pattern:?}: character classes and escapes are not evaluated here"
        ));
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    Ok(go(&pattern, &name))
}
