//! The JSON Schemas of the spec files, derived from the serde types, and the check of a parsed
//! file against them with diagnostics that name the exact key or value.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::types::{ModelSpec, MonitoringSpec, ProviderSpec};
use super::yaml::{SourceMap, escape_token};
use crate::diag::{Code, Diagnostic, did_you_mean};
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
        let cx = Cx { root, file, map };
        let mut out = Vec::new();
        for error in validator.iter_errors(instance) {
            cx.describe(&error, &mut out);
        }
        if kind == SpecKind::Model {
            cx.bodies_on_get(instance, &mut out);
        }
        drop_required_explained_by_typos(out)
    }
}

/// What describing an error needs: the schema it came from and where values are.
struct Cx<'a> {
    root: &'a Value,
    file: &'a Path,
    map: &'a SourceMap,
}

impl Cx<'_> {
    /// A diagnostic at the value at `pointer`.
    fn at(&self, code: Code, pointer: &str, message: String) -> Diagnostic {
        Diagnostic::new(code, self.file, self.map.value(pointer), message)
    }

    /// Describe one validation error, in terms of the field and the value, never in the
    /// validator's own words. An `anyOf`/`oneOf` (how schemars writes an optional block,
    /// `anyOf: [{$ref}, {type: null}]`) is described by the errors of the branch the value
    /// was meant for.
    fn describe(&self, error: &ValidationError<'_>, out: &mut Vec<Diagnostic>) {
        let pointer = error.instance_path().as_str().to_owned();
        let schema_path = error.schema_path().as_str().to_owned();
        let found = error.instance();
        let field = field_name(&pointer);
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed = allowed_properties(self.root, &schema_path);
                for key in unexpected {
                    let at = format!("{pointer}/{}", escape_token(key));
                    let within = if pointer.is_empty() {
                        String::new()
                    } else {
                        format!(" in `{field}`")
                    };
                    let mut d = Diagnostic::new(
                        Code::UnknownField,
                        self.file,
                        self.map.key(&at),
                        format!("unknown field `{key}`{within}"),
                    )
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
                let within = if pointer.is_empty() {
                    String::new()
                } else {
                    format!(" in `{field}`")
                };
                out.push(
                    self.at(
                        Code::MissingField,
                        &pointer,
                        format!("missing required field `{name}`{within}"),
                    )
                    .hint(format!("add `{name}:` to this mapping")),
                );
            }
            ValidationErrorKind::Type { kind } => {
                let expected = type_name(kind);
                out.push(self.wrong_type(&pointer, &expected, found));
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
                out.push(self.unknown_value(&pointer, found, &options));
            }
            ValidationErrorKind::Constant { expected_value } => {
                let option = expected_value
                    .as_str()
                    .map_or_else(|| expected_value.to_string(), str::to_owned);
                out.push(self.unknown_value(&pointer, found, &[option]));
            }
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context } => {
                if let Some(options) = const_options(self.root, &schema_path) {
                    out.push(self.unknown_value(&pointer, found, &options));
                } else {
                    self.branches(&pointer, &schema_path, found, context, out);
                }
            }
            ValidationErrorKind::Pattern { pattern } => {
                out.push(
                    self.at(
                        Code::BadForm,
                        &pointer,
                        format!(
                            "{} does not have the form `{field}` needs",
                            describe(found.as_ref())
                        ),
                    )
                    .expected(
                        pattern_meaning(pattern)
                            .unwrap_or_else(|| format!("a value matching `{pattern}`")),
                    )
                    .maybe_hint(pattern_hint(pattern)),
                );
            }
            ValidationErrorKind::Minimum { limit }
            | ValidationErrorKind::ExclusiveMinimum { limit } => {
                out.push(
                    self.at(
                        Code::OutOfRange,
                        &pointer,
                        format!("{} is too small for `{field}`", describe(found.as_ref())),
                    )
                    .expected(format!("a number of at least {limit}")),
                );
            }
            ValidationErrorKind::Maximum { limit }
            | ValidationErrorKind::ExclusiveMaximum { limit } => {
                out.push(
                    self.at(
                        Code::OutOfRange,
                        &pointer,
                        format!("{} is too large for `{field}`", describe(found.as_ref())),
                    )
                    .expected(format!("a number of at most {limit}")),
                );
            }
            ValidationErrorKind::MinItems { limit }
            | ValidationErrorKind::MaxItems { limit }
            | ValidationErrorKind::MinLength { limit }
            | ValidationErrorKind::MaxLength { limit }
            | ValidationErrorKind::MinProperties { limit }
            | ValidationErrorKind::MaxProperties { limit } => {
                let (what, bound) = match error.kind() {
                    ValidationErrorKind::MinItems { .. } => ("items", "at least"),
                    ValidationErrorKind::MaxItems { .. } => ("items", "at most"),
                    ValidationErrorKind::MinLength { .. } => ("characters", "at least"),
                    ValidationErrorKind::MaxLength { .. } => ("characters", "at most"),
                    ValidationErrorKind::MinProperties { .. } => ("entries", "at least"),
                    _ => ("entries", "at most"),
                };
                out.push(
                    self.at(
                        Code::OutOfRange,
                        &pointer,
                        format!("`{field}` has the wrong number of {what}"),
                    )
                    .expected(format!("{bound} {limit} {what}")),
                );
            }
            other => {
                out.push(
                    self.at(
                        Code::InvalidValue,
                        &pointer,
                        format!(
                            "{} is not a valid `{field}` (it breaks the schema's `{}` rule)",
                            describe(found.as_ref()),
                            other.keyword()
                        ),
                    )
                    .hint("compare the value with its field in `schema/SPEC.md`"),
                );
            }
        }
    }

    /// No branch of an `anyOf`/`oneOf` accepts the value. Describe the errors of the branch
    /// it was meant for: a branch that refuses the value only for its type is not meant,
    /// unless every branch does, which makes the value simply of the wrong type.
    fn branches(
        &self,
        pointer: &str,
        schema_path: &str,
        found: &Value,
        context: &[Vec<ValidationError<'static>>],
        out: &mut Vec<Diagnostic>,
    ) {
        let only_type = |errors: &Vec<ValidationError<'static>>| {
            errors.iter().all(|e| {
                e.instance_path().as_str() == pointer
                    && matches!(e.kind(), ValidationErrorKind::Type { .. })
            })
        };
        let meant = context
            .iter()
            .filter(|errors| !errors.is_empty() && !only_type(errors))
            .min_by_key(|errors| errors.len());
        match meant {
            Some(errors) => {
                for e in errors {
                    self.describe(e, out);
                }
            }
            None => {
                let types = branch_types(self.root, schema_path);
                let expected = if types.is_empty() {
                    "another kind of value".to_owned()
                } else {
                    types.join(" or ")
                };
                out.push(self.wrong_type(pointer, &expected, found));
            }
        }
    }

    fn wrong_type(&self, pointer: &str, expected: &str, found: &Value) -> Diagnostic {
        let field = field_name(pointer);
        let mut d = self.at(
            Code::WrongType,
            pointer,
            format!(
                "expected {expected} for `{field}`, found {}",
                describe(found)
            ),
        );
        let hint = match (expected, found) {
            ("a string", _) if self.map.plain_numbers.contains_key(pointer) => {
                let text = &self.map.plain_numbers[pointer];
                format!("write the number as a quoted string, `\"{text}\"`, so it stays exact")
            }
            (_, Value::Array(_)) => "write one value here, not a list".to_owned(),
            ("a string", Value::Object(_)) => "write one value here, not a mapping".to_owned(),
            ("a string", _) => "quote the value".to_owned(),
            ("a list", v) => format!("write a list: `[{}]`", plain(v)),
            ("`true` or `false`", _) => "write `true` or `false`, unquoted".to_owned(),
            ("a mapping", _) => format!(
                "write the fields of `{field}` under it, indented, or as `{{ key: value }}`"
            ),
            ("an integer" | "a number", Value::String(t)) if t.trim().parse::<f64>().is_ok() => {
                format!("remove the quotes: `{}`", t.trim())
            }
            _ => String::new(),
        };
        if !hint.is_empty() {
            d = d.hint(hint);
        }
        d
    }

    fn unknown_value(&self, pointer: &str, found: &Value, options: &[String]) -> Diagnostic {
        let given = found
            .as_str()
            .map_or_else(|| found.to_string(), str::to_owned);
        let mut d = self
            .at(
                Code::UnknownValue,
                pointer,
                format!("unknown value `{given}` for `{}`", field_name(pointer)),
            )
            .expected(format!("one of {}", quote_list(options)));
        if let Some(m) = did_you_mean(&given, options.iter().map(String::as_str)) {
            d = d.hint(format!("did you mean `{m}`?"));
        }
        d
    }

    /// A `GET` request sends no body: a `body` on one is a mistake the schema cannot see.
    fn bodies_on_get(&self, instance: &Value, out: &mut Vec<Diagnostic>) {
        for at in ["/execution/submit", "/execution/poll"] {
            let Some(request) = instance.pointer(at) else {
                continue;
            };
            let get = request.get("method").and_then(Value::as_str) == Some("GET");
            if get && request.get("body").is_some_and(|b| !b.is_null()) {
                let body = format!("{at}/body");
                out.push(
                    Diagnostic::new(
                        Code::BodyOnGet,
                        self.file,
                        self.map.key(&body),
                        format!(
                            "a `GET` request has no body, but `{}` has one",
                            field_name(at)
                        ),
                    )
                    .expected("no `body` with `method: GET`")
                    .hint("remove `body:`, or use `method: POST` if the provider takes one"),
                );
            }
        }
    }
}

/// A value as a spec writes it: a string without quotes, anything else as JSON.
fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// The field a JSON pointer names, as a user writes it: `execution.poll.states.running`,
/// `params.size.values[1]`.
pub fn field_name(pointer: &str) -> String {
    if pointer.is_empty() {
        return "the file".to_owned();
    }
    let mut out = String::new();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{token}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    out
}

/// The kinds of value the branches of the `anyOf`/`oneOf` at `schema_path` accept, `null`
/// left out (an optional field is written by leaving it out, not as `null`).
fn branch_types(root: &Value, schema_path: &str) -> Vec<String> {
    let Some(branches) = root.pointer(schema_path).and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut types: Vec<String> = Vec::new();
    for b in branches {
        let b = match b.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(target) => target,
                None => continue,
            },
            None => b,
        };
        let names: Vec<&str> = match b.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ if b.get("properties").is_some() => vec!["object"],
            _ => Vec::new(),
        };
        for t in names.into_iter().filter(|t| *t != "null") {
            let name = json_type_name(t);
            if !types.contains(&name) {
                types.push(name);
            }
        }
    }
    types
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

/// What a pattern asks for, in words, where the regex says it badly.
fn pattern_meaning(pattern: &str) -> Option<String> {
    pattern.contains("kept").then(|| {
        "a URL kept from the submit answer: `\"{{ kept.NAME }}\"`, then any text".to_owned()
    })
}

fn pattern_hint(pattern: &str) -> Option<String> {
    if pattern.contains("kept") {
        return Some(
            "for a URL under the provider's base URL, write `path: /...` instead of `url`".into(),
        );
    }
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
    match kind {
        TypeKind::Single(t) => json_type_name(&t.to_string()),
        TypeKind::Multiple(ts) => ts
            .iter()
            .map(|t| t.to_string())
            .filter(|t| t != "null")
            .map(|t| json_type_name(&t))
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

/// A JSON Schema type as a user reads it.
fn json_type_name(t: &str) -> String {
    match t {
        "string" => "a string".to_owned(),
        "integer" => "an integer".to_owned(),
        "number" => "a number".to_owned(),
        "boolean" => "`true` or `false`".to_owned(),
        "object" => "a mapping".to_owned(),
        "array" => "a list".to_owned(),
        "null" => "nothing".to_owned(),
        other => other.to_owned(),
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
