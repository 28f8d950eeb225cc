//! Templates compiled at build time: `build.rs` parses every `templates/*.json` with minijinja's
//! own parser, reads the result as one JSON document, and lowers it to the static [`Node`] tree
//! below. A render neither reads nor compiles a template, and writes no JSON text either: the
//! typed object is deserialized straight from the tree ([`Filled`]), with the context's values
//! at the holes (writing the text and parsing it back were a quarter of a render's work).
//!
//! The templates use a small part of minijinja's language, and build.rs refuses anything else:
//! `{{ name }}` stands for one whole JSON value of the context (never a piece of a string, never
//! keys), and `{% if name %}` / `{% if name is not none %}` with an optional `{% else %}` choose
//! whole map entries or sequence items by whether the value is non-null. A value can only ever
//! be a value: the guarantee JSON escaping gave the text templates holds by construction.

use std::fmt;

use serde_json::{Map, Value as Json};

use crate::plan::Lent;

mod chosen;
mod fill;
mod variant;

pub use fill::Filled;

/// One JSON value of a compiled template.
#[derive(Debug)]
pub enum Node {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(&'static str),
    Map(&'static [Entry]),
    Seq(&'static [Item]),
    /// `{{ name }}`: the named context value.
    Value(&'static str),
}

/// A map member of a compiled template.
#[derive(Debug)]
pub enum Entry {
    Field(&'static str, Node),
    /// `{% if name %}`: the first entries when the named value is not null, else the second.
    IfPresent(&'static str, &'static [Entry], &'static [Entry]),
}

/// A sequence member of a compiled template.
#[derive(Debug)]
pub enum Item {
    Element(Node),
    /// `{% if name %}`: the first items when the named value is not null, else the second.
    IfPresent(&'static str, &'static [Item], &'static [Item]),
}

/// Every template compiled by `build.rs`, as (file name, root), sorted by name.
pub const TEMPLATES: &[(&str, Node)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The compiled template named `name`.
pub fn find(name: &str) -> Option<&'static Node> {
    TEMPLATES
        .binary_search_by(|(candidate, _)| (*candidate).cmp(name))
        .ok()
        .map(|index| &TEMPLATES[index].1)
}

/// A template read a name its context does not hold (minijinja's strict undefined behaviour).
#[derive(Debug)]
pub struct Undefined(pub &'static str);

impl fmt::Display for Undefined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "undefined value: `{}` is not in the context", self.0)
    }
}

impl std::error::Error for Undefined {}

/// The template `root` filled in with `context` and `metadata` as a JSON value (what patches
/// apply to).
pub fn to_json(
    root: &'static Node,
    context: &Map<String, Json>,
    metadata: &Lent<'_>,
) -> Result<Json, serde_json::Error> {
    serde::Deserialize::deserialize(Filled::new(root, context, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OPTIONAL: Node = Node::Map(&[
        Entry::Field("a", Node::Value("a")),
        Entry::IfPresent("b", &[Entry::Field("b", Node::Value("b"))], &[]),
        Entry::IfPresent("c", &[], &[Entry::Field("c", Node::Str("absent"))]),
        Entry::Field(
            "list",
            Node::Seq(&[
                Item::Element(Node::U64(1)),
                Item::IfPresent(
                    "b",
                    &[Item::Element(Node::I64(-2))],
                    &[Item::Element(Node::F64(0.5))],
                ),
                Item::Element(Node::Null),
                Item::Element(Node::Bool(true)),
            ]),
        ),
    ]);

    fn filled(context: &Json) -> Result<Json, serde_json::Error> {
        let metadata = crate::plan::Metadata {
            name: "unused".into(),
            namespace: None,
            component: "test",
            labels: std::collections::BTreeMap::new(),
            annotations: std::collections::BTreeMap::new(),
        };
        let lent = Lent {
            metadata: &metadata,
            base_labels: &metadata.labels,
            namespace: "unused",
        };
        to_json(&OPTIONAL, context.as_object().expect("a map"), &lent)
    }

    #[test]
    fn holes_take_the_context_values_and_null_chooses_the_other_branch() {
        let context = json!({"a": "x\"y\n<", "b": [1, {"k": false}], "c": null});
        assert_eq!(
            filled(&context).expect("fills"),
            json!({"a": "x\"y\n<", "b": [1, {"k": false}], "c": "absent", "list": [1, -2, null, true]})
        );
        // Empty collections and false are values, not absence (minijinja sees their JSON text).
        let context = json!({"a": null, "b": [], "c": false});
        assert_eq!(
            filled(&context).expect("fills"),
            json!({"a": null, "b": [], "list": [1, -2, null, true]})
        );
        let context = json!({"a": 1, "b": null, "c": null});
        assert_eq!(
            filled(&context).expect("fills"),
            json!({"a": 1, "c": "absent", "list": [1, 0.5, null, true]})
        );
    }

    #[test]
    fn a_name_missing_from_the_context_is_an_error() {
        let error = filled(&json!({"a": 1, "b": null})).expect_err("c is undefined");
        assert_eq!(
            error.to_string(),
            "undefined value: `c` is not in the context"
        );
    }

    #[test]
    fn every_shipped_template_is_compiled_and_found() {
        assert!(
            TEMPLATES.len() >= 20,
            "build.rs compiled {} templates",
            TEMPLATES.len()
        );
        assert!(
            TEMPLATES.windows(2).all(|pair| pair[0].0 < pair[1].0),
            "sorted for find"
        );
        for (name, _) in TEMPLATES {
            assert!(find(name).is_some(), "{name}");
        }
        assert!(find("no-such-template.json").is_none());
    }
}
