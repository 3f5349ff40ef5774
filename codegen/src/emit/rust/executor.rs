//! Per model: the executor type, its static `ModelInfo` and its `runtime::model::Model` impl.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::names::screaming;
use super::{ModelView, doc, duration, option, request};
use crate::emit::{cost_formula, human_duration};
use crate::ir::{
    self, ContentType, ExecutionMode, ItemType, Multiplier, OutputKind, ParamKind, RoundMode,
    TaskStatus,
};

/// The executor items of one model.
pub fn items(view: &ModelView<'_>, provider: &ir::Provider) -> TokenStream {
    let m = view.model;
    let ModelView { ty, params_ty, .. } = view;
    let mut lines = vec![format!("{}.", m.display_name.trim_end_matches('.'))];
    if let Some(d) = &m.description {
        lines.push(String::new());
        lines.extend(d.lines().map(str::to_owned));
    }
    lines.push(String::new());
    lines.push(format!(
        "Runs as `{}` on {} ({} mode, expected latency {}, timeout {}) with the `{}` key scope.",
        m.id,
        provider.display_name,
        m.execution.mode.name(),
        human_duration(m.execution.expected_latency_ms),
        human_duration(m.execution.timeout_ms),
        m.key_scope,
    ));
    if !m.enabled {
        lines.push(String::new());
        lines.push(
            "Disabled (rolled back): listed in the registry, but the engine refuses to run it."
                .to_owned(),
        );
    }
    let struct_doc = doc(&lines);
    let cost_doc = format!(
        " The exact credit cost of a generation: `{}`.",
        cost_formula(&m.cost)
    );
    let info = info(view, provider);
    let submit = submit_request(view);
    let read_submit = read_submit(m);
    let poll_request = poll_request(view);
    let read_task = read_task(m);
    quote! {
        #struct_doc
        #[derive(Debug, Clone, Copy, Default)]
        pub struct #ty;

        impl #ty {
            #[doc = #cost_doc]
            pub fn cost(params: &#params_ty) -> Result<cost::Credits, cost::CostError> {
                cost::compute(&<Self as model::Model>::INFO.cost, &params.to_json())
            }
        }

        impl model::Model for #ty {
            type Params = #params_ty;

            const INFO: &'static model::ModelInfo = &#info;

            #submit
            #read_submit
            #poll_request
            #read_task
        }
    }
}

fn info(view: &ModelView<'_>, provider: &ir::Provider) -> TokenStream {
    let m = view.model;
    let (id, display_name, key_scope, secret_name, enabled) = (
        &m.id,
        &m.display_name,
        &m.key_scope,
        &m.secret_name,
        m.enabled,
    );
    let description = option(m.description.as_ref().map(|d| quote!(#d)));
    let provider_static = format_ident!("{}", screaming(&provider.id));
    let content_type = match m.content_type {
        ContentType::Image => quote!(Image),
        ContentType::Video => quote!(Video),
        ContentType::Audio => quote!(Audio),
        ContentType::Text => quote!(Text),
    };
    let mode = match m.execution.mode {
        ExecutionMode::Sync => quote!(Sync),
        ExecutionMode::Poll => quote!(Poll),
        ExecutionMode::Webhook => quote!(Webhook),
    };
    let expected_latency = duration(m.execution.expected_latency_ms);
    let timeout = duration(m.execution.timeout_ms);
    let poll = option(m.execution.poll.as_ref().map(|p| {
        let (interval, max_interval) = (duration(p.interval_ms), duration(p.max_interval_ms));
        quote!(model::PollTiming { interval: #interval, max_interval: #max_interval })
    }));
    let params = view.fields.iter().map(|f| {
        let p = f.param;
        let name = &p.name;
        let required = p.required;
        let default = option(p.default.as_ref().map(|d| {
            let text = d.to_string();
            quote!(#text)
        }));
        let kind = kind(&p.kind);
        quote!(params::ParamRule { name: #name, required: #required, default: #default, kind: #kind })
    });
    let cost = formula(&m.cost);
    let smoke = option(m.smoke.as_ref().map(|s| {
        let params = serde_json::Value::Object(s.params.clone()).to_string();
        let within = duration(s.within_ms);
        quote!(model::Smoke { params: #params, within: #within })
    }));
    quote! {
        model::ModelInfo {
            id: #id,
            display_name: #display_name,
            description: #description,
            provider: &super::providers::#provider_static,
            content_type: model::ContentType::#content_type,
            key_scope: #key_scope,
            secret_name: #secret_name,
            mode: model::Mode::#mode,
            enabled: #enabled,
            expected_latency: #expected_latency,
            timeout: #timeout,
            poll: #poll,
            params: &[#(#params),*],
            cost: #cost,
            smoke: #smoke,
        }
    }
}

fn opt<T: quote::ToTokens>(v: Option<T>) -> TokenStream {
    option(v.map(|v| quote!(#v)))
}

/// An integer literal without a type suffix.
fn int(n: impl Into<i128>) -> Literal {
    Literal::i128_unsuffixed(n.into())
}

fn kind(kind: &ParamKind) -> TokenStream {
    match kind {
        ParamKind::String {
            min_length,
            max_length,
        } => {
            let (min, max) = (opt(min_length.map(int)), opt(max_length.map(int)));
            quote!(params::Kind::String { min_length: #min, max_length: #max })
        }
        ParamKind::Integer {
            min,
            max,
            step,
            values,
        } => {
            let (min, max, step) = (opt(min.map(int)), opt(max.map(int)), opt(step.map(int)));
            let values = option(values.as_ref().map(|vs| {
                let vs = vs.iter().map(|v| int(*v));
                quote!(&[#(#vs),*])
            }));
            quote!(params::Kind::Integer { min: #min, max: #max, step: #step, values: #values })
        }
        ParamKind::Decimal { min, max, step } => {
            let (min, max, step) = (
                opt(min.as_deref()),
                opt(max.as_deref()),
                opt(step.as_deref()),
            );
            quote!(params::Kind::Decimal { min: #min, max: #max, step: #step })
        }
        ParamKind::Enum { values } => {
            quote!(params::Kind::Enum { values: &[#(#values),*] })
        }
        ParamKind::Boolean => quote!(params::Kind::Boolean),
        ParamKind::ImageUrl => quote!(params::Kind::ImageUrl),
        ParamKind::Array {
            items,
            min_items,
            max_items,
        } => {
            let items = match items {
                ItemType::String => quote!(String),
                ItemType::ImageUrl => quote!(ImageUrl),
            };
            let (min, max) = (opt(min_items.map(int)), opt(max_items.map(int)));
            quote!(params::Kind::Array { items: params::Item::#items, min_items: #min, max_items: #max })
        }
    }
}

fn formula(cost: &ir::Cost) -> TokenStream {
    let base = &cost.base;
    let factors = cost.multipliers.iter().map(|m| match m {
        Multiplier::Table { param, entries } => {
            let entries = entries.iter().map(|(k, v)| quote!((#k, #v)));
            quote!(cost::Factor::Table { param: #param, entries: &[#(#entries),*] })
        }
        Multiplier::Ratio { param, per } => {
            let per = int(*per);
            quote!(cost::Factor::Ratio { param: #param, per: #per })
        }
        Multiplier::Count { param } => quote!(cost::Factor::Count { param: #param }),
    });
    let round = match cost.round {
        RoundMode::Ceil => quote!(Ceil),
        RoundMode::Floor => quote!(Floor),
        RoundMode::HalfUp => quote!(HalfUp),
        RoundMode::HalfEven => quote!(HalfEven),
    };
    let scale = int(cost.scale);
    quote! {
        cost::Formula {
            base: #base,
            factors: &[#(#factors),*],
            round: cost::Round::#round,
            scale: #scale,
        }
    }
}

fn submit_request(view: &ModelView<'_>) -> TokenStream {
    let request = &view.model.execution.submit;
    let (uses_params, uses_ctx) = request::uses(request);
    let params = if uses_params {
        quote!(params)
    } else {
        quote!(_params)
    };
    let ctx = if uses_ctx { quote!(ctx) } else { quote!(_ctx) };
    let (stmts, request) = request::build(view, request);
    quote! {
        fn submit_request(#params: &Self::Params, #ctx: &model::RequestContext) -> model::HttpRequest {
            #stmts
            #request
        }
    }
}

fn poll_request(view: &ModelView<'_>) -> TokenStream {
    match &view.model.execution.poll {
        Some(poll) => {
            let (stmts, request) = request::build(view, &poll.request);
            quote! {
                fn poll_request(task_id: &str) -> Option<model::HttpRequest> {
                    #stmts
                    Some(#request)
                }
            }
        }
        None => quote! {
            fn poll_request(_task_id: &str) -> Option<model::HttpRequest> {
                None
            }
        },
    }
}

fn output_kind(kind: OutputKind) -> TokenStream {
    match kind {
        OutputKind::Url => quote!(model::OutputKind::Url),
        OutputKind::DataUrl => quote!(model::OutputKind::DataUrl),
        OutputKind::Base64 => quote!(model::OutputKind::Base64),
        OutputKind::Text => quote!(model::OutputKind::Text),
    }
}

/// `answer::outputs(answer, ...)?`.
fn outputs(o: &ir::Outputs) -> TokenStream {
    let at = &o.at;
    let json_string = o.json_string;
    let then = option(o.then.as_ref().map(|t| quote!(#t)));
    let kind = output_kind(o.kind);
    quote!(runtime::answer::outputs(answer, #at, #json_string, #then, #kind)?)
}

fn provider_cost(c: Option<&ir::ProviderCost>) -> TokenStream {
    match c {
        Some(c) => {
            let (at, per) = (&c.at, &c.credits_per_unit);
            quote!(runtime::answer::provider_cost(answer, #at, #per))
        }
        None => quote!(None),
    }
}

fn read_submit(m: &ir::Model) -> TokenStream {
    let response = &m.execution.response;
    let cost = provider_cost(response.provider_cost.as_ref());
    let body = match (&response.task_id, &response.outputs) {
        (Some(task_id), _) => quote! {
            Ok(model::SubmitAnswer::Accepted {
                task_id: runtime::answer::string(answer, #task_id)?,
                provider_cost: #cost,
            })
        },
        (None, Some(o)) => {
            let outputs = outputs(o);
            quote! {
                Ok(model::SubmitAnswer::Done(model::Outcome::Completed {
                    outputs: #outputs,
                    provider_cost: #cost,
                }))
            }
        }
        (None, None) => quote!(Err(model::AnswerError::NoOutputs)),
    };
    quote! {
        fn read_submit(answer: &Value) -> Result<model::SubmitAnswer, model::AnswerError> {
            #body
        }
    }
}

fn read_task(m: &ir::Model) -> TokenStream {
    let Some(poll) = &m.execution.poll else {
        // A sync model has no task: its answer is read like a submit answer.
        return quote! {
            fn read_task(answer: &Value) -> Result<model::TaskState, model::AnswerError> {
                match Self::read_submit(answer)? {
                    model::SubmitAnswer::Done(outcome) => Ok(model::TaskState::Done(outcome)),
                    model::SubmitAnswer::Accepted { .. } => Ok(model::TaskState::Pending),
                }
            }
        };
    };
    let status = &poll.status;
    let states = |wanted: TaskStatus| -> Vec<&String> {
        poll.states
            .iter()
            .filter(|(_, s)| **s == wanted)
            .map(|(k, _)| k)
            .collect()
    };
    let mut arms = Vec::new();
    let pending = states(TaskStatus::Pending);
    if !pending.is_empty() {
        arms.push(quote!(#(#pending)|* => Ok(model::TaskState::Pending)));
    }
    let processing = states(TaskStatus::Processing);
    if !processing.is_empty() {
        arms.push(quote!(#(#processing)|* => Ok(model::TaskState::Processing)));
    }
    let completed = states(TaskStatus::Completed);
    if !completed.is_empty() {
        let outputs = outputs(&poll.outputs);
        let cost = provider_cost(poll.provider_cost.as_ref());
        arms.push(quote! {
            #(#completed)|* => Ok(model::TaskState::Done(model::Outcome::Completed {
                outputs: #outputs,
                provider_cost: #cost,
            }))
        });
    }
    let failed = states(TaskStatus::Failed);
    if !failed.is_empty() {
        let message = match &poll.error {
            Some(p) => {
                quote!(runtime::answer::message(answer, #p).unwrap_or_else(|| "the provider reported a failure".to_owned()))
            }
            None => quote!("the provider reported a failure".to_owned()),
        };
        let code = match &poll.error_code {
            Some(p) => quote!(runtime::answer::message(answer, #p)),
            None => quote!(None),
        };
        arms.push(quote! {
            #(#failed)|* => Ok(model::TaskState::Done(model::Outcome::Failed {
                message: #message,
                code: #code,
            }))
        });
    }
    quote! {
        fn read_task(answer: &Value) -> Result<model::TaskState, model::AnswerError> {
            match runtime::answer::state(answer, #status)?.as_str() {
                #(#arms,)*
                other => Err(model::AnswerError::UnknownState(other.to_owned())),
            }
        }
    }
}
