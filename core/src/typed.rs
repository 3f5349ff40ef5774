//! What generated params types are built from: value conversion, field extraction, and the
//! two enum shapes (string values and integer values).

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::model::{ModelInfo, Params};
use crate::params::{Code, Violation, Violations};

/// A typed param value as the rules see it. `None` leaves the param out (an unset optional).
pub trait ParamValue {
    /// The JSON value, or `None` when unset.
    fn to_value(&self) -> Option<Value>;
}

impl ParamValue for String {
    fn to_value(&self) -> Option<Value> {
        Some(Value::from(self.as_str()))
    }
}

impl ParamValue for i64 {
    fn to_value(&self) -> Option<Value> {
        Some(Value::from(*self))
    }
}

impl ParamValue for bool {
    fn to_value(&self) -> Option<Value> {
        Some(Value::from(*self))
    }
}

impl ParamValue for Decimal {
    /// Decimals travel as strings, exactly as written.
    fn to_value(&self) -> Option<Value> {
        Some(Value::from(self.to_string()))
    }
}

impl ParamValue for Vec<String> {
    fn to_value(&self) -> Option<Value> {
        Some(Value::from(self.clone()))
    }
}

impl<T: ParamValue> ParamValue for Option<T> {
    fn to_value(&self) -> Option<Value> {
        self.as_ref().and_then(ParamValue::to_value)
    }
}

/// Put `value` into `map` under `name`, unless it is unset.
pub fn put(map: &mut Map<String, Value>, name: &str, value: &impl ParamValue) {
    if let Some(v) = value.to_value() {
        map.insert(name.to_owned(), v);
    }
}

/// Take a checked param out of `valid` as its Rust type (absent: `None` for optional params).
pub fn take<T: DeserializeOwned>(
    valid: &mut Map<String, Value>,
    name: &str,
) -> Result<T, Violations> {
    let value = valid.remove(name).unwrap_or_default();
    serde_json::from_value(value).map_err(|error| {
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

/// An enum of string values: `Debug`, `Copy`, `Eq`, `Hash`, serde as the value, `ALL`,
/// `VALUES`, `as_str` and `Display`. Generated params types declare their enum params with it.
/// The serde impls are written out rather than derived, so a registry of many models compiles
/// without a derive expansion per enum.
#[macro_export]
macro_rules! str_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }
        impl $name {
            /// Every value, in the spec's order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// Every value as the provider spells it, in the spec's order.
            pub const VALUES: &'static [&'static str] = &[$($text),+];
            /// The value as the provider spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl $crate::typed::ParamValue for $name {
            fn to_value(&self) -> ::std::option::Option<::serde_json::Value> {
                ::std::option::Option::Some(::serde_json::Value::from(self.as_str()))
            }
        }
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let text = <::std::string::String as ::serde::Deserialize>::deserialize(d)?;
                match $crate::typed::position(Self::VALUES, &text) {
                    ::std::option::Option::Some(i) => ::std::result::Result::Ok(Self::ALL[i]),
                    ::std::option::Option::None => ::std::result::Result::Err(
                        <D::Error as ::serde::de::Error>::custom($crate::typed::not_one_of(&text, Self::VALUES)),
                    ),
                }
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
            #[allow(unused_mut, unused_variables)]
            fn try_from(value: ::serde_json::Value) -> ::std::result::Result<Self, Self::Error> {
                let mut valid = $info.validate(&value)?;
                ::std::result::Result::Ok(Self { $($field: $crate::typed::take(&mut valid, $name)?,)* })
            }
        }
        impl $crate::model::Params for $ty {
            #[allow(unused_mut)]
            fn to_json(&self) -> ::serde_json::Map<::std::string::String, ::serde_json::Value> {
                let mut map = ::serde_json::Map::new();
                $($crate::typed::put(&mut map, $name, &self.$field);)*
                map
            }
        }
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                ::serde::Serialize::serialize(&$crate::model::Params::to_json(self), s)
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let value = <::serde_json::Value as ::serde::Deserialize>::deserialize(d)?;
                Self::try_from(value).map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}

/// An enum of integer values (`values: [5, 10]`): like [`str_enum!`], with `value()` and serde
/// as the integer.
#[macro_export]
macro_rules! int_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }
        impl $name {
            /// Every value, in the spec's order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// The value.
            pub const fn value(self) -> i64 {
                match self {
                    $(Self::$variant => $value,)+
                }
            }
            /// The variant of `value`, if it is one of the allowed values.
            pub const fn from_value(value: i64) -> ::std::option::Option<Self> {
                match value {
                    $($value => ::std::option::Option::Some(Self::$variant),)+
                    _ => ::std::option::Option::None,
                }
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.value(), f)
            }
        }
        impl $crate::typed::ParamValue for $name {
            fn to_value(&self) -> ::std::option::Option<::serde_json::Value> {
                ::std::option::Option::Some(::serde_json::Value::from(self.value()))
            }
        }
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_i64(self.value())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let value = <i64 as ::serde::Deserialize>::deserialize(d)?;
                Self::from_value(value).ok_or_else(|| {
                    <D::Error as ::serde::de::Error>::custom(::std::format!(
                        "{value} is not one of {}",
                        [$($value.to_string()),+].join(", ")
                    ))
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    crate::str_enum! {
        /// Output resolution.
        #[derive(Default)]
        pub enum Resolution {
            P480 = "480p",
            #[default]
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
        assert_eq!(
            serde_json::to_value(Resolution::default()).unwrap(),
            json!("720p")
        );
        assert_eq!(Resolution::ALL.len(), 2);
        assert_eq!(serde_json::to_value(Seconds::VMinus1).unwrap(), json!(-1));
        assert_eq!(Seconds::ALL, [Seconds::V5, Seconds::VMinus1]);
        assert_eq!(
            serde_json::from_value::<Seconds>(json!(5)).unwrap(),
            Seconds::V5
        );
        let err = serde_json::from_value::<Seconds>(json!(7)).unwrap_err();
        assert_eq!(err.to_string(), "7 is not one of 5, -1");
        assert_eq!(Seconds::V5.to_string(), "5");
    }
}
