//! The IR as `registry-core` model data at run time: what the generated `static INFO`s hold,
//! built from specs loaded by a running process (`registry-run --models DIR`), so that a model
//! or provider written as YAML runs with no rebuild.
//!
//! The data is built once per process and lives as long as it: every string and slice is
//! leaked on purpose (a few KB per model), because the engine holds `&'static ModelInfo`s as
//! the generated statics are. Do not call this in a loop.

use std::collections::BTreeMap;
use std::time::Duration;

use registry_core::cost::{Formula, Multiplier, Round};
use registry_core::model::{
    Auth, CircuitBreaker, ContentType, ErrorRule, Limits, Method, Mode, ModelInfo, OutputKind,
    OutputsAt, PollTiming, ProviderCostAt, ProviderInfo, Reading, Signature, Smoke, StepReading,
    SubmitReading, TaskStatus, WebhookRule,
};
use registry_core::params::{Kind, ParamRule};
use registry_core::template::{RequestTemplate, Segment, Slot, Template};

use crate::ir::{self, Placeholder, RuntimeValue};

fn s(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

fn slice<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

fn opt(text: &Option<String>) -> Option<&'static str> {
    text.as_deref().map(s)
}

/// The specs under `dir` (laid out like `models/`), checked and lowered as `codegen` does, as
/// core data; or every problem found, rendered as `codegen` prints them.
pub fn load(dir: &std::path::Path) -> Result<Vec<&'static ModelInfo>, String> {
    let base = std::env::current_dir().unwrap_or_default();
    match crate::load(dir, &base) {
        Ok(registry) => Ok(models(&registry)),
        Err(diags) => Err(diags
            .iter()
            .map(|d| {
                let source = std::fs::read_to_string(base.join(&d.file)).ok();
                d.render(source.as_deref(), false)
            })
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

/// Every model of `registry` as core data, sorted by id (as the generated `MODELS`).
pub fn models(registry: &ir::Registry) -> Vec<&'static ModelInfo> {
    let providers: BTreeMap<&str, &'static ProviderInfo> = registry
        .providers
        .values()
        .map(|p| (p.id.as_str(), &*Box::leak(Box::new(provider(p)))))
        .collect();
    registry
        .models
        .values()
        .filter_map(|m| {
            let p = providers.get(m.provider.as_str())?;
            Some(&*Box::leak(Box::new(model(m, p))))
        })
        .collect()
}

fn provider(p: &ir::Provider) -> ProviderInfo {
    ProviderInfo {
        id: s(&p.id),
        display_name: s(&p.display_name),
        base_url: s(&p.base_url),
        auth: match &p.auth {
            ir::Auth::Bearer => Auth::Bearer,
            ir::Auth::Header { name, prefix } => Auth::Header {
                name: s(name),
                prefix: s(prefix),
            },
            ir::Auth::Query { name } => Auth::Query { name: s(name) },
        },
        errors: p.errors.as_ref().map(|e| ErrorRule {
            message: s(&e.message),
            code: opt(&e.code),
            ok_codes: slice(e.ok_codes.iter().map(|c| s(&c.to_string())).collect()),
        }),
        webhook: p.webhook.as_ref().map(|w| WebhookRule {
            signature: match w.signature {
                ir::SignatureScheme::None => Signature::None,
                ir::SignatureScheme::UrlToken => Signature::UrlToken,
                ir::SignatureScheme::StandardWebhooks => Signature::StandardWebhooks,
                ir::SignatureScheme::KieHmac => Signature::KieHmac,
                ir::SignatureScheme::FalEd25519 => Signature::FalEd25519,
            },
            secret_name: opt(&w.secret_name),
            task_id: slice(w.task_id.iter().map(|t| s(t)).collect()),
            confirm_by_poll: w.confirm_by_poll,
            tolerance: w.tolerance_ms.map(Duration::from_millis),
        }),
        idempotent_submit: p.idempotent_submit,
        allowed_hosts: slice(p.allowed_hosts.iter().map(|h| s(h)).collect()),
        limits: Limits {
            concurrency: p.concurrency,
            circuit_breaker: p.circuit_breaker.as_ref().map(|cb| CircuitBreaker {
                failure_rate: cb.failure_rate,
                min_requests: cb.min_requests,
                window: Duration::from_millis(cb.window_ms),
                cooldown: Duration::from_millis(cb.cooldown_ms),
            }),
        },
    }
}

fn model(m: &ir::Model, provider: &'static ProviderInfo) -> ModelInfo {
    let ex = &m.execution;
    ModelInfo {
        id: s(&m.id),
        display_name: s(&m.display_name),
        description: opt(&m.description),
        provider,
        content_type: match m.content_type {
            ir::ContentType::Image => ContentType::Image,
            ir::ContentType::Video => ContentType::Video,
            ir::ContentType::Audio => ContentType::Audio,
            ir::ContentType::Text => ContentType::Text,
        },
        key_scope: s(&m.key_scope),
        secret_name: s(&m.secret_name),
        mode: match ex.mode {
            ir::ExecutionMode::Sync => Mode::Sync,
            ir::ExecutionMode::Poll => Mode::Poll,
            ir::ExecutionMode::Webhook => Mode::Webhook,
        },
        enabled: m.enabled,
        expected_latency: Duration::from_millis(ex.expected_latency_ms),
        timeout: Duration::from_millis(ex.timeout_ms),
        poll: ex.timing.as_ref().map(|t| PollTiming {
            interval: Duration::from_millis(t.interval_ms),
            max_interval: Duration::from_millis(t.max_interval_ms),
        }),
        params: crate::rules::with_rules(&m.params, |rules| {
            slice(rules.iter().map(param_rule).collect())
        }),
        cost: crate::rules::with_formula(&m.cost, formula),
        smoke: m.smoke.as_ref().map(|sm| Smoke {
            params: s(&serde_json::Value::Object(sm.params.clone()).to_string()),
            within: Duration::from_millis(sm.within_ms),
        }),
        submit: request(m, &ex.submit),
        response: SubmitReading {
            task_id: opt(&ex.response.task_id),
            outputs: ex.response.outputs.as_ref().map(outputs),
            provider_cost: ex.response.provider_cost.as_ref().map(provider_cost),
            keep: slice(ex.response.keep.iter().map(|(k, v)| (s(k), s(v))).collect()),
            like_first_step: ex.response.like_poll,
        },
        steps: slice(
            ex.steps
                .iter()
                .map(|st| StepReading {
                    request: request(m, &st.request),
                    reading: reading(&st.reading),
                })
                .collect(),
        ),
        webhook: ex.webhook.as_ref().map(reading),
        cancel: ex.cancel.as_ref().map(|c| request(m, c)),
    }
}

/// A rule borrowed from the IR, copied to live as long as the process.
fn param_rule(rule: &ParamRule<'_>) -> ParamRule<'static> {
    ParamRule {
        name: s(rule.name),
        required: rule.required,
        default: rule.default.map(s),
        kind: kind(&rule.kind),
    }
}

fn kind(k: &Kind<'_>) -> Kind<'static> {
    match *k {
        Kind::String {
            min_length,
            max_length,
        } => Kind::String {
            min_length,
            max_length,
        },
        Kind::Integer {
            min,
            max,
            step,
            values,
        } => Kind::Integer {
            min,
            max,
            step,
            values: values.map(|v| slice(v.to_vec())),
        },
        Kind::Decimal { min, max, step } => Kind::Decimal {
            min: min.map(s),
            max: max.map(s),
            step: step.map(s),
        },
        Kind::Enum { values } => Kind::Enum {
            values: slice(values.iter().map(|v| s(v)).collect()),
        },
        Kind::Boolean => Kind::Boolean,
        Kind::ImageUrl => Kind::ImageUrl,
        Kind::Array {
            items,
            min_items,
            max_items,
        } => Kind::Array {
            items,
            min_items,
            max_items,
        },
        Kind::Object { fields } => Kind::Object {
            fields: slice(fields.iter().map(param_rule).collect()),
        },
        Kind::OneOf { options } => Kind::OneOf {
            options: slice(options.iter().map(|(n, k)| (s(n), kind(k))).collect()),
        },
    }
}

fn formula(f: &Formula<'_>) -> Formula<'static> {
    Formula {
        base: s(f.base),
        multipliers: slice(
            f.multipliers
                .iter()
                .map(|m| match *m {
                    Multiplier::Table { param, entries } => Multiplier::Table {
                        param: s(param),
                        entries: slice(entries.iter().map(|(k, v)| (s(k), s(v))).collect()),
                    },
                    Multiplier::Ratio { param, per } => Multiplier::Ratio {
                        param: s(param),
                        per,
                    },
                    Multiplier::Count { param } => Multiplier::Count { param: s(param) },
                })
                .collect(),
        ),
        round: match f.round {
            Round::Ceil => Round::Ceil,
            Round::Floor => Round::Floor,
            Round::HalfUp => Round::HalfUp,
            Round::HalfEven => Round::HalfEven,
        },
        scale: f.scale,
    }
}

fn request(m: &ir::Model, r: &ir::Request) -> RequestTemplate<'static> {
    RequestTemplate {
        method: match r.method {
            ir::HttpMethod::Get => Method::Get,
            ir::HttpMethod::Post => Method::Post,
            ir::HttpMethod::Put => Method::Put,
        },
        path: segments(m, &r.path),
        whole_url: r.whole_url,
        headers: slice(
            r.headers
                .iter()
                .map(|(k, v)| (s(k), segments(m, v)))
                .collect(),
        ),
        body: r.body.as_ref().map(|b| template(m, b)),
    }
}

fn slot(m: &ir::Model, p: &Placeholder) -> Slot<'static> {
    match p {
        Placeholder::Param(name) => Slot::Param {
            name: s(name),
            as_string: m.param(name).is_some_and(|p| p.send_as_string),
        },
        Placeholder::Runtime(RuntimeValue::Uuid) => Slot::Uuid,
        Placeholder::Runtime(RuntimeValue::CallbackUrl) => Slot::CallbackUrl,
        Placeholder::Runtime(RuntimeValue::TaskId) => Slot::TaskId,
        Placeholder::Kept(name) => Slot::Kept(s(name)),
    }
}

fn segments(m: &ir::Model, segs: &[ir::Segment]) -> &'static [Segment<'static>] {
    slice(
        segs.iter()
            .map(|seg| match seg {
                ir::Segment::Text(t) => Segment::Text(s(t)),
                ir::Segment::Value(p) => Segment::Slot(slot(m, p)),
            })
            .collect(),
    )
}

fn template(m: &ir::Model, t: &ir::Template) -> Template<'static> {
    use serde_json::Value;
    match t {
        ir::Template::Literal(Value::String(text)) => Template::Str(s(text)),
        ir::Template::Literal(Value::Object(members)) => Template::Object(slice(
            members
                .iter()
                .map(|(k, v)| (s(k), template(m, &ir::Template::Literal(v.clone()))))
                .collect(),
        )),
        ir::Template::Literal(Value::Array(items)) => Template::Array(slice(
            items
                .iter()
                .map(|v| template(m, &ir::Template::Literal(v.clone())))
                .collect(),
        )),
        ir::Template::Literal(v) => Template::Json(s(&v.to_string())),
        ir::Template::Value(p) => Template::Slot(slot(m, p)),
        ir::Template::Text(segs) => Template::Text(segments(m, segs)),
        ir::Template::Object(members) => Template::Object(slice(
            members
                .iter()
                .map(|(k, v)| (s(k), template(m, v)))
                .collect(),
        )),
        ir::Template::Array(items) => {
            Template::Array(slice(items.iter().map(|v| template(m, v)).collect()))
        }
    }
}

fn outputs(o: &ir::Outputs) -> OutputsAt<'static> {
    OutputsAt {
        at: s(&o.at),
        json_string: o.json_string,
        then: opt(&o.then),
        kind: match o.kind {
            ir::OutputKind::Url => OutputKind::Url,
            ir::OutputKind::DataUrl => OutputKind::DataUrl,
            ir::OutputKind::Base64 => OutputKind::Base64,
            ir::OutputKind::Text => OutputKind::Text,
        },
    }
}

fn provider_cost(c: &ir::ProviderCost) -> ProviderCostAt<'static> {
    ProviderCostAt {
        at: s(&c.at),
        credits_per_unit: s(&c.credits_per_unit),
    }
}

fn reading(r: &ir::Reading) -> Reading<'static> {
    Reading {
        status: opt(&r.status),
        states: slice(
            r.states
                .iter()
                .map(|(k, v)| {
                    let meaning = match v {
                        ir::TaskStatus::Pending => TaskStatus::Pending,
                        ir::TaskStatus::Processing => TaskStatus::Processing,
                        ir::TaskStatus::Completed => TaskStatus::Completed,
                        ir::TaskStatus::Failed => TaskStatus::Failed,
                        ir::TaskStatus::Done => TaskStatus::Done,
                    };
                    (s(k), meaning)
                })
                .collect(),
        ),
        outputs: r.outputs.as_ref().map(outputs),
        error: opt(&r.error),
        error_code: opt(&r.error_code),
        provider_cost: r.provider_cost.as_ref().map(provider_cost),
    }
}
