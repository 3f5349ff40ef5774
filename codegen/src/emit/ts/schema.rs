//! A JSON Schema (2020-12) of each model's params, for form generators.
//!
//! It says what JSON Schema can say: types, lengths (JSON Schema counts code points, like the
//! validation), integer bounds, enum values, item counts, defaults, objects with their fields
//! and no others (`additionalProperties: false`), and a one_of's options (`oneOf`: the options
//! take different JSON types, so a valid value matches exactly one). Decimal bounds and steps
//! cannot be expressed on strings; they are in the description, and `validateParams` checks
//! them.

use serde_json::{Map, Value, json};

use crate::ir::{ItemType, Model, Param, ParamKind};

/// A decimal as the validation accepts it: optional minus, digits, optional fraction.
pub(super) const DECIMAL_PATTERN: &str = "^-?[0-9]+(\\.[0-9]+)?$";
/// An http(s) URL with a host part.
pub(super) const URL_PATTERN: &str = "^https?://[^/\\s]\\S*$";

/// The JSON Schema of `m`'s params.
pub fn params_schema(m: &Model) -> Value {
    let mut properties = Map::new();
    for p in &m.params {
        properties.insert(p.name.clone(), property(p));
    }
    let required: Vec<&str> = m
        .params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name.as_str())
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("{} params", m.display_name),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn url_schema() -> Value {
    json!({ "type": "string", "format": "uri", "pattern": URL_PATTERN })
}

fn property(p: &Param) -> Value {
    schema_of(&p.kind, p.description.as_deref(), p.default.as_ref())
}

/// The schema of a param, field or option of `kind`.
fn schema_of(kind: &ParamKind, description: Option<&str>, default: Option<&Value>) -> Value {
    let mut s = Map::new();
    let mut notes: Vec<String> = Vec::new();
    match kind {
        ParamKind::String {
            min_length,
            max_length,
        } => {
            s.insert("type".into(), json!("string"));
            if let Some(n) = min_length {
                s.insert("minLength".into(), json!(n));
            }
            if let Some(n) = max_length {
                s.insert("maxLength".into(), json!(n));
            }
        }
        ParamKind::Integer {
            min,
            max,
            step,
            values,
        } => {
            s.insert("type".into(), json!("integer"));
            if let Some(vs) = values {
                s.insert("enum".into(), json!(vs));
            }
            if let Some(n) = min {
                s.insert("minimum".into(), json!(n));
            }
            if let Some(n) = max {
                s.insert("maximum".into(), json!(n));
            }
            if let Some(n) = step {
                s.insert("multipleOf".into(), json!(n));
            }
        }
        ParamKind::Decimal { min, max, step } => {
            s.insert("type".into(), json!("string"));
            s.insert("pattern".into(), json!(DECIMAL_PATTERN));
            if let Some(n) = min {
                notes.push(format!("at least {n}"));
            }
            if let Some(n) = max {
                notes.push(format!("at most {n}"));
            }
            if let Some(n) = step {
                notes.push(format!("a multiple of {n}"));
            }
        }
        ParamKind::Enum { values } => {
            s.insert("type".into(), json!("string"));
            s.insert("enum".into(), json!(values));
        }
        ParamKind::Boolean => {
            s.insert("type".into(), json!("boolean"));
        }
        ParamKind::ImageUrl => {
            if let Value::Object(url) = url_schema() {
                s.extend(url);
            }
        }
        ParamKind::Array {
            items,
            min_items,
            max_items,
        } => {
            s.insert("type".into(), json!("array"));
            let item = match items {
                ItemType::String => json!({ "type": "string" }),
                ItemType::ImageUrl => url_schema(),
            };
            s.insert("items".into(), item);
            if let Some(n) = min_items {
                s.insert("minItems".into(), json!(n));
            }
            if let Some(n) = max_items {
                s.insert("maxItems".into(), json!(n));
            }
        }
        ParamKind::Object { fields } => {
            let mut properties = Map::new();
            for f in fields {
                properties.insert(
                    f.name.clone(),
                    schema_of(&f.kind, f.description.as_deref(), f.default.as_ref()),
                );
            }
            let required: Vec<&str> = fields
                .iter()
                .filter(|f| f.required)
                .map(|f| f.name.as_str())
                .collect();
            s.insert("type".into(), json!("object"));
            s.insert("properties".into(), Value::Object(properties));
            s.insert("required".into(), json!(required));
            s.insert("additionalProperties".into(), json!(false));
        }
        ParamKind::OneOf { options } => {
            let options: Vec<Value> = options
                .iter()
                .map(|o| {
                    let mut option = schema_of(&o.kind, o.description.as_deref(), None);
                    if let Value::Object(m) = &mut option {
                        m.insert("title".into(), json!(o.name));
                    }
                    option
                })
                .collect();
            s.insert("oneOf".into(), Value::Array(options));
        }
    }
    let mut description = description.unwrap_or_default().to_owned();
    if !notes.is_empty() {
        if !description.is_empty() {
            description.push(' ');
        }
        description.push_str(&format!("A decimal {}.", notes.join(", ")));
    }
    if !description.is_empty() {
        s.insert("description".into(), json!(description));
    }
    if let Some(d) = default {
        s.insert("default".into(), d.clone());
    }
    Value::Object(s)
}
