//! The one spelling of an enum value: the name serde gives it.
//!
//! Spec and IR enums spell their values with serde attributes (`rename_all = "snake_case"`,
//! `"UPPERCASE"`). Whatever writes a value as specs spell it (diagnostics, `name()` on the IR's
//! enums, and through them the catalog, the CLI, the TypeScript and the SQL) reads it back from
//! serde here, so no second table of names can drift from the serialized form.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

/// The serde name of a unit enum variant: `half_even` for `RoundMode::HalfEven`, `GET` for
/// `HttpMethod::Get`.
///
/// # Panics
///
/// When `value` does not serialize as a unit variant; call it on enums whose variants carry no
/// data.
pub fn variant_name<T: Serialize>(value: &T) -> &'static str {
    match value.serialize(UnitVariant) {
        Ok(name) => name,
        Err(NotUnitVariant) => panic!(
            "`{}` does not serialize as a unit variant",
            std::any::type_name::<T>()
        ),
    }
}

/// A serializer that accepts a unit variant and nothing else.
struct UnitVariant;

#[derive(Debug)]
struct NotUnitVariant;

impl fmt::Display for NotUnitVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a unit variant")
    }
}

impl std::error::Error for NotUnitVariant {}

impl ser::Error for NotUnitVariant {
    fn custom<M: fmt::Display>(_: M) -> Self {
        NotUnitVariant
    }
}

type Never = Impossible<&'static str, NotUnitVariant>;

/// Methods that refuse every value they are given.
macro_rules! refuse {
    ($($method:ident($($arg:ty),*) -> $ok:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ok, NotUnitVariant> {
            Err(NotUnitVariant)
        })*
    };
}

impl ser::Serializer for UnitVariant {
    type Ok = &'static str;
    type Error = NotUnitVariant;
    type SerializeSeq = Never;
    type SerializeTuple = Never;
    type SerializeTupleStruct = Never;
    type SerializeTupleVariant = Never;
    type SerializeMap = Never;
    type SerializeStruct = Never;
    type SerializeStructVariant = Never;

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<&'static str, NotUnitVariant> {
        Ok(variant)
    }

    refuse! {
        serialize_bool(bool) -> &'static str;
        serialize_i8(i8) -> &'static str;
        serialize_i16(i16) -> &'static str;
        serialize_i32(i32) -> &'static str;
        serialize_i64(i64) -> &'static str;
        serialize_u8(u8) -> &'static str;
        serialize_u16(u16) -> &'static str;
        serialize_u32(u32) -> &'static str;
        serialize_u64(u64) -> &'static str;
        serialize_f32(f32) -> &'static str;
        serialize_f64(f64) -> &'static str;
        serialize_char(char) -> &'static str;
        serialize_str(&str) -> &'static str;
        serialize_bytes(&[u8]) -> &'static str;
        serialize_none() -> &'static str;
        serialize_unit() -> &'static str;
        serialize_unit_struct(&'static str) -> &'static str;
        serialize_seq(Option<usize>) -> Never;
        serialize_tuple(usize) -> Never;
        serialize_tuple_struct(&'static str, usize) -> Never;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Never;
        serialize_map(Option<usize>) -> Never;
        serialize_struct(&'static str, usize) -> Never;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Never;
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<&'static str, NotUnitVariant> {
        Err(NotUnitVariant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, NotUnitVariant> {
        Err(NotUnitVariant)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, NotUnitVariant> {
        Err(NotUnitVariant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{HttpMethod, RoundMode};

    #[test]
    fn unit_variants_are_spelled_as_serialized() {
        for v in [RoundMode::Ceil, RoundMode::HalfEven] {
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::Value::from(variant_name(&v))
            );
        }
        assert_eq!(variant_name(&HttpMethod::Get), "GET");
    }

    #[test]
    #[should_panic(expected = "does not serialize as a unit variant")]
    fn other_values_are_refused() {
        variant_name(&"text");
    }
}
