//! Reading provider answers by JSON pointer: the helpers generated answer mapping calls.

use rust_decimal::Decimal;
use serde_json::Value;

use crate::model::{AnswerError, ErrorRule, Output, OutputKind};

/// The value at `pointer` (RFC 6901; no `*`).
pub fn at<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    v.pointer(pointer)
}

/// Every value at `pointer`, where a `*` segment stands for every element of an array.
pub fn all<'a>(v: &'a Value, pointer: &str) -> Vec<&'a Value> {
    let mut current = vec![v];
    if pointer.is_empty() {
        return current;
    }
    for raw in pointer.split('/').skip(1) {
        let token = raw.replace("~1", "/").replace("~0", "~");
        let mut next = Vec::new();
        for node in current {
            match (token.as_str(), node) {
                ("*", Value::Array(items)) => next.extend(items.iter()),
                (t, Value::Array(items)) => {
                    if let Some(item) = t.parse::<usize>().ok().and_then(|i| items.get(i)) {
                        next.push(item);
                    }
                }
                (t, Value::Object(m)) => {
                    if let Some(item) = m.get(t) {
                        next.push(item);
                    }
                }
                _ => {}
            }
        }
        current = next;
    }
    current
}

/// A string (or a number, as text) at `pointer`.
pub fn string(v: &Value, pointer: &str) -> Result<String, AnswerError> {
    match at(v, pointer) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::Null) | None => Err(AnswerError::Missing(pointer.to_owned())),
        Some(other) => Err(AnswerError::WrongType {
            pointer: pointer.to_owned(),
            expected: "a string",
            found: kind(other),
        }),
    }
}

/// The text of a state at `pointer`, for mapping provider states (strings, numbers, booleans).
pub fn state(v: &Value, pointer: &str) -> Result<String, AnswerError> {
    match at(v, pointer) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::Bool(b)) => Ok(b.to_string()),
        Some(Value::Null) | None => Err(AnswerError::Missing(pointer.to_owned())),
        Some(other) => Err(AnswerError::WrongType {
            pointer: pointer.to_owned(),
            expected: "a state",
            found: kind(other),
        }),
    }
}

/// An optional message at `pointer` (absent, null or empty: `None`).
pub fn message(v: &Value, pointer: &str) -> Option<String> {
    match at(v, pointer)? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The outputs at `pointer` (`*` allowed): each value a string; when `json_string`, the value
/// is a JSON document in a string, parsed and then read at `then`.
pub fn outputs(
    v: &Value,
    pointer: &str,
    json_string: bool,
    then: Option<&str>,
    kind: OutputKind,
) -> Result<Vec<Output>, AnswerError> {
    let found = all(v, pointer);
    if found.is_empty() {
        return Err(AnswerError::Missing(pointer.to_owned()));
    }
    let mut out = Vec::new();
    for value in found {
        if json_string {
            let text = value.as_str().ok_or_else(|| AnswerError::WrongType {
                pointer: pointer.to_owned(),
                expected: "a JSON string",
                found: self::kind(value),
            })?;
            let inner: Value = serde_json::from_str(text)
                .map_err(|_| AnswerError::BadJsonString(pointer.to_owned()))?;
            out.extend(outputs(&inner, then.unwrap_or(""), false, None, kind)?);
            continue;
        }
        match value {
            Value::String(s) if !s.is_empty() => out.push(Output {
                kind,
                value: s.clone(),
            }),
            Value::Array(items) => {
                for item in items {
                    match item.as_str() {
                        Some(s) if !s.is_empty() => out.push(Output {
                            kind,
                            value: s.to_owned(),
                        }),
                        _ => {
                            return Err(AnswerError::WrongType {
                                pointer: pointer.to_owned(),
                                expected: "strings",
                                found: self::kind(item),
                            });
                        }
                    }
                }
            }
            other => {
                return Err(AnswerError::WrongType {
                    pointer: pointer.to_owned(),
                    expected: "a string",
                    found: self::kind(other),
                });
            }
        }
    }
    if out.is_empty() {
        return Err(AnswerError::NoOutputs);
    }
    Ok(out)
}

/// A provider-reported cost at `pointer`, times `credits_per_unit`. Absent: `None`. A value that
/// is not a number is ignored rather than failing a generation that otherwise succeeded.
pub fn provider_cost(v: &Value, pointer: &str, credits_per_unit: &str) -> Option<Decimal> {
    let raw = match at(v, pointer)? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    let amount = Decimal::from_str_exact(&raw)
        .or_else(|_| raw.parse::<Decimal>())
        .ok()?;
    let rate = Decimal::from_str_exact(credits_per_unit).ok()?;
    amount.checked_mul(rate).map(|d| d.normalize())
}

/// The provider's error in a 2xx answer body, by its [`ErrorRule`]: `(message, code)`.
pub fn provider_error(rule: &ErrorRule, v: &Value) -> Option<(String, Option<String>)> {
    let code = rule.code.and_then(|p| at(v, p)).filter(|c| !c.is_null());
    let code_text = code.map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned));
    if !rule.ok_codes.is_empty() {
        let ok = code.is_some_and(|c| {
            rule.ok_codes
                .iter()
                .any(|ok| serde_json::from_str::<Value>(ok).ok().as_ref() == Some(c))
        });
        if ok {
            return None;
        }
        let message =
            message(v, rule.message).unwrap_or_else(|| "the provider reported an error".to_owned());
        return Some((message, code_text));
    }
    message(v, rule.message).map(|m| (m, code_text))
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_wildcards_and_json_strings() {
        let runware = json!({"data": [{"imageURL": "https://a"}, {"imageURL": "https://b"}]});
        let urls = outputs(&runware, "/data/*/imageURL", false, None, OutputKind::Url).unwrap();
        assert_eq!(
            urls.iter().map(|o| o.value.as_str()).collect::<Vec<_>>(),
            ["https://a", "https://b"]
        );
        let kie = json!({"data": {"resultJson": "{\"resultUrls\":[\"https://v\"]}"}});
        let v = outputs(
            &kie,
            "/data/resultJson",
            true,
            Some("/resultUrls"),
            OutputKind::Url,
        )
        .unwrap();
        assert_eq!(v[0].value, "https://v");
        assert_eq!(
            outputs(&kie, "/nope", false, None, OutputKind::Url),
            Err(AnswerError::Missing("/nope".into()))
        );
    }

    #[test]
    fn detects_kie_errors_in_http_200_bodies() {
        let rule = ErrorRule {
            message: "/msg",
            code: Some("/code"),
            ok_codes: &["200"],
        };
        assert_eq!(
            provider_error(&rule, &json!({"code": 200, "msg": "success"})),
            None
        );
        assert_eq!(
            provider_error(&rule, &json!({"code": 422, "msg": "bad"})),
            Some(("bad".into(), Some("422".into())))
        );
        let runware = ErrorRule {
            message: "/errors/0/message",
            code: Some("/errors/0/code"),
            ok_codes: &[],
        };
        assert_eq!(provider_error(&runware, &json!({"data": []})), None);
        assert!(
            provider_error(
                &runware,
                &json!({"errors": [{"code": "invalidApiKey", "message": "no"}]})
            )
            .is_some()
        );
    }
}
