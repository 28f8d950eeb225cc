//! The only module that reads or writes YAML.
//!
//! Values files are read into a [`Tree`] that remembers where every node came from (file, line,
//! column), so that layering and validation can point at the exact spot a user has to fix. The
//! event parser is `granit-parser` (the parser behind `serde-saphyr`); large trusted files (CRDs)
//! are read with `serde-saphyr`. Typed objects are written by [`emit`], which quotes every string
//! a YAML 1.1 or 1.2 reader could take for another type (`on`, `yes`, `0755`, `~`, ...).

use serde::Serialize;

mod de;
mod emit;
pub mod packed;
mod tree;

pub use tree::*;

impl Tree {
    /// The value as plain JSON, for schema validation and typed deserialization.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.node {
            Node::Null => serde_json::Value::Null,
            Node::Bool(b) => serde_json::Value::Bool(*b),
            Node::Int(i) => serde_json::Value::from(*i),
            Node::Float(x) => serde_json::Number::from_f64(*x)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Node::Str(s) => serde_json::Value::String(s.to_string()),
            Node::Seq(items) => serde_json::Value::Array(items.iter().map(Tree::to_json).collect()),
            Node::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Serializes one typed object as a YAML document (without the `---` separator).
pub fn object_to_string<T: Serialize>(object: &T) -> Result<String, String> {
    emit::to_string(object)
}

/// Appends one typed object to `out` as a YAML document (without the `---` separator).
pub fn write_object<T: Serialize>(out: &mut String, object: &T) -> Result<(), String> {
    emit::write_document(out, object)
}

/// Parses a trusted multi-document file such as a CRD (which can be megabytes) into JSON values.
pub fn large_documents(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 50_000_000,
            max_nodes: 50_000_000,
            max_total_scalar_bytes: 512 * 1024 * 1024,
        },
    };
    serde_saphyr::from_multiple_with_options(text, options).map_err(|e| e.to_string())
}
