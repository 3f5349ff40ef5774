//! The view model of the TypeScript templates: every name, literal and doc line, prepared
//! from the IR so that the templates only place text.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::schema;
use crate::emit::names::pascal;
use crate::emit::{EmitError, HEADER};
use crate::ir::{ContentType, ItemType, Model, Multiplier, Param, ParamKind, Provider, Registry};

/// Everything the templates read.
#[derive(Debug, Serialize)]
pub(super) struct View {
    /// The generated-file header.
    pub header: &'static str,
    /// What `registry.ts` imports from `types.ts`.
    pub type_imports: String,
    /// `"image" | "video" | ...`.
    pub content_type_union: String,
    /// `["image", "video", ...]` as a TS array literal body.
    pub content_types: String,
    /// `"fal" | "kie_ai" | ...`.
    pub provider_union: String,
    /// Union members of `ModelId`, one per line.
    pub model_ids: Vec<String>,
    /// Providers in id order.
    pub providers: Vec<ProviderView>,
    /// Models in id order.
    pub models: Vec<ModelView>,
    /// The API client's rendered parts.
    pub client: super::api::ClientView,
    /// The npm package.
    pub package: Package,
}

/// The npm package of `generated/ts`.
#[derive(Debug, Serialize)]
pub(super) struct Package {
    /// `@registry/models`.
    pub name: &'static str,
    /// The codegen version that wrote it.
    pub version: &'static str,
}

/// A provider, as the frontend sees it (no URL, no key scopes).
#[derive(Debug, Serialize)]
pub(super) struct ProviderView {
    /// Object key.
    pub key: String,
    /// Property lines of the provider's entry (`id: "fal"`, ...).
    pub fields: Vec<String>,
}

/// A model.
#[derive(Debug, Serialize)]
pub(super) struct ModelView {
    /// Object key (the id, quoted when it is not an identifier).
    pub key: String,
    /// Name of the params interface.
    pub params_type: String,
    /// Lines of the params interface's doc comment, between `/**` and ` */`.
    pub doc: Vec<String>,
    /// Params in form order.
    pub params: Vec<ParamView>,
    /// `"a" | "b"`, or `never`: params that have a default.
    pub defaulted: String,
    /// Property lines of the model's `MODELS` entry before `cost` and `params`.
    pub fields: Vec<String>,
    /// Base cost literal.
    pub cost_base: String,
    /// Round mode literal.
    pub cost_round: String,
    /// Decimal places kept.
    pub cost_scale: u32,
    /// One object literal per multiplier.
    pub multipliers: Vec<String>,
    /// One object literal per param definition.
    pub param_defs: Vec<String>,
    /// The params JSON Schema as pretty JSON, indented to sit under the model's key.
    pub schema: String,
}

/// A field of a params interface.
#[derive(Debug, Serialize)]
pub(super) struct ParamView {
    /// Property name.
    pub key: String,
    /// `?` when the caller may leave it out.
    pub optional: &'static str,
    /// TypeScript type.
    pub ts_type: String,
    /// Doc lines.
    pub doc: Vec<String>,
}

/// A TS string literal (JSON string syntax is valid TypeScript).
pub(super) fn lit(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// An object key: bare when it is an identifier, quoted otherwise.
pub(super) fn key(s: &str) -> String {
    let mut chars = s.chars();
    let ident = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident { s.to_owned() } else { lit(s) }
}

/// Text safe inside a `/** */` comment.
fn doc_text(s: &str) -> String {
    s.replace("*/", "*\\/")
}

fn union<I: IntoIterator<Item = String>>(items: I) -> String {
    let parts: Vec<String> = items.into_iter().collect();
    if parts.is_empty() {
        "never".into()
    } else {
        parts.join(" | ")
    }
}

/// A JSON value as a one-line TS literal (`"720p"`, `5`, `["a"]`).
fn json_lit(v: &Value) -> String {
    v.to_string()
}

const CONTENT_TYPES: [ContentType; 4] = [
    ContentType::Image,
    ContentType::Video,
    ContentType::Audio,
    ContentType::Text,
];

pub(super) fn build(ir: &Registry) -> Result<View, EmitError> {
    let mut type_names: BTreeMap<String, &str> = BTreeMap::new();
    let mut models = Vec::with_capacity(ir.models.len());
    for m in ir.models.values() {
        let view = model(m)?;
        if let Some(other) = type_names.insert(view.params_type.clone(), &m.id) {
            return Err(EmitError::Other(format!(
                "models `{other}` and `{}` both map to the TypeScript name `{}`",
                m.id, view.params_type
            )));
        }
        models.push(view);
    }
    let uses_decimal = ir
        .models
        .values()
        .flat_map(|m| &m.params)
        .any(|p| uses_decimal(&p.kind));
    let type_imports = if uses_decimal {
        "DecimalString, ModelInfo, ProviderInfo"
    } else {
        "ModelInfo, ProviderInfo"
    };
    Ok(View {
        header: HEADER,
        type_imports: type_imports.into(),
        content_type_union: union(CONTENT_TYPES.iter().map(|c| lit(c.name()))),
        content_types: CONTENT_TYPES
            .iter()
            .map(|c| lit(c.name()))
            .collect::<Vec<_>>()
            .join(", "),
        provider_union: union(ir.providers.keys().map(|p| lit(p))),
        model_ids: ir.models.keys().map(|id| lit(id)).collect(),
        providers: ir.providers.values().map(provider).collect(),
        models,
        client: super::api::build()?,
        package: Package {
            name: "@registry/models",
            version: env!("CARGO_PKG_VERSION"),
        },
    })
}

fn provider(p: &Provider) -> ProviderView {
    let mut fields = vec![
        format!("id: {}", lit(&p.id)),
        format!("displayName: {}", lit(&p.display_name)),
    ];
    if let Some(d) = &p.description {
        fields.push(format!("description: {}", lit(d)));
    }
    ProviderView {
        key: key(&p.id),
        fields,
    }
}

fn model(m: &Model) -> Result<ModelView, EmitError> {
    let mut doc = vec![format!(
        " * Params of `{}`: {}.",
        m.id,
        doc_text(&m.display_name)
    )];
    if let Some(d) = &m.description {
        doc.push(" *".into());
        doc.push(format!(" * {}", doc_text(d)));
    }
    let mut fields = vec![
        format!("id: {}", lit(&m.id)),
        format!("displayName: {}", lit(&m.display_name)),
    ];
    if let Some(d) = &m.description {
        fields.push(format!("description: {}", lit(d)));
    }
    fields.extend([
        format!("provider: {}", lit(&m.provider)),
        format!("contentType: {}", lit(m.content_type.name())),
        format!("enabled: {}", m.enabled),
        format!("mode: {}", lit(m.execution.mode.name())),
        format!("expectedLatencyMs: {}", m.execution.expected_latency_ms),
        format!("timeoutMs: {}", m.execution.timeout_ms),
    ]);
    let multipliers = m.cost.multipliers.iter().map(multiplier).collect();
    let schema = serde_json::to_string_pretty(&schema::params_schema(m))
        .map_err(|e| EmitError::Other(e.to_string()))?;
    let schema = schema.lines().collect::<Vec<_>>().join("\n  ");
    Ok(ModelView {
        key: key(&m.id),
        params_type: format!("{}Params", pascal(&m.id)),
        doc,
        params: m.params.iter().map(param_field).collect(),
        defaulted: union(
            m.params
                .iter()
                .filter(|p| p.default.is_some())
                .map(|p| lit(&p.name)),
        ),
        fields,
        cost_base: lit(&m.cost.base),
        cost_round: lit(m.cost.round.name()),
        cost_scale: m.cost.scale,
        multipliers,
        param_defs: m.params.iter().map(param_def).collect(),
        schema,
    })
}

fn multiplier(m: &Multiplier) -> String {
    let mut source = format!("param: {}", lit(m.param()));
    if let Some(field) = m.field() {
        source.push_str(&format!(", field: {}", lit(field)));
    }
    match m {
        Multiplier::Table { entries, .. } => {
            let factors: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", key(k), lit(v)))
                .collect();
            format!(
                "{{ kind: \"table\", {source}, factors: {{ {} }} }}",
                factors.join(", ")
            )
        }
        Multiplier::Ratio { per, .. } => {
            format!("{{ kind: \"ratio\", {source}, per: {per} }}")
        }
        Multiplier::Count { .. } => format!("{{ kind: \"count\", {source} }}"),
    }
}

fn item_name(items: ItemType) -> String {
    items.name().to_owned()
}

fn param_type(kind: &ParamKind) -> String {
    match kind {
        ParamKind::String { .. } | ParamKind::ImageUrl => "string".into(),
        ParamKind::Integer {
            values: Some(values),
            ..
        } => union(values.iter().map(i64::to_string)),
        ParamKind::Integer { .. } => "number".into(),
        ParamKind::Decimal { .. } => "DecimalString".into(),
        ParamKind::Enum { values } => union(values.iter().map(|v| lit(v))),
        ParamKind::Boolean => "boolean".into(),
        ParamKind::Array { .. } => "readonly string[]".into(),
        ParamKind::Object { fields } => {
            let members: Vec<String> = fields
                .iter()
                .map(|f| {
                    let optional = if f.required { "" } else { "?" };
                    format!("{}{optional}: {}", key(&f.name), param_type(&f.kind))
                })
                .collect();
            format!("{{ {} }}", members.join("; "))
        }
        ParamKind::OneOf { options } => union(options.iter().map(|o| param_type(&o.kind))),
    }
}

/// Whether a value of `kind` may hold a decimal (whose type is `DecimalString`).
fn uses_decimal(kind: &ParamKind) -> bool {
    match kind {
        ParamKind::Decimal { .. } => true,
        ParamKind::Object { fields } => fields.iter().any(|f| uses_decimal(&f.kind)),
        ParamKind::OneOf { options } => options.iter().any(|o| uses_decimal(&o.kind)),
        _ => false,
    }
}

/// Constraint sentences for a param's doc comment.
fn constraints(p: &Param) -> Vec<String> {
    let mut out = kind_constraints(&p.kind);
    if let Some(d) = &p.default {
        out.push(format!("Default: `{}`.", json_lit(d)));
    }
    out
}

/// Constraint sentences of a kind: its bounds; an object's fields' and a one_of's options'.
fn kind_constraints(kind: &ParamKind) -> Vec<String> {
    let mut out = Vec::new();
    match kind {
        ParamKind::String {
            min_length,
            max_length,
        } => {
            if let Some(n) = min_length {
                out.push(format!("At least {n} characters."));
            }
            if let Some(n) = max_length {
                out.push(format!("At most {n} characters."));
            }
        }
        ParamKind::Integer { min, max, step, .. } => {
            if let Some(n) = min {
                out.push(format!("At least {n}."));
            }
            if let Some(n) = max {
                out.push(format!("At most {n}."));
            }
            if let Some(n) = step {
                out.push(format!("A multiple of {n}."));
            }
        }
        ParamKind::Decimal { min, max, step } => {
            out.push("An exact decimal, such as `\"0.5\"`.".into());
            if let Some(n) = min {
                out.push(format!("At least {n}."));
            }
            if let Some(n) = max {
                out.push(format!("At most {n}."));
            }
            if let Some(n) = step {
                out.push(format!("A multiple of {n}."));
            }
        }
        ParamKind::ImageUrl => out.push("An http(s) image URL.".into()),
        ParamKind::Array {
            items,
            min_items,
            max_items,
        } => {
            if *items == ItemType::ImageUrl {
                out.push("http(s) image URLs.".into());
            }
            if let Some(n) = min_items {
                out.push(format!("At least {n} items."));
            }
            if let Some(n) = max_items {
                out.push(format!("At most {n} items."));
            }
        }
        ParamKind::Object { fields } => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| {
                    let mut facts = kind_constraints(&f.kind);
                    if f.required {
                        facts.push("Required.".into());
                    }
                    if let Some(d) = &f.default {
                        facts.push(format!("Default: `{}`.", json_lit(d)));
                    }
                    if facts.is_empty() {
                        format!("`{}`", f.name)
                    } else {
                        format!("`{}` ({})", f.name, clause(&facts))
                    }
                })
                .collect();
            out.push(format!("An object of {}.", fields.join(", ")));
        }
        ParamKind::OneOf { options } => {
            let names: Vec<String> = options.iter().map(|o| format!("`{}`", o.name)).collect();
            out.push(format!("One of the options {}.", names.join(", ")));
            for o in options {
                let facts = kind_constraints(&o.kind);
                if !facts.is_empty() {
                    out.push(format!("`{}`: {}.", o.name, clause(&facts)));
                }
            }
        }
        ParamKind::Enum { .. } | ParamKind::Boolean => {}
    }
    out
}

/// Sentences as one clause: `At least 1. At most 4.` -> `at least 1, at most 4`.
fn clause(sentences: &[String]) -> String {
    sentences
        .iter()
        .map(|s| {
            let s = s.trim_end_matches('.');
            let mut chars = s.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn param_field(p: &Param) -> ParamView {
    let mut line = p.description.as_deref().map(doc_text).unwrap_or_default();
    for c in constraints(p) {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&doc_text(&c));
    }
    ParamView {
        key: key(&p.name),
        optional: if p.required { "" } else { "?" },
        ts_type: param_type(&p.kind),
        doc: if line.is_empty() {
            Vec::new()
        } else {
            vec![line]
        },
    }
}

/// The param's definition as a one-line object literal.
fn param_def(p: &Param) -> String {
    def(
        &p.name,
        &p.kind,
        p.required,
        p.default.as_ref(),
        p.description.as_deref(),
    )
}

/// The definition of a param, an object's field or a one_of's option (named by its option
/// name, never required, no default of its own) as a one-line object literal.
fn def(
    name: &str,
    kind: &ParamKind,
    required: bool,
    default: Option<&Value>,
    description: Option<&str>,
) -> String {
    let mut parts = vec![format!("name: {}", lit(name))];
    let opt_num = |name: &str, v: &Option<i64>| v.map(|n| format!("{name}: {n}"));
    let opt_u32 = |name: &str, v: &Option<u32>| v.map(|n| format!("{name}: {n}"));
    let opt_str =
        |name: &str, v: &Option<String>| v.as_ref().map(|s| format!("{name}: {}", lit(s)));
    match kind {
        ParamKind::String {
            min_length,
            max_length,
        } => {
            parts.push("type: \"string\"".into());
            parts.extend(opt_u32("minLength", min_length));
            parts.extend(opt_u32("maxLength", max_length));
        }
        ParamKind::Integer {
            min,
            max,
            step,
            values,
        } => {
            parts.push("type: \"integer\"".into());
            parts.extend(opt_num("min", min));
            parts.extend(opt_num("max", max));
            parts.extend(opt_num("step", step));
            if let Some(vs) = values {
                let vs: Vec<String> = vs.iter().map(i64::to_string).collect();
                parts.push(format!("values: [{}]", vs.join(", ")));
            }
        }
        ParamKind::Decimal { min, max, step } => {
            parts.push("type: \"decimal\"".into());
            parts.extend(opt_str("min", min));
            parts.extend(opt_str("max", max));
            parts.extend(opt_str("step", step));
        }
        ParamKind::Enum { values } => {
            parts.push("type: \"enum\"".into());
            let vs: Vec<String> = values.iter().map(|v| lit(v)).collect();
            parts.push(format!("values: [{}]", vs.join(", ")));
        }
        ParamKind::Boolean => parts.push("type: \"boolean\"".into()),
        ParamKind::ImageUrl => parts.push("type: \"image_url\"".into()),
        ParamKind::Array {
            items,
            min_items,
            max_items,
        } => {
            parts.push("type: \"array\"".into());
            parts.push(format!("items: {}", lit(&item_name(*items))));
            parts.extend(opt_u32("minItems", min_items));
            parts.extend(opt_u32("maxItems", max_items));
        }
        ParamKind::Object { fields } => {
            parts.push("type: \"object\"".into());
            let fields: Vec<String> = fields
                .iter()
                .map(|f| {
                    def(
                        &f.name,
                        &f.kind,
                        f.required,
                        f.default.as_ref(),
                        f.description.as_deref(),
                    )
                })
                .collect();
            parts.push(format!("fields: [{}]", fields.join(", ")));
        }
        ParamKind::OneOf { options } => {
            parts.push("type: \"one_of\"".into());
            let options: Vec<String> = options
                .iter()
                .map(|o| def(&o.name, &o.kind, false, None, o.description.as_deref()))
                .collect();
            parts.push(format!("options: [{}]", options.join(", ")));
        }
    }
    parts.push(format!("required: {required}"));
    if let Some(d) = default {
        parts.push(format!("default: {}", json_lit(d)));
    }
    if let Some(d) = description {
        parts.push(format!("description: {}", lit(d)));
    }
    format!("{{ {} }}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_literals() {
        assert_eq!(pascal("seedance_v1_lite"), "SeedanceV1Lite");
        assert_eq!(pascal("gpt_image_1"), "GptImage1");
        assert_eq!(key("kie_ai"), "kie_ai");
        assert_eq!(key("1080p"), "\"1080p\"");
        assert_eq!(key("16:9"), "\"16:9\"");
        assert_eq!(lit("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
        assert_eq!(doc_text("a */ b"), "a *\\/ b");
        assert_eq!(union(Vec::new()), "never");
    }
}
