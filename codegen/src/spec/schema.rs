//! The JSON Schemas of the spec files, derived from the serde types, and the check of a parsed
//! file against them with diagnostics that name the exact key or value.

use jsonschema::Validator;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::types::{ModelSpec, MonitoringSpec, ProviderSpec};
use super::yaml::{SourceMap, escape_token};
use crate::diag::{Diagnostic, did_you_mean};
use std::collections::HashSet;
use std::path::Path;

/// The kinds of spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SpecKind {
    /// `models/providers/*.yaml`.
    Provider,
    /// `models/<provider>/*.yaml`.
    Model,
    /// `models/monitoring.yaml`.
    Monitoring,
}

impl SpecKind {
    /// All kinds.
    pub const ALL: [SpecKind; 3] = [SpecKind::Provider, SpecKind::Model, SpecKind::Monitoring];

    /// File name of the kind's schema under `schema/`.
    pub fn schema_file(self) -> &'static str {
        match self {
            SpecKind::Provider => "provider.schema.json",
            SpecKind::Model => "model.schema.json",
            SpecKind::Monitoring => "monitoring.schema.json",
        }
    }

    /// The schema, derived from the Rust types.
    pub fn schema(self) -> Value {
        let mut schema = match self {
            SpecKind::Provider => schemars::schema_for!(ProviderSpec),
            SpecKind::Model => schemars::schema_for!(ModelSpec),
            SpecKind::Monitoring => schemars::schema_for!(MonitoringSpec),
        }
        .to_value();
        if let Value::Object(map) = &mut schema {
            map.insert(
                "$id".into(),
                Value::String(format!(
                    "https://model-registry.local/schema/{}",
                    self.schema_file()
                )),
            );
        }
        schema
    }
}

/// Compiled validators for every kind.
pub struct Schemas {
    provider: Validator,
    model: Validator,
    monitoring: Validator,
    raw: [Value; 3],
}

impl Schemas {
    /// Compile the schemas.
    pub fn new() -> Self {
        let raw = SpecKind::ALL.map(SpecKind::schema);
        // The schemas come from our own types; a failure here is a bug in the types, caught by
        // the unit test below.
        let build = |v: &Value| jsonschema::validator_for(v).expect("derived schema compiles");
        Schemas {
            provider: build(&raw[0]),
            model: build(&raw[1]),
            monitoring: build(&raw[2]),
            raw,
        }
    }

    fn validator(&self, kind: SpecKind) -> (&Validator, &Value) {
        match kind {
            SpecKind::Provider => (&self.provider, &self.raw[0]),
            SpecKind::Model => (&self.model, &self.raw[1]),
            SpecKind::Monitoring => (&self.monitoring, &self.raw[2]),
        }
    }

    /// Check `instance` and describe each violation at its source position.
    pub fn check(
        &self,
        kind: SpecKind,
        file: &Path,
        instance: &Value,
        map: &SourceMap,
    ) -> Vec<Diagnostic> {
        let (validator, root) = self.validator(kind);
        let mut out = Vec::new();
        for error in validator.iter_errors(instance) {
            let pointer = error.instance_path().as_str().to_owned();
            let schema_path = error.schema_path().as_str().to_owned();
            let found = error.instance();
            match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let allowed = allowed_properties(root, &schema_path);
                    for key in unexpected {
                        let at = format!("{pointer}/{}", escape_token(key));
                        let mut d =
                            Diagnostic::new(file, map.key(&at), format!("unknown field `{key}`"))
                                .expected(format!("one of {}", quote_list(&allowed)));
                        d = match did_you_mean(key, allowed.iter().map(String::as_str)) {
                            Some(m) => d.hint(format!("did you mean `{m}`?")),
                            None if key.contains(' ') => d.hint(
                                "a comma inside `{ ... }` ends a value: quote text that contains commas",
                            ),
                            None => d.hint("remove it, or check the spelling against the schema"),
                        };
                        out.push(d);
                    }
                }
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    out.push(
                        Diagnostic::new(
                            file,
                            map.value(&pointer),
                            format!("missing required field `{name}`"),
                        )
                        .hint(format!("add `{name}:` to this mapping")),
                    );
                }
                ValidationErrorKind::Type { kind } => {
                    let expected = type_name(kind);
                    let mut d = Diagnostic::new(
                        file,
                        map.value(&pointer),
                        format!("expected {expected}, found {}", describe(found.as_ref())),
                    );
                    if expected == "a string" {
                        if let Some(text) = map.plain_numbers.get(&pointer) {
                            d = d.hint(format!(
                                "write the number as a quoted string, `\"{text}\"`, so it stays exact"
                            ));
                        } else {
                            d = d.hint("quote the value");
                        }
                    }
                    out.push(d);
                }
                ValidationErrorKind::Enum { options } => {
                    let options: Vec<String> = options
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    let given = found
                        .as_str()
                        .map_or_else(|| found.to_string(), str::to_owned);
                    let mut d = Diagnostic::new(
                        file,
                        map.value(&pointer),
                        format!("unknown value `{given}`"),
                    )
                    .expected(format!("one of {}", quote_list(&options)));
                    if let Some(m) = did_you_mean(&given, options.iter().map(String::as_str)) {
                        d = d.hint(format!("did you mean `{m}`?"));
                    }
                    out.push(d);
                }
                ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. }
                    if const_options(root, &schema_path).is_some() =>
                {
                    let options = const_options(root, &schema_path).unwrap_or_default();
                    let given = found
                        .as_str()
                        .map_or_else(|| found.to_string(), str::to_owned);
                    let mut d = Diagnostic::new(
                        file,
                        map.value(&pointer),
                        format!("unknown value `{given}`"),
                    )
                    .expected(format!("one of {}", quote_list(&options)));
                    if let Some(m) = did_you_mean(&given, options.iter().map(String::as_str)) {
                        d = d.hint(format!("did you mean `{m}`?"));
                    }
                    out.push(d);
                }
                ValidationErrorKind::Pattern { pattern } => {
                    out.push(
                        Diagnostic::new(
                            file,
                            map.value(&pointer),
                            format!(
                                "{} does not have the expected form",
                                describe(found.as_ref())
                            ),
                        )
                        .expected(format!("a value matching `{pattern}`"))
                        .maybe_hint(pattern_hint(pattern)),
                    );
                }
                _ => {
                    out.push(Diagnostic::new(
                        file,
                        map.value(&pointer),
                        error.to_string(),
                    ));
                }
            }
        }
        drop_required_explained_by_typos(out)
    }
}

/// A misspelt key shows twice: as an unknown field and as a missing required one. Keep the
/// first, which carries the "did you mean". Linear in the number of diagnostics.
fn drop_required_explained_by_typos(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let suggested: HashSet<String> = diags
        .iter()
        .filter_map(|d| {
            d.hint
                .as_deref()?
                .strip_prefix("did you mean `")?
                .strip_suffix("`?")
                .map(str::to_owned)
        })
        .collect();
    if suggested.is_empty() {
        return diags;
    }
    diags
        .into_iter()
        .filter(|d| {
            let missing = d
                .message
                .strip_prefix("missing required field `")
                .and_then(|m| m.strip_suffix('`'));
            !missing.is_some_and(|name| suggested.contains(name))
        })
        .collect()
}

/// The allowed values of a `oneOf`/`anyOf` whose branches are all `const` (how schemars
/// describes an enum with documented variants).
fn const_options(root: &Value, schema_path: &str) -> Option<Vec<String>> {
    let branches = root.pointer(schema_path)?.as_array()?;
    branches
        .iter()
        .map(|b| {
            let b = match b.get("$ref").and_then(Value::as_str) {
                Some(r) => root.pointer(r.strip_prefix('#')?)?,
                None => b,
            };
            b.get("const").and_then(Value::as_str).map(str::to_owned)
        })
        .collect()
}

impl Default for Schemas {
    fn default() -> Self {
        Self::new()
    }
}

fn pattern_hint(pattern: &str) -> Option<String> {
    if pattern.contains("[a-z][a-z0-9_]") {
        Some("use snake_case: lowercase letters, digits and `_`, starting with a letter".into())
    } else if pattern.contains("https?") {
        Some("use an absolute http(s) URL without a trailing slash".into())
    } else if pattern == "^/" {
        Some("start the path with `/`".into())
    } else {
        None
    }
}

/// The property names allowed by the object schema that owns the `additionalProperties`
/// keyword at `schema_path`.
fn allowed_properties(root: &Value, schema_path: &str) -> Vec<String> {
    let owner = schema_path
        .strip_suffix("/additionalProperties")
        .unwrap_or(schema_path);
    let mut node = root.pointer(owner);
    // Follow a `$ref` if the owner is only a reference.
    if let Some(r) = node.and_then(|n| n.get("$ref")).and_then(Value::as_str) {
        node = r.strip_prefix('#').and_then(|p| root.pointer(p));
    }
    node.and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default()
}

fn quote_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn type_name(kind: &TypeKind) -> String {
    let one = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "string" => "a string".to_owned(),
        "integer" => "an integer".to_owned(),
        "number" => "a number".to_owned(),
        "boolean" => "`true` or `false`".to_owned(),
        "object" => "a mapping".to_owned(),
        "array" => "a list".to_owned(),
        "null" => "nothing".to_owned(),
        other => other.to_owned(),
    };
    match kind {
        TypeKind::Single(t) => one(t),
        TypeKind::Multiple(ts) => ts.iter().map(|t| one(&t)).collect::<Vec<_>>().join(" or "),
    }
}

/// Describe a JSON value in a few words for a message.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            format!("a string of {} characters", s.chars().count())
        }
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_schemas_compile() {
        let _ = Schemas::new();
    }
}
