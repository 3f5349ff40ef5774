//! Request templates: strings with `{{ name }}` placeholders and JSON bodies, parsed into the
//! IR's template values.

use crate::ir::{Placeholder, RuntimeValue, Segment, Template};
use crate::spec::yaml::escape_token;

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
        let word =
            |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !(word(name) || name.strip_prefix("kept.").is_some_and(word)) {
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
    if let Some(kept) = name.strip_prefix("kept.") {
        return Ok(Placeholder::Kept(kept.to_owned()));
    }
    if params(name) {
        return Ok(Placeholder::Param(name.to_owned()));
    }
    if let Some(rv) = RuntimeValue::ALL.into_iter().find(|rv| rv.name() == name) {
        return Ok(Placeholder::Runtime(rv));
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
                let child = format!("{at}/{}", escape_token(k));
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
