//! `metadata` of a planned object. The labels every object of a database carries are held once,
//! in `Common`, and lent to each object when it is typed: a plan holds only what differs from
//! one object to the next (its name, component, extra labels and annotations). Built as JSON per
//! object, metadata was a fifth of the plan's work and a sixth of a render's allocations
//! (BENCHMARKS.md, round 7).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::collections::btree_map;
use std::iter::{Chain, Once, Peekable};
use std::ops::Bound::{Excluded, Unbounded};

use serde_json::{Map, Value as Json};

/// The label every object carries that says which part of the database it belongs to.
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";

/// What one object's metadata holds beyond the database's labels and namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub name: String,
    /// `None` for the database's namespace.
    pub namespace: Option<String>,
    /// The value of [`COMPONENT_LABEL`].
    pub component: &'static str,
    /// Labels of this object alone; they win over the database's labels and the component.
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// An object's metadata with the database's labels and namespace lent to it: what its
/// template's `{{ metadata }}` stands for.
#[derive(Debug, Clone, Copy)]
pub struct Lent<'a> {
    pub metadata: &'a Metadata,
    /// Every object's labels: the values' extra labels overlaid with the fixed ones.
    pub base_labels: &'a BTreeMap<String, String>,
    pub namespace: &'a str,
}

impl<'a> Lent<'a> {
    pub fn name(&self) -> &'a str {
        &self.metadata.name
    }

    pub fn namespace(&self) -> &'a str {
        self.metadata.namespace.as_deref().unwrap_or(self.namespace)
    }

    /// The object's labels in key order: the database's, the component, then the object's own,
    /// each winning over the ones before it on the same key.
    pub fn labels(&self) -> Labels<'a> {
        let below = (Unbounded, Excluded(COMPONENT_LABEL));
        let above = (Excluded(COMPONENT_LABEL), Unbounded);
        let shared = (self
            .base_labels
            .range::<str, _>(below)
            .map(pair as Pair<'a>))
        .chain(std::iter::once((COMPONENT_LABEL, self.metadata.component)))
        .chain(
            self.base_labels
                .range::<str, _>(above)
                .map(pair as Pair<'a>),
        );
        Labels {
            shared: shared.peekable(),
            own: self.metadata.labels.iter().map(pair as Pair<'a>).peekable(),
        }
    }

    pub fn annotations(&self) -> btree_map::Iter<'a, String, String> {
        self.metadata.annotations.iter()
    }

    /// The metadata as JSON: what the deserializer visits lent metadata as (tests compare the
    /// two; a render never builds it).
    pub fn to_json(&self) -> Json {
        let text = |pairs: &mut dyn Iterator<Item = (&str, &str)>| {
            Json::Object(
                pairs
                    .map(|(key, value)| (key.to_string(), Json::String(value.to_string())))
                    .collect(),
            )
        };
        let mut metadata = Map::new();
        if !self.metadata.annotations.is_empty() {
            let mut annotations = self.annotations().map(|(k, v)| (k.as_str(), v.as_str()));
            metadata.insert("annotations".into(), text(&mut annotations));
        }
        metadata.insert("labels".into(), text(&mut self.labels()));
        metadata.insert("name".into(), Json::String(self.name().to_string()));
        metadata.insert(
            "namespace".into(),
            Json::String(self.namespace().to_string()),
        );
        Json::Object(metadata)
    }
}

type Pair<'a> = fn((&'a String, &'a String)) -> (&'a str, &'a str);
type Pairs<'a, I> = std::iter::Map<I, Pair<'a>>;

fn pair<'a>((key, value): (&'a String, &'a String)) -> (&'a str, &'a str) {
    (key, value)
}

/// The merged labels of one object, in key order (see [`Lent::labels`]).
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    /// The database's labels with the component in its place: the same for every object but
    /// the component's value, and so chained in order without a comparison.
    #[allow(clippy::type_complexity)]
    shared: Peekable<
        Chain<
            Chain<Pairs<'a, btree_map::Range<'a, String, String>>, Once<(&'a str, &'a str)>>,
            Pairs<'a, btree_map::Range<'a, String, String>>,
        >,
    >,
    /// The object's own labels, merged in (most objects have none).
    own: Peekable<Pairs<'a, btree_map::Iter<'a, String, String>>>,
}

impl<'a> Iterator for Labels<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let Some(&(own, _)) = self.own.peek() else {
            return self.shared.next();
        };
        let Some(&(shared, _)) = self.shared.peek() else {
            return self.own.next();
        };
        match shared.cmp(own) {
            Ordering::Less => self.shared.next(),
            Ordering::Equal => {
                self.shared.next();
                self.own.next()
            }
            Ordering::Greater => self.own.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    /// The labels as inserting each source in turn into one map gives them.
    fn inserted(base: &BTreeMap<String, String>, metadata: &Metadata) -> Vec<(String, String)> {
        let mut labels = base.clone();
        labels.insert(COMPONENT_LABEL.into(), metadata.component.to_string());
        labels.extend(metadata.labels.clone());
        labels.into_iter().collect()
    }

    #[test]
    fn merged_labels_are_the_sources_inserted_in_turn() {
        let keys = [
            "a",
            "app.kubernetes.io/component",
            "app.kubernetes.io/name",
            "z",
            "",
        ];
        // Every subset of the keys in the base and in the object's own labels.
        for base_set in 0..1 << keys.len() {
            for own_set in 0..1 << keys.len() {
                let pick = |set: u32, value: &str| -> BTreeMap<String, String> {
                    (0..keys.len())
                        .filter(|i| set & (1 << i) != 0)
                        .map(|i| (keys[i].to_string(), format!("{value}{i}")))
                        .collect()
                };
                let base = pick(base_set, "base");
                let metadata = Metadata {
                    name: "n".into(),
                    namespace: None,
                    component: "cluster",
                    labels: pick(own_set, "own"),
                    annotations: BTreeMap::new(),
                };
                let lent = Lent {
                    metadata: &metadata,
                    base_labels: &base,
                    namespace: "db",
                };
                let merged: Vec<(String, String)> = lent
                    .labels()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                assert_eq!(merged, inserted(&base, &metadata), "{base_set} {own_set}");
            }
        }
    }

    #[test]
    fn metadata_as_json_has_annotations_only_when_there_are_some() {
        let base = map(&[("app.kubernetes.io/name", "postgresql")]);
        let mut metadata = Metadata {
            name: "pg-rw".into(),
            namespace: None,
            component: "pooler",
            labels: map(&[("cnpg.io/reload", "true")]),
            annotations: BTreeMap::new(),
        };
        let lent = |metadata: &Metadata| {
            Lent {
                metadata,
                base_labels: &base,
                namespace: "db",
            }
            .to_json()
        };
        assert_eq!(
            lent(&metadata),
            serde_json::json!({"name": "pg-rw", "namespace": "db", "labels": {
                "app.kubernetes.io/component": "pooler",
                "app.kubernetes.io/name": "postgresql",
                "cnpg.io/reload": "true",
            }})
        );
        metadata.namespace = Some("teleport".into());
        metadata.annotations = map(&[("a", "b")]);
        let json = lent(&metadata);
        assert_eq!(json["namespace"], "teleport");
        assert_eq!(json["annotations"], serde_json::json!({"a": "b"}));
    }
}
