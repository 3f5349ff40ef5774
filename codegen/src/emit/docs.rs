//! `schema/SPEC.md`: the field reference of the spec format, generated from the JSON Schemas
//! (and so from the doc comments of the spec types).

use std::collections::BTreeSet;
use std::fmt::Write;

use serde_json::Value;

use super::{EmitError, HEADER};
use crate::spec::schema::SpecKind;
use crate::write::Files;

pub(super) fn emit(files: &mut Files) -> Result<(), EmitError> {
    files.insert("SPEC.md".into(), render());
    Ok(())
}

/// Render the reference for every kind of spec file.
fn render() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<!-- {HEADER} -->\n");
    let _ = writeln!(out, "# Spec reference\n");
    let _ = writeln!(
        out,
        "Every field of the three kinds of spec file, generated from `schema/*.schema.json` (which is derived from the Rust spec types). Fields marked **required** must be present; the others have the default shown or are optional.\n"
    );
    for kind in SpecKind::ALL {
        let schema = kind.schema();
        let title = schema
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("Spec");
        let file = match kind {
            SpecKind::Provider => "`models/providers/<id>.yaml`",
            SpecKind::Model => "`models/<provider>/<id>.yaml`",
            SpecKind::Monitoring => "`models/monitoring.yaml`",
        };
        let _ = writeln!(out, "## {title} ({file})\n");
        if let Some(d) = schema.get("description").and_then(Value::as_str) {
            let _ = writeln!(out, "{}\n", one_line(d));
        }
        object_table(&mut out, &schema);
        let mut seen = BTreeSet::new();
        if let Some(defs) = schema.get("$defs").and_then(Value::as_object) {
            for (name, def) in defs {
                if def.get("properties").is_none() || !seen.insert(name.clone()) {
                    continue;
                }
                let _ = writeln!(out, "### {name}\n");
                if let Some(d) = def.get("description").and_then(Value::as_str) {
                    let _ = writeln!(out, "{}\n", paragraphs(d));
                }
                object_table(&mut out, def);
            }
            for (name, def) in defs {
                let values = enum_values(def);
                if values.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "### {name}\n");
                if let Some(d) = def.get("description").and_then(Value::as_str) {
                    let _ = writeln!(out, "{}\n", one_line(d));
                }
                let _ = writeln!(out, "| value | meaning |\n|---|---|");
                for (v, d) in values {
                    let _ = writeln!(out, "| `{v}` | {} |", one_line(&d));
                }
                out.push('\n');
            }
        }
    }
    codes_table(&mut out);
    out
}

/// Every diagnostic code, from the one list in [`crate::diag::Code`].
fn codes_table(out: &mut String) {
    let _ = writeln!(out, "## Diagnostic codes\n");
    let _ = writeln!(
        out,
        "Every problem `codegen` reports carries one of these codes, shown as `error[E0201]` and in the `code` field of `--message-format json`. A code keeps its meaning; a retired code is not reused.\n"
    );
    let _ = writeln!(
        out,
        "| code | name | meaning | example fix |\n|---|---|---|---|"
    );
    for code in crate::diag::Code::ALL {
        let _ = writeln!(
            out,
            "| `{code}` | `{}` | {} | {} |",
            code.name(),
            one_line(code.meaning()),
            one_line(code.example_fix())
        );
    }
    out.push('\n');
}

fn object_table(out: &mut String, object: &Value) {
    let Some(props) = object.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: BTreeSet<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let _ = writeln!(out, "| field | type | | description |\n|---|---|---|---|");
    for (name, prop) in props {
        let req = if required.contains(name.as_str()) {
            "**required**".to_owned()
        } else {
            match prop.get("default") {
                Some(d) => format!("default `{d}`"),
                None => "optional".to_owned(),
            }
        };
        let desc = prop
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| `{name}` | {} | {req} | {} |",
            type_of(prop),
            one_line(desc)
        );
    }
    out.push('\n');
}

fn type_of(v: &Value) -> String {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("[{name}](#{})", name.to_lowercase());
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = v.get(key).and_then(Value::as_array) {
            let parts: Vec<String> = branches
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .map(type_of)
                .collect();
            return parts.join(" or ");
        }
    }
    let ty = match v.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_owned(),
    };
    match ty.as_str() {
        "array" => format!(
            "list of {}",
            v.get("items").map_or_else(|| "any".to_owned(), type_of)
        ),
        "object" => match v.get("additionalProperties") {
            Some(ap) if ap.is_object() => format!("map of {}", type_of(ap)),
            _ => "mapping".to_owned(),
        },
        _ => ty,
    }
}

fn enum_values(def: &Value) -> Vec<(String, String)> {
    let Some(branches) = def.get("oneOf").and_then(Value::as_array) else {
        return Vec::new();
    };
    branches
        .iter()
        .filter_map(|b| {
            let c = b.get("const")?.as_str()?.to_owned();
            Some((
                c,
                b.get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ))
        })
        .collect()
}

/// A description outside a table: each paragraph on one line, fenced code blocks as written.
fn paragraphs(s: &str) -> String {
    let mut blocks: Vec<String> = Vec::new();
    let mut text: Vec<&str> = Vec::new();
    let mut code: Option<Vec<&str>> = None;
    let flush = |text: &mut Vec<&str>, blocks: &mut Vec<String>| {
        if !text.is_empty() {
            blocks.push(one_line(&text.join(" ")));
            text.clear();
        }
    };
    for line in s.lines() {
        match &mut code {
            Some(lines) => {
                lines.push(line);
                if line.trim_start().starts_with("```") {
                    blocks.push(lines.join("\n"));
                    code = None;
                }
            }
            None if line.trim_start().starts_with("```") => {
                flush(&mut text, &mut blocks);
                code = Some(vec![line]);
            }
            None if line.trim().is_empty() => flush(&mut text, &mut blocks),
            None => text.push(line),
        }
    }
    if let Some(lines) = code {
        blocks.push(lines.join("\n"));
    }
    flush(&mut text, &mut blocks);
    blocks.join("\n\n")
}

fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}
