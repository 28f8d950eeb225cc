//! A compiled template as a serde `Deserializer`: the typed object is built straight from the
//! template's tree, with the context's JSON values at the holes. It visits what serde_json's
//! text deserializer visits for the JSON text the template would write, so an object types
//! exactly as it did from that text.
//!
//! The same deserializer reads plain JSON values (the holes, patched objects, `extraObjects`),
//! as serde_json's `&Value` deserializer does: each typed object then has one `Deserialize`
//! instance in the binary, not one per deserializer (a second one for `&Value` added 4 MB of
//! code, and the pages a render touches with it).

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde_json::{Error, Map, Value as Json};

use super::{Entry, Item, Node, Undefined};

/// How deep `{% if %}` blocks may nest in one map or sequence (build.rs's templates nest one).
const DEPTH: usize = 4;

/// A template node and the context its holes are filled from, or a JSON value.
#[derive(Clone, Copy)]
pub struct Filled<'de> {
    at: At<'de>,
    /// `None` for a JSON value, which has no holes.
    context: Option<&'de Map<String, Json>>,
}

#[derive(Clone, Copy)]
enum At<'de> {
    Template(&'static Node),
    Json(&'de Json),
}

impl<'de> Filled<'de> {
    pub fn new(node: &'static Node, context: &'de Map<String, Json>) -> Self {
        Self {
            at: At::Template(node),
            context: Some(context),
        }
    }

    /// A JSON value to deserialize, as serde_json's `&Value` deserializer does.
    pub fn json(value: &'de Json) -> Self {
        Self {
            at: At::Json(value),
            context: None,
        }
    }

    fn with(self, at: At<'de>) -> Self {
        Self { at, ..self }
    }

    /// The context value a hole stands for; every name a template reads must be in it.
    fn hole(self, name: &'static str) -> Result<Self, Error> {
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
            At::Template(Node::Map(_)) | At::Json(Json::Object(_)) => Unexpected::Map,
            At::Template(Node::Seq(_)) | At::Json(Json::Array(_)) => Unexpected::Seq,
            At::Template(Node::Value(_)) => Unexpected::Other("a template hole"),
            At::Json(Json::Bool(b)) => Unexpected::Bool(*b),
            At::Json(Json::Number(n)) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(n), _, _) => Unexpected::Unsigned(n),
                (None, Some(n), _) => Unexpected::Signed(n),
                (None, None, n) => Unexpected::Float(n.unwrap_or(f64::NAN)),
            },
            At::Json(Json::String(text)) => Unexpected::Str(text),
        }
    }

    /// Whether the condition `name` holds: the value is there and not null.
    fn present(self, name: &'static str) -> Result<bool, Error> {
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
                Json::Object(entries) => self.visit_map(Fields::Json(entries.iter()), visitor),
            },
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
            At::Template(Node::Value(hole)) => {
                self.hole(hole)?.deserialize_enum(name, variants, visitor)
            }
            At::Template(Node::Map([Entry::Field(variant, value)])) => {
                visitor.visit_enum(Variant {
                    variant,
                    value: self.with(At::Template(value)),
                })
            }
            At::Json(Json::Object(entries)) => {
                let mut entries = entries.iter();
                match (entries.next(), entries.next()) {
                    (Some((variant, value)), None) => visitor.visit_enum(Variant {
                        variant,
                        value: self.with(At::Json(value)),
                    }),
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
            Fields::Json(entries) => entries.len(),
            Fields::Template(_) => 0,
        };
        let mut access = MapMembers {
            fields,
            at: self,
            pending: None,
        };
        let value = visitor.visit_map(&mut access)?;
        match access.next()? {
            None => Ok(value),
            Some(_) => Err(de::Error::invalid_length(len, &"fewer elements in map")),
        }
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
}

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
        })
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

/// A member of a template's map or sequence: how to step into a `{% if %}`.
trait Member: Sized + 'static {
    /// The condition and branches of an `{% if %}`, or `None` for a plain member.
    fn condition(&'static self) -> Option<(&'static str, &'static [Self], &'static [Self])>;
}

impl Member for Entry {
    fn condition(&'static self) -> Option<(&'static str, &'static [Self], &'static [Self])> {
        match self {
            Entry::IfPresent(name, then, otherwise) => Some((name, then, otherwise)),
            Entry::Field(..) => None,
        }
    }
}

impl Member for Item {
    fn condition(&'static self) -> Option<(&'static str, &'static [Self], &'static [Self])> {
        match self {
            Item::IfPresent(name, then, otherwise) => Some((name, then, otherwise)),
            Item::Element(_) => None,
        }
    }
}

/// The members of a template's map or sequence in order, the chosen branch of each `{% if %}`
/// in place of it: a stack of what is left of each enclosing member list.
struct Chosen<M: 'static> {
    stack: [&'static [M]; DEPTH],
    depth: usize,
}

impl<M: Member> Chosen<M> {
    fn new(members: &'static [M]) -> Self {
        Self {
            stack: [members, &[], &[], &[]],
            depth: 1,
        }
    }

    /// The next plain member, stepping into the branches that the conditions (read in the
    /// context of `at`) choose.
    fn next(&mut self, at: Filled<'_>) -> Result<Option<&'static M>, Error> {
        while self.depth > 0 {
            let top = &mut self.stack[self.depth - 1];
            let Some((member, rest)) = top.split_first() else {
                self.depth -= 1;
                continue;
            };
            *top = rest;
            let Some((name, then, otherwise)) = member.condition() else {
                return Ok(Some(member));
            };
            let branch = if at.present(name)? { then } else { otherwise };
            if self.depth == DEPTH {
                return Err(de::Error::custom("{% if %} blocks nest too deep"));
            }
            self.stack[self.depth] = branch;
            self.depth += 1;
        }
        Ok(None)
    }
}

/// An enum written as a map with one entry: `{"variant": value}`.
struct Variant<'de> {
    variant: &'de str,
    value: Filled<'de>,
}

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = Error;
    type Variant = Filled<'de>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Filled<'de>), Error> {
        let key = de::value::BorrowedStrDeserializer::<Error>::new(self.variant);
        Ok((seed.deserialize(key)?, self.value))
    }
}

impl<'de> VariantAccess<'de> for Filled<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }
}
