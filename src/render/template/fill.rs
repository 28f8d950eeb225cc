//! A compiled template as a serde `Deserializer`: the typed object is built straight from the
//! template's tree, with the context's JSON values at the holes. It visits what serde_json's
//! text deserializer visits for the JSON text the template would write, so an object types
//! exactly as it did from that text.
//!
//! The same deserializer reads plain JSON values (the holes, patched objects, `extraObjects`),
//! as serde_json's `&Value` deserializer does: each typed object then has one `Deserialize`
//! instance in the binary, not one per deserializer (a second one for `&Value` added 4 MB of
//! code, and the pages a render touches with it).

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Error, Map, Value as Json};

use super::chosen::Chosen;
use super::variant::Variant;
use super::{Entry, Item, Node, Undefined};
use crate::plan::{Labels, Lent};

/// The hole every template fills with the object's metadata, lent by the plan.
const METADATA: &str = "metadata";

/// A template node and the context its holes are filled from, or a JSON value.
#[derive(Clone, Copy)]
pub struct Filled<'de> {
    at: At<'de>,
    /// `None` for a JSON value, which has no holes.
    context: Option<&'de Map<String, Json>>,
    /// What `{{ metadata }}` stands for; `None` for a JSON value.
    metadata: Option<&'de Lent<'de>>,
}

#[derive(Clone, Copy)]
enum At<'de> {
    Template(&'static Node),
    Json(&'de Json),
    /// The lent metadata, its labels, its annotations, and a string of them: visited as the
    /// JSON of `Lent::to_json` would be.
    Metadata,
    Labels,
    Annotations,
    Str(&'de str),
}

impl<'de> Filled<'de> {
    pub fn new(
        node: &'static Node,
        context: &'de Map<String, Json>,
        metadata: &'de Lent<'de>,
    ) -> Self {
        Self {
            at: At::Template(node),
            context: Some(context),
            metadata: Some(metadata),
        }
    }

    /// A JSON value to deserialize, as serde_json's `&Value` deserializer does.
    pub fn json(value: &'de Json) -> Self {
        Self {
            at: At::Json(value),
            context: None,
            metadata: None,
        }
    }

    fn with(self, at: At<'de>) -> Self {
        Self { at, ..self }
    }

    /// The context value a hole stands for; every name a template reads must be in it, but
    /// `metadata`, which the plan lends.
    fn hole(self, name: &'static str) -> Result<Self, Error> {
        if name == METADATA && self.metadata.is_some() {
            return Ok(self.with(At::Metadata));
        }
        let value = self
            .context
            .and_then(|context| context.get(name))
            .ok_or_else(|| de::Error::custom(Undefined(name)))?;
        Ok(self.with(At::Json(value)))
    }

    /// What serde_json names this value in an "invalid type" error.
    fn unexpected(&self) -> de::Unexpected<'de> {
        use de::Unexpected;
        match self.at {
            At::Template(Node::Null) | At::Json(Json::Null) => Unexpected::Unit,
            At::Template(Node::Bool(b)) => Unexpected::Bool(*b),
            At::Template(Node::U64(n)) => Unexpected::Unsigned(*n),
            At::Template(Node::I64(n)) => Unexpected::Signed(*n),
            At::Template(Node::F64(n)) => Unexpected::Float(*n),
            At::Template(Node::Str(text)) => Unexpected::Str(text),
            At::Template(Node::Map(_))
            | At::Json(Json::Object(_))
            | At::Metadata
            | At::Labels
            | At::Annotations => Unexpected::Map,
            At::Template(Node::Seq(_)) | At::Json(Json::Array(_)) => Unexpected::Seq,
            At::Template(Node::Value(_)) => Unexpected::Other("a template hole"),
            At::Json(Json::Bool(b)) => Unexpected::Bool(*b),
            At::Json(Json::Number(n)) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(n), _, _) => Unexpected::Unsigned(n),
                (None, Some(n), _) => Unexpected::Signed(n),
                (None, None, n) => Unexpected::Float(n.unwrap_or(f64::NAN)),
            },
            At::Json(Json::String(text)) => Unexpected::Str(text),
            At::Str(text) => Unexpected::Str(text),
        }
    }

    /// The lent metadata; only a template's `{{ metadata }}` leads to it.
    fn lent(self) -> Result<&'de Lent<'de>, Error> {
        self.metadata
            .ok_or_else(|| de::Error::custom("lent metadata outside a template"))
    }

    /// The entries of a map that is not a template's.
    fn entries(self) -> Result<Fields<'de>, Error> {
        Ok(match self.at {
            At::Json(Json::Object(entries)) => Fields::Json(entries.iter()),
            At::Metadata => Fields::Metadata(0),
            At::Labels => Fields::Labels(self.lent()?.labels()),
            At::Annotations => Fields::Annotations(self.lent()?.annotations()),
            _ => return Err(de::Error::invalid_type(self.unexpected(), &"a map")),
        })
    }

    /// Whether the condition `name` holds: the value is there and not null.
    pub(super) fn present(self, name: &'static str) -> Result<bool, Error> {
        Ok(!matches!(self.hole(name)?.at, At::Json(Json::Null)))
    }
}

/// serde_json's error for a map that is not an enum.
fn not_one_key() -> Error {
    de::Error::invalid_value(de::Unexpected::Map, &"map with a single key")
}

/// A string as an enum variant (a unit variant written as a string).
fn str_enum<'de, V: Visitor<'de>>(text: &'de str, visitor: V) -> Result<V::Value, Error> {
    de::value::BorrowedStrDeserializer::<Error>::new(text).deserialize_enum("", &[], visitor)
}

impl<'de> Deserializer<'de> for Filled<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.at {
            At::Template(node) => match node {
                Node::Null => visitor.visit_unit(),
                Node::Bool(b) => visitor.visit_bool(*b),
                Node::U64(n) => visitor.visit_u64(*n),
                Node::I64(n) => visitor.visit_i64(*n),
                Node::F64(n) => visitor.visit_f64(*n),
                Node::Str(text) => visitor.visit_borrowed_str(text),
                Node::Map(entries) => {
                    self.visit_map(Fields::Template(Chosen::new(entries)), visitor)
                }
                Node::Seq(items) => self.visit_seq(Elements::Template(Chosen::new(items)), visitor),
                Node::Value(name) => self.hole(name)?.deserialize_any(visitor),
            },
            At::Json(value) => match value {
                Json::Null => visitor.visit_unit(),
                Json::Bool(b) => visitor.visit_bool(*b),
                Json::Number(n) => {
                    if let Some(n) = n.as_u64() {
                        visitor.visit_u64(n)
                    } else if let Some(n) = n.as_i64() {
                        visitor.visit_i64(n)
                    } else {
                        visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                    }
                }
                Json::String(text) => visitor.visit_borrowed_str(text),
                Json::Array(items) => self.visit_seq(Elements::Json(items.iter()), visitor),
                Json::Object(_) => self.visit_map(self.entries()?, visitor),
            },
            At::Metadata | At::Labels | At::Annotations => self.visit_map(self.entries()?, visitor),
            At::Str(text) => visitor.visit_borrowed_str(text),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.at {
            At::Template(Node::Null) | At::Json(Json::Null) => visitor.visit_none(),
            At::Template(Node::Value(name)) => self.hole(name)?.deserialize_option(visitor),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.at {
            At::Template(Node::Value(hole)) => {
                self.hole(hole)?.deserialize_newtype_struct(name, visitor)
            }
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.at {
            At::Template(Node::Str(text)) => str_enum(text, visitor),
            At::Json(Json::String(text)) => str_enum(text, visitor),
            At::Str(text) => str_enum(text, visitor),
            At::Template(Node::Value(hole)) => {
                self.hole(hole)?.deserialize_enum(name, variants, visitor)
            }
            At::Template(Node::Map([Entry::Field(variant, value)])) => {
                visitor.visit_enum(Variant {
                    variant,
                    value: self.with(At::Template(value)),
                })
            }
            At::Json(Json::Object(_)) | At::Metadata | At::Labels | At::Annotations => {
                let mut members = MapMembers {
                    fields: self.entries()?,
                    at: self,
                    pending: None,
                };
                match (members.next()?, members.next()?) {
                    (Some((variant, value)), None) => {
                        visitor.visit_enum(Variant { variant, value })
                    }
                    _ => Err(not_one_key()),
                }
            }
            At::Template(Node::Map(_)) => Err(not_one_key()),
            _ => Err(de::Error::invalid_type(self.unexpected(), &"string or map")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

impl<'de> Filled<'de> {
    /// Visits a map; serde_json refuses one that the visitor left unfinished, and so does this
    /// (with serde_json's message; a template map counts as length 0 in it).
    fn visit_map<V: Visitor<'de>>(
        self,
        fields: Fields<'de>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let len = match &fields {
            Fields::Json(entries) => Some(entries.len()),
            Fields::Template(_) => Some(0),
            // Counted only if needed: lent maps are new each time they are asked for.
            _ => None,
        };
        let mut access = MapMembers {
            fields,
            at: self,
            pending: None,
        };
        let value = visitor.visit_map(&mut access)?;
        if access.next()?.is_none() {
            return Ok(value);
        }
        let len = match len {
            Some(len) => len,
            None => MapMembers {
                fields: self.entries()?,
                at: self,
                pending: None,
            }
            .count()?,
        };
        Err(de::Error::invalid_length(len, &"fewer elements in map"))
    }

    /// Visits a sequence, refusing one the visitor left unfinished.
    fn visit_seq<V: Visitor<'de>>(
        self,
        elements: Elements<'de>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let len = match &elements {
            Elements::Json(items) => items.len(),
            Elements::Template(_) => 0,
        };
        let mut access = SeqMembers { elements, at: self };
        let value = visitor.visit_seq(&mut access)?;
        match access.next()? {
            None => Ok(value),
            Some(_) => Err(de::Error::invalid_length(len, &"fewer elements in array")),
        }
    }
}

/// Where a map's entries come from. One type for templates and JSON values alike, so that
/// each typed object's visitor is instantiated once.
enum Fields<'de> {
    Template(Chosen<Entry>),
    Json(serde_json::map::Iter<'de>),
    /// The lent metadata's keys from this index of [`METADATA_KEYS`] on.
    Metadata(usize),
    Labels(Labels<'de>),
    Annotations(std::collections::btree_map::Iter<'de, String, String>),
}

/// The keys of lent metadata, in the order of its JSON map (annotations only when there are
/// some).
const METADATA_KEYS: [&str; 4] = ["annotations", "labels", "name", "namespace"];

/// Where a sequence's items come from.
enum Elements<'de> {
    Template(Chosen<Item>),
    Json(std::slice::Iter<'de, Json>),
}

struct MapMembers<'de> {
    fields: Fields<'de>,
    /// The map itself: where its members' holes are filled from.
    at: Filled<'de>,
    /// The value of the entry whose key was just given.
    pending: Option<Filled<'de>>,
}

impl<'de> MapMembers<'de> {
    fn next(&mut self) -> Result<Option<(&'de str, Filled<'de>)>, Error> {
        Ok(match &mut self.fields {
            Fields::Template(chosen) => match chosen.next(self.at)? {
                Some(Entry::Field(key, node)) => Some((*key, self.at.with(At::Template(node)))),
                _ => None,
            },
            Fields::Json(entries) => entries
                .next()
                .map(|(key, value)| (key.as_str(), self.at.with(At::Json(value)))),
            Fields::Metadata(index) => {
                let lent = self.at.lent()?;
                if *index == 0 && lent.metadata.annotations.is_empty() {
                    *index = 1;
                }
                let at = match *index {
                    0 => At::Annotations,
                    1 => At::Labels,
                    2 => At::Str(lent.name()),
                    3 => At::Str(lent.namespace()),
                    _ => return Ok(None),
                };
                let key = METADATA_KEYS[*index];
                *index += 1;
                Some((key, self.at.with(at)))
            }
            Fields::Labels(labels) => labels
                .next()
                .map(|(key, value)| (key, self.at.with(At::Str(value)))),
            Fields::Annotations(annotations) => annotations
                .next()
                .map(|(key, value)| (key.as_str(), self.at.with(At::Str(value)))),
        })
    }

    /// How many entries are left.
    fn count(mut self) -> Result<usize, Error> {
        let mut count = 0;
        while self.next()?.is_some() {
            count += 1;
        }
        Ok(count)
    }
}

impl<'de> MapAccess<'de> for &mut MapMembers<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.next()? else {
            return Ok(None);
        };
        self.pending = Some(value);
        seed.deserialize(de::value::BorrowedStrDeserializer::<Error>::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .pending
            .take()
            .ok_or_else(|| de::Error::custom("a map value asked for before its key"))?;
        seed.deserialize(value)
    }
}

struct SeqMembers<'de> {
    elements: Elements<'de>,
    at: Filled<'de>,
}

impl<'de> SeqMembers<'de> {
    fn next(&mut self) -> Result<Option<Filled<'de>>, Error> {
        Ok(match &mut self.elements {
            Elements::Template(chosen) => match chosen.next(self.at)? {
                Some(Item::Element(node)) => Some(self.at.with(At::Template(node))),
                _ => None,
            },
            Elements::Json(items) => items.next().map(|item| self.at.with(At::Json(item))),
        })
    }
}

impl<'de> SeqAccess<'de> for &mut SeqMembers<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.next()? {
            Some(element) => seed.deserialize(element).map(Some),
            None => Ok(None),
        }
    }
}
