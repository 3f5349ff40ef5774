//! Rules for model files, and their lowering.

mod cost;
mod params;
mod request;
mod response;
mod steps;

use cost::cost;
use params::param;
use request::*;
use response::*;
use steps::{Steps, steps};

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde_json::Value;

use super::provider::{is_snake, list, pointer};
use super::{Annotate, Reporter};
use crate::diag::{Code, Diagnostics, did_you_mean};
use crate::ir::{
    Cost, Execution, Model, Multiplier, Outputs, Param, ParamKind, Placeholder, ProviderCost,
    Request, Response, RuntimeValue, Smoke, Template,
};
use crate::lower::template::{
    parse_segments, parse_template, segment_placeholders, template_placeholders,
};
use crate::spec::load::Loaded;
use crate::spec::schema::describe;
use crate::spec::types::{
    ExecutionMode, ItemType, ModelSpec, OutputSpec, ParamSpec, ParamType, ProviderCostSpec,
    ProviderSpec, RequestSpec, SendAs,
};
use crate::spec::values::{canonical, parse_decimal};
use crate::spelling::variant_name;

/// Check one model against its provider and lower it.
pub(super) fn lower(
    m: &Loaded<ModelSpec>,
    provider: Option<&Loaded<ProviderSpec>>,
    broken_providers: &[String],
    all_providers: &[Loaded<ProviderSpec>],
    diags: &mut Diagnostics,
) -> Option<Model> {
    let spec = &m.spec;
    let mut r = Reporter::new(m, diags);

    // Where the file is and which provider it names.
    let stem = m
        .rel
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches(".yaml")
        .trim_end_matches(".yml");
    if stem != spec.id {
        r.at(
            Code::IdNotFileName,
            "/id",
            format!(
                "model id `{}` does not match its file name `{stem}`",
                spec.id
            ),
        )
        .help(format!(
            "rename the file to `{}.yaml`, or the id to `{stem}`",
            spec.id
        ));
    }
    let provider = match provider {
        Some(p) => Some(&p.spec),
        None if broken_providers.contains(&spec.provider) => None,
        None => {
            r.at(
                Code::UnknownProvider,
                "/provider",
                format!("unknown provider `{}`", spec.provider),
            )
            .expect(format!(
                "one of {}",
                list(all_providers.iter().map(|p| &p.spec.id))
            ))
            .suggest(
                &spec.provider,
                all_providers.iter().map(|p| p.spec.id.as_str()),
            );
            None
        }
    };
    if let (Some(dir), Some(p)) = (&m.dir, provider) {
        if dir != &p.id {
            r.at(
                Code::ProviderDirMismatch,
                "/provider",
                format!("the file is under `{dir}/` but names provider `{}`", p.id),
            )
            .help(format!("move the file to `{}/{stem}.yaml`", p.id));
        }
    }
    let secret_name = provider.and_then(|p| match p.key_scopes.get(&spec.key_scope) {
        Some(name) => Some(name.clone()),
        None => {
            r.at(
                Code::UnknownKeyScope,
                "/key_scope",
                format!(
                    "unknown key scope `{}` for provider `{}`",
                    spec.key_scope, p.id
                ),
            )
            .expect(format!("one of {}", list(p.key_scopes.keys())))
            .suggest(&spec.key_scope, p.key_scopes.keys().map(String::as_str));
            None
        }
    });

    // Params.
    let mut params = Vec::new();
    for (name, ps) in &spec.params {
        let at = format!("/params/{}", crate::spec::yaml::escape_token(name));
        if !is_snake(name) || name.len() > 64 {
            r.at_key(
                Code::NotSnakeCase,
                &at,
                format!("param name `{name}` is not snake_case"),
            )
            .help("use lowercase letters, digits and `_`, starting with a letter");
            continue;
        }
        if RuntimeValue::ALL.iter().any(|rv| rv.name() == name) {
            r.at_key(
                Code::ReservedParamName,
                &at,
                format!("`{name}` is a runtime value, not a param name"),
            )
            .help("rename the param");
            continue;
        }
        if let Some(p) = param(&mut r, &at, name, ps) {
            params.push(p);
        }
    }
    let is_param = |n: &str| spec.params.contains_key(n);

    // Cost.
    let cost = cost(&mut r, spec, &params);

    // Execution.
    let ex = &spec.execution;
    let expected_latency_ms = duration(&mut r, "/execution/expected_latency", &ex.expected_latency);
    let timeout_ms = duration(&mut r, "/execution/timeout", &ex.timeout);
    if let (Some(e), Some(t)) = (expected_latency_ms, timeout_ms) {
        if e > t {
            r.at(
                Code::LatencyOverTimeout,
                "/execution/expected_latency",
                "the expected latency is longer than the timeout",
            )
            .help("raise `timeout` or lower `expected_latency`");
        }
    }
    let param_names: Vec<String> = spec.params.keys().cloned().collect();
    let submit = request(
        &mut r,
        "/execution/submit",
        &ex.submit,
        &param_names,
        &is_param,
        ex.mode,
        None,
    );
    let mut used = BTreeSet::new();
    if let Some(req) = &submit {
        collect_params(req, &mut used);
        // An object has no text form: it is sent whole, as a JSON value.
        for name in text_params(req) {
            let Some(p) = params.iter().find(|p| p.name == name) else {
                continue;
            };
            if matches!(p.kind, ParamKind::Object { .. } | ParamKind::OneOf { .. }) {
                let place = find_in_text(&ex.submit, &name).map_or_else(
                    || "/execution/submit".to_owned(),
                    |p| format!("/execution/submit{p}"),
                );
                let what = match p.kind {
                    ParamKind::Object { .. } => "an `object`",
                    _ => "a `one_of` whose value may be an object",
                };
                r.at(
                    Code::ObjectInText,
                    &place,
                    format!(
                        "`{{{{ {name} }}}}` is inside text, but `{name}` is {what}, which has no text form"
                    ),
                )
                .help(format!(
                    "send it whole as a body value: `{name}: \"{{{{ {name} }}}}\"`"
                ));
            }
        }
    }
    // Only when the request itself is sound: otherwise its own error explains the gap.
    for name in spec.params.keys().filter(|_| submit.is_some()) {
        if !used.contains(name.as_str()) {
            r.at_key(Code::UnusedParam, &format!("/params/{}", crate::spec::yaml::escape_token(name)), format!("param `{name}` is not used by the request"))
                .help(format!("add `\"{{{{ {name} }}}}\"` to `execution.submit` (body, path or headers), or remove the param: a param the request ignores would be silently dropped"));
        }
    }

    let provider_has_webhook = provider.map(|p| p.webhook.is_some());
    let response = response(&mut r, spec, provider_has_webhook);
    let kept: BTreeSet<String> = ex.response.keep.keys().cloned().collect();
    let after = Steps {
        param_names: &param_names,
        is_param: &is_param,
        kept: &kept,
    };
    let (steps, timing, webhook, cancel) = steps(&mut r, spec, &after);

    let smoke = spec.smoke.as_ref().and_then(|s| {
        let within_ms = duration(&mut r, "/smoke/within", &s.within);
        for (name, v) in &s.params {
            let at = format!("/smoke/params/{}", crate::spec::yaml::escape_token(name));
            match params.iter().find(|p| &p.name == name) {
                Some(p) => {
                    if let Err(e) = crate::rules::check(name, &p.kind, v) {
                        r.at(
                            Code::SmokeBadValue,
                            &at,
                            format!("smoke value for `{name}` is invalid: {}", e.message),
                        );
                    }
                }
                None => {
                    r.at_key(
                        Code::SmokeUnknownParam,
                        &at,
                        format!("unknown param `{name}`"),
                    )
                    .expect(format!("one of {}", list(spec.params.keys())))
                    .suggest(name, spec.params.keys().map(String::as_str));
                }
            }
        }
        for p in &params {
            if p.required && !s.params.contains_key(&p.name) {
                r.at(
                    Code::SmokeMissingParam,
                    "/smoke/params",
                    format!("the smoke test lacks required param `{}`", p.name),
                )
                .help(format!("add `{}:` to `smoke.params`", p.name));
            }
        }
        Some(Smoke {
            params: s.params.clone(),
            within_ms: within_ms?,
        })
    });

    if r.count > 0 {
        return None;
    }
    Some(Model {
        id: spec.id.clone(),
        display_name: spec.display_name.clone(),
        description: spec.description.clone(),
        provider: spec.provider.clone(),
        content_type: spec.content_type.into(),
        key_scope: spec.key_scope.clone(),
        secret_name: secret_name?,
        enabled: spec.enabled,
        params,
        cost: cost?,
        execution: Execution {
            mode: ex.mode.into(),
            submit: submit?,
            response: response?,
            steps,
            timing,
            webhook,
            cancel,
            expected_latency_ms: expected_latency_ms?,
            timeout_ms: timeout_ms?,
        },
        smoke,
        source: m.rel.clone(),
    })
}

fn duration(r: &mut Reporter<'_>, at: &str, text: &str) -> Option<u64> {
    super::duration(r, at, text, "`30s`, `4m`, `1h` or `1m30s`")
}
