//! Param rules and validation of JSON params.
//!
//! Generated code describes each model's params as a static table of [`ParamRule`]s; this
//! module checks JSON params against it, fills defaults, and reports every violation with a
//! stable code and message. The TypeScript bindings implement the same checks with the same
//! codes and messages, in the same order (the validation parity test proves it):
//!
//! - params are checked in declaration order, then unknown params in name order;
//! - each param yields at most one violation: the first failing check of
//!   type → allowed values → length/items → minimum → maximum → step;
//! - string lengths count Unicode code points (not bytes, not UTF-16 units);
//! - a param that is absent or `null` takes its default; an absent required param is `required`.
//!
//! Objects and one_ofs keep the one-violation rule (the violation names the field, as in
//! `image_size.width`):
//!
//! - an `object` is checked: it is a JSON object → it has no unknown field (the first in code
//!   point order is reported, with the allowed fields: a misspelt field explains a missing one) →
//!   each field in declaration order, as a param is (absent or `null`: its default, or
//!   `required` when it must be given; present: its own checks). Absent fields with a default
//!   are filled in; absent optional fields stay absent;
//! - a `one_of` is decided by the value's JSON type alone (string, number, boolean, object,
//!   list): its options take different JSON types ([`json_types`]), so at most one option takes
//!   the value, and that option checks it. A value no option takes is one `one_of` violation
//!   that lists what each option accepts.

use std::fmt;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// Type and bounds of a param.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    /// Text.
    String {
        /// Fewest code points.
        min_length: Option<u32>,
        /// Most code points.
        max_length: Option<u32>,
    },
    /// Whole number.
    Integer {
        /// Smallest value.
        min: Option<i64>,
        /// Largest value.
        max: Option<i64>,
        /// Multiple of.
        step: Option<i64>,
        /// Allowed values.
        values: Option<&'a [i64]>,
    },
    /// Exact decimal, given as a string (or an integer).
    Decimal {
        /// Smallest value.
        min: Option<&'a str>,
        /// Largest value.
        max: Option<&'a str>,
        /// Multiple of.
        step: Option<&'a str>,
    },
    /// One of `values`.
    Enum {
        /// Allowed values.
        values: &'a [&'a str],
    },
    /// `true` or `false`.
    Boolean,
    /// `http(s)` URL.
    ImageUrl,
    /// List.
    Array {
        /// Item type.
        items: Item,
        /// Fewest items.
        min_items: Option<u32>,
        /// Most items.
        max_items: Option<u32>,
    },
    /// A JSON object with named fields (of scalar kinds), no others.
    Object {
        /// The fields in declaration order: name, required, default and kind, as params.
        fields: &'a [ParamRule<'a>],
    },
    /// One of several options, chosen by the value's JSON type (the options take different
    /// JSON types, see [`json_types`]).
    OneOf {
        /// `(option name, kind)` in declaration order; a kind is a scalar or an object.
        options: &'a [(&'a str, Kind<'a>)],
    },
}

/// A set of JSON types, as [`json_types`] gives them for a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JsonTypes(u8);

impl JsonTypes {
    /// No type.
    pub const NONE: JsonTypes = JsonTypes(0);
    /// JSON strings.
    pub const STRING: JsonTypes = JsonTypes(1);
    /// JSON numbers.
    pub const NUMBER: JsonTypes = JsonTypes(2);
    /// `true` and `false`.
    pub const BOOLEAN: JsonTypes = JsonTypes(4);
    /// JSON objects.
    pub const OBJECT: JsonTypes = JsonTypes(8);
    /// JSON arrays.
    pub const ARRAY: JsonTypes = JsonTypes(16);

    const NAMES: [(JsonTypes, &'static str); 5] = [
        (JsonTypes::STRING, "string"),
        (JsonTypes::NUMBER, "number"),
        (JsonTypes::BOOLEAN, "boolean"),
        (JsonTypes::OBJECT, "object"),
        (JsonTypes::ARRAY, "array"),
    ];

    /// Both sets.
    pub const fn union(self, other: JsonTypes) -> JsonTypes {
        JsonTypes(self.0 | other.0)
    }

    /// The types in both sets.
    pub const fn intersection(self, other: JsonTypes) -> JsonTypes {
        JsonTypes(self.0 & other.0)
    }

    /// No type at all.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The JSON type of `value` (`NONE` for `null`).
    pub fn of(value: &Value) -> JsonTypes {
        match value {
            Value::Null => JsonTypes::NONE,
            Value::String(_) => JsonTypes::STRING,
            Value::Number(_) => JsonTypes::NUMBER,
            Value::Bool(_) => JsonTypes::BOOLEAN,
            Value::Object(_) => JsonTypes::OBJECT,
            Value::Array(_) => JsonTypes::ARRAY,
        }
    }

    /// The JSON Schema names of the types (`string`, `number`, ...), in that order.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(t, _)| !self.intersection(*t).is_empty())
            .map(|(_, n)| *n)
            .collect()
    }
}

/// The JSON types a value of `kind` may have. A `decimal` takes strings and (whole) numbers;
/// a `one_of` takes what its options take.
pub fn json_types(kind: &Kind<'_>) -> JsonTypes {
    match kind {
        Kind::String { .. } | Kind::Enum { .. } | Kind::ImageUrl => JsonTypes::STRING,
        Kind::Integer { .. } => JsonTypes::NUMBER,
        Kind::Decimal { .. } => JsonTypes::STRING.union(JsonTypes::NUMBER),
        Kind::Boolean => JsonTypes::BOOLEAN,
        Kind::Array { .. } => JsonTypes::ARRAY,
        Kind::Object { .. } => JsonTypes::OBJECT,
        Kind::OneOf { options } => options
            .iter()
            .fold(JsonTypes::NONE, |all, (_, k)| all.union(json_types(k))),
    }
}

/// Whether a value of `kind` may have the JSON type of `value`: how a `one_of` chooses.
pub fn takes(kind: &Kind<'_>, value: &Value) -> bool {
    !json_types(kind)
        .intersection(JsonTypes::of(value))
        .is_empty()
}

/// The option of `options` that takes `value`'s JSON type: the first, and with options of
/// different JSON types the only one.
pub fn option_for<'o, 'a>(
    options: &'o [(&'a str, Kind<'a>)],
    value: &Value,
) -> Option<&'o (&'a str, Kind<'a>)> {
    options.iter().find(|(_, kind)| takes(kind, value))
}

/// Array item types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// Text.
    String,
    /// `http(s)` URL.
    ImageUrl,
}

/// One param of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamRule<'a> {
    /// Name.
    pub name: &'a str,
    /// Must be given.
    pub required: bool,
    /// Default as JSON text.
    pub default: Option<&'a str>,
    /// Type and bounds.
    pub kind: Kind<'a>,
}

impl<'a> ParamRule<'a> {
    /// A param that must be given.
    pub const fn required(name: &'a str, kind: Kind<'a>) -> Self {
        ParamRule {
            name,
            required: true,
            default: None,
            kind,
        }
    }

    /// A param that may be left out, and then is.
    pub const fn optional(name: &'a str, kind: Kind<'a>) -> Self {
        ParamRule {
            name,
            required: false,
            default: None,
            kind,
        }
    }

    /// A param that takes `default` (JSON text) when left out.
    pub const fn with_default(name: &'a str, default: &'a str, kind: Kind<'a>) -> Self {
        ParamRule {
            name,
            required: false,
            default: Some(default),
            kind,
        }
    }
}

/// Violation codes, shared with the TypeScript bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// A required param, or a required field of an object, is missing.
    Required,
    /// A param the model does not have.
    UnknownParam,
    /// Wrong JSON type.
    Type,
    /// Not one of the allowed values.
    Enum,
    /// Too short.
    MinLength,
    /// Too long.
    MaxLength,
    /// Too few items.
    MinItems,
    /// Too many items.
    MaxItems,
    /// Below the minimum.
    Min,
    /// Above the maximum.
    Max,
    /// Not a multiple of the step.
    Step,
    /// Not an http(s) URL.
    Url,
    /// An object has a field its param does not declare.
    UnknownField,
    /// A `one_of` value has a JSON type that none of its options takes.
    OneOf,
}

/// One problem with one param.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    /// The param (`image_urls[2]` for an array item, `image_size.width` for a field).
    pub param: String,
    /// Stable code.
    pub code: Code,
    /// Message for people.
    pub message: String,
}

/// Every problem with a set of params.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Violations(pub Vec<Violation>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = self.0.iter().map(|v| v.message.as_str()).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for Violations {}

fn v(param: &str, code: Code, message: String) -> Violation {
    Violation {
        param: param.to_owned(),
        code,
        message,
    }
}

/// Check `params` against `rules`; on success return them with defaults filled in.
pub fn validate(rules: &[ParamRule<'_>], params: &Value) -> Result<Map<String, Value>, Violations> {
    let empty = Map::new();
    let given = match params {
        Value::Object(m) => m,
        Value::Null => &empty,
        _ => {
            return Err(Violations(vec![v(
                "",
                Code::Type,
                "params must be an object".to_owned(),
            )]));
        }
    };
    let mut out = Map::new();
    let mut problems = Vec::new();
    for rule in rules {
        match member(rule.name, rule, given) {
            Ok(Some(value)) => {
                out.insert(rule.name.to_owned(), value);
            }
            Ok(None) => {}
            Err(p) => problems.push(p),
        }
    }
    let mut unknown: Vec<&String> = given
        .keys()
        .filter(|k| !rules.iter().any(|r| r.name == k.as_str()))
        .collect();
    unknown.sort();
    for k in unknown {
        problems.push(v(k, Code::UnknownParam, format!("unknown param {k}")));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Violations(problems))
    }
}

/// The checked value of the param or field `rule` in `given`, shown as `name` in messages:
/// the given value (defaults filled in), else its default, else `None` for an optional one.
fn member(
    name: &str,
    rule: &ParamRule<'_>,
    given: &Map<String, Value>,
) -> Result<Option<Value>, Violation> {
    match given.get(rule.name).filter(|x| !x.is_null()) {
        Some(value) => checked(name, &rule.kind, value).map(Some),
        None => match rule.default {
            Some(text) => Ok(Some(serde_json::from_str(text).unwrap_or(Value::Null))),
            None if rule.required => Err(v(name, Code::Required, format!("{name} is required"))),
            None => Ok(None),
        },
    }
}

/// Parse a decimal the way params give it: a plain decimal string or an integer.
pub fn parse_decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::String(s) => {
            let body = s.strip_prefix('-').unwrap_or(s);
            let ok = match body.split_once('.') {
                Some((i, f)) => {
                    !i.is_empty()
                        && !f.is_empty()
                        && i.bytes().chain(f.bytes()).all(|b| b.is_ascii_digit())
                }
                None => !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()),
            };
            if ok {
                Decimal::from_str_exact(s).ok()
            } else {
                None
            }
        }
        Value::Number(n) => n.as_i64().map(Decimal::from),
        _ => None,
    }
}

fn is_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str_exact(text).unwrap_or_default()
}

/// Check one value; the first failing check wins.
pub fn check(name: &str, kind: &Kind<'_>, value: &Value) -> Result<(), Violation> {
    checked(name, kind, value).map(drop)
}

/// Check one value and return it with the defaults of absent object fields filled in; the
/// first failing check wins.
pub fn checked(name: &str, kind: &Kind<'_>, value: &Value) -> Result<Value, Violation> {
    match *kind {
        Kind::Object { fields } => return checked_object(name, fields, value),
        Kind::OneOf { options } => {
            return match option_for(options, value) {
                Some((_, option)) => checked(name, option, value),
                None => Err(v(
                    name,
                    Code::OneOf,
                    format!(
                        "{name} must be {} (got {})",
                        alternatives(options),
                        json_type_name(value)
                    ),
                )),
            };
        }
        _ => {}
    }
    match *kind {
        Kind::String {
            min_length,
            max_length,
        } => {
            let Some(s) = value.as_str() else {
                return Err(v(name, Code::Type, format!("{name} must be a string")));
            };
            let n = s.chars().count() as u64;
            if let Some(min) = min_length.filter(|m| n < u64::from(*m)) {
                return Err(v(
                    name,
                    Code::MinLength,
                    format!("{name} must be at least {min} characters (got {n})"),
                ));
            }
            if let Some(max) = max_length.filter(|m| n > u64::from(*m)) {
                return Err(v(
                    name,
                    Code::MaxLength,
                    format!("{name} must be at most {max} characters (got {n})"),
                ));
            }
        }
        Kind::Integer {
            min,
            max,
            step,
            values,
        } => {
            let Some(n) = value.as_i64() else {
                return Err(v(name, Code::Type, format!("{name} must be an integer")));
            };
            if let Some(vs) = values.filter(|vs| !vs.contains(&n)) {
                let list: Vec<String> = vs.iter().map(i64::to_string).collect();
                return Err(v(
                    name,
                    Code::Enum,
                    format!("{name} must be one of {} (got {n})", list.join(", ")),
                ));
            }
            if let Some(min) = min.filter(|m| n < *m) {
                return Err(v(
                    name,
                    Code::Min,
                    format!("{name} must be at least {min} (got {n})"),
                ));
            }
            if let Some(max) = max.filter(|m| n > *m) {
                return Err(v(
                    name,
                    Code::Max,
                    format!("{name} must be at most {max} (got {n})"),
                ));
            }
            if let Some(step) = step.filter(|s| *s > 0 && n % *s != 0) {
                return Err(v(
                    name,
                    Code::Step,
                    format!("{name} must be a multiple of {step} (got {n})"),
                ));
            }
        }
        Kind::Decimal { min, max, step } => {
            let Some(d) = parse_decimal(value) else {
                return Err(v(
                    name,
                    Code::Type,
                    format!("{name} must be a decimal number as a string"),
                ));
            };
            let shown = d.normalize();
            if let Some(min) = min.filter(|m| d < dec(m)) {
                return Err(v(
                    name,
                    Code::Min,
                    format!("{name} must be at least {min} (got {shown})"),
                ));
            }
            if let Some(max) = max.filter(|m| d > dec(m)) {
                return Err(v(
                    name,
                    Code::Max,
                    format!("{name} must be at most {max} (got {shown})"),
                ));
            }
            if let Some(step) = step.filter(|s| !dec(s).is_zero() && !(d % dec(s)).is_zero()) {
                return Err(v(
                    name,
                    Code::Step,
                    format!("{name} must be a multiple of {step} (got {shown})"),
                ));
            }
        }
        Kind::Enum { values } => {
            let Some(s) = value.as_str() else {
                return Err(v(name, Code::Type, format!("{name} must be a string")));
            };
            if !values.contains(&s) {
                return Err(v(
                    name,
                    Code::Enum,
                    format!("{name} must be one of {} (got {s})", values.join(", ")),
                ));
            }
        }
        Kind::Boolean => {
            if !value.is_boolean() {
                return Err(v(name, Code::Type, format!("{name} must be true or false")));
            }
        }
        Kind::ImageUrl => {
            let Some(s) = value.as_str() else {
                return Err(v(name, Code::Type, format!("{name} must be a string")));
            };
            if !is_url(s) {
                return Err(v(name, Code::Url, format!("{name} must be an http(s) URL")));
            }
        }
        Kind::Array {
            items,
            min_items,
            max_items,
        } => {
            let Some(list) = value.as_array() else {
                return Err(v(name, Code::Type, format!("{name} must be a list")));
            };
            let n = list.len() as u64;
            if let Some(min) = min_items.filter(|m| n < u64::from(*m)) {
                return Err(v(
                    name,
                    Code::MinItems,
                    format!("{name} must have at least {min} items (got {n})"),
                ));
            }
            if let Some(max) = max_items.filter(|m| n > u64::from(*m)) {
                return Err(v(
                    name,
                    Code::MaxItems,
                    format!("{name} must have at most {max} items (got {n})"),
                ));
            }
            let item_kind = match items {
                Item::String => Kind::String {
                    min_length: None,
                    max_length: None,
                },
                Item::ImageUrl => Kind::ImageUrl,
            };
            for (i, item) in list.iter().enumerate() {
                check(&format!("{name}[{i}]"), &item_kind, item)?;
            }
        }
        Kind::Object { .. } | Kind::OneOf { .. } => {}
    }
    Ok(value.clone())
}

/// Check an object against its fields' rules (see the module's ordering rules).
fn checked_object(name: &str, fields: &[ParamRule<'_>], value: &Value) -> Result<Value, Violation> {
    let Some(given) = value.as_object() else {
        return Err(v(name, Code::Type, format!("{name} must be an object")));
    };
    let unknown = given
        .keys()
        .filter(|k| !fields.iter().any(|f| f.name == k.as_str()))
        .min();
    if let Some(k) = unknown {
        return Err(v(
            &format!("{name}.{k}"),
            Code::UnknownField,
            format!(
                "{name} has no field {k} (its fields are {})",
                field_list(fields)
            ),
        ));
    }
    let mut out = Map::new();
    for field in fields {
        if let Some(value) = member(&format!("{name}.{}", field.name), field, given)? {
            out.insert(field.name.to_owned(), value);
        }
    }
    Ok(Value::Object(out))
}

/// `width, height`.
fn field_list(fields: &[ParamRule<'_>]) -> String {
    fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
}

/// What the options of a one_of accept, for its message: `one of a, b, or an object {w, h}`.
fn alternatives(options: &[(&str, Kind<'_>)]) -> String {
    options
        .iter()
        .map(|(_, kind)| accepted(kind))
        .collect::<Vec<_>>()
        .join(", or ")
}

/// What a kind accepts, in a few words.
fn accepted(kind: &Kind<'_>) -> String {
    match kind {
        Kind::String { .. } => "a string".to_owned(),
        Kind::Integer {
            values: Some(vs), ..
        } => {
            let list: Vec<String> = vs.iter().map(i64::to_string).collect();
            format!("one of {}", list.join(", "))
        }
        Kind::Integer { .. } => "an integer".to_owned(),
        Kind::Decimal { .. } => "a decimal number as a string".to_owned(),
        Kind::Enum { values } => format!("one of {}", values.join(", ")),
        Kind::Boolean => "true or false".to_owned(),
        Kind::ImageUrl => "an http(s) URL".to_owned(),
        Kind::Array { .. } => "a list".to_owned(),
        Kind::Object { fields } => format!("an object {{{}}}", field_list(fields)),
        Kind::OneOf { options } => alternatives(options),
    }
}

/// The JSON type of a value, in a few words: `a string`, `a number`, `a boolean`, `a list`,
/// `an object`.
fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Object(_) => "an object",
        Value::Array(_) => "a list",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RULES: &[ParamRule<'static>] = &[
        ParamRule {
            name: "prompt",
            required: true,
            default: None,
            kind: Kind::String {
                min_length: Some(2),
                max_length: Some(5),
            },
        },
        ParamRule {
            name: "width",
            required: false,
            default: Some("1024"),
            kind: Kind::Integer {
                min: Some(128),
                max: Some(2048),
                step: Some(64),
                values: None,
            },
        },
        ParamRule {
            name: "resolution",
            required: false,
            default: Some("\"720p\""),
            kind: Kind::Enum {
                values: &["480p", "720p"],
            },
        },
        ParamRule {
            name: "strength",
            required: false,
            default: Some("\"0.8\""),
            kind: Kind::Decimal {
                min: Some("0"),
                max: Some("1"),
                step: Some("0.05"),
            },
        },
    ];

    #[test]
    fn fills_defaults() {
        let out = validate(RULES, &json!({"prompt": "héllo"})).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"prompt": "héllo", "width": 1024, "resolution": "720p", "strength": "0.8"})
        );
    }

    #[test]
    fn reports_every_violation_in_order() {
        let err = validate(
            RULES,
            &json!({"width": 100, "resolution": "4k", "strength": "0.33", "zoom": 1}),
        )
        .unwrap_err();
        let got: Vec<(&str, Code, &str)> = err
            .0
            .iter()
            .map(|v| (v.param.as_str(), v.code, v.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("prompt", Code::Required, "prompt is required"),
                ("width", Code::Min, "width must be at least 128 (got 100)"),
                (
                    "resolution",
                    Code::Enum,
                    "resolution must be one of 480p, 720p (got 4k)"
                ),
                (
                    "strength",
                    Code::Step,
                    "strength must be a multiple of 0.05 (got 0.33)"
                ),
                ("zoom", Code::UnknownParam, "unknown param zoom"),
            ]
        );
    }

    const SIZE: &[ParamRule<'static>] = &[ParamRule {
        name: "image_size",
        required: false,
        default: Some("\"square\""),
        kind: Kind::OneOf {
            options: &[
                (
                    "preset",
                    Kind::Enum {
                        values: &["square", "landscape"],
                    },
                ),
                (
                    "custom",
                    Kind::Object {
                        fields: &[
                            ParamRule::required(
                                "width",
                                Kind::Integer {
                                    min: Some(64),
                                    max: Some(2048),
                                    step: None,
                                    values: None,
                                },
                            ),
                            ParamRule::with_default(
                                "unit",
                                "\"px\"",
                                Kind::Enum {
                                    values: &["px", "mm"],
                                },
                            ),
                            ParamRule::optional(
                                "label",
                                Kind::String {
                                    min_length: None,
                                    max_length: Some(3),
                                },
                            ),
                        ],
                    },
                ),
            ],
        },
    }];

    fn violations(rules: &[ParamRule<'_>], params: Value) -> Vec<(String, Code, String)> {
        validate(rules, &params)
            .unwrap_err()
            .0
            .into_iter()
            .map(|v| (v.param, v.code, v.message))
            .collect()
    }

    #[test]
    fn a_one_of_is_chosen_by_json_type_and_fills_field_defaults() {
        let out = validate(SIZE, &json!({"image_size": "landscape"})).unwrap();
        assert_eq!(out["image_size"], json!("landscape"));
        let out = validate(SIZE, &json!({})).unwrap();
        assert_eq!(out["image_size"], json!("square"));
        let out = validate(SIZE, &json!({"image_size": {"width": 512, "label": null}})).unwrap();
        assert_eq!(out["image_size"], json!({"width": 512, "unit": "px"}));
    }

    #[test]
    fn object_and_one_of_violations_name_the_field() {
        let one = |value: Value| violations(SIZE, json!({ "image_size": value })).remove(0);
        assert_eq!(
            one(json!({"height": 5, "widht": 1})),
            (
                "image_size.height".to_owned(),
                Code::UnknownField,
                "image_size has no field height (its fields are width, unit, label)".to_owned()
            )
        );
        assert_eq!(
            one(json!({"unit": "mm"})),
            (
                "image_size.width".to_owned(),
                Code::Required,
                "image_size.width is required".to_owned()
            )
        );
        assert_eq!(
            one(json!({"width": 10})),
            (
                "image_size.width".to_owned(),
                Code::Min,
                "image_size.width must be at least 64 (got 10)".to_owned()
            )
        );
        assert_eq!(
            one(json!("portrait")).2,
            "image_size must be one of square, landscape (got portrait)"
        );
        assert_eq!(
            one(json!(7)),
            (
                "image_size".to_owned(),
                Code::OneOf,
                "image_size must be one of square, landscape, or an object {width, unit, label} (got a number)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn json_types_of_kinds() {
        let decimal = Kind::Decimal {
            min: None,
            max: None,
            step: None,
        };
        assert_eq!(json_types(&decimal).names(), ["string", "number"]);
        assert_eq!(json_types(&SIZE[0].kind).names(), ["string", "object"]);
        assert!(takes(&decimal, &json!(5)) && !takes(&decimal, &json!(true)));
    }
}
