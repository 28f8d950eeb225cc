//! Deserializing straight from a [`Tree`], without first copying it into a `serde_json::Value`
//! (that copy was a twelfth of a default render's instructions, BENCHMARKS.md).
//!
//! It visits exactly what serde_json's `&Value` deserializer visits for [`Tree::to_json`] of the
//! same tree: integers as `u64` when not negative, non-finite floats as null, strings borrowed,
//! enums as a string or a one-entry map. Its errors are terse and name no path, so callers that
//! explain a failure go through `to_json` and serde_json again ([`crate::values`] does).

use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::{Node, Tree};

/// Why a tree did not fit the type asked for.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl<'de> de::Deserializer<'de> for &'de Tree {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(*b),
            Node::Int(i) => match u64::try_from(*i) {
                Ok(positive) => visitor.visit_u64(positive),
                Err(_) => visitor.visit_i64(*i),
            },
            Node::Float(x) if x.is_finite() => visitor.visit_f64(*x),
            Node::Float(_) => visitor.visit_unit(),
            Node::Str(s) => visitor.visit_borrowed_str(s),
            Node::Seq(items) => {
                let mut access = SeqAccess(items.iter());
                let value = visitor.visit_seq(&mut access)?;
                match access.0.len() {
                    0 => Ok(value),
                    _ => Err(de::Error::invalid_length(items.len(), &"fewer elements")),
                }
            }
            Node::Map(entries) => {
                let mut access = MapAccess {
                    entries: entries.iter(),
                    value: None,
                };
                let value = visitor.visit_map(&mut access)?;
                match access.entries.len() {
                    0 => Ok(value),
                    _ => Err(de::Error::invalid_length(entries.len(), &"fewer elements")),
                }
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node {
            Node::Str(variant) => visitor.visit_enum(variant.as_ref().into_deserializer()),
            Node::Map(entries) if entries.len() == 1 => {
                let (variant, value) = &entries[0];
                visitor.visit_enum(EnumAccess { variant, value })
            }
            _ => Err(de::Error::custom(format!(
                "expected an enum as a string or a map with one key, found {}",
                self.kind_name()
            ))),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct SeqAccess<'de>(std::slice::Iter<'de, Tree>);

impl<'de> de::SeqAccess<'de> for SeqAccess<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|item| seed.deserialize(item)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapAccess<'de> {
    entries: std::slice::Iter<'de, (super::Text, Tree)>,
    value: Option<&'de Tree>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a map value asked for before its key"))?;
        seed.deserialize(value)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct EnumAccess<'de> {
    variant: &'de str,
    value: &'de Tree,
}

impl<'de> de::EnumAccess<'de> for EnumAccess<'de> {
    type Error = Error;
    type Variant = &'de Tree;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, &'de Tree), Error> {
        let variant = seed.deserialize(BorrowedStrDeserializer::<Error>::new(self.variant))?;
        Ok((variant, self.value))
    }
}

impl<'de> de::VariantAccess<'de> for &'de Tree {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match &self.node {
            Node::Null => Ok(()),
            _ => Err(de::Error::custom("expected no value for a unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde::Deserialize;

    use super::*;
    use crate::yaml::parse_values;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Sample {
        name: String,
        count: u32,
        ratio: f64,
        offset: i64,
        missing: Option<String>,
        nothing: Option<u8>,
        list: Vec<u16>,
        mode: Mode,
        tagged: Tagged,
        either: Either,
        map: std::collections::BTreeMap<String, bool>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "camelCase")]
    enum Mode {
        Fast,
        Careful,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "camelCase")]
    enum Tagged {
        Limit(u32),
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(i64),
        Text(String),
    }

    fn tree(text: &str) -> Tree {
        parse_values(&Arc::from("test.yaml"), text).expect("parses")
    }

    /// The same result as deserializing `to_json` with serde_json, success or failure.
    fn agrees(text: &str) {
        let tree = tree(text);
        let direct = Sample::deserialize(&tree).map_err(|e| e.to_string());
        let through_json = Sample::deserialize(&tree.to_json()).map_err(|e| e.to_string());
        assert_eq!(
            direct.is_ok(),
            through_json.is_ok(),
            "{text}\n{direct:?}\n{through_json:?}"
        );
        if let (Ok(direct), Ok(through_json)) = (direct, through_json) {
            assert_eq!(direct, through_json, "{text}");
        }
    }

    const GOOD: &str = "name: a\ncount: 3\nratio: 2\noffset: -4\nnothing: null\nlist: [1, 2]\n\
                        mode: careful\ntagged: {limit: 5}\neither: x\nmap: {k: true}\n";

    #[test]
    fn deserializes_what_serde_json_deserializes_from_to_json() {
        agrees(GOOD);
        agrees(&GOOD.replace("either: x", "either: -7"));
        agrees(&GOOD.replace("ratio: 2", "ratio: .inf"));
        let sample = Sample::deserialize(&tree(GOOD)).expect("fits");
        assert_eq!((sample.count, sample.ratio, sample.offset), (3, 2.0, -4));
        assert_eq!((sample.missing, sample.nothing), (None, None));
        assert_eq!(sample.mode, Mode::Careful);
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        for (from, to) in [
            ("count: 3", "count: -3"),
            ("count: 3", "count: '3'"),
            ("count: 3", "count: 3.5"),
            ("list: [1, 2]", "list: [1, 70000]"),
            ("mode: careful", "mode: reckless"),
            ("mode: careful", "mode: {careful: 1}"),
            ("tagged: {limit: 5}", "tagged: {limit: 5, other: 1}"),
            ("name: a", "name: a\nextra: 1"),
            ("name: a", "name: [a]"),
        ] {
            agrees(&GOOD.replace(from, to));
        }
    }
}
