//! A serde `Serializer` that writes YAML as the object serializes, with no tree in between.
//!
//! The emitter used to build a tree of every object first (and, before that, JSON text it read
//! back); building and dropping the tree was a sixth of a default render's instructions
//! (BENCHMARKS.md). Nothing needs it: a map or sequence decides its layout only when its first
//! entry arrives (`key:` then a new line) or when it ends empty (`key: {}`), so the writer keeps
//! just where the value being written sits ([`At`]). Scalars are what serde_json writes
//! (non-finite floats are null, number and boolean keys their text); the few types serde_json
//! formats its own way (`f32`, 128-bit integers, bytes) go through serde_json, value by value.

use std::fmt::Write as _;

use serde::Serialize;
use serde::ser;

use super::key::KeyWriter;
use super::{indent, write_string};

/// Why an object could not be written.
#[derive(Debug)]
pub struct Error(pub(super) String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Where a value is written.
#[derive(Clone, Copy)]
enum At {
    /// The document itself.
    Top,
    /// The value of a map entry whose key is indented by this much (`key:` is written).
    Entry(usize),
    /// An item of a sequence whose dashes are indented by this much (`-` is written).
    Item(usize),
}

impl At {
    /// The indentation of a nested map's entries, and of a literal block's lines.
    fn inner(self) -> usize {
        match self {
            At::Top => 0,
            At::Entry(width) | At::Item(width) => width + 2,
        }
    }

    /// The indentation of a nested sequence's dashes: under a key they are not indented further.
    fn items(self) -> usize {
        match self {
            At::Top => 0,
            At::Entry(width) => width,
            At::Item(width) => width + 2,
        }
    }

    /// What comes between the key or dash and a scalar or an empty collection.
    fn gap(self) -> &'static str {
        match self {
            At::Top => "",
            At::Entry(_) | At::Item(_) => " ",
        }
    }
}

/// Writes `value` at the start of a document into `out`.
pub fn write<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<(), Error> {
    value.serialize(Writer { out, at: At::Top })
}

struct Writer<'a> {
    out: &'a mut String,
    at: At,
}

// The helpers return what the Serializer methods return, so that each of those is one call.
#[allow(clippy::unnecessary_wraps)]
impl<'a> Writer<'a> {
    fn scalar(self, text: &str) -> Result<(), Error> {
        self.out.push_str(self.at.gap());
        self.out.push_str(text);
        self.out.push('\n');
        Ok(())
    }

    fn number(self, number: impl std::fmt::Display) -> Result<(), Error> {
        self.out.push_str(self.at.gap());
        let _ = write!(self.out, "{number}");
        self.out.push('\n');
        Ok(())
    }

    /// What serde_json writes for `value`, read back as a value: for the few types it formats
    /// itself (an `f32` is written with `f32` digits, then read as an `f64`).
    fn via_json<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        let text = serde_json::to_string(value).map_err(|e| Error(e.to_string()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error(e.to_string()))?;
        json.serialize(self)
    }

    fn string(self, text: &str) -> Result<(), Error> {
        self.out.push_str(self.at.gap());
        write_string(self.out, text, self.at.inner(), false);
        self.out.push('\n');
        Ok(())
    }

    fn map(self) -> MapWriter<'a> {
        MapWriter {
            out: self.out,
            at: self.at,
            entries: 0,
        }
    }

    /// Starts `{variant: ...}`, serde's shape for an enum variant with data: writes the one-entry
    /// map's key and says where its value goes (the map needs nothing written at its end).
    fn variant(self, variant: &str) -> (&'a mut String, At) {
        let mut map = self.map();
        let at = map.key(variant);
        (map.out, at)
    }
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = SeqWriter<'a>;
    type SerializeTuple = SeqWriter<'a>;
    type SerializeTupleStruct = SeqWriter<'a>;
    type SerializeTupleVariant = SeqWriter<'a>;
    type SerializeMap = MapWriter<'a>;
    type SerializeStruct = MapWriter<'a>;
    type SerializeStructVariant = MapWriter<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar(if v { "true" } else { "false" })
    }
    // Integers are written as serde_json writes them: their decimal digits.
    integers!(number; serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64);
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.via_json(&v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.via_json(&v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.via_json(&v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        match serde_json::Number::from_f64(v) {
            Some(number) => self.number(number),
            None => self.scalar("null"),
        }
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.via_json(v)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.scalar("null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.scalar("null")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.scalar("null")
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let (out, at) = self.variant(variant);
        value.serialize(Writer { out, at })
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SeqWriter<'a>, Error> {
        Ok(SeqWriter {
            out: self.out,
            at: self.at,
            items: 0,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqWriter<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqWriter<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    /// `{variant: [items]}`: the one-entry map's key is written here, the sequence follows.
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<SeqWriter<'a>, Error> {
        let (out, at) = self.variant(variant);
        Ok(SeqWriter { out, at, items: 0 })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapWriter<'a>, Error> {
        Ok(self.map())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MapWriter<'a>, Error> {
        Ok(self.map())
    }
    /// `{variant: {fields}}`: the one-entry map's key is written here, the fields follow.
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<MapWriter<'a>, Error> {
        let (out, at) = self.variant(variant);
        Ok(MapWriter {
            out,
            at,
            entries: 0,
        })
    }
}

pub struct SeqWriter<'a> {
    out: &'a mut String,
    at: At,
    items: usize,
}

impl ser::SerializeSeq for SeqWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        // The first item starts the sequence's own lines.
        if self.items == 0 && !matches!(self.at, At::Top) {
            self.out.push('\n');
        }
        self.items += 1;
        let width = self.at.items();
        indent(self.out, width);
        self.out.push('-');
        value.serialize(Writer {
            out: self.out,
            at: At::Item(width),
        })
    }
    fn end(self) -> Result<(), Error> {
        if self.items == 0 {
            self.out.push_str(self.at.gap());
            self.out.push_str("[]\n");
        }
        Ok(())
    }
}

/// Tuples, tuple structs and tuple variants are written as sequences: each trait forwards to
/// `SerializeSeq` (serde names the element method differently in each).
macro_rules! as_sequence {
    ($($trait:ident :: $method:ident),+) => {$(
        impl ser::$trait for SeqWriter<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                ser::SerializeSeq::serialize_element(self, value)
            }
            fn end(self) -> Result<(), Error> {
                ser::SerializeSeq::end(self)
            }
        }
    )+};
}

as_sequence!(
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

pub struct MapWriter<'a> {
    out: &'a mut String,
    at: At,
    entries: usize,
}

impl MapWriter<'_> {
    /// Starts an entry: the first follows the key or dash above (on the next line, or after
    /// `- `), the others get their own indented lines.
    fn start_entry(&mut self) -> At {
        let width = self.at.inner();
        match (self.entries, self.at) {
            (0, At::Top) => {}
            (0, At::Entry(_)) => {
                self.out.push('\n');
                indent(self.out, width);
            }
            (0, At::Item(_)) => self.out.push(' '),
            _ => indent(self.out, width),
        }
        self.entries += 1;
        At::Entry(width)
    }

    /// Writes `key:` and says where its value goes.
    fn key(&mut self, key: &str) -> At {
        let at = self.start_entry();
        write_string(self.out, key, 0, true);
        self.out.push(':');
        at
    }
}

impl ser::SerializeMap for MapWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.start_entry();
        key.serialize(KeyWriter { out: self.out })?;
        self.out.push(':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Writer {
            out: self.out,
            at: At::Entry(self.at.inner()),
        })
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeStruct::end(self)
    }
}

impl ser::SerializeStruct for MapWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let at = self.key(key);
        value.serialize(Writer { out: self.out, at })
    }
    fn end(self) -> Result<(), Error> {
        if self.entries == 0 {
            self.out.push_str(self.at.gap());
            self.out.push_str("{}\n");
        }
        Ok(())
    }
}

impl ser::SerializeStructVariant for MapWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeStruct::end(self)
    }
}
