//! Small scalar syntaxes of the spec: durations, decimals, JSON pointers and templates.

use rust_decimal::Decimal;
use std::str::FromStr;

use crate::ir::types::{Placeholder, RuntimeValue, Segment, Template};

/// Parse `90s`, `4m`, `1h`, `1m30s`, `500ms` into milliseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty duration".into());
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("`{text}` is not a duration"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}` is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let ms = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "" => return Err(format!("`{text}` has a number without a unit")),
            other => return Err(format!("unknown unit `{other}` in `{text}`")),
        };
        total = n
            .checked_mul(ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("`{text}` is too large"))?;
    }
    if total == 0 {
        return Err("a duration must be longer than zero".into());
    }
    Ok(total)
}

/// Parse an exact decimal string; returns its canonical form (no trailing zeros).
pub fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    let plain = !t.is_empty()
        && t.strip_prefix('-')
            .unwrap_or(t)
            .split_once('.')
            .map_or_else(
                || {
                    t.strip_prefix('-')
                        .unwrap_or(t)
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                },
                |(i, f)| {
                    !i.is_empty()
                        && !f.is_empty()
                        && (i.bytes().chain(f.bytes())).all(|b| b.is_ascii_digit())
                },
            );
    if !plain || t != text {
        return Err(format!("`{text}` is not a plain decimal number"));
    }
    Decimal::from_str(t).map_err(|e| format!("`{text}`: {e}"))
}

/// Canonical text of a decimal: no exponent, no trailing zeros.
pub fn canonical(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Check the syntax of a JSON pointer (RFC 6901, plus `*` segments).
pub fn check_pointer(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Ok(());
    }
    if !p.starts_with('/') {
        return Err(format!("`{p}` does not start with `/`"));
    }
    let bytes = p.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'~' && !matches!(bytes.get(i + 1), Some(b'0' | b'1')) {
            return Err(format!("`{p}` has a `~` that is not `~0` or `~1`"));
        }
    }
    if p.contains("//") {
        return Err(format!("`{p}` has an empty segment"));
    }
    Ok(())
}

/// Split a string with `{{ name }}` placeholders.
pub fn parse_segments(text: &str, params: &dyn Fn(&str) -> bool) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Segment::Text(rest[..open].to_owned()));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(format!("`{{{{` without a closing `}}}}` in `{text}`"));
        };
        let name = after[..close].trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("`{{{{ {name} }}}}` is not a placeholder name"));
        }
        out.push(Segment::Value(placeholder(name, params)?));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err(format!("`}}}}` without an opening `{{{{` in `{text}`"));
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest.to_owned()));
    }
    Ok(out)
}

fn placeholder(name: &str, params: &dyn Fn(&str) -> bool) -> Result<Placeholder, String> {
    if params(name) {
        return Ok(Placeholder::Param(name.to_owned()));
    }
    if let Some((_, rv)) = RuntimeValue::ALL.iter().find(|(n, _)| *n == name) {
        return Ok(Placeholder::Runtime(*rv));
    }
    Err(format!("unknown placeholder `{name}`"))
}

/// A template problem with the pointer (relative to the template root) where it is.
pub struct TemplateError {
    /// Pointer relative to the template.
    pub at: String,
    /// What is wrong.
    pub message: String,
    /// The name of an unknown placeholder, for "did you mean".
    pub unknown: Option<String>,
}

/// Parse a JSON body template.
pub fn parse_template(
    value: &serde_json::Value,
    params: &dyn Fn(&str) -> bool,
) -> Result<Template, TemplateError> {
    parse_template_at(value, params, String::new())
}

fn parse_template_at(
    value: &serde_json::Value,
    params: &dyn Fn(&str) -> bool,
    at: String,
) -> Result<Template, TemplateError> {
    use serde_json::Value;
    Ok(match value {
        Value::String(s) => {
            let segments = parse_segments(s, params).map_err(|message| TemplateError {
                unknown: message
                    .strip_prefix("unknown placeholder `")
                    .map(|r| r.trim_end_matches('`').to_owned()),
                at: at.clone(),
                message,
            })?;
            match segments.as_slice() {
                [] => Template::Literal(Value::String(String::new())),
                [Segment::Text(t)] => Template::Literal(Value::String(t.clone())),
                [Segment::Value(p)] => Template::Value(p.clone()),
                _ => Template::Text(segments),
            }
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(parse_template_at(item, params, format!("{at}/{i}"))?);
            }
            if out.iter().all(|t| matches!(t, Template::Literal(_))) {
                Template::Literal(value.clone())
            } else {
                Template::Array(out)
            }
        }
        Value::Object(members) => {
            let mut out = Vec::with_capacity(members.len());
            for (k, v) in members {
                let child = format!("{at}/{}", crate::spec::yaml::escape_token(k));
                out.push((k.clone(), parse_template_at(v, params, child)?));
            }
            if out.iter().all(|(_, t)| matches!(t, Template::Literal(_))) {
                Template::Literal(value.clone())
            } else {
                Template::Object(out)
            }
        }
        other => Template::Literal(other.clone()),
    })
}

/// Every placeholder used in a template.
pub fn template_placeholders(t: &Template, out: &mut Vec<Placeholder>) {
    match t {
        Template::Literal(_) => {}
        Template::Value(p) => out.push(p.clone()),
        Template::Text(segs) => segment_placeholders(segs, out),
        Template::Object(members) => members
            .iter()
            .for_each(|(_, t)| template_placeholders(t, out)),
        Template::Array(items) => items.iter().for_each(|t| template_placeholders(t, out)),
    }
}

/// Every placeholder used in a string template.
pub fn segment_placeholders(segs: &[Segment], out: &mut Vec<Placeholder>) {
    for s in segs {
        if let Segment::Value(p) = s {
            out.push(p.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("4m"), Ok(240_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn decimals() {
        assert_eq!(canonical(parse_decimal("1.50").unwrap()), "1.5");
        assert!(parse_decimal("1e3").is_err());
        assert!(parse_decimal(" 1").is_err());
        assert!(parse_decimal(".5").is_err());
    }

    #[test]
    fn templates_keep_types_of_lone_placeholders() {
        let is_param = |n: &str| n == "prompt" || n == "duration";
        let t = parse_template(
            &serde_json::json!({"a": "{{ duration }}", "b": "x {{prompt}}", "c": 1}),
            &is_param,
        )
        .ok()
        .unwrap();
        let Template::Object(m) = t else {
            panic!("object expected")
        };
        assert_eq!(
            m[0].1,
            Template::Value(Placeholder::Param("duration".into()))
        );
        assert!(matches!(m[1].1, Template::Text(_)));
        assert!(matches!(m[2].1, Template::Literal(_)));
        let err = parse_template(&serde_json::json!({"a": ["{{ promt }}"]}), &is_param)
            .err()
            .unwrap();
        assert_eq!(err.at, "/a/0");
        assert_eq!(err.unknown.as_deref(), Some("promt"));
    }
}
