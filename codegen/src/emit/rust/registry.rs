//! Crate-level modules: `lib.rs`, `registry.rs` (every model by id), `providers.rs` and
//! `models/mod.rs`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::names::screaming;
use super::{ModelView, doc, duration, inner_doc, option};
use crate::ir::{self, Auth, SignatureScheme};

pub fn lib_rs(ir: &ir::Registry, views: &[ModelView<'_>]) -> TokenStream {
    let enabled = ir.models.values().filter(|m| m.enabled).count();
    let docs = inner_doc(&[
        "Typed executors for every model of the registry, generated from the specs in `models/`.".to_owned(),
        String::new(),
        format!("{} models ({enabled} enabled) from {} providers. Each model has a module under", ir.models.len(), ir.providers.len()),
        "[`models`] with its params type (required params are constructor arguments, enums are".to_owned(),
        "Rust enums, bounds are checked when params are built or deserialized) and its executor,".to_owned(),
        "which implements [`runtime::model::Model`]. [`MODELS`] and [`by_id`] serve dynamic callers".to_owned(),
        "with JSON params.".to_owned(),
    ]);
    let exports = views.iter().map(|v| {
        let ModelView {
            module,
            ty,
            params_ty,
            builder_ty,
            ..
        } = v;
        quote! {
            pub use models::#module::#ty;
            pub use models::#module::#params_ty;
            pub use models::#module::#builder_ty;
        }
    });
    quote! {
        #docs

        // Formatted by prettyplease when generated; rustfmt leaves them as they are.
        #[rustfmt::skip]
        pub mod models;
        #[rustfmt::skip]
        pub mod providers;
        #[rustfmt::skip]
        mod registry;

        #(#exports)*
        pub use registry::MODELS;
        pub use registry::by_id;
    }
}

pub fn registry_rs(views: &[ModelView<'_>]) -> TokenStream {
    let entries = views.iter().map(|v| {
        let ModelView { module, ty, .. } = v;
        quote!(&::runtime::model::Erased::<super::models::#module::#ty>::NEW)
    });
    quote! {
        //! Every model, for lookup by id with JSON params.

        /// Every model of the registry, by id. Disabled models are listed (their
        /// `info().enabled` is `false`); the engine refuses to run them.
        pub static MODELS: &[&dyn ::runtime::model::DynModel] = &[#(#entries),*];

        /// The model with id `id`, enabled or not.
        pub fn by_id(id: &str) -> ::std::option::Option<&'static dyn ::runtime::model::DynModel> {
            MODELS.iter().copied().find(|model| model.info().id == id)
        }
    }
}

pub fn models_mod_rs(views: &[ModelView<'_>]) -> TokenStream {
    let mods = views.iter().map(|v| {
        let module = &v.module;
        let text = format!(" {}", v.model.display_name);
        quote! {
            #[doc = #text]
            pub mod #module;
        }
    });
    quote! {
        //! One module per model.

        use super::providers;

        #(#mods)*

        /// Take a validated param out of `valid` as its Rust type (absent: `None` for optional
        /// params).
        fn take<T: ::serde::de::DeserializeOwned>(
            valid: &mut ::serde_json::Map<::std::string::String, ::serde_json::Value>,
            name: &str,
        ) -> ::std::result::Result<T, ::runtime::params::Violations> {
            let value = valid.remove(name).unwrap_or_default();
            ::serde_json::from_value(value).map_err(|error| {
                ::runtime::params::Violations(::std::vec![::runtime::params::Violation {
                    param: name.to_owned(),
                    code: ::runtime::params::Code::Type,
                    message: ::std::format!("{name}: {error}"),
                }])
            })
        }
    }
}

pub fn providers_rs(ir: &ir::Registry) -> TokenStream {
    let statics = ir.providers.values().map(|p| {
        let name = format_ident!("{}", screaming(&p.id));
        let mut lines = vec![format!("{} (`{}`).", p.display_name, p.id)];
        if let Some(d) = &p.description {
            lines.push(String::new());
            lines.extend(d.lines().map(str::to_owned));
        }
        let doc = doc(&lines);
        let (id, display_name, base_url, idempotent) = (&p.id, &p.display_name, &p.base_url, p.idempotent_submit);
        let auth = match &p.auth {
            Auth::Bearer => quote!(::runtime::model::Auth::Bearer),
            Auth::Header { name, prefix } => quote!(::runtime::model::Auth::Header { name: #name, prefix: #prefix }),
            Auth::Query { name } => quote!(::runtime::model::Auth::Query { name: #name }),
        };
        let errors = option(p.errors.as_ref().map(|e| {
            let message = &e.message;
            let code = option(e.code.as_ref().map(|c| quote!(#c)));
            let ok_codes = e.ok_codes.iter().map(|c| c.to_string());
            quote!(::runtime::model::ErrorRule { message: #message, code: #code, ok_codes: &[#(#ok_codes),*] })
        }));
        let webhook = option(p.webhook.as_ref().map(|w| {
            let signature = match w.signature {
                SignatureScheme::None => quote!(None),
                SignatureScheme::UrlToken => quote!(UrlToken),
                SignatureScheme::StandardWebhooks => quote!(StandardWebhooks),
                SignatureScheme::KieHmac => quote!(KieHmac),
            };
            let secret = option(w.secret_name.as_ref().map(|s| quote!(#s)));
            let task_id = &w.task_id;
            let confirm = w.confirm_by_poll;
            let tolerance = option(w.tolerance_ms.map(|ms| {
                let d = duration(ms);
                quote!(::std::time::#d)
            }));
            quote! {
                ::runtime::model::WebhookRule {
                    signature: ::runtime::model::Signature::#signature,
                    secret_name: #secret,
                    task_id: &[#(#task_id),*],
                    confirm_by_poll: #confirm,
                    tolerance: #tolerance,
                }
            }
        }));
        quote! {
            #doc
            pub static #name: ::runtime::model::ProviderInfo = ::runtime::model::ProviderInfo {
                id: #id,
                display_name: #display_name,
                base_url: #base_url,
                auth: #auth,
                errors: #errors,
                webhook: #webhook,
                idempotent_submit: #idempotent,
            };
        }
    });
    quote! {
        //! Every provider; models share their provider's static.

        #(#statics)*
    }
}
