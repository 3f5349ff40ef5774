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
    /// A required param is missing.
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
}

/// One problem with one param.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    /// The param (`image_urls[2]` for an array item).
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
        match given.get(rule.name).filter(|x| !x.is_null()) {
            Some(value) => match check(rule.name, &rule.kind, value) {
                Ok(()) => {
                    out.insert(rule.name.to_owned(), value.clone());
                }
                Err(p) => problems.push(p),
            },
            None => match rule.default {
                Some(text) => {
                    out.insert(
                        rule.name.to_owned(),
                        serde_json::from_str(text).unwrap_or(Value::Null),
                    );
                }
                None if rule.required => problems.push(v(
                    rule.name,
                    Code::Required,
                    format!("{} is required", rule.name),
                )),
                None => {}
            },
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
    }
    Ok(())
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
}
