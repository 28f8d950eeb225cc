//! Templates compiled at build time: `build.rs` parses every `templates/*.json` with minijinja's
//! own parser and lowers it to the static [`Segment`] tables below, so a render neither reads
//! nor compiles a template (compiling took a quarter of a default render's instructions).
//!
//! The templates use a small part of minijinja's language, and build.rs refuses anything else:
//! `{{ name }}` writes a context value as its JSON text (what minijinja's JSON auto-escaping
//! writes), and `{% if name %}` / `{% if name is not none %}` with an optional `{% else %}`
//! choose by whether the value is non-null. Whitespace control (`{%-`) is applied by minijinja's
//! lexer at build time, so the tables hold the text exactly as minijinja would write it.

use std::fmt;

use serde_json::{Map, Value as Json};

/// One piece of a compiled template.
#[derive(Debug)]
pub enum Segment {
    /// Literal template text.
    Text(&'static str),
    /// `{{ name }}`: the named context value as JSON text (`null` when it is null).
    Value(&'static str),
    /// `{% if name %}`: the first body when the named value is not null, else the second.
    IfPresent(&'static str, &'static [Segment], &'static [Segment]),
}

/// Every template compiled by `build.rs`, as (file name, segments), sorted by name.
pub const TEMPLATES: &[(&str, &[Segment])] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The compiled template named `name`.
pub fn find(name: &str) -> Option<&'static [Segment]> {
    TEMPLATES
        .binary_search_by(|(candidate, _)| (*candidate).cmp(name))
        .ok()
        .map(|index| TEMPLATES[index].1)
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

/// Writes `segments` with `context` into `out`.
pub fn render(
    segments: &[Segment],
    context: &Map<String, Json>,
    out: &mut Vec<u8>,
) -> Result<(), Undefined> {
    for segment in segments {
        match segment {
            Segment::Text(text) => out.extend_from_slice(text.as_bytes()),
            Segment::Value(name) => {
                let value = context.get(*name).ok_or(Undefined(name))?;
                serde_json::to_writer(&mut *out, value).expect("a Vec<u8> takes every write");
            }
            Segment::IfPresent(name, then, otherwise) => {
                let value = context.get(*name).ok_or(Undefined(name))?;
                render(if value.is_null() { otherwise } else { then }, context, out)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OPTIONAL: &[Segment] = &[
        Segment::Text("{\"a\": "),
        Segment::Value("a"),
        Segment::IfPresent("b", &[Segment::Text(", \"b\": "), Segment::Value("b")], &[]),
        Segment::IfPresent("c", &[], &[Segment::Text(", \"c\": \"absent\"")]),
        Segment::Text("}"),
    ];

    fn rendered(context: &Json) -> Result<String, Undefined> {
        let mut out = Vec::new();
        render(OPTIONAL, context.as_object().expect("a map"), &mut out)?;
        Ok(String::from_utf8(out).expect("JSON text"))
    }

    #[test]
    fn values_are_written_as_json_and_null_chooses_the_other_branch() {
        let context = json!({"a": "x\"y\n<", "b": [1, {"k": false}], "c": null});
        assert_eq!(
            rendered(&context).expect("renders"),
            r#"{"a": "x\"y\n<", "b": [1,{"k":false}], "c": "absent"}"#
        );
        // Empty collections and false are values, not absence (minijinja sees their JSON text).
        let context = json!({"a": null, "b": [], "c": false});
        assert_eq!(
            rendered(&context).expect("renders"),
            r#"{"a": null, "b": []}"#
        );
    }

    #[test]
    fn a_name_missing_from_the_context_is_an_error() {
        let error = rendered(&json!({"a": 1, "b": null})).expect_err("c is undefined");
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
