//! Request building from the spec's templates.
//!
//! A body template is built explicitly: each object into a local `serde_json::Map` named after
//! its key, arrays as `Value::Array`, values with `Value::from`. A member that is an optional
//! param without a default is inserted only when the param is set, so an absent one drops its
//! key. Path placeholders are percent-encoded; `send_as: string` params are sent as JSON
//! strings.

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use serde_json::Value;

use super::names::Locals;
use super::{Field, ModelView};
use crate::ir::{HttpMethod, ParamKind, Placeholder, Request, RuntimeValue, Segment, Template};

/// The statements and the final `runtime::model::HttpRequest` expression that build `request`.
/// Params are read from `params` and runtime values from `ctx` (submit) or `task_id` (poll).
pub fn build(view: &ModelView<'_>, request: &Request) -> (TokenStream, TokenStream) {
    let mut body = Body {
        view,
        locals: Locals::new(&["params", "ctx", "task_id", "value"]),
        stmts: Vec::new(),
    };
    let method = match request.method {
        HttpMethod::Get => quote!(model::Method::Get),
        HttpMethod::Post => quote!(model::Method::Post),
        HttpMethod::Put => quote!(model::Method::Put),
    };
    let path = text(view, &request.path, true);
    let headers = request.headers.iter().map(|(name, segments)| {
        let value = text(view, segments, false);
        quote!((#name, #value))
    });
    let headers = if request.headers.is_empty() {
        quote!(Vec::new())
    } else {
        quote!(vec![#(#headers),*])
    };
    let body_value = match &request.body {
        Some(template) => {
            let value = body.value(template, "body");
            quote!(Some(#value))
        }
        None => quote!(None),
    };
    let stmts = &body.stmts;
    let request = quote! {
        model::HttpRequest {
            method: #method,
            path: #path,
            headers: #headers,
            body: #body_value,
        }
    };
    (quote!(#(#stmts)*), request)
}

/// Whether a request reads `params` / `ctx`.
pub fn uses(request: &Request) -> (bool, bool) {
    let mut params = false;
    let mut ctx = false;
    let mut see = |p: &Placeholder| match p {
        Placeholder::Param(_) => params = true,
        Placeholder::Runtime(RuntimeValue::Uuid | RuntimeValue::CallbackUrl) => ctx = true,
        Placeholder::Runtime(RuntimeValue::TaskId) => {}
    };
    fn segments(s: &[Segment], see: &mut dyn FnMut(&Placeholder)) {
        for seg in s {
            if let Segment::Value(p) = seg {
                see(p);
            }
        }
    }
    fn template(t: &Template, see: &mut dyn FnMut(&Placeholder)) {
        match t {
            Template::Literal(_) => {}
            Template::Value(p) => see(p),
            Template::Text(s) => segments(s, see),
            Template::Object(members) => members.iter().for_each(|(_, t)| template(t, see)),
            Template::Array(items) => items.iter().for_each(|t| template(t, see)),
        }
    }
    segments(&request.path, &mut see);
    request.headers.values().for_each(|h| segments(h, &mut see));
    if let Some(b) = &request.body {
        template(b, &mut see);
    }
    (params, ctx)
}

struct Body<'v, 'a> {
    view: &'v ModelView<'a>,
    locals: Locals,
    stmts: Vec<TokenStream>,
}

impl Body<'_, '_> {
    /// A `serde_json::Value` expression for `template`; objects are built first into local maps
    /// named after their key (`hint`).
    fn value(&mut self, template: &Template, hint: &str) -> TokenStream {
        match template {
            Template::Literal(Value::Object(members)) => {
                let members: Vec<(String, Template)> = members
                    .iter()
                    .map(|(k, v)| (k.clone(), Template::Literal(v.clone())))
                    .collect();
                self.value(&Template::Object(members), hint)
            }
            Template::Literal(Value::Array(items)) => {
                let items: Vec<Template> =
                    items.iter().map(|v| Template::Literal(v.clone())).collect();
                self.value(&Template::Array(items), hint)
            }
            Template::Literal(v) => scalar(v),
            Template::Value(p) => {
                let value = placeholder(self.view, p);
                quote!(Value::from(#value))
            }
            Template::Text(segments) => {
                let text = text(self.view, segments, false);
                quote!(Value::from(#text))
            }
            Template::Object(members) => {
                let map = self.locals.fresh(hint);
                self.stmts.push(quote!(let mut #map = Map::new();));
                for (key, template) in members {
                    if let Some(field) = self.optional_param(template) {
                        let ident = &field.ident;
                        let value = value_of(field, quote!(value), true);
                        self.stmts.push(quote! {
                            if let Some(value) = &params.#ident {
                                #map.insert(#key.to_owned(), Value::from(#value));
                            }
                        });
                    } else {
                        let value = self.value(template, key);
                        self.stmts
                            .push(quote!(#map.insert(#key.to_owned(), #value);));
                    }
                }
                quote!(Value::Object(#map))
            }
            Template::Array(items) => {
                let item_hint = singular(hint);
                let items: Vec<TokenStream> =
                    items.iter().map(|t| self.value(t, &item_hint)).collect();
                quote!(Value::Array(vec![#(#items),*]))
            }
        }
    }

    /// The optional param without a default that `template` stands for alone, if any: its
    /// member is dropped when the param is not set.
    fn optional_param(&self, template: &Template) -> Option<&Field<'_>> {
        match template {
            Template::Value(Placeholder::Param(name)) => self
                .view
                .fields
                .iter()
                .find(|f| &f.param.name == name && f.optional()),
            _ => None,
        }
    }
}

/// `messages` -> `message`; anything else -> `<hint>_item`.
fn singular(hint: &str) -> String {
    match hint.strip_suffix('s') {
        Some(stem) if stem.len() > 1 && !stem.ends_with('s') => stem.to_owned(),
        _ => format!("{hint}_item"),
    }
}

/// A literal scalar as a `serde_json::Value`.
fn scalar(v: &Value) -> TokenStream {
    match v {
        Value::Null => quote!(Value::Null),
        Value::Bool(b) => quote!(Value::Bool(#b)),
        Value::Number(n) => {
            let lit = if let Some(i) = n.as_i64() {
                Literal::i64_unsuffixed(i)
            } else if let Some(u) = n.as_u64() {
                Literal::u64_unsuffixed(u)
            } else {
                Literal::f64_unsuffixed(n.as_f64().unwrap_or_default())
            };
            quote!(Value::from(#lit))
        }
        Value::String(s) => quote!(Value::from(#s)),
        Value::Array(_) | Value::Object(_) => unreachable!("handled as templates"),
    }
}

/// A placeholder standing alone: an expression convertible into a `serde_json::Value` that keeps
/// the param's JSON type (or a string, for `send_as: string`).
fn placeholder(view: &ModelView<'_>, p: &Placeholder) -> TokenStream {
    match p {
        Placeholder::Param(name) => {
            let field = field(view, name);
            let ident = &field.ident;
            value_of(field, quote!(params.#ident), false)
        }
        Placeholder::Runtime(RuntimeValue::Uuid) => quote!(ctx.uuid.clone()),
        Placeholder::Runtime(RuntimeValue::CallbackUrl) => quote!(ctx.callback_url.clone()),
        Placeholder::Runtime(RuntimeValue::TaskId) => quote!(task_id),
    }
}

/// An expression convertible into a `serde_json::Value` for the value of `field` at `place` (a
/// reference when `by_ref`), as sent to the provider.
pub fn value_of(field: &Field<'_>, place: TokenStream, by_ref: bool) -> TokenStream {
    let optional_place = field.optional() && !by_ref;
    if field.param.send_as_string && !field.is_text() {
        return match (&field.param.kind, optional_place) {
            (ParamKind::Enum { .. }, false) => quote!(#place.as_str()),
            (ParamKind::Enum { .. }, true) => quote!(#place.map(|value| value.as_str())),
            (ParamKind::Array { .. }, false) => quote!(#place.join(",")),
            (ParamKind::Array { .. }, true) => quote!(#place.as_ref().map(|value| value.join(","))),
            (_, false) => quote!(#place.to_string()),
            (_, true) => quote!(#place.map(|value| value.to_string())),
        };
    }
    match (&field.param.kind, optional_place) {
        (ParamKind::Enum { .. }, false) => quote!(#place.as_str()),
        (ParamKind::Enum { .. }, true) => quote!(#place.map(|value| value.as_str())),
        (_, _) if field.is_copy() && by_ref => quote!(*#place),
        (_, _) if field.is_copy() => quote!(#place),
        _ => quote!(#place.clone()),
    }
}

fn field<'v, 'a>(view: &'v ModelView<'a>, name: &str) -> &'v Field<'a> {
    view.fields
        .iter()
        .find(|f| f.param.name == name)
        .expect("placeholders name declared params (checked by validate)")
}

/// A string template: a literal, or `format!` with each placeholder's text (percent-encoded in
/// paths).
fn text(view: &ModelView<'_>, segments: &[Segment], encode: bool) -> TokenStream {
    let mut fmt = String::new();
    let mut args = Vec::new();
    for seg in segments {
        match seg {
            Segment::Text(t) => fmt.push_str(&t.replace('{', "{{").replace('}', "}}")),
            Segment::Value(p) => {
                fmt.push_str("{}");
                args.push(if encode {
                    let text = as_str(view, p);
                    quote!(model::encode_component(#text))
                } else {
                    shown(view, p)
                });
            }
        }
    }
    match (&args[..], segments) {
        ([], _) => {
            let text: String = segments
                .iter()
                .map(|s| {
                    if let Segment::Text(t) = s {
                        t.as_str()
                    } else {
                        ""
                    }
                })
                .collect();
            quote!(#text.to_owned())
        }
        ([arg], [Segment::Value(_)]) => quote!(#arg.to_string()),
        _ => quote!(format!(#fmt, #(#args),*)),
    }
}

/// A placeholder's text as a `Display` value inside a string.
fn shown(view: &ModelView<'_>, p: &Placeholder) -> TokenStream {
    match p {
        Placeholder::Param(name) => {
            let field = field(view, name);
            let ident = &field.ident;
            match (&field.param.kind, field.optional()) {
                (ParamKind::Array { .. }, false) => quote!(params.#ident.join(",")),
                (ParamKind::Array { .. }, true) => {
                    quote!(params.#ident.as_deref().unwrap_or_default().join(","))
                }
                (_, false) => quote!(params.#ident),
                (_, true) if field.is_text() => {
                    quote!(params.#ident.as_deref().unwrap_or_default())
                }
                (_, true) => {
                    quote!(params.#ident.map(|value| value.to_string()).unwrap_or_default())
                }
            }
        }
        Placeholder::Runtime(RuntimeValue::Uuid) => quote!(ctx.uuid),
        Placeholder::Runtime(RuntimeValue::CallbackUrl) => {
            quote!(ctx.callback_url.as_deref().unwrap_or_default())
        }
        Placeholder::Runtime(RuntimeValue::TaskId) => quote!(task_id),
    }
}

/// A placeholder's text as a `&str`.
fn as_str(view: &ModelView<'_>, p: &Placeholder) -> TokenStream {
    match p {
        Placeholder::Param(name) => {
            let field = field(view, name);
            let ident = &field.ident;
            match (&field.param.kind, field.optional()) {
                (ParamKind::Enum { .. }, false) => quote!(params.#ident.as_str()),
                (_, false) if field.is_text() => quote!(&params.#ident),
                _ => {
                    let shown = shown(view, p);
                    quote!(&#shown.to_string())
                }
            }
        }
        Placeholder::Runtime(RuntimeValue::Uuid) => quote!(&ctx.uuid),
        Placeholder::Runtime(RuntimeValue::CallbackUrl) => {
            quote!(ctx.callback_url.as_deref().unwrap_or_default())
        }
        Placeholder::Runtime(RuntimeValue::TaskId) => quote!(task_id),
    }
}
