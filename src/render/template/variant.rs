//! Enums in a filled template: a string is a unit variant, a map of one entry any other kind.

use serde::de::{self, DeserializeSeed, Deserializer as _, EnumAccess, VariantAccess, Visitor};
use serde_json::Error;

use super::fill::Filled;

/// An enum written as a map with one entry: `{"variant": value}`.
pub(super) struct Variant<'de> {
    pub variant: &'de str,
    pub value: Filled<'de>,
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
