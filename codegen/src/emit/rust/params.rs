//! Per model: the params type, its builder, its enums, and JSON conversion that checks bounds.
//!
//! Required params are arguments of `new`/`builder`, so a missing one does not compile; enum
//! params are Rust enums, so an unknown value does not compile. Bounds (length, range, step,
//! allowed values) are checked by `runtime::params::validate` when params are built or
//! deserialized, so messages are the same as on the dynamic path and in TypeScript.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value;

use super::{Field, ModelView, describe, doc};
use crate::ir::{ItemType, ParamKind};

/// Every params item of one model.
pub fn items(view: &ModelView<'_>) -> TokenStream {
    let enums = view.fields.iter().filter_map(enum_item);
    let params = params_struct(view);
    let builder = builder(view);
    let json = json_impls(view);
    quote! {
        #(#enums)*
        #params
        #builder
        #json
    }
}

/// Method names of the params type and builder that a param's getter or setter must not take.
const METHODS: [&str; 4] = ["new", "builder", "build", "to_json"];

/// Getter and setter name of a field.
pub fn method(field: &Field<'_>) -> Ident {
    if METHODS.contains(&field.param.name.as_str()) {
        format_ident!("{}_param", field.param.name)
    } else {
        field.ident.clone()
    }
}

/// The doc lines of a param: its description, then its bounds and default.
fn field_doc(field: &Field<'_>) -> Vec<String> {
    let p = field.param;
    let mut lines = describe(p.description.as_deref(), format!("The `{}` param.", p.name));
    let mut facts = Vec::new();
    match &p.kind {
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
        ParamKind::Enum { .. } | ParamKind::Boolean => {}
    }
    if p.send_as_string {
        facts.push("Sent to the provider as a JSON string.".to_owned());
    }
    match &p.default {
        Some(d) => facts.push(format!("Default: `{}`.", show(d))),
        None if p.required => facts.push("Required.".to_owned()),
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

/// The enum of an enum param.
fn enum_item(field: &Field<'_>) -> Option<TokenStream> {
    let (ty, variants) = field.enum_ty.as_ref()?;
    let ParamKind::Enum { values } = &field.param.kind else {
        return None;
    };
    let doc = doc(&describe(
        field.param.description.as_deref(),
        format!("Values of the `{}` param.", field.param.name),
    ));
    let default = field.param.default.as_ref().and_then(Value::as_str);
    let arms = variants.iter().zip(values).map(|(variant, value)| {
        let text = format!(" `{value}`.");
        let default_attr = (default == Some(value.as_str())).then(|| quote!(#[default]));
        quote! {
            #[doc = #text]
            #default_attr
            #[serde(rename = #value)]
            #variant
        }
    });
    let derive_default = default.map(|_| quote!(Default,));
    let count = proc_macro2::Literal::usize_unsuffixed(values.len());
    Some(quote! {
        #doc
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            #derive_default
            serde::Serialize,
            serde::Deserialize,
        )]
        pub enum #ty {
            #(#arms,)*
        }

        impl #ty {
            /// Every value, in the spec's order.
            pub const ALL: [Self; #count] = [#(Self::#variants),*];

            /// The value as the provider spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    #(Self::#variants => #values,)*
                }
            }
        }

        impl std::fmt::Display for #ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    })
}

/// The expression of a param's default value.
fn default_expr(field: &Field<'_>) -> TokenStream {
    let Some(default) = &field.param.default else {
        return quote!(None);
    };
    if let Some(variant) = default.as_str().and_then(|s| field.variant(s)) {
        let (ty, _) = field
            .enum_ty
            .as_ref()
            .expect("enum params have an enum type");
        return quote!(#ty::#variant);
    }
    match default {
        Value::String(s) => quote!(#s.to_owned()),
        Value::Bool(b) => quote!(#b),
        Value::Number(n) => {
            let n = proc_macro2::Literal::i64_unsuffixed(n.as_i64().unwrap_or_default());
            quote!(#n)
        }
        Value::Array(items) => {
            let items = items.iter().map(|i| {
                let s = i.as_str().unwrap_or_default();
                quote!(#s.to_owned())
            });
            quote!(vec![#(#items),*])
        }
        Value::Null | Value::Object(_) => quote!(Default::default()),
    }
}

/// The argument type of a setter or constructor, and how to turn the argument into the field.
fn argument(field: &Field<'_>) -> (TokenStream, TokenStream) {
    let ident = &field.ident;
    if field.is_text() {
        (quote!(impl Into<String>), quote!(#ident.into()))
    } else {
        (field.base_ty(), quote!(#ident))
    }
}

fn params_struct(view: &ModelView<'_>) -> TokenStream {
    let ModelView {
        ty,
        params_ty,
        builder_ty,
        ..
    } = view;
    let struct_doc = doc(&[
        format!("Params of [`{ty}`], checked against the spec's bounds."),
        String::new(),
        format!(
            "Build them with [`{params_ty}::new`] (required params only) or [`{params_ty}::builder`];"
        ),
        "deserializing from JSON checks the same bounds with the same messages.".to_owned(),
    ]);
    let fields = view.fields.iter().map(|f| {
        let doc = doc(&field_doc(f));
        let ident = &f.ident;
        let ty = f.ty();
        quote!(#doc #ident: #ty)
    });
    let required: Vec<&Field<'_>> = view.fields.iter().filter(|f| f.param.required).collect();
    let args = required.iter().map(|f| {
        let ident = &f.ident;
        let (ty, _) = argument(f);
        quote!(#ident: #ty)
    });
    let arg_names = required.iter().map(|f| &f.ident);
    let args2 = args.clone();
    let inits = view.fields.iter().map(|f| {
        let ident = &f.ident;
        if f.param.required {
            let (_, value) = argument(f);
            if f.is_text() {
                quote!(#ident: #value)
            } else {
                quote!(#ident)
            }
        } else {
            let value = default_expr(f);
            quote!(#ident: #value)
        }
    });
    let getters = view.fields.iter().map(|f| {
        let doc = doc(&describe(
            f.param.description.as_deref(),
            format!("The `{}` param.", f.param.name),
        ));
        let ident = &f.ident;
        let name = method(f);
        let base = f.base_ty();
        let (ret, body) = match (f.optional(), f.is_copy(), f.is_text()) {
            (false, true, _) => (base, quote!(self.#ident)),
            (false, false, true) => (quote!(&str), quote!(&self.#ident)),
            (false, false, false) => (quote!(&[String]), quote!(&self.#ident)),
            (true, true, _) => (quote!(Option<#base>), quote!(self.#ident)),
            (true, false, true) => (quote!(Option<&str>), quote!(self.#ident.as_deref())),
            (true, false, false) => (quote!(Option<&[String]>), quote!(self.#ident.as_deref())),
        };
        quote! {
            #doc
            pub fn #name(&self) -> #ret {
                #body
            }
        }
    });
    let required_list: Vec<String> = required
        .iter()
        .map(|f| format!("`{}`", f.param.name))
        .collect();
    let new_doc = if required_list.is_empty() {
        "Params with every param at its default, checked.".to_owned()
    } else {
        format!(
            "Params with {} and every other param at its default, checked.",
            required_list.join(", ")
        )
    };
    let builder_doc = if required_list.is_empty() {
        "A builder starting from the defaults; [`build`](".to_owned()
            + &builder_ty.to_string()
            + "::build) checks the bounds."
    } else {
        format!(
            "A builder with {}, other params at their defaults; [`build`]({builder_ty}::build) checks the bounds.",
            required_list.join(", ")
        )
    };
    let new_doc_attr = format!(" {new_doc}");
    let builder_doc_attr = format!(" {builder_doc}");
    let to_json = to_json(view);
    quote! {
        #struct_doc
        #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
        #[serde(try_from = "Value")]
        pub struct #params_ty {
            #(#fields,)*
        }

        impl #params_ty {
            #[doc = #new_doc_attr]
            pub fn new(#(#args),*) -> Result<Self, params::Violations> {
                Self::builder(#(#arg_names),*).build()
            }

            #[doc = #builder_doc_attr]
            pub fn builder(#(#args2),*) -> #builder_ty {
                #builder_ty {
                    params: Self {
                        #(#inits,)*
                    },
                }
            }

            #(#getters)*

            #to_json
        }
    }
}

/// `to_json`: the params as the JSON object validation, requests and costs read.
fn to_json(view: &ModelView<'_>) -> TokenStream {
    let inserts = view.fields.iter().map(|f| {
        let ident = &f.ident;
        let key = &f.param.name;
        if f.optional() {
            let value = json_value(f, quote!(value), true);
            quote! {
                if let Some(value) = &self.#ident {
                    map.insert(#key.to_owned(), Value::from(#value));
                }
            }
        } else {
            let value = json_value(f, quote!(self.#ident), false);
            quote! {
                map.insert(#key.to_owned(), Value::from(#value));
            }
        }
    });
    quote! {
        /// These params as a JSON object, the way the dynamic path and the cost formula see them.
        pub fn to_json(&self) -> Map<String, Value> {
            let mut map = Map::new();
            #(#inserts)*
            map
        }
    }
}

/// The value of `field` at `place` as a `serde_json::Value` source, with its own JSON type.
fn json_value(field: &Field<'_>, place: TokenStream, by_ref: bool) -> TokenStream {
    match &field.param.kind {
        ParamKind::Enum { .. } => quote!(#place.as_str()),
        _ if field.is_copy() && by_ref => quote!(*#place),
        _ if field.is_copy() => quote!(#place),
        _ => quote!(#place.clone()),
    }
}

fn builder(view: &ModelView<'_>) -> TokenStream {
    let ModelView {
        ty,
        params_ty,
        builder_ty,
        ..
    } = view;
    let builder_doc = doc(&[format!(
        "Builds [`{params_ty}`]: set optional params, then [`build`]({builder_ty}::build)."
    )]);
    let setters = view.fields.iter().filter(|f| !f.param.required).map(|f| {
        let doc = doc(&field_doc(f));
        let ident = &f.ident;
        let name = method(f);
        let (arg_ty, value) = argument(f);
        let value = if f.optional() {
            quote!(Some(#value))
        } else {
            value
        };
        quote! {
            #doc
            pub fn #name(mut self, #ident: #arg_ty) -> Self {
                self.params.#ident = #value;
                self
            }
        }
    });
    quote! {
        #builder_doc
        #[derive(Debug, Clone)]
        #[must_use]
        pub struct #builder_ty {
            params: #params_ty,
        }

        impl #builder_ty {
            #(#setters)*

            /// Check every bound and return the params, or every violation.
            pub fn build(self) -> Result<#params_ty, params::Violations> {
                params::validate(
                    <#ty as model::Model>::INFO.params,
                    &Value::Object(self.params.to_json()),
                )?;
                Ok(self.params)
            }
        }
    }
}

fn json_impls(view: &ModelView<'_>) -> TokenStream {
    let ModelView { ty, params_ty, .. } = view;
    let fields = view.fields.iter().map(|f| {
        let ident = &f.ident;
        let key = &f.param.name;
        quote!(#ident: super::take(&mut valid, #key)?)
    });
    quote! {
        impl TryFrom<Value> for #params_ty {
            type Error = params::Violations;

            fn try_from(value: Value) -> Result<Self, Self::Error> {
                let mut valid = params::validate(<#ty as model::Model>::INFO.params, &value)?;
                Ok(Self {
                    #(#fields,)*
                })
            }
        }

        impl serde::Serialize for #params_ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serde::Serialize::serialize(&self.to_json(), serializer)
            }
        }
    }
}
