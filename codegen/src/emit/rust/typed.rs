//! Per model: the params type, its builder, its enums, and JSON conversion that checks bounds.
//!
//! Required params are arguments of `new`/`builder`, so a missing one does not compile; enum
//! params and integer params with a value set are Rust enums, so an unknown value does not
//! compile. An object param is a struct with a public member per field; a one_of param is an
//! enum with a variant per option, each holding the option's type, with `From` each of them
//! (setters take `impl Into<...>`, so `.image_size(ImageSizePreset::Square)` reads as the
//! choice it is). Bounds (length, range, step, an object's fields) are checked by
//! `registry_core::params` when params are built or deserialized, so messages are the same as
//! on the dynamic path and in TypeScript.

use serde_json::Value;

use super::data::{kind_expr, rule_expr};
use super::out::{Out, lit};
use super::{Field, ModelView, ObjectTy, Shape, Variant};
use crate::ir::{ItemType, ParamKind};

/// Every params item of one model.
pub fn items(o: &mut Out, view: &ModelView<'_>) {
    for field in &view.fields {
        let p = field.param;
        let doc = describe(
            p.description.as_deref(),
            format!("Values of the `{}` param.", p.name),
        );
        shape_items(o, &field.shape, &p.kind, &p.name, doc);
    }
    params_struct(o, view);
    builder(o, view);
    json_impls(o, view);
}

/// Method names of the params type and builder that a param's getter or setter must not take.
const METHODS: [&str; 4] = ["new", "builder", "build", "to_json"];

/// Getter and setter name of a field.
pub fn method(field: &Field<'_>) -> String {
    if METHODS.contains(&field.param.name.as_str()) {
        format!("{}_param", field.param.name)
    } else {
        field.ident.clone()
    }
}

/// A description's lines, else `fallback`.
fn describe(description: Option<&str>, fallback: String) -> Vec<String> {
    match description {
        Some(d) => d.lines().map(str::to_owned).collect(),
        None => vec![fallback],
    }
}

/// The doc lines of a param: its description, then its bounds and default.
fn field_doc(field: &Field<'_>) -> Vec<String> {
    let p = field.param;
    doc_lines(
        p.description.as_deref(),
        format!("The `{}` param.", p.name),
        &p.kind,
        &field.shape,
        p.required,
        p.default.as_ref(),
        p.send_as_string,
    )
}

/// Doc lines of a param or an object's field: its description (else `fallback`), then a
/// line of facts (bounds, how it is sent, default).
fn doc_lines(
    description: Option<&str>,
    fallback: String,
    kind: &ParamKind,
    shape: &Shape<'_>,
    required: bool,
    default: Option<&Value>,
    send_as_string: bool,
) -> Vec<String> {
    let mut lines = describe(description, fallback);
    let mut facts = Vec::new();
    match kind {
        ParamKind::String {
            min_length,
            max_length,
        } => facts.push(range(
            "characters",
            min_length.map(|n| n.to_string()),
            max_length.map(|n| n.to_string()),
        )),
        ParamKind::Integer {
            min,
            max,
            step,
            values,
        } => {
            if let Some(values) = values {
                let list: Vec<String> = values.iter().map(i64::to_string).collect();
                facts.push(format!("One of {}.", list.join(", ")));
            }
            facts.push(range(
                "",
                min.map(|n| n.to_string()),
                max.map(|n| n.to_string()),
            ));
            if let Some(step) = step {
                facts.push(format!("A multiple of {step}."));
            }
        }
        ParamKind::Decimal { min, max, step } => {
            facts.push("An exact decimal, such as `\"0.5\"`.".to_owned());
            facts.push(range("", min.clone(), max.clone()));
            if let Some(step) = step {
                facts.push(format!("A multiple of {step}."));
            }
        }
        ParamKind::ImageUrl => facts.push("An http(s) URL.".to_owned()),
        ParamKind::Array {
            items,
            min_items,
            max_items,
        } => {
            facts.push(match items {
                ItemType::String => "A list of texts.".to_owned(),
                ItemType::ImageUrl => "A list of http(s) URLs.".to_owned(),
            });
            facts.push(range(
                "items",
                min_items.map(|n| n.to_string()),
                max_items.map(|n| n.to_string()),
            ));
        }
        ParamKind::Object { fields } => {
            let names: Vec<String> = fields.iter().map(|f| format!("`{}`", f.name)).collect();
            facts.push(format!("An object of {}.", names.join(", ")));
        }
        ParamKind::OneOf { .. } => {
            if let Shape::OneOf { variants, .. } = shape {
                let choices: Vec<String> = variants
                    .iter()
                    .map(|v| {
                        format!(
                            "`{}` ([`{}`])",
                            v.option.name,
                            v.shape.rust_ty(&v.option.kind)
                        )
                    })
                    .collect();
                facts.push(format!(
                    "One of {}, chosen by the value's JSON type.",
                    choices.join(", ")
                ));
            }
        }
        ParamKind::Enum { .. } | ParamKind::Boolean => {}
    }
    if send_as_string {
        facts.push("Sent to the provider as a JSON string.".to_owned());
    }
    match default {
        Some(d) => facts.push(format!("Default: `{}`.", show(d))),
        None if required => facts.push("Required.".to_owned()),
        None => facts.push("Optional: left out of the request when not set.".to_owned()),
    }
    let facts: Vec<String> = facts.into_iter().filter(|f| !f.is_empty()).collect();
    lines.push(String::new());
    lines.push(facts.join(" "));
    lines
}

fn range(unit: &str, min: Option<String>, max: Option<String>) -> String {
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    match (min, max) {
        (Some(a), Some(b)) => format!("From {a} to {b}{unit}."),
        (Some(a), None) => format!("At least {a}{unit}."),
        (None, Some(b)) => format!("At most {b}{unit}."),
        (None, None) => String::new(),
    }
}

/// A JSON value as people write it: strings without quotes.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The types of a value of `kind` in `shape`: nothing for a plain type; an enum; an object's
/// struct (after its members' enums); a one_of's enum (after its options' types). `param`
/// names the param in the rules' messages.
fn shape_items(o: &mut Out, shape: &Shape<'_>, kind: &ParamKind, param: &str, doc: Vec<String>) {
    match shape {
        Shape::Plain => {}
        Shape::Enum { ty, variants } => enum_item(o, ty, variants, kind, doc),
        Shape::Object(object) => object_item(o, object, param, doc),
        Shape::OneOf { ty, variants } => one_of_item(o, ty, variants, param, doc),
    }
}

/// The enum of a value set: string values or integer values.
fn enum_item(o: &mut Out, ty: &str, variants: &[String], kind: &ParamKind, doc: Vec<String>) {
    let (mac, values): (&str, Vec<String>) = match kind {
        ParamKind::Enum { values } => ("str_enum", values.iter().map(|v| lit(v)).collect()),
        ParamKind::Integer {
            values: Some(values),
            ..
        } => ("int_enum", values.iter().map(i64::to_string).collect()),
        _ => return,
    };
    o.blank();
    o.line(&format!("registry_core::{mac}! {{"));
    o.docs(&doc);
    // No `Default`: the spec's default is the builder's, documented on its setter.
    o.line(&format!("pub enum {ty} {{"));
    for (variant, value) in variants.iter().zip(&values) {
        o.line(&format!("{variant} = {value},"));
    }
    o.line("}");
    o.line("}");
}

/// The struct of an object, after the enums of its members.
fn object_item(o: &mut Out, object: &ObjectTy<'_>, param: &str, doc: Vec<String>) {
    for m in &object.members {
        let f = m.field;
        let doc = describe(
            f.description.as_deref(),
            format!("Values of the `{}` field of `{param}`.", f.name),
        );
        shape_items(o, &m.shape, &f.kind, param, doc);
    }
    o.blank();
    o.line("registry_core::object! {");
    o.docs(&doc);
    o.line(&format!("pub struct {} for {} {{", object.ty, lit(param)));
    for m in &object.members {
        let f = m.field;
        o.docs(&doc_lines(
            f.description.as_deref(),
            format!("The `{}` field.", f.name),
            &f.kind,
            &m.shape,
            f.required,
            f.default.as_ref(),
            false,
        ));
        let ty = m.shape.rust_ty(&f.kind);
        let ty = if !f.required && f.default.is_none() {
            format!("Option<{ty}>")
        } else {
            ty.to_owned()
        };
        let rule = rule_expr(
            &f.name,
            f.required,
            f.default.as_ref(),
            &kind_expr(&f.kind, &m.shape),
        );
        o.line(&format!("pub {}: {ty} = {rule},", m.ident));
    }
    o.line("}");
    o.line("}");
}

/// The enum of a one_of, after the types of its options.
fn one_of_item(o: &mut Out, ty: &str, variants: &[Variant<'_>], param: &str, doc: Vec<String>) {
    for v in variants {
        let opt = v.option;
        let fallback = format!("The `{}` option of `{param}`.", opt.name);
        shape_items(
            o,
            &v.shape,
            &opt.kind,
            param,
            describe(opt.description.as_deref(), fallback),
        );
    }
    o.blank();
    o.line("registry_core::one_of! {");
    o.docs(&doc);
    o.line(&format!("pub enum {ty} for {} {{", lit(param)));
    for v in variants {
        let opt = v.option;
        o.docs(&describe(
            opt.description.as_deref(),
            format!("The `{}` option.", opt.name),
        ));
        o.line(&format!(
            "{}({}) = ({}, {}),",
            v.variant,
            v.shape.rust_ty(&opt.kind),
            lit(&opt.name),
            kind_expr(&opt.kind, &v.shape)
        ));
    }
    o.line("}");
    o.line("}");
}

/// A field's default as a Rust expression, pushed as `<before><expression><after>` (over
/// several lines for a struct, as rustfmt lays it out).
fn default_value(
    o: &mut Out,
    before: &str,
    kind: &ParamKind,
    shape: &Shape<'_>,
    v: &Value,
    after: &str,
) {
    if let (Some(ty), Some(variant)) = (shape.ty(), shape.variant(kind, v)) {
        o.line(&format!("{before}{ty}::{variant}{after}"));
        return;
    }
    match (shape, v) {
        (Shape::Object(object), Value::Object(given)) => {
            o.line(&format!("{before}{} {{", object.ty));
            for m in &object.members {
                let f = m.field;
                let optional = !f.required && f.default.is_none();
                match given.get(&f.name) {
                    Some(x) if optional => {
                        default_value(
                            o,
                            &format!("{}: Some(", m.ident),
                            &f.kind,
                            &m.shape,
                            x,
                            "),",
                        );
                    }
                    Some(x) => {
                        default_value(o, &format!("{}: ", m.ident), &f.kind, &m.shape, x, ",")
                    }
                    None => o.line(&format!("{}: None,", m.ident)),
                }
            }
            o.line(&format!("}}{after}"));
        }
        (Shape::OneOf { ty, variants }, _) => {
            let types = registry_core::params::JsonTypes::of(v);
            let chosen = variants.iter().find(|var| {
                !crate::rules::json_types(&var.option.kind)
                    .intersection(types)
                    .is_empty()
            });
            match chosen {
                Some(var) => default_value(
                    o,
                    &format!("{before}{ty}::{}(", var.variant),
                    &var.option.kind,
                    &var.shape,
                    v,
                    &format!("){after}"),
                ),
                // Defaults are checked against an option before they get here.
                None => o.line(&format!("{before}{}{after}", scalar_value(kind, v))),
            }
        }
        _ => o.line(&format!("{before}{}{after}", scalar_value(kind, v))),
    }
}

/// A scalar or list default as a Rust expression.
fn scalar_value(kind: &ParamKind, v: &Value) -> String {
    match (kind, v) {
        (ParamKind::Decimal { .. }, Value::String(s)) => {
            format!(
                "registry_core::Decimal::from_str_exact({}).unwrap_or_default()",
                lit(s)
            )
        }
        (ParamKind::Decimal { .. }, other) => {
            format!("registry_core::Decimal::from({})", other)
        }
        (_, Value::String(s)) => format!("{}.to_owned()", lit(s)),
        (_, Value::Array(items)) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| format!("{}.to_owned()", lit(i.as_str().unwrap_or_default())))
                .collect();
            format!("vec![{}]", items.join(", "))
        }
        (_, other) => other.to_string(),
    }
}

fn params_struct(o: &mut Out, view: &ModelView<'_>) {
    let ModelView {
        ty,
        params_ty,
        builder_ty,
        ..
    } = view;
    let required: Vec<&Field<'_>> = view.fields.iter().filter(|f| f.param.required).collect();
    o.blank();
    o.doc(&format!(
        "Params of [`{ty}`], checked against the spec's bounds."
    ));
    o.doc("");
    o.doc(&format!(
        "Build them with [`{params_ty}::new`] (required params only) or [`{params_ty}::builder`];"
    ));
    o.doc("deserializing from JSON checks the same bounds with the same messages.");
    o.line("#[derive(Debug, Clone, PartialEq)]");
    o.line(&format!("pub struct {params_ty} {{"));
    // Fields are private (documented on their setters and getters).
    for f in &view.fields {
        o.line(&format!("{}: {},", f.ident, f.ty()));
    }
    o.line("}");
    o.blank();
    let args: Vec<String> = required.iter().map(|f| arg(f)).collect();
    let names: Vec<&str> = required.iter().map(|f| f.ident.as_str()).collect();
    let listed: Vec<String> = required
        .iter()
        .map(|f| format!("`{}`", f.param.name))
        .collect();
    let listed = if listed.is_empty() {
        "every param at its default".to_owned()
    } else {
        format!("{} and every other param at its default", listed.join(", "))
    };
    o.line(&format!("impl {params_ty} {{"));
    o.doc(&format!("Params with {listed}, checked."));
    o.line("#[inline]");
    o.line(&format!(
        "pub fn new({}) -> Result<Self, Violations> {{",
        args.join(", ")
    ));
    o.line(&format!("Self::builder({}).build()", names.join(", ")));
    o.line("}");
    o.doc(&format!(
        "A builder with {listed}; [`build`]({builder_ty}::build) checks the bounds."
    ));
    o.line("#[inline]");
    o.line(&format!(
        "pub fn builder({}) -> {builder_ty} {{",
        args.join(", ")
    ));
    o.line(&format!("{builder_ty}(Self {{"));
    for f in &view.fields {
        if let Some(d) = f.param.default.as_ref().filter(|_| !f.param.required) {
            default_value(
                o,
                &format!("{}: ", f.ident),
                &f.param.kind,
                &f.shape,
                d,
                ",",
            );
            continue;
        }
        let value = if f.param.required {
            convert(f, &f.ident)
        } else {
            "None".to_owned()
        };
        if value == f.ident {
            o.line(&format!("{},", f.ident));
        } else {
            o.line(&format!("{}: {value},", f.ident));
        }
    }
    o.line("})");
    o.line("}");
    for f in &view.fields {
        let (ret, body) = getter(f);
        o.docs(&describe(
            f.param
                .description
                .as_deref()
                .and_then(|d| d.lines().next()),
            format!("The `{}` param.", f.param.name),
        ));
        o.line("#[inline]");
        o.line(&format!("pub fn {}(&self) -> {ret} {{", method(f)));
        o.line(&body);
        o.line("}");
    }
    o.line("}");
}

/// The argument of a param in `new`, `builder` and setters: text as `impl Into<String>`, a
/// one_of as `impl Into<` its enum `>` (any option's type).
fn arg(f: &Field<'_>) -> String {
    if f.is_text() {
        format!("{}: impl Into<String>", f.ident)
    } else if matches!(f.shape, Shape::OneOf { .. }) {
        format!("{}: impl Into<{}>", f.ident, f.base_ty())
    } else {
        format!("{}: {}", f.ident, f.base_ty())
    }
}

/// The stored value of an argument named `name`.
fn convert(f: &Field<'_>, name: &str) -> String {
    if f.is_text() || matches!(f.shape, Shape::OneOf { .. }) {
        format!("{name}.into()")
    } else {
        name.to_owned()
    }
}

/// A getter's return type and body.
fn getter(f: &Field<'_>) -> (String, String) {
    let id = &f.ident;
    if f.is_compound() {
        let ty = f.base_ty();
        return if f.optional() {
            (format!("Option<&{ty}>"), format!("self.{id}.as_ref()"))
        } else {
            (format!("&{ty}"), format!("&self.{id}"))
        };
    }
    match (f.is_text(), f.is_list(), f.optional()) {
        (true, _, false) => ("&str".into(), format!("&self.{id}")),
        (true, _, true) => ("Option<&str>".into(), format!("self.{id}.as_deref()")),
        (_, true, false) => ("&[String]".into(), format!("&self.{id}")),
        (_, true, true) => ("Option<&[String]>".into(), format!("self.{id}.as_deref()")),
        _ => (f.ty(), format!("self.{id}")),
    }
}

fn builder(o: &mut Out, view: &ModelView<'_>) {
    let ModelView {
        params_ty,
        builder_ty,
        ..
    } = view;
    o.blank();
    o.doc(&format!(
        "Builds [`{params_ty}`]: set optional params, then [`build`]({builder_ty}::build)."
    ));
    o.line("#[derive(Debug, Clone)]");
    o.line("#[must_use]");
    o.line(&format!("pub struct {builder_ty}({params_ty});"));
    o.blank();
    o.line(&format!("impl {builder_ty} {{"));
    for f in view.fields.iter().filter(|f| !f.param.required) {
        o.docs(&field_doc(f));
        let id = &f.ident;
        o.line("#[inline]");
        o.line(&format!(
            "pub fn {}(mut self, {}) -> Self {{",
            method(f),
            arg(f)
        ));
        let value = convert(f, id);
        if f.optional() {
            o.line(&format!("self.0.{id} = Some({value});"));
        } else {
            o.line(&format!("self.0.{id} = {value};"));
        }
        o.line("self");
        o.line("}");
    }
    o.doc("Check every bound and return the params, or every violation.");
    o.line("#[inline]");
    o.line(&format!(
        "pub fn build(self) -> Result<{params_ty}, Violations> {{"
    ));
    o.line("typed::checked(&INFO, self.0)");
    o.line("}");
    o.line("}");
}

fn json_impls(o: &mut Out, view: &ModelView<'_>) {
    o.blank();
    if view.fields.is_empty() {
        o.line(&format!(
            "registry_core::params_json!({}, INFO, {{}});",
            view.params_ty
        ));
        return;
    }
    o.line(&format!(
        "registry_core::params_json!({}, INFO, {{",
        view.params_ty
    ));
    for f in &view.fields {
        o.line(&format!("{}: {},", f.ident, lit(&f.param.name)));
    }
    o.line("});");
}
