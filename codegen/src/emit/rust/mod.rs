//! The Rust emitter: the `generated-models` crate under `generated/rust/`.
//!
//! Generated Rust is the typed surface plus data, the way typify emits types and leaves
//! behaviour to a runtime crate:
//! - per model, the params type a Rust user types against (required params as constructor
//!   arguments, a builder for the rest, enums for value sets, `Decimal` for decimals), and
//! - a `static` [`registry_core::model::ModelInfo`] holding everything else as data (param rules,
//!   cost formula, request templates, answer pointers, state map), which `registry-core`
//!   interprets. No request building or answer mapping is printed per model.
//!
//! The code is printed directly, in the layout rustfmt would give it, by [`out::Out`]: the
//! items are few and regular, and printing them costs microseconds where building and
//! formatting syntax trees cost milliseconds per model. Every identifier comes from
//! [`names`], every literal from [`out::lit`], and the golden tests compile the output, so a
//! printing bug fails a test rather than a user's build. Items come in IR order (models and
//! providers by id, params in form order), so output never depends on map order.
//!
//! - `crate_files`: `Cargo.toml`;
//! - [`registry`]: `lib.rs`, `registry.rs` (every model by id), `providers.rs`, `models/mod.rs`;
//! - [`typed`]: per model, the params type, its builder and enums;
//! - [`data`]: per model, the `ModelInfo` static; per provider, the `ProviderInfo` static.
//!
//! Generated code uses no `crate::` paths (only `super::`), so each generated crate root can
//! also be compiled as a module, which is how the golden tests compile their fixture crates.

mod crate_files;
mod data;
mod names;
mod out;
mod registry;
mod typed;

use std::collections::BTreeSet;

use super::{EmitError, HEADER};
use crate::ir::{self, Param, ParamKind};
use crate::write::Files;
use out::Out;

/// Add `rust/**` to `files`.
pub(super) fn emit(ir: &ir::Registry, files: &mut Files) -> Result<(), EmitError> {
    files.insert("rust/Cargo.toml".into(), crate_files::cargo_toml());
    let views: Vec<ModelView<'_>> = ir.models.values().map(ModelView::new).collect();
    files.insert("rust/src/lib.rs".into(), registry::lib_rs(ir, &views));
    files.insert("rust/src/registry.rs".into(), registry::registry_rs(&views));
    files.insert("rust/src/providers.rs".into(), registry::providers_rs(ir));
    files.insert(
        "rust/src/models/mod.rs".into(),
        registry::models_mod_rs(&views),
    );
    for view in &views {
        let provider = ir.providers.get(&view.model.provider).ok_or_else(|| {
            EmitError::Other(format!(
                "model `{}` names provider `{}`, which the IR lacks",
                view.model.id, view.model.provider
            ))
        })?;
        files.insert(
            format!("rust/src/models/{}.rs", view.module),
            model_file(view, provider),
        );
    }
    Ok(())
}

/// One model's module: docs, imports, params, enums, the model type and its data.
fn model_file(view: &ModelView<'_>, provider: &ir::Provider) -> String {
    let m = view.model;
    let mut body = Out::body();
    typed::items(&mut body, view);
    data::model(&mut body, view, provider);
    let body = body.finish();

    let mut o = Out::file();
    o.inner_doc(&format!(
        "{} (`{}`), by {}.",
        m.display_name, m.id, provider.display_name
    ));
    if let Some(d) = &m.description {
        o.inner_doc("");
        for line in d.lines() {
            o.inner_doc(line);
        }
    }
    o.inner_doc("");
    o.inner_doc(&format!("Generated from `models/{}`.", m.source));
    // Import what the body's code names (doc comments left out), so no import is unused.
    let code: String = body
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let uses =
        |name: &str| code.contains(&format!("{name}::")) || code.contains(&format!("{name} {{"));
    if uses("Duration") {
        o.line("use std::time::Duration;");
        o.blank();
    }
    let params: Vec<&str> = ["Kind", "ParamRule"]
        .into_iter()
        .filter(|n| uses(n))
        .collect();
    o.line(&format!(
        "use registry_core::params::{{{}}};",
        params
            .into_iter()
            .chain(["Violations"])
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let template: Vec<&str> = ["RequestTemplate", "Segment", "Slot", "Template"]
        .into_iter()
        .filter(|n| uses(n))
        .collect();
    o.line(&format!(
        "use registry_core::template::{{{}}};",
        template.join(", ")
    ));
    if code.contains("::VALUES") {
        // `VALUES` of the value-set enums.
        o.line("use registry_core::typed::Choice as _;");
    }
    o.line("use registry_core::{cost, model, typed};");
    o.blank();
    o.line("use super::providers;");
    let mut text = o.finish();
    text.push_str(&body);
    text
}

/// Type names a model module uses unqualified (imported or from the prelude), which its own
/// types must not shadow.
const TAKEN: [&str; 18] = [
    "Default",
    "Duration",
    "Into",
    "Kind",
    "Map",
    "Option",
    "ParamRule",
    "RequestTemplate",
    "Result",
    "Segment",
    "Slot",
    "String",
    "Template",
    "TryFrom",
    "Value",
    "Vec",
    "Violations",
    "Decimal",
];

/// Names and Rust shapes of one model's items.
pub(crate) struct ModelView<'a> {
    /// The model.
    pub model: &'a ir::Model,
    /// Module name.
    pub module: String,
    /// Model type.
    pub ty: String,
    /// Params type.
    pub params_ty: String,
    /// Params builder type.
    pub builder_ty: String,
    /// Params in form order.
    pub fields: Vec<Field<'a>>,
}

impl<'a> ModelView<'a> {
    fn new(model: &'a ir::Model) -> Self {
        let mut base = names::pascal(&model.id);
        if TAKEN.contains(&base.as_str()) {
            base.push_str("Model");
        }
        let params_ty = format!("{base}Params");
        let builder_ty = format!("{base}ParamsBuilder");
        let reserved = [base.clone(), params_ty.clone(), builder_ty.clone()];
        // The params' own types are named first (the param in pascal case, `Value` appended
        // when that is taken), then the types inside objects and one_ofs, each unique.
        let mut taken: BTreeSet<String> = reserved.iter().cloned().collect();
        let tops: Vec<Option<String>> = model
            .params
            .iter()
            .map(|param| {
                needs_type(&param.kind).then(|| {
                    let mut name = names::pascal(&param.name);
                    if reserved.contains(&name) || TAKEN.contains(&name.as_str()) {
                        name.push_str("Value");
                    }
                    taken.insert(name.clone());
                    name
                })
            })
            .collect();
        let fields = model
            .params
            .iter()
            .zip(tops)
            .map(|(param, top)| Field {
                param,
                ident: names::ident(&param.name),
                shape: match top {
                    Some(ty) => Shape::named(&param.kind, ty, &mut taken),
                    None => Shape::Plain,
                },
            })
            .collect();
        ModelView {
            model,
            module: names::ident(&names::snake(&model.id)),
            ty: base,
            params_ty,
            builder_ty,
            fields,
        }
    }
}

/// Whether a value of `kind` has a type of its own: an enum, a struct or a one_of's enum.
fn needs_type(kind: &ParamKind) -> bool {
    matches!(
        kind,
        ParamKind::Enum { .. }
            | ParamKind::Integer {
                values: Some(_),
                ..
            }
            | ParamKind::Object { .. }
            | ParamKind::OneOf { .. }
    )
}

/// `base`, or `base` with `Value` (then a number) appended when it is taken; now taken.
fn claim(taken: &mut BTreeSet<String>, base: String) -> String {
    let mut name = base.clone();
    if taken.contains(&name) || TAKEN.contains(&name.as_str()) {
        name.push_str("Value");
    }
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}Value{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// The text an integer value's variant is named from: `5` -> `V5`, `-1` -> `Minus1`.
fn int_variant_value(v: i64) -> String {
    if v < 0 {
        format!("minus{}", v.unsigned_abs())
    } else {
        format!("v{v}")
    }
}

/// The Rust shape of a param, an object's field or a one_of's option.
pub(crate) enum Shape<'a> {
    /// A plain Rust type (`String`, `i64`, `bool`, `Decimal`, `Vec<String>`).
    Plain,
    /// An enum of the values (string values or integer values), with one variant per value.
    Enum {
        /// Type name.
        ty: String,
        /// Variant names, one per value, in order.
        variants: Vec<String>,
    },
    /// A struct of an object.
    Object(ObjectTy<'a>),
    /// An enum of a one_of's options.
    OneOf {
        /// Type name.
        ty: String,
        /// One variant per option, in order.
        variants: Vec<Variant<'a>>,
    },
}

/// The struct of an object param or option.
pub(crate) struct ObjectTy<'a> {
    /// Type name.
    pub ty: String,
    /// One member per field, in order.
    pub members: Vec<Member<'a>>,
}

/// A field of an object as a struct member.
pub(crate) struct Member<'a> {
    /// The field.
    pub field: &'a ir::Field,
    /// Member name.
    pub ident: String,
    /// Its shape: plain or an enum.
    pub shape: Shape<'a>,
}

/// An option of a one_of as an enum variant.
pub(crate) struct Variant<'a> {
    /// The option.
    pub option: &'a ir::OneOfOption,
    /// Variant name.
    pub variant: String,
    /// The shape of the value it holds: plain, an enum or a struct.
    pub shape: Shape<'a>,
}

impl<'a> Shape<'a> {
    /// The shape of a value of `kind` named `ty` (whose nested types are named after it,
    /// `ImageSizeCustom` for the `custom` option of `ImageSize`).
    fn named(kind: &'a ParamKind, ty: String, taken: &mut BTreeSet<String>) -> Shape<'a> {
        match kind {
            ParamKind::Enum { values } => Shape::Enum {
                ty,
                variants: names::variants(values),
            },
            ParamKind::Integer {
                values: Some(values),
                ..
            } => {
                let values: Vec<String> = values.iter().map(|v| int_variant_value(*v)).collect();
                Shape::Enum {
                    ty,
                    variants: names::variants(&values),
                }
            }
            ParamKind::Object { fields } => {
                let members = fields
                    .iter()
                    .map(|field| Member {
                        field,
                        ident: names::ident(&field.name),
                        shape: Shape::nested(&ty, &field.name, &field.kind, taken),
                    })
                    .collect();
                Shape::Object(ObjectTy { ty, members })
            }
            ParamKind::OneOf { options } => {
                let names: Vec<String> = options.iter().map(|o| o.name.clone()).collect();
                let variants = unique_pascal(&names)
                    .into_iter()
                    .zip(options)
                    .map(|(variant, option)| Variant {
                        option,
                        shape: Shape::nested(&ty, &option.name, &option.kind, taken),
                        variant,
                    })
                    .collect();
                Shape::OneOf { ty, variants }
            }
            _ => Shape::Plain,
        }
    }

    /// The shape of a field or option `name` inside the type `outer`.
    fn nested(
        outer: &str,
        name: &str,
        kind: &'a ParamKind,
        taken: &mut BTreeSet<String>,
    ) -> Shape<'a> {
        if !needs_type(kind) {
            return Shape::Plain;
        }
        let ty = claim(taken, format!("{outer}{}", names::pascal(name)));
        Shape::named(kind, ty, taken)
    }

    /// The type name, for shapes with a type of their own.
    pub fn ty(&self) -> Option<&str> {
        match self {
            Shape::Plain => None,
            Shape::Enum { ty, .. } | Shape::OneOf { ty, .. } => Some(ty),
            Shape::Object(o) => Some(&o.ty),
        }
    }

    /// The Rust type of a value of `kind` in this shape.
    pub fn rust_ty<'s>(&'s self, kind: &ParamKind) -> &'s str {
        if let Some(ty) = self.ty() {
            return ty;
        }
        match kind {
            ParamKind::String { .. } | ParamKind::ImageUrl => "String",
            ParamKind::Decimal { .. } => "registry_core::Decimal",
            ParamKind::Integer { .. } => "i64",
            ParamKind::Boolean => "bool",
            ParamKind::Array { .. } => "Vec<String>",
            // These always have a type of their own.
            ParamKind::Enum { .. } | ParamKind::Object { .. } | ParamKind::OneOf { .. } => "String",
        }
    }

    /// The variant name of an enum value, for enum shapes.
    pub fn variant(&self, kind: &ParamKind, value: &serde_json::Value) -> Option<&str> {
        let Shape::Enum { variants, .. } = self else {
            return None;
        };
        let i = match kind {
            ParamKind::Enum { values } => values
                .iter()
                .position(|v| Some(v.as_str()) == value.as_str()),
            ParamKind::Integer {
                values: Some(values),
                ..
            } => values.iter().position(|v| Some(*v) == value.as_i64()),
            _ => None,
        }?;
        Some(&variants[i])
    }
}

/// Pascal-case names for distinct snake_case names, made unique with a number.
fn unique_pascal(names: &[String]) -> Vec<String> {
    let mut taken = BTreeSet::new();
    names
        .iter()
        .map(|n| {
            let base = names::pascal(n);
            let mut name = base.clone();
            let mut i = 2;
            while !taken.insert(name.clone()) {
                name = format!("{base}{i}");
                i += 1;
            }
            name
        })
        .collect()
}

/// One param as a Rust field.
pub(crate) struct Field<'a> {
    /// The param.
    pub param: &'a Param,
    /// Field name.
    pub ident: String,
    /// Its shape: a plain type, an enum (enum params and integer params with a value set), a
    /// struct (object params) or an enum of options (one_of params).
    pub shape: Shape<'a>,
}

impl Field<'_> {
    /// Optional without a default: an `Option`, whose `None` drops the key from requests.
    pub fn optional(&self) -> bool {
        !self.param.required && self.param.default.is_none()
    }

    /// The value type, without the `Option` of optional params.
    pub fn base_ty(&self) -> &str {
        self.shape.rust_ty(&self.param.kind)
    }

    /// The field type.
    pub fn ty(&self) -> String {
        if self.optional() {
            format!("Option<{}>", self.base_ty())
        } else {
            self.base_ty().to_owned()
        }
    }

    /// Held as a `String` (borrowed as `&str`).
    pub fn is_text(&self) -> bool {
        matches!(self.shape, Shape::Plain)
            && matches!(
                self.param.kind,
                ParamKind::String { .. } | ParamKind::ImageUrl
            )
    }

    /// Held as a `Vec<String>` (borrowed as `&[String]`).
    pub fn is_list(&self) -> bool {
        matches!(self.param.kind, ParamKind::Array { .. })
    }

    /// A struct or an enum of options: borrowed by getters, not copied.
    pub fn is_compound(&self) -> bool {
        matches!(self.shape, Shape::Object(_) | Shape::OneOf { .. })
    }
}
