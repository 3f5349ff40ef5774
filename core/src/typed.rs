//! What generated params types are built from: value conversion, field extraction, serde, the
//! two enum shapes (string values and integer values), and the types of `object` params (a
//! struct, [`object!`]) and `one_of` params (an enum of the options, [`one_of!`]).
//!
//! Generated crates hold one params type and a few enums per model, for hundreds of models, so
//! the behaviour lives here, in generic functions: the generated impls are one-line bodies
//! delegating to them, marked `#[inline]` so that the generated crate does not machine-code
//! them itself (a caller's crate does, for the ones it calls).

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::model::{ModelInfo, Params};
use crate::params::{Code, Kind, ParamRule, Violation, Violations};

/// A typed param value as the rules see it. `None` leaves the param out (an unset optional).
pub trait ParamValue: Sized {
    /// The JSON value, or `None` when unset.
    fn to_value(&self) -> Option<Value>;
    /// The Rust value of a checked JSON value (`null` for an unset optional).
    fn from_json(value: Value) -> Result<Self, serde_json::Error>;
}

/// `ParamValue` of types whose JSON form is their serde form.
macro_rules! serde_param_value {
    ($($ty:ty: |$v:ident| $to:expr;)+) => {$(
        impl ParamValue for $ty {
            fn to_value(&self) -> Option<Value> {
                let $v = self;
                Some(Value::from($to))
            }
            fn from_json(value: Value) -> Result<Self, serde_json::Error> {
                serde_json::from_value(value)
            }
        }
    )+};
}

serde_param_value! {
    String: |v| v.as_str();
    i64: |v| *v;
    bool: |v| *v;
    // Decimals travel as strings, exactly as written.
    Decimal: |v| v.to_string();
    Vec<String>: |v| v.clone();
}

impl<T: ParamValue> ParamValue for Option<T> {
    fn to_value(&self) -> Option<Value> {
        self.as_ref().and_then(ParamValue::to_value)
    }
    fn from_json(value: Value) -> Result<Self, serde_json::Error> {
        match value {
            Value::Null => Ok(None),
            value => T::from_json(value).map(Some),
        }
    }
}

/// Put `value` into `map` under `name`, unless it is unset.
pub fn put(map: &mut Map<String, Value>, name: &str, value: &impl ParamValue) {
    if let Some(v) = value.to_value() {
        map.insert(name.to_owned(), v);
    }
}

/// Take a checked param out of `valid` as its Rust type (absent: `None` for optional params).
pub fn take<T: ParamValue>(valid: &mut Map<String, Value>, name: &str) -> Result<T, Violations> {
    let value = valid.remove(name).unwrap_or_default();
    T::from_json(value).map_err(|error| {
        Violations(vec![Violation {
            param: name.to_owned(),
            code: Code::Type,
            message: format!("{name}: {error}"),
        }])
    })
}

/// `params`, after checking them against `info`'s rules.
pub fn checked<P: Params>(info: &ModelInfo, params: P) -> Result<P, Violations> {
    info.validate(&Value::Object(params.to_json()))?;
    Ok(params)
}

/// Serialize typed params as the JSON object the rules see ([`Params::to_json`]).
pub fn serialize_params<P: Params, S: Serializer>(params: &P, s: S) -> Result<S::Ok, S::Error> {
    params.to_json().serialize(s)
}

/// Deserialize typed params from JSON, checked by the model's rules.
pub fn deserialize_params<'de, P, D>(d: D) -> Result<P, D::Error>
where
    P: TryFrom<Value, Error = Violations>,
    D: Deserializer<'de>,
{
    let value = Value::deserialize(d)?;
    P::try_from(value).map_err(D::Error::custom)
}

/// A Rust enum of a param's value set, declared with [`str_enum!`] (string values) or
/// [`int_enum!`] (integer values). Its `Display` and its JSON form ([`ParamValue`], which the
/// params types' serde goes through) come from these two tables, so each enum costs the
/// compiler two constants rather than a set of trait impls.
pub trait Choice: Copy + PartialEq + 'static {
    /// `&'static str` or `i64`.
    type Value: ChoiceValue;
    /// Every variant, in the spec's order.
    const ALL: &'static [Self];
    /// Every value as the provider spells it, in the spec's order (`VALUES[i]` is `ALL[i]`'s).
    const VALUES: &'static [Self::Value];

    /// The value of this variant.
    fn value(self) -> Self::Value {
        let i = Self::ALL
            .iter()
            .position(|c| *c == self)
            .unwrap_or_default();
        Self::VALUES[i]
    }

    /// The variant of `value`, if it is one of the allowed values.
    fn from_value(value: Self::Value) -> Option<Self> {
        let i = Self::VALUES.iter().position(|v| *v == value)?;
        Some(Self::ALL[i])
    }
}

/// The value type of a [`Choice`]: `&'static str` or `i64`.
pub trait ChoiceValue: Copy + PartialEq + Into<Value> + 'static {
    /// Read one value and find it in `values`: its index, or the message naming them.
    fn find<'de, D: Deserializer<'de>>(d: D, values: &[Self]) -> Result<usize, D::Error>;
}

impl ChoiceValue for &'static str {
    fn find<'de, D: Deserializer<'de>>(d: D, values: &[Self]) -> Result<usize, D::Error> {
        let text = String::deserialize(d)?;
        position(values, &text).ok_or_else(|| D::Error::custom(not_one_of(&text, values)))
    }
}

impl ChoiceValue for i64 {
    fn find<'de, D: Deserializer<'de>>(d: D, values: &[Self]) -> Result<usize, D::Error> {
        let value = i64::deserialize(d)?;
        values.iter().position(|v| *v == value).ok_or_else(|| {
            let listed: Vec<String> = values.iter().map(i64::to_string).collect();
            D::Error::custom(format!("{value} is not one of {}", listed.join(", ")))
        })
    }
}

impl<T: Choice> ParamValue for T {
    fn to_value(&self) -> Option<Value> {
        Some(Choice::value(*self).into())
    }
    fn from_json(value: Value) -> Result<Self, serde_json::Error> {
        let i = T::Value::find(value, T::VALUES)?;
        Ok(T::ALL[i])
    }
}

/// An enum of string values: `Debug`, `Copy`, `Eq`, [`Choice`] (`ALL`, `VALUES`, `value`,
/// `from_value`), `as_str`, `Display`, and [`ParamValue`] (JSON as the value). Generated params
/// types declare their enum params with it. The enums have no serde impls of their own (each
/// would cost the compiler about a millisecond per enum, in a crate of thousands): params
/// types serialize them as their values. Every method is `#[inline]`, so the generated crate
/// does not machine-code them itself.
#[macro_export]
macro_rules! str_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }
        // Written out: cheaper to compile than the derive.
        impl ::std::cmp::PartialEq for $name {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                *self as usize == *other as usize
            }
        }
        impl $name {
            /// The value as the provider spells it.
            #[inline]
            pub const fn as_str(self) -> &'static str {
                <Self as $crate::typed::Choice>::VALUES[self as usize]
            }
        }
        impl $crate::typed::Choice for $name {
            type Value = &'static str;
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            const VALUES: &'static [&'static str] = &[$($text),+];
        }
        impl ::std::fmt::Display for $name {
            #[inline]
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Where `text` is in `values`.
pub fn position(values: &[&str], text: &str) -> Option<usize> {
    values.iter().position(|v| *v == text)
}

/// "`text` is not one of a, b".
pub fn not_one_of(text: &str, values: &[&str]) -> String {
    format!("`{text}` is not one of {}", values.join(", "))
}

/// The JSON side of a generated params type: `TryFrom<Value>` (checked by the model's rules),
/// serde (through that), and [`Params`](crate::model::Params). `$info` is the model's
/// `ModelInfo`; each field is named with its param.
#[macro_export]
macro_rules! params_json {
    ($ty:ident, $info:path, { $($field:ident: $name:literal),* $(,)? }) => {
        impl ::std::convert::TryFrom<::serde_json::Value> for $ty {
            type Error = $crate::params::Violations;
            #[inline]
            #[allow(unused_mut, unused_variables)]
            fn try_from(value: ::serde_json::Value) -> ::std::result::Result<Self, Self::Error> {
                let mut valid = $info.validate(&value)?;
                ::std::result::Result::Ok(Self { $($field: $crate::typed::take(&mut valid, $name)?,)* })
            }
        }
        impl $crate::model::Params for $ty {
            #[inline]
            #[allow(unused_mut)]
            fn to_json(&self) -> ::serde_json::Map<::std::string::String, ::serde_json::Value> {
                let mut map = ::serde_json::Map::new();
                $($crate::typed::put(&mut map, $name, &self.$field);)*
                map
            }
        }
        impl ::serde::Serialize for $ty {
            #[inline]
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                $crate::typed::serialize_params(self, s)
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $ty {
            #[inline]
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                $crate::typed::deserialize_params(d)
            }
        }
    };
}

/// Put an object field into `map` under its rule's name, unless it is unset.
#[inline]
pub fn put_field(
    map: &mut Map<String, Value>,
    rule: Option<&ParamRule<'_>>,
    value: &impl ParamValue,
) {
    if let Some(rule) = rule {
        put(map, rule.name, value);
    }
}

/// The members of a checked object value.
pub fn object_fields(value: Value) -> Result<Map<String, Value>, serde_json::Error> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(serde_json::Error::custom(format!(
            "expected an object, found {other}"
        ))),
    }
}

/// Take a checked object field out of `map` as its Rust type (absent: `None` for optional
/// fields).
pub fn take_field<T: ParamValue>(
    map: &mut Map<String, Value>,
    rule: Option<&ParamRule<'_>>,
) -> Result<T, serde_json::Error> {
    let name = rule.map_or("", |r| r.name);
    let value = map.remove(name).unwrap_or_default();
    T::from_json(value).map_err(|error| serde_json::Error::custom(format!("{name}: {error}")))
}

/// Whether `option` (the next of a one_of's options) takes `value`: the one_of's choice.
#[inline]
pub fn is_option(option: Option<&(&str, Kind<'_>)>, value: &Value) -> bool {
    option.is_some_and(|(_, kind)| crate::params::takes(kind, value))
}

/// The error for a value that no option of the one_of `param` takes.
pub fn no_option(param: &str, options: &[(&str, Kind<'_>)], value: &Value) -> serde_json::Error {
    let message = crate::params::checked(param, &Kind::OneOf { options }, value)
        .err()
        .map_or_else(
            || format!("{param}: no option takes {value}"),
            |v| v.message,
        );
    serde_json::Error::custom(message)
}

/// Serialize a typed value as its JSON form ([`ParamValue::to_value`]).
#[inline]
pub fn serialize_value<T: ParamValue, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    value.to_value().serialize(s)
}

/// Deserialize a typed value of the param `param`, checked by `kind`'s rules (with the
/// defaults of absent fields filled in) and reported with the rules' messages.
pub fn deserialize_value<'de, T: ParamValue, D: Deserializer<'de>>(
    d: D,
    param: &str,
    kind: &Kind<'_>,
) -> Result<T, D::Error> {
    let value = Value::deserialize(d)?;
    let value =
        crate::params::checked(param, kind, &value).map_err(|v| D::Error::custom(v.message))?;
    T::from_json(value).map_err(D::Error::custom)
}

/// The struct of an `object` param, or of the object option of a `one_of` param: a public
/// field per object field (its Rust type as for a param: `Option` when optional without a
/// default), `FIELDS` (the fields' rules, which the model's `ModelInfo` names), [`ParamValue`]
/// (JSON as the object) and serde through the rules (deserializing checks the fields and fills
/// their defaults). `$param` names the param in messages. Fields are listed in the order of
/// their rules.
#[macro_export]
macro_rules! object {
    ($(#[$meta:meta])* pub struct $name:ident for $param:literal { $($(#[$fmeta:meta])* pub $field:ident: $ty:ty = $rule:expr,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)+
        }
        impl $name {
            /// The rules of the fields, in the spec's order.
            pub const FIELDS: &'static [$crate::params::ParamRule<'static>] = &[$($rule),+];
        }
        impl $crate::typed::ParamValue for $name {
            #[inline]
            fn to_value(&self) -> ::std::option::Option<::serde_json::Value> {
                let mut map = ::serde_json::Map::new();
                let mut rules = Self::FIELDS.iter();
                $($crate::typed::put_field(&mut map, rules.next(), &self.$field);)+
                ::std::option::Option::Some(::serde_json::Value::Object(map))
            }
            #[inline]
            fn from_json(value: ::serde_json::Value) -> ::std::result::Result<Self, ::serde_json::Error> {
                let mut map = $crate::typed::object_fields(value)?;
                let mut rules = Self::FIELDS.iter();
                ::std::result::Result::Ok(Self { $($field: $crate::typed::take_field(&mut map, rules.next())?,)+ })
            }
        }
        impl ::serde::Serialize for $name {
            #[inline]
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                $crate::typed::serialize_value(self, s)
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $name {
            #[inline]
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                $crate::typed::deserialize_value(d, $param, &$crate::params::Kind::Object { fields: Self::FIELDS })
            }
        }
    };
}

/// The enum of a `one_of` param: one variant per option, holding the option's Rust type,
/// `OPTIONS` (the options' names and kinds, which the model's `ModelInfo` names), `From` each
/// option's type, [`ParamValue`] (JSON as the chosen option's value; reading JSON chooses the
/// option by the value's JSON type, as the rules do) and serde through the rules. `$param`
/// names the param in messages. Variants are listed in the order of their options.
#[macro_export]
macro_rules! one_of {
    ($(#[$meta:meta])* pub enum $name:ident for $param:literal { $($(#[$vmeta:meta])* $variant:ident($ty:ty) = ($option:literal, $kind:expr),)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $($(#[$vmeta])* $variant($ty),)+
        }
        impl $name {
            /// The options: name and kind, in the spec's order.
            pub const OPTIONS: &'static [(&'static str, $crate::params::Kind<'static>)] = &[$(($option, $kind)),+];
        }
        $(impl ::std::convert::From<$ty> for $name {
            #[inline]
            fn from(value: $ty) -> Self {
                Self::$variant(value)
            }
        })+
        impl $crate::typed::ParamValue for $name {
            #[inline]
            fn to_value(&self) -> ::std::option::Option<::serde_json::Value> {
                match self {
                    $(Self::$variant(value) => $crate::typed::ParamValue::to_value(value),)+
                }
            }
            #[inline]
            fn from_json(value: ::serde_json::Value) -> ::std::result::Result<Self, ::serde_json::Error> {
                let mut options = Self::OPTIONS.iter();
                $(if $crate::typed::is_option(options.next(), &value) {
                    return <$ty as $crate::typed::ParamValue>::from_json(value).map(Self::$variant);
                })+
                ::std::result::Result::Err($crate::typed::no_option($param, Self::OPTIONS, &value))
            }
        }
        impl ::serde::Serialize for $name {
            #[inline]
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                $crate::typed::serialize_value(self, s)
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $name {
            #[inline]
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                $crate::typed::deserialize_value(d, $param, &$crate::params::Kind::OneOf { options: Self::OPTIONS })
            }
        }
    };
}

/// An enum of integer values (`values: [5, 10]`): like [`str_enum!`], with `value()` and JSON
/// as the integer ([`Choice::from_value`] finds the variant of an integer).
#[macro_export]
macro_rules! int_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }
        // Written out: cheaper to compile than the derive.
        impl ::std::cmp::PartialEq for $name {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                *self as usize == *other as usize
            }
        }
        impl $name {
            /// The value.
            #[inline]
            pub const fn value(self) -> i64 {
                <Self as $crate::typed::Choice>::VALUES[self as usize]
            }
        }
        impl $crate::typed::Choice for $name {
            type Value = i64;
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            const VALUES: &'static [i64] = &[$($value),+];
        }
        impl ::std::fmt::Display for $name {
            #[inline]
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.value(), f)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Choice, ParamValue};
    use crate::params::{Kind, ParamRule};

    crate::str_enum! {
        /// Presets.
        pub enum SizePreset {
            Square = "square",
            Wide = "wide",
        }
    }

    crate::object! {
        /// A custom size.
        pub struct SizeCustom for "size" {
            /// Width.
            pub width: i64 = ParamRule::required("width", Kind::Integer { min: Some(64), max: None, step: None, values: None }),
            /// Label.
            pub label: Option<String> = ParamRule::optional("label", Kind::String { min_length: None, max_length: None }),
            /// Unit.
            pub unit: String = ParamRule::with_default("unit", "\"px\"", Kind::String { min_length: None, max_length: None }),
        }
    }

    crate::one_of! {
        /// A size.
        pub enum Size for "size" {
            /// A preset.
            Preset(SizePreset) = ("preset", Kind::Enum { values: SizePreset::VALUES }),
            /// A custom size.
            Custom(SizeCustom) = ("custom", Kind::Object { fields: SizeCustom::FIELDS }),
        }
    }

    #[test]
    fn one_ofs_choose_by_json_type_and_objects_travel_as_objects() {
        let custom = SizeCustom {
            width: 512,
            label: None,
            unit: "px".into(),
        };
        assert_eq!(
            Size::from(custom.clone()).to_value(),
            Some(json!({"width": 512, "unit": "px"}))
        );
        assert_eq!(Size::from(SizePreset::Wide).to_value(), Some(json!("wide")));
        assert_eq!(
            Size::from_json(json!({"width": 512, "unit": "px"})).unwrap(),
            Size::Custom(custom.clone())
        );
        assert_eq!(
            Size::from_json(json!("square")).unwrap(),
            Size::Preset(SizePreset::Square)
        );
        let err = Size::from_json(json!(5)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "size must be one of square, wide, or an object {width, label, unit} (got a number)"
        );
        // serde goes through the rules: defaults filled, bounds checked.
        let read: Size = serde_json::from_value(json!({"width": 512})).unwrap();
        assert_eq!(read, Size::Custom(custom));
        let err = serde_json::from_value::<SizeCustom>(json!({"width": 5})).unwrap_err();
        assert_eq!(err.to_string(), "size.width must be at least 64 (got 5)");
        assert_eq!(
            serde_json::to_value(Size::Preset(SizePreset::Wide)).unwrap(),
            json!("wide")
        );
    }

    crate::str_enum! {
        /// Output resolution.
        pub enum Resolution {
            P480 = "480p",
            P720 = "720p",
        }
    }

    crate::int_enum! {
        /// Seconds.
        pub enum Seconds {
            V5 = 5,
            VMinus1 = -1,
        }
    }

    #[test]
    fn enums_travel_as_their_values() {
        assert_eq!(Resolution::P720.to_value(), Some(json!("720p")));
        assert_eq!(Resolution::ALL.len(), 2);
        assert_eq!(Seconds::VMinus1.to_value(), Some(json!(-1)));
        assert_eq!(Seconds::ALL, [Seconds::V5, Seconds::VMinus1]);
        assert_eq!(Seconds::from_json(json!(5)).unwrap(), Seconds::V5);
        let err = Seconds::from_json(json!(7)).unwrap_err();
        assert_eq!(err.to_string(), "7 is not one of 5, -1");
        assert_eq!(Seconds::V5.to_string(), "5");
        assert_eq!(Seconds::from_value(-1), Some(Seconds::VMinus1));
        assert_eq!(Seconds::from_value(7), None);
        assert_eq!(Resolution::P480.as_str(), "480p");
        assert_eq!(Resolution::P720.value(), "720p");
        assert_eq!(Resolution::VALUES, ["480p", "720p"]);
        assert_eq!(Resolution::P480.to_value(), Some(json!("480p")));
        assert_eq!(Some(Seconds::VMinus1).to_value(), Some(json!(-1)));
        assert_eq!(Option::<Seconds>::from_json(json!(null)).unwrap(), None);
        let err = Resolution::from_json(json!("4k")).unwrap_err();
        assert_eq!(err.to_string(), "`4k` is not one of 480p, 720p");
    }
}
