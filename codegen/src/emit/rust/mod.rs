//! The Rust emitter: the `generated-models` crate under `generated/rust/`.
//!
//! Every item is built with `quote!` and `format_ident!`, parsed back with syn (so a generator
//! bug fails here, not in a downstream build) and printed with prettyplease. Items are emitted
//! in IR order (models and providers by id, params in form order), so the output never depends
//! on map iteration order. The files are split by item kind like this emitter:
//!
//! - [`crate_files`] emits `Cargo.toml`;
//! - [`registry`] emits `lib.rs`, `registry.rs` (every model by id), `providers.rs`, `models/mod.rs`;
//! - [`params`] emits, per model, the params type, its builder and enums;
//! - [`executor`] emits, per model, the executor type and its `runtime::model::Model` impl;
//! - [`request`] builds requests from the spec's templates (used by [`executor`]).
//!
//! Generated code uses no `crate::` paths (only `super::`), so each generated crate root can
//! also be compiled as a module, which is how the golden tests compile their fixture crates.

mod crate_files;
mod executor;
mod names;
mod params;
mod registry;
mod request;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::{EmitError, HEADER};
use crate::ir::{self, Param, ParamKind};
use crate::write::Files;

/// Add `rust/**` to `files`.
pub(super) fn emit(ir: &ir::Registry, files: &mut Files) -> Result<(), EmitError> {
    files.insert("rust/Cargo.toml".into(), crate_files::cargo_toml());
    let views: Vec<ModelView<'_>> = ir.models.values().map(ModelView::new).collect();
    files.insert(
        "rust/src/lib.rs".into(),
        render("src/lib.rs", registry::lib_rs(ir, &views))?,
    );
    files.insert(
        "rust/src/registry.rs".into(),
        render("src/registry.rs", registry::registry_rs(&views))?,
    );
    files.insert(
        "rust/src/providers.rs".into(),
        render("src/providers.rs", registry::providers_rs(ir))?,
    );
    files.insert(
        "rust/src/models/mod.rs".into(),
        render("src/models/mod.rs", registry::models_mod_rs(&views))?,
    );
    // One file per model, rendered on every core: parsing and printing dominate the run time.
    // Token types are not `Send`, so each thread builds the views of its own share of models;
    // the results land in the ordered file map, so output does not depend on scheduling.
    let models: Vec<&ir::Model> = ir.models.values().collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(models.len().max(1));
    let chunk = models.len().div_ceil(threads).max(1);
    let rendered: Vec<Result<Vec<(String, String)>, EmitError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = models
            .chunks(chunk)
            .map(|share| {
                scope.spawn(move || {
                    share
                        .iter()
                        .map(|model| {
                            let view = ModelView::new(model);
                            let provider = &ir.providers[&model.provider];
                            let path = format!("src/models/{}.rs", view.module);
                            let text = render(&path, model_file(&view, provider))?;
                            Ok((format!("rust/{path}"), text))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(EmitError::Other("a Rust rendering thread panicked".into()))
                })
            })
            .collect()
    });
    for share in rendered {
        files.extend(share?);
    }
    Ok(())
}

/// One model's module: docs, params, enums, executor.
fn model_file(view: &ModelView<'_>, provider: &ir::Provider) -> TokenStream {
    let m = view.model;
    let mut doc = vec![format!(
        "{} (`{}`), by {}.",
        m.display_name, m.id, provider.display_name
    )];
    if let Some(d) = &m.description {
        doc.push(String::new());
        doc.extend(d.lines().map(str::to_owned));
    }
    doc.push(String::new());
    doc.push(format!("Generated from `models/{}`.", m.source));
    let doc = inner_doc(&doc);
    let params = params::items(view);
    let executor = executor::items(view, provider);
    quote! {
        #doc
        use std::time::Duration;

        use runtime::{cost, model, params};
        use serde_json::{Map, Value};

        #params
        #executor
    }
}

/// Parse `tokens` as a file and print it, after the generated-file header.
fn render(what: &str, tokens: TokenStream) -> Result<String, EmitError> {
    let file: syn::File = syn::parse2(tokens).map_err(|e| EmitError::Rust {
        what: what.to_owned(),
        message: e.to_string(),
    })?;
    let code = prettyplease::unparse(&file);
    Ok(format!("// {HEADER}\n\n{code}"))
}

/// `#[doc = " line"]` attributes (printed as `///` comments), one per line.
fn doc(lines: &[String]) -> TokenStream {
    let attrs = lines.iter().map(|l| {
        let text = if l.is_empty() {
            String::new()
        } else {
            format!(" {l}")
        };
        quote!(#[doc = #text])
    });
    quote!(#(#attrs)*)
}

/// `#![doc = " line"]` attributes (printed as `//!` comments).
fn inner_doc(lines: &[String]) -> TokenStream {
    let attrs = lines.iter().map(|l| {
        let text = if l.is_empty() {
            String::new()
        } else {
            format!(" {l}")
        };
        quote!(#![doc = #text])
    });
    quote!(#(#attrs)*)
}

/// A doc comment from an optional description, else `fallback`.
fn describe(description: Option<&str>, fallback: String) -> Vec<String> {
    match description {
        Some(d) => d.lines().map(str::to_owned).collect(),
        None => vec![fallback],
    }
}

/// A `Duration` constructor for milliseconds (model modules import `std::time::Duration`).
fn duration(ms: u64) -> TokenStream {
    if ms % 1000 == 0 {
        let s = proc_macro2::Literal::u64_unsuffixed(ms / 1000);
        quote!(Duration::from_secs(#s))
    } else {
        let ms = proc_macro2::Literal::u64_unsuffixed(ms);
        quote!(Duration::from_millis(#ms))
    }
}

/// `Some(x)` / `None` for an optional token stream.
fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

/// Type names a model module uses unqualified (imported or from the prelude), which its own
/// types must not shadow.
const TAKEN: [&str; 10] = [
    "Default", "Duration", "Into", "Map", "Option", "Result", "String", "TryFrom", "Value", "Vec",
];

/// Names and Rust shapes of one model's items.
pub(crate) struct ModelView<'a> {
    /// The model.
    pub model: &'a ir::Model,
    /// Module name.
    pub module: Ident,
    /// Executor type.
    pub ty: Ident,
    /// Params type.
    pub params_ty: Ident,
    /// Params builder type.
    pub builder_ty: Ident,
    /// Params in form order.
    pub fields: Vec<Field<'a>>,
}

impl<'a> ModelView<'a> {
    fn new(model: &'a ir::Model) -> Self {
        let mut base = names::pascal(&model.id);
        if TAKEN.contains(&base.as_str()) {
            base.push_str("Model");
        }
        let ty = format_ident!("{}", base);
        let params_ty = format_ident!("{}Params", base);
        let builder_ty = format_ident!("{}ParamsBuilder", base);
        let reserved = [
            ty.to_string(),
            params_ty.to_string(),
            builder_ty.to_string(),
        ];
        let fields = model
            .params
            .iter()
            .map(|param| {
                let enum_ty = match &param.kind {
                    ParamKind::Enum { values } => {
                        let mut name = names::pascal(&param.name);
                        if reserved.contains(&name) || TAKEN.contains(&name.as_str()) {
                            name.push_str("Value");
                        }
                        Some((format_ident!("{}", name), names::variants(values)))
                    }
                    _ => None,
                };
                Field {
                    param,
                    ident: names::ident(&param.name),
                    enum_ty,
                }
            })
            .collect();
        ModelView {
            model,
            module: names::ident(&names::snake(&model.id)),
            ty,
            params_ty,
            builder_ty,
            fields,
        }
    }
}

/// One param as a Rust field.
pub(crate) struct Field<'a> {
    /// The param.
    pub param: &'a Param,
    /// Field, getter and setter name.
    pub ident: Ident,
    /// Enum type and its variants (one per value, in order), for enum params.
    pub enum_ty: Option<(Ident, Vec<Ident>)>,
}

impl Field<'_> {
    /// Optional without a default: an `Option`, whose `None` drops the key from requests.
    pub fn optional(&self) -> bool {
        !self.param.required && self.param.default.is_none()
    }

    /// The value type, without the `Option` of optional params.
    pub fn base_ty(&self) -> TokenStream {
        match &self.param.kind {
            ParamKind::String { .. } | ParamKind::ImageUrl | ParamKind::Decimal { .. } => {
                quote!(String)
            }
            ParamKind::Integer { .. } => quote!(i64),
            ParamKind::Boolean => quote!(bool),
            ParamKind::Enum { .. } => {
                let (ty, _) = self
                    .enum_ty
                    .as_ref()
                    .expect("enum params have an enum type");
                quote!(#ty)
            }
            ParamKind::Array { .. } => quote!(Vec<String>),
        }
    }

    /// The field type.
    pub fn ty(&self) -> TokenStream {
        let base = self.base_ty();
        if self.optional() {
            quote!(Option<#base>)
        } else {
            base
        }
    }

    /// Held as a `String` (borrowed as `&str`).
    pub fn is_text(&self) -> bool {
        matches!(
            self.param.kind,
            ParamKind::String { .. } | ParamKind::ImageUrl | ParamKind::Decimal { .. }
        )
    }

    /// `Copy` values (integers, booleans, enums).
    pub fn is_copy(&self) -> bool {
        matches!(
            self.param.kind,
            ParamKind::Integer { .. } | ParamKind::Boolean | ParamKind::Enum { .. }
        )
    }

    /// The variant for an enum value.
    pub fn variant(&self, value: &str) -> Option<&Ident> {
        let ParamKind::Enum { values } = &self.param.kind else {
            return None;
        };
        let (_, variants) = self.enum_ty.as_ref()?;
        values.iter().position(|v| v == value).map(|i| &variants[i])
    }
}
