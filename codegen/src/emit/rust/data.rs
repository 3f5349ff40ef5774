//! The data half of generated Rust: per model a `static INFO: ModelInfo`, per provider a
//! `ProviderInfo` static, both interpreted by `registry-core`.

use super::names::screaming;
use super::out::{Out, duration, lit, opt};
use super::{ModelView, Shape};
use crate::emit::{cost_formula, human_duration};
use crate::ir::{
    self, Auth, Multiplier, OutputKind, ParamKind, Placeholder, RuntimeValue, Segment, Template,
};

/// The `registry-core` variant of an IR value spelled `name` (`half_up` -> `HalfUp`, `GET` ->
/// `Get`): core's enums mirror the IR's value sets, so one rule names them all.
fn core_variant(name: &str) -> String {
    super::names::pascal(name)
}

/// The model type, its `Model` impl and its `INFO`.
pub fn model(o: &mut Out, view: &ModelView<'_>, provider: &ir::Provider) {
    let m = view.model;
    let ModelView { ty, params_ty, .. } = view;
    o.blank();
    o.doc(&format!("{}.", m.display_name.trim_end_matches('.')));
    if let Some(d) = &m.description {
        o.doc("");
        for line in d.lines() {
            o.doc(line);
        }
    }
    o.doc("");
    o.doc(&format!(
        "Runs as `{}` on {} ({} mode, expected latency {}, timeout {}) with the `{}` key scope.",
        m.id,
        provider.display_name,
        m.execution.mode.name(),
        human_duration(m.execution.expected_latency_ms),
        human_duration(m.execution.timeout_ms),
        m.key_scope,
    ));
    o.doc(&format!("Cost: `{}`.", cost_formula(&m.cost)));
    if !m.enabled {
        o.doc("");
        o.doc("Disabled (rolled back): listed in the registry, but the engine refuses to run it.");
    }
    // A marker for `Model`: nobody needs its values cloned.
    o.line("#[derive(Debug)]");
    o.line(&format!("pub struct {ty};"));
    o.blank();
    o.line(&format!("impl model::Model for {ty} {{"));
    o.line(&format!("type Params = {params_ty};"));
    o.line("const INFO: &'static model::ModelInfo = &INFO;");
    o.line("}");
    o.blank();
    o.doc(&format!("[`{ty}`] as data: its rules and its protocol."));
    o.line("pub static INFO: model::ModelInfo = model::ModelInfo {");
    o.line(&format!("id: {},", lit(&m.id)));
    o.line(&format!("display_name: {},", lit(&m.display_name)));
    o.line(&format!(
        "description: {},",
        opt(m.description.as_deref(), lit)
    ));
    o.line(&format!(
        "provider: &providers::{},",
        screaming(&provider.id)
    ));
    let content = core_variant(m.content_type.name());
    o.line(&format!("content_type: model::ContentType::{content},"));
    o.line(&format!("key_scope: {},", lit(&m.key_scope)));
    o.line(&format!("secret_name: {},", lit(&m.secret_name)));
    let mode = core_variant(m.execution.mode.name());
    o.line(&format!("mode: model::Mode::{mode},"));
    o.line(&format!("enabled: {},", m.enabled));
    o.line(&format!(
        "expected_latency: {},",
        duration(m.execution.expected_latency_ms)
    ));
    o.line(&format!("timeout: {},", duration(m.execution.timeout_ms)));
    o.line(&format!(
        "poll: {},",
        opt(m.execution.timing.as_ref(), |p| format!(
            "model::PollTiming {{ interval: {}, max_interval: {} }}",
            duration(p.interval_ms),
            duration(p.max_interval_ms)
        ))
    ));
    o.line("params: &[");
    for f in &view.fields {
        let p = f.param;
        let kind = kind_expr(&p.kind, &f.shape);
        o.line(&format!(
            "{},",
            rule_expr(&p.name, p.required, p.default.as_ref(), &kind)
        ));
    }
    o.line("],");
    formula(o, &m.cost);
    o.line(&format!(
        "smoke: {},",
        opt(m.smoke.as_ref(), |s| format!(
            "model::Smoke {{ params: {}, within: {} }}",
            lit(&serde_json::Value::Object(s.params.clone()).to_string()),
            duration(s.within_ms)
        ))
    ));
    o.line("submit: RequestTemplate {");
    request(o, m, &m.execution.submit);
    o.line("},");
    let r = &m.execution.response;
    o.line("response: model::SubmitReading {");
    o.line(&format!("task_id: {},", opt(r.task_id.as_deref(), lit)));
    o.line(&format!("outputs: {},", opt(r.outputs.as_ref(), outputs)));
    o.line(&format!(
        "provider_cost: {},",
        opt(r.provider_cost.as_ref(), provider_cost)
    ));
    let keep: Vec<String> = r
        .keep
        .iter()
        .map(|(name, at)| format!("({}, {})", lit(name), lit(at)))
        .collect();
    o.line(&format!("keep: &[{}],", keep.join(", ")));
    o.line(&format!("like_first_step: {},", r.like_poll));
    o.line("},");
    let ex = &m.execution;
    if ex.steps.is_empty() {
        o.line("steps: &[],");
    } else {
        o.line("steps: &[");
        for step in &ex.steps {
            o.line("model::StepReading {");
            o.line("request: RequestTemplate {");
            request(o, m, &step.request);
            o.line("},");
            o.line("reading: model::Reading {");
            reading(o, &step.reading);
            o.line("},");
            o.line("},");
        }
        o.line("],");
    }
    match &ex.webhook {
        None => o.line("webhook: None,"),
        Some(w) => {
            o.line("webhook: Some(model::Reading {");
            reading(o, w);
            o.line("}),");
        }
    }
    match &ex.cancel {
        None => o.line("cancel: None,"),
        Some(c) => {
            o.line("cancel: Some(RequestTemplate {");
            request(o, m, c);
            o.line("}),");
        }
    }
    o.line("};");
}

/// The fields of a `Reading`.
fn reading(o: &mut Out, r: &ir::Reading) {
    o.line(&format!("status: {},", opt(r.status.as_deref(), lit)));
    if r.states.is_empty() {
        o.line("states: &[],");
    } else {
        o.line("states: &[");
        for (name, status) in &r.states {
            let s = core_variant(status.name());
            o.line(&format!("({}, model::TaskStatus::{s}),", lit(name)));
        }
        o.line("],");
    }
    o.line(&format!("outputs: {},", opt(r.outputs.as_ref(), outputs)));
    o.line(&format!("error: {},", opt(r.error.as_deref(), lit)));
    o.line(&format!(
        "error_code: {},",
        opt(r.error_code.as_deref(), lit)
    ));
    o.line(&format!(
        "provider_cost: {},",
        opt(r.provider_cost.as_ref(), provider_cost)
    ));
}

/// The rule of a param or an object's field: `ParamRule::required("name", <kind>)`.
pub(super) fn rule_expr(
    name: &str,
    required: bool,
    default: Option<&serde_json::Value>,
    kind: &str,
) -> String {
    let name = lit(name);
    match default {
        Some(d) => format!(
            "ParamRule::with_default({name}, {}, {kind})",
            lit(&d.to_string())
        ),
        None if required => format!("ParamRule::required({name}, {kind})"),
        None => format!("ParamRule::optional({name}, {kind})"),
    }
}

/// The core kind of a value of `kind` in `shape`. A value set is its Rust enum's `VALUES`, an
/// object's fields its struct's `FIELDS`, a one_of's options its enum's `OPTIONS`: each
/// written once.
pub(super) fn kind_expr(kind: &ParamKind, shape: &Shape<'_>) -> String {
    let i = |v: &Option<i64>| opt(*v, |n| n.to_string());
    match (shape, kind) {
        (Shape::Enum { ty, .. }, ParamKind::Enum { .. }) => {
            format!("Kind::Enum {{ values: {ty}::VALUES }}")
        }
        (Shape::Enum { ty, .. }, ParamKind::Integer { min, max, step, .. }) => format!(
            "Kind::Integer {{ min: {}, max: {}, step: {}, values: Some({ty}::VALUES) }}",
            i(min),
            i(max),
            i(step)
        ),
        (Shape::Object(o), _) => format!("Kind::Object {{ fields: {}::FIELDS }}", o.ty),
        (Shape::OneOf { ty, .. }, _) => format!("Kind::OneOf {{ options: {ty}::OPTIONS }}"),
        _ => self::kind(kind),
    }
}

fn kind(kind: &ParamKind) -> String {
    let n = |v: Option<u32>| opt(v, |n| n.to_string());
    let i = |v: Option<i64>| opt(v, |n| n.to_string());
    let s = |v: &Option<String>| opt(v.as_deref(), lit);
    match kind {
        ParamKind::String {
            min_length,
            max_length,
        } => format!(
            "Kind::String {{ min_length: {}, max_length: {} }}",
            n(*min_length),
            n(*max_length)
        ),
        ParamKind::Integer {
            min,
            max,
            step,
            values,
        } => format!(
            "Kind::Integer {{ min: {}, max: {}, step: {}, values: {} }}",
            i(*min),
            i(*max),
            i(*step),
            opt(values.as_ref(), |vs| {
                let vs: Vec<String> = vs.iter().map(i64::to_string).collect();
                format!("&[{}]", vs.join(", "))
            })
        ),
        ParamKind::Decimal { min, max, step } => format!(
            "Kind::Decimal {{ min: {}, max: {}, step: {} }}",
            s(min),
            s(max),
            s(step)
        ),
        ParamKind::Enum { values } => {
            let vs: Vec<String> = values.iter().map(|v| lit(v)).collect();
            format!("Kind::Enum {{ values: &[{}] }}", vs.join(", "))
        }
        ParamKind::Boolean => "Kind::Boolean".to_owned(),
        ParamKind::ImageUrl => "Kind::ImageUrl".to_owned(),
        ParamKind::Array {
            items,
            min_items,
            max_items,
        } => {
            let items = core_variant(items.name());
            format!(
                "Kind::Array {{ items: registry_core::params::Item::{items}, min_items: {}, max_items: {} }}",
                n(*min_items),
                n(*max_items)
            )
        }
        // Objects and one_ofs always have a type of their own, whose constant `kind_expr`
        // names.
        ParamKind::Object { .. } | ParamKind::OneOf { .. } => {
            unreachable!("objects and one_ofs are written by kind_expr")
        }
    }
}

fn formula(o: &mut Out, cost: &ir::Cost) {
    o.line("cost: cost::Formula {");
    o.line(&format!("base: {},", lit(&cost.base)));
    if cost.multipliers.is_empty() {
        o.line("multipliers: &[],");
    } else {
        o.line("multipliers: &[");
        for m in &cost.multipliers {
            // Core names a field of an object param as `param.field`.
            let param = lit(&m.path());
            o.line(&match m {
                Multiplier::Table { entries, .. } => {
                    let e: Vec<String> = entries
                        .iter()
                        .map(|(k, v)| format!("({}, {})", lit(k), lit(v)))
                        .collect();
                    format!(
                        "cost::Multiplier::Table {{ param: {param}, entries: &[{}] }},",
                        e.join(", ")
                    )
                }
                Multiplier::Ratio { per, .. } => {
                    format!("cost::Multiplier::Ratio {{ param: {param}, per: {per} }},")
                }
                Multiplier::Count { .. } => {
                    format!("cost::Multiplier::Count {{ param: {param} }},")
                }
            });
        }
        o.line("],");
    }
    let round = core_variant(cost.round.name());
    o.line(&format!("round: cost::Round::{round},"));
    o.line(&format!("scale: {},", cost.scale));
    o.line("},");
}

/// The fields of a `RequestTemplate`.
fn request(o: &mut Out, m: &ir::Model, r: &ir::Request) {
    let method = core_variant(r.method.name());
    o.line(&format!("method: model::Method::{method},"));
    o.line(&format!("path: {},", segments(m, &r.path)));
    o.line(&format!("whole_url: {},", r.whole_url));
    if r.headers.is_empty() {
        o.line("headers: &[],");
    } else {
        o.line("headers: &[");
        for (name, value) in &r.headers {
            o.line(&format!("({}, {}),", lit(name), segments(m, value)));
        }
        o.line("],");
    }
    match &r.body {
        None => o.line("body: None,"),
        Some(t) => {
            template(o, m, "body: Some(", t, "),");
        }
    }
}

fn slot(m: &ir::Model, p: &Placeholder) -> String {
    match p {
        Placeholder::Param(name) => format!(
            "Slot::Param {{ name: {}, as_string: {} }}",
            lit(name),
            m.param(name).is_some_and(|p| p.send_as_string)
        ),
        Placeholder::Runtime(RuntimeValue::Uuid) => "Slot::Uuid".to_owned(),
        Placeholder::Runtime(RuntimeValue::CallbackUrl) => "Slot::CallbackUrl".to_owned(),
        Placeholder::Runtime(RuntimeValue::TaskId) => "Slot::TaskId".to_owned(),
        Placeholder::Kept(name) => format!("Slot::Kept({})", lit(name)),
    }
}

fn segments(m: &ir::Model, s: &[Segment]) -> String {
    let parts: Vec<String> = s
        .iter()
        .map(|seg| match seg {
            Segment::Text(t) => format!("Segment::Text({})", lit(t)),
            Segment::Value(p) => format!("Segment::Slot({})", slot(m, p)),
        })
        .collect();
    format!("&[{}]", parts.join(", "))
}

/// Print `template` as `<before><Template expression><after>`, over several lines for objects
/// and arrays.
fn template(o: &mut Out, m: &ir::Model, before: &str, t: &Template, after: &str) {
    match t {
        Template::Literal(serde_json::Value::Object(members)) => {
            let members: Vec<(String, Template)> = members
                .iter()
                .map(|(k, v)| (k.clone(), Template::Literal(v.clone())))
                .collect();
            template(o, m, before, &Template::Object(members), after);
        }
        Template::Literal(serde_json::Value::Array(items)) => {
            let items: Vec<Template> = items.iter().map(|v| Template::Literal(v.clone())).collect();
            template(o, m, before, &Template::Array(items), after);
        }
        Template::Literal(serde_json::Value::String(s)) => {
            o.line(&format!("{before}Template::Str({}){after}", lit(s)));
        }
        Template::Literal(v) => {
            o.line(&format!(
                "{before}Template::Json({}){after}",
                lit(&v.to_string())
            ));
        }
        Template::Value(Placeholder::Param(name)) => {
            let f = if m.param(name).is_some_and(|p| p.send_as_string) {
                "param_as_string"
            } else {
                "param"
            };
            o.line(&format!("{before}Template::{f}({}){after}", lit(name)));
        }
        Template::Value(p) => o.line(&format!("{before}Template::Slot({}){after}", slot(m, p))),
        Template::Text(s) => o.line(&format!(
            "{before}Template::Text({}){after}",
            segments(m, s)
        )),
        Template::Object(members) if members.is_empty() => {
            o.line(&format!("{before}Template::Object(&[]){after}"));
        }
        Template::Object(members) => {
            o.line(&format!("{before}Template::Object(&["));
            for (key, value) in members {
                template(o, m, &format!("({}, ", lit(key)), value, "),");
            }
            o.line(&format!("]){after}"));
        }
        Template::Array(items) if items.is_empty() => {
            o.line(&format!("{before}Template::Array(&[]){after}"));
        }
        Template::Array(items) => {
            o.line(&format!("{before}Template::Array(&["));
            for item in items {
                template(o, m, "", item, ",");
            }
            o.line(&format!("]){after}"));
        }
    }
}

fn output_kind(kind: OutputKind) -> String {
    core_variant(kind.name())
}

fn outputs(o: &ir::Outputs) -> String {
    format!(
        "model::OutputsAt {{ at: {}, json_string: {}, then: {}, kind: model::OutputKind::{} }}",
        lit(&o.at),
        o.json_string,
        opt(o.then.as_deref(), lit),
        output_kind(o.kind)
    )
}

fn provider_cost(c: &ir::ProviderCost) -> String {
    format!(
        "model::ProviderCostAt {{ at: {}, credits_per_unit: {} }}",
        lit(&c.at),
        lit(&c.credits_per_unit)
    )
}

/// A provider's `ProviderInfo` static.
pub fn provider(o: &mut Out, p: &ir::Provider) {
    o.doc(&format!("{} (`{}`).", p.display_name, p.id));
    if let Some(d) = &p.description {
        o.doc("");
        for line in d.lines() {
            o.doc(line);
        }
    }
    o.line(&format!(
        "pub static {}: registry_core::model::ProviderInfo = registry_core::model::ProviderInfo {{",
        screaming(&p.id)
    ));
    o.line(&format!("id: {},", lit(&p.id)));
    o.line(&format!("display_name: {},", lit(&p.display_name)));
    o.line(&format!("base_url: {},", lit(&p.base_url)));
    o.line(&format!(
        "auth: {},",
        match &p.auth {
            Auth::Bearer => "registry_core::model::Auth::Bearer".to_owned(),
            Auth::Header { name, prefix } => format!(
                "registry_core::model::Auth::Header {{ name: {}, prefix: {} }}",
                lit(name),
                lit(prefix)
            ),
            Auth::Query { name } => format!(
                "registry_core::model::Auth::Query {{ name: {} }}",
                lit(name)
            ),
        }
    ));
    o.line(&format!(
        "errors: {},",
        opt(p.errors.as_ref(), |e| {
            let codes: Vec<String> = e.ok_codes.iter().map(|c| lit(&c.to_string())).collect();
            format!(
                "registry_core::model::ErrorRule {{ message: {}, code: {}, ok_codes: &[{}] }}",
                lit(&e.message),
                opt(e.code.as_deref(), lit),
                codes.join(", ")
            )
        })
    ));
    match &p.webhook {
        None => o.line("webhook: None,"),
        Some(w) => {
            let signature = core_variant(w.signature.name());
            let task_id: Vec<String> = w.task_id.iter().map(|t| lit(t)).collect();
            o.line("webhook: Some(registry_core::model::WebhookRule {");
            o.line(&format!(
                "signature: registry_core::model::Signature::{signature},"
            ));
            o.line(&format!(
                "secret_name: {},",
                opt(w.secret_name.as_deref(), lit)
            ));
            o.line(&format!("task_id: &[{}],", task_id.join(", ")));
            o.line(&format!("confirm_by_poll: {},", w.confirm_by_poll));
            o.line(&format!("tolerance: {},", opt(w.tolerance_ms, duration)));
            o.line("}),");
        }
    }
    o.line(&format!("idempotent_submit: {},", p.idempotent_submit));
    let hosts: Vec<String> = p.allowed_hosts.iter().map(|h| lit(h)).collect();
    o.line(&format!("allowed_hosts: &[{}],", hosts.join(", ")));
    if p.concurrency.is_none() && p.circuit_breaker.is_none() {
        o.line("limits: registry_core::model::Limits::NONE,");
    } else {
        o.line(&format!(
        "limits: registry_core::model::Limits {{ concurrency: {}, circuit_breaker: {} }},",
        opt(p.concurrency, |n| n.to_string()),
        opt(p.circuit_breaker.as_ref(), |cb| format!(
            "registry_core::model::CircuitBreaker {{ failure_rate: {}, min_requests: {}, window: {}, cooldown: {} }}",
            cb.failure_rate,
            cb.min_requests,
            duration(cb.window_ms),
            duration(cb.cooldown_ms)
        ))
    ));
    }
    o.line("};");
}
