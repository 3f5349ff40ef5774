//! Rules for model files, and their lowering.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde_json::Value;

use super::provider::{is_snake, list, pointer};
use super::{Annotate, Reporter};
use crate::diag::{Diagnostics, did_you_mean};
use crate::ir::{
    Cost, Execution, Model, Multiplier, Outputs, Param, ParamKind, Placeholder, Poll, ProviderCost,
    Request, Response, RuntimeValue, Smoke,
};
use crate::spec::load::Loaded;
use crate::spec::schema::describe;
use crate::spec::types::{
    ExecutionMode, ItemType, ModelSpec, OutputSpec, ParamSpec, ParamType, ProviderCostSpec,
    ProviderSpec, RequestSpec, SendAs, TaskStatus,
};
use crate::spec::values::{
    canonical, parse_decimal, parse_duration, parse_segments, parse_template, segment_placeholders,
    template_placeholders,
};

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
            r.at("/provider", format!("unknown provider `{}`", spec.provider))
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
            r.at_key(&at, format!("param name `{name}` is not snake_case"))
                .help("use lowercase letters, digits and `_`, starting with a letter");
            continue;
        }
        if RuntimeValue::ALL.iter().any(|(n, _)| n == name) {
            r.at_key(
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
        false,
    );
    let mut used = BTreeSet::new();
    if let Some(req) = &submit {
        collect_params(req, &mut used);
    }
    // Only when the request itself is sound: otherwise its own error explains the gap.
    for name in spec.params.keys().filter(|_| submit.is_some()) {
        if !used.contains(name.as_str()) {
            r.at_key(&format!("/params/{}", crate::spec::yaml::escape_token(name)), format!("param `{name}` is not used by the request"))
                .help(format!("add `\"{{{{ {name} }}}}\"` to `execution.submit` (body, path or headers), or remove the param: a param the request ignores would be silently dropped"));
        }
    }

    let provider_has_webhook = provider.map(|p| p.webhook.is_some());
    let response = response(&mut r, spec, provider_has_webhook);
    let poll = match (&ex.poll, ex.mode) {
        (Some(_), ExecutionMode::Sync) => {
            r.at_key("/execution/poll", "`poll` is not used in `sync` mode")
                .help("remove `poll`, or set `mode: poll`");
            None
        }
        (None, ExecutionMode::Poll | ExecutionMode::Webhook) => {
            r.at("/execution", format!("missing `poll` for `mode: {}`", ex.mode.name()))
                .help("add `poll:` with the status request and how to read it (webhook models poll as a fallback)");
            None
        }
        (None, ExecutionMode::Sync) => None,
        (Some(p), _) => {
            let req = request(
                &mut r,
                "/execution/poll",
                &p.request,
                &param_names,
                &is_param,
                ex.mode,
                true,
            );
            pointer(&mut r, "/execution/poll/status", &p.status);
            if let Some(e) = &p.error {
                pointer(&mut r, "/execution/poll/error", e);
            }
            if let Some(e) = &p.error_code {
                pointer(&mut r, "/execution/poll/error_code", e);
            }
            let statuses: BTreeSet<TaskStatus> = p.states.values().copied().collect();
            for needed in [TaskStatus::Completed, TaskStatus::Failed] {
                if !statuses.contains(&needed) {
                    r.at(
                        "/execution/poll/states",
                        format!("no provider state maps to `{}`", needed.name()),
                    )
                    .help("map each provider state to pending, processing, completed or failed");
                }
            }
            let outputs = outputs(&mut r, "/execution/poll/outputs", &p.outputs);
            let provider_cost = p
                .provider_cost
                .as_ref()
                .and_then(|c| provider_cost(&mut r, "/execution/poll/provider_cost", c));
            let interval_ms = duration(&mut r, "/execution/poll/interval", &p.interval);
            let max_interval_ms = duration(&mut r, "/execution/poll/max_interval", &p.max_interval);
            if let (Some(a), Some(b)) = (interval_ms, max_interval_ms) {
                if a > b {
                    r.at(
                        "/execution/poll/interval",
                        "`interval` is longer than `max_interval`",
                    );
                }
            }
            match (req, outputs, interval_ms, max_interval_ms) {
                (Some(request), Some(outputs), Some(interval_ms), Some(max_interval_ms)) => {
                    Some(Poll {
                        request,
                        status: p.status.clone(),
                        states: p.states.clone(),
                        outputs,
                        error: p.error.clone(),
                        error_code: p.error_code.clone(),
                        provider_cost,
                        interval_ms,
                        max_interval_ms,
                    })
                }
                _ => None,
            }
        }
    };

    let smoke = spec.smoke.as_ref().and_then(|s| {
        let within_ms = duration(&mut r, "/smoke/within", &s.within);
        for (name, v) in &s.params {
            let at = format!("/smoke/params/{}", crate::spec::yaml::escape_token(name));
            match params.iter().find(|p| &p.name == name) {
                Some(p) => {
                    if let Err(e) = crate::rules::check(name, &p.kind, v) {
                        r.at(
                            &at,
                            format!("smoke value for `{name}` is invalid: {}", e.message),
                        );
                    }
                }
                None => {
                    r.at_key(&at, format!("unknown param `{name}`"))
                        .expect(format!("one of {}", list(spec.params.keys())))
                        .suggest(name, spec.params.keys().map(String::as_str));
                }
            }
        }
        for p in &params {
            if p.required && !s.params.contains_key(&p.name) {
                r.at(
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
        content_type: spec.content_type,
        key_scope: spec.key_scope.clone(),
        secret_name: secret_name?,
        enabled: spec.enabled,
        params,
        cost: cost?,
        execution: Execution {
            mode: ex.mode,
            submit: submit?,
            response: response?,
            poll,
            expected_latency_ms: expected_latency_ms?,
            timeout_ms: timeout_ms?,
        },
        smoke,
        source: m.rel.clone(),
    })
}

fn duration(r: &mut Reporter<'_>, at: &str, text: &str) -> Option<u64> {
    match parse_duration(text) {
        Ok(ms) => Some(ms),
        Err(e) => {
            r.at(at, format!("bad duration: {e}"))
                .expect("a duration such as `30s`, `4m`, `1h` or `1m30s`")
                .help("write a number followed by `ms`, `s`, `m` or `h`");
            None
        }
    }
}

/// Check a param's fields against its type and lower it.
fn param(r: &mut Reporter<'_>, at: &str, name: &str, ps: &ParamSpec) -> Option<Param> {
    let before = r.count;
    let ty = ps.kind;
    let type_name = type_name(ty);
    // Fields that only fit some types.
    let fits: [(&str, bool, &[ParamType]); 8] = [
        ("min_length", ps.min_length.is_some(), &[ParamType::String]),
        ("max_length", ps.max_length.is_some(), &[ParamType::String]),
        (
            "min",
            ps.min.is_some(),
            &[ParamType::Integer, ParamType::Decimal],
        ),
        (
            "max",
            ps.max.is_some(),
            &[ParamType::Integer, ParamType::Decimal],
        ),
        (
            "step",
            ps.step.is_some(),
            &[ParamType::Integer, ParamType::Decimal],
        ),
        (
            "values",
            ps.values.is_some(),
            &[ParamType::Integer, ParamType::Enum],
        ),
        ("items", ps.items.is_some(), &[ParamType::Array]),
        (
            "min_items",
            ps.min_items.is_some() || ps.max_items.is_some(),
            &[ParamType::Array],
        ),
    ];
    for (field, present, types) in fits {
        if present && !types.contains(&ty) {
            let field = if field == "min_items" && ps.min_items.is_none() {
                "max_items"
            } else {
                field
            };
            r.at_key(
                &format!("{at}/{field}"),
                format!("`{field}` does not apply to `{type_name}` params"),
            )
            .expect(format!(
                "a `{field}` only on {} params",
                types
                    .iter()
                    .map(|t| format!("`{}`", self::type_name(*t)))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ))
            .help(format!("remove `{field}`, or change `type`"));
        }
    }
    if ps.send_as == Some(SendAs::String)
        && !matches!(
            ty,
            ParamType::Integer | ParamType::Decimal | ParamType::Boolean
        )
    {
        r.at(
            &format!("{at}/send_as"),
            format!("a `{type_name}` param is already sent as a string"),
        )
        .help("remove `send_as`");
    }
    if ps.required && ps.default.is_some() {
        r.at_key(
            &format!("{at}/default"),
            "a required param cannot have a default",
        )
        .help("remove `default`, or `required: true`");
    }

    let int = |r: &mut Reporter<'_>, field: &str, v: &Option<Value>| -> Option<i64> {
        let v = v.as_ref()?;
        match v.as_i64() {
            Some(i) => Some(i),
            None => {
                r.at(
                    &format!("{at}/{field}"),
                    format!("expected an integer, found {}", describe(v)),
                );
                None
            }
        }
    };
    let dec = |r: &mut Reporter<'_>, field: &str, v: &Option<Value>| -> Option<String> {
        let v = v.as_ref()?;
        let parsed = match v {
            Value::String(s) => parse_decimal(s),
            Value::Number(n) if n.is_i64() => parse_decimal(&n.to_string()),
            other => Err(format!(
                "expected a decimal string, found {}",
                describe(other)
            )),
        };
        match parsed {
            Ok(d) => Some(canonical(d)),
            Err(e) => {
                r.at(&format!("{at}/{field}"), e)
                    .expect("a decimal string such as \"0.5\"")
                    .help("quote decimals so they stay exact");
                None
            }
        }
    };

    let kind = match ty {
        ParamType::String => {
            if let (Some(a), Some(b)) = (ps.min_length, ps.max_length) {
                if a > b {
                    r.at(
                        &format!("{at}/min_length"),
                        format!("`min_length` {a} is greater than `max_length` {b}"),
                    );
                }
            }
            ParamKind::String {
                min_length: ps.min_length,
                max_length: ps.max_length,
            }
        }
        ParamType::Integer => {
            let min = int(r, "min", &ps.min);
            let max = int(r, "max", &ps.max);
            let step = int(r, "step", &ps.step);
            if let (Some(a), Some(b)) = (min, max) {
                if a > b {
                    r.at(
                        &format!("{at}/min"),
                        format!("`min` {a} is greater than `max` {b}"),
                    );
                }
            }
            if let Some(s) = step {
                if s <= 0 {
                    r.at(&format!("{at}/step"), "`step` must be positive");
                }
            }
            let values = ps.values.as_ref().map(|vs| {
                let mut out = Vec::new();
                for (i, v) in vs.iter().enumerate() {
                    match v.as_i64() {
                        Some(n) => out.push(n),
                        None => {
                            r.at(
                                &format!("{at}/values/{i}"),
                                format!("expected an integer, found {}", describe(v)),
                            );
                        }
                    }
                }
                out
            });
            ParamKind::Integer {
                min,
                max,
                step,
                values,
            }
        }
        ParamType::Decimal => {
            let min = dec(r, "min", &ps.min);
            let max = dec(r, "max", &ps.max);
            let step = dec(r, "step", &ps.step);
            if let (Some(a), Some(b)) = (&min, &max) {
                if parse_decimal(a).ok() > parse_decimal(b).ok() {
                    r.at(
                        &format!("{at}/min"),
                        format!("`min` {a} is greater than `max` {b}"),
                    );
                }
            }
            ParamKind::Decimal { min, max, step }
        }
        ParamType::Enum => {
            let mut values = Vec::new();
            match &ps.values {
                None => {
                    r.at(at, "an `enum` param needs `values`")
                        .help("add `values: [a, b, c]`");
                }
                Some(vs) if vs.is_empty() => {
                    r.at(
                        &format!("{at}/values"),
                        "an `enum` param needs at least one value",
                    );
                }
                Some(vs) => {
                    for (i, v) in vs.iter().enumerate() {
                        match v.as_str() {
                            Some(s) if values.iter().any(|x| x == s) => {
                                r.at(
                                    &format!("{at}/values/{i}"),
                                    format!("duplicate value `{s}`"),
                                );
                            }
                            Some("") => {
                                r.at(&format!("{at}/values/{i}"), "an enum value cannot be empty");
                            }
                            Some(s) => values.push(s.to_owned()),
                            None => {
                                r.at(&format!("{at}/values/{i}"), format!("expected a string, found {}", describe(v)))
                                    .help("quote enum values: `\"5\"`; use `type: integer` with `values` for numbers");
                            }
                        }
                    }
                }
            }
            ParamKind::Enum { values }
        }
        ParamType::Boolean => ParamKind::Boolean,
        ParamType::ImageUrl => ParamKind::ImageUrl,
        ParamType::Array => {
            if ps.items.is_none() {
                r.at(at, "an `array` param needs `items`")
                    .help("add `items: image_url` (or `string`)");
            }
            if let (Some(a), Some(b)) = (ps.min_items, ps.max_items) {
                if a > b {
                    r.at(
                        &format!("{at}/min_items"),
                        format!("`min_items` {a} is greater than `max_items` {b}"),
                    );
                }
            }
            ParamKind::Array {
                items: ps.items.unwrap_or(ItemType::String),
                min_items: ps.min_items,
                max_items: ps.max_items,
            }
        }
    };
    if r.count > before {
        return None;
    }
    if let Some(d) = &ps.default {
        if let Err(e) = crate::rules::check(name, &kind, d) {
            r.at(
                &format!("{at}/default"),
                format!("default of `{name}` is invalid: {}", e.message),
            )
            .help("change the default so it satisfies the param's own bounds");
            return None;
        }
    }
    Some(Param {
        name: name.to_owned(),
        description: ps.description.clone(),
        required: ps.required,
        default: ps.default.clone(),
        kind,
        send_as_string: ps.send_as == Some(SendAs::String),
    })
}

fn type_name(t: ParamType) -> &'static str {
    match t {
        ParamType::String => "string",
        ParamType::Integer => "integer",
        ParamType::Decimal => "decimal",
        ParamType::Enum => "enum",
        ParamType::Boolean => "boolean",
        ParamType::ImageUrl => "image_url",
        ParamType::Array => "array",
    }
}

fn cost(r: &mut Reporter<'_>, spec: &ModelSpec, params: &[Param]) -> Option<Cost> {
    let before = r.count;
    let c = &spec.cost;
    let base = match parse_decimal(&c.base) {
        Ok(d) if d.is_sign_negative() && !d.is_zero() => {
            r.at("/cost/base", format!("negative cost `{}`", c.base))
                .expect("a cost of zero or more credits");
            None
        }
        Ok(d) => Some(canonical(d)),
        Err(e) => {
            r.at("/cost/base", e)
                .expect("a decimal string such as \"8\" or \"0.5\"");
            None
        }
    };
    let mut multipliers = Vec::new();
    for (i, mspec) in c.multipliers.iter().enumerate() {
        let at = format!("/cost/multipliers/{i}");
        let Some(p) = params.iter().find(|p| p.name == mspec.param) else {
            if !spec.params.contains_key(&mspec.param) {
                r.at(
                    &format!("{at}/param"),
                    format!("multiplier on unknown param `{}`", mspec.param),
                )
                .expect(format!("one of {}", list(spec.params.keys())))
                .suggest(&mspec.param, spec.params.keys().map(String::as_str));
            }
            continue;
        };
        if !p.required && p.default.is_none() {
            r.at(
                &format!("{at}/param"),
                format!("multiplier on `{}`, which may be absent", p.name),
            )
            .help(format!(
                "give `{}` a default or make it required, so the cost is always defined",
                p.name
            ));
            continue;
        }
        let kinds = [
            mspec.table.is_some(),
            mspec.per.is_some(),
            mspec.count == Some(true),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            r.at(&at, "a multiplier needs exactly one of `table`, `per` or `count: true`")
                .help("`table` maps each value to a factor; `per: N` divides the value by N; `count: true` multiplies by the value or the number of items");
            continue;
        }
        if let Some(table) = &mspec.table {
            let values: Option<Vec<String>> = match &p.kind {
                ParamKind::Enum { values } => Some(values.clone()),
                ParamKind::Boolean => Some(vec!["false".into(), "true".into()]),
                ParamKind::Integer {
                    values: Some(vs), ..
                } => Some(vs.iter().map(i64::to_string).collect()),
                _ => None,
            };
            let Some(values) = values else {
                r.at(&format!("{at}/param"), format!("a `table` multiplier needs an enum, boolean or fixed-set integer param; `{}` is not", p.name))
                    .help("use `per:` for a numeric ratio or `count: true` for a count");
                continue;
            };
            let mut entries = indexmap::IndexMap::new();
            for v in &values {
                if !table.contains_key(v) {
                    r.at(
                        &format!("{at}/table"),
                        format!("the table has no factor for `{v}`"),
                    )
                    .expect(format!(
                        "a factor for every value of `{}`: {}",
                        p.name,
                        values.join(", ")
                    ))
                    .help(format!("add `\"{v}\": \"1\"` (or the right factor)"));
                }
            }
            for (k, f) in table {
                let fat = format!("{at}/table/{}", crate::spec::yaml::escape_token(k));
                if !values.contains(k) {
                    r.at_key(&fat, format!("`{k}` is not a value of `{}`", p.name))
                        .expect(format!("one of {}", values.join(", ")))
                        .suggest(k, values.iter().map(String::as_str));
                    continue;
                }
                match parse_decimal(f) {
                    Ok(d) if d.is_sign_negative() && !d.is_zero() => {
                        r.at(&fat, format!("negative factor `{f}`"))
                            .expect("a factor of zero or more");
                    }
                    Ok(d) => {
                        entries.insert(k.clone(), canonical(d));
                    }
                    Err(e) => {
                        r.at(&fat, e).expect("a decimal string such as \"1.5\"");
                    }
                }
            }
            multipliers.push(Multiplier::Table {
                param: p.name.clone(),
                entries,
            });
        } else if let Some(per) = mspec.per {
            if !matches!(
                p.kind,
                ParamKind::Integer { .. } | ParamKind::Decimal { .. }
            ) {
                r.at(
                    &format!("{at}/param"),
                    format!(
                        "a `per` multiplier needs an integer or decimal param; `{}` is not",
                        p.name
                    ),
                )
                .help("use `table:` to give each value its factor");
                continue;
            }
            multipliers.push(Multiplier::Ratio {
                param: p.name.clone(),
                per,
            });
        } else {
            if !matches!(p.kind, ParamKind::Integer { .. } | ParamKind::Array { .. }) {
                r.at(
                    &format!("{at}/param"),
                    format!(
                        "a `count` multiplier needs an integer or array param; `{}` is not",
                        p.name
                    ),
                )
                .help("use `table:` to give each value its factor");
                continue;
            }
            multipliers.push(Multiplier::Count {
                param: p.name.clone(),
            });
        }
    }
    if r.count > before {
        return None;
    }
    Some(Cost {
        base: base?,
        multipliers,
        round: c.round,
        scale: c.scale,
    })
}

#[allow(clippy::too_many_arguments)]
fn request(
    r: &mut Reporter<'_>,
    at: &str,
    req: &RequestSpec,
    param_names: &[String],
    is_param: &dyn Fn(&str) -> bool,
    mode: ExecutionMode,
    polling: bool,
) -> Option<Request> {
    let before = r.count;
    let bad_placeholder =
        |r: &mut Reporter<'_>, field: &str, message: String, unknown: Option<String>| {
            let d = r.at(field, message);
            d.expect("a declared param or a runtime value (`uuid`, `callback_url`, `task_id`)");
            if let Some(name) = unknown {
                let runtime = RuntimeValue::ALL.iter().map(|(n, _)| *n);
                match did_you_mean(&name, param_names.iter().map(String::as_str).chain(runtime)) {
                    Some(m) => d.help(format!("did you mean `{m}`?")),
                    None => d.help(format!(
                        "declare `{name}` under `params`, or fix the spelling"
                    )),
                };
            }
        };
    let path = match parse_segments(&req.path, is_param) {
        Ok(p) => Some(p),
        Err(e) => {
            let unknown = e
                .strip_prefix("unknown placeholder `")
                .map(|s| s.trim_end_matches('`').to_owned());
            bad_placeholder(r, &format!("{at}/path"), e, unknown);
            None
        }
    };
    let mut headers = BTreeMap::new();
    for (k, v) in &req.headers {
        match parse_segments(v, is_param) {
            Ok(s) => {
                headers.insert(k.clone(), s);
            }
            Err(e) => {
                let unknown = e
                    .strip_prefix("unknown placeholder `")
                    .map(|s| s.trim_end_matches('`').to_owned());
                bad_placeholder(
                    r,
                    &format!("{at}/headers/{}", crate::spec::yaml::escape_token(k)),
                    e,
                    unknown,
                );
            }
        }
    }
    let body = match &req.body {
        None => None,
        Some(b) => match parse_template(b, is_param) {
            Ok(t) => Some(t),
            Err(e) => {
                bad_placeholder(r, &format!("{at}/body{}", e.at), e.message, e.unknown);
                None
            }
        },
    };
    if r.count > before {
        return None;
    }
    let request = Request {
        method: req.method,
        path: path?,
        headers,
        body,
    };
    // Runtime values that this request cannot have.
    let mut placeholders = Vec::new();
    collect_placeholders(&request, &mut placeholders);
    for p in placeholders {
        let name = match &p {
            Placeholder::Param(n) => n.as_str(),
            Placeholder::Runtime(rv) => rv.name(),
        };
        let place =
            find_placeholder(req, name).map_or_else(|| at.to_owned(), |p| format!("{at}{p}"));
        match p {
            Placeholder::Runtime(RuntimeValue::TaskId) if !polling => {
                r.at(&place, "`{{ task_id }}` is only known when polling")
                    .help("use it in `execution.poll`, not in `submit`");
            }
            Placeholder::Runtime(RuntimeValue::CallbackUrl)
                if mode != ExecutionMode::Webhook || polling =>
            {
                r.at(
                    &place,
                    "`{{ callback_url }}` is only available in the submit of a `webhook` model",
                )
                .help("set `mode: webhook`, or remove the callback URL");
            }
            Placeholder::Param(name) if polling => {
                r.at(
                    &place,
                    format!("the poll request uses param `{name}`; a poll only knows `task_id`"),
                )
                .help("use `{{ task_id }}` only");
            }
            _ => {}
        }
    }
    if r.count > before {
        return None;
    }
    Some(request)
}

/// Where in a request spec (relative pointer) the placeholder `name` is written.
fn find_placeholder(req: &RequestSpec, name: &str) -> Option<String> {
    fn mentions(text: &str, name: &str) -> bool {
        text.split("{{")
            .skip(1)
            .any(|rest| rest.split("}}").next().map(str::trim) == Some(name))
    }
    fn walk(v: &Value, name: &str, at: String) -> Option<String> {
        match v {
            Value::String(s) if mentions(s, name) => Some(at),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, x)| walk(x, name, format!("{at}/{i}"))),
            Value::Object(m) => m.iter().find_map(|(k, x)| {
                walk(
                    x,
                    name,
                    format!("{at}/{}", crate::spec::yaml::escape_token(k)),
                )
            }),
            _ => None,
        }
    }
    if mentions(&req.path, name) {
        return Some("/path".into());
    }
    if let Some((k, _)) = req.headers.iter().find(|(_, v)| mentions(v, name)) {
        return Some(format!("/headers/{}", crate::spec::yaml::escape_token(k)));
    }
    req.body
        .as_ref()
        .and_then(|b| walk(b, name, "/body".into()))
}

fn collect_placeholders(req: &Request, out: &mut Vec<Placeholder>) {
    segment_placeholders(&req.path, out);
    for h in req.headers.values() {
        segment_placeholders(h, out);
    }
    if let Some(b) = &req.body {
        template_placeholders(b, out);
    }
}

fn collect_params(req: &Request, used: &mut BTreeSet<String>) {
    let mut out = Vec::new();
    collect_placeholders(req, &mut out);
    for p in out {
        if let Placeholder::Param(n) = p {
            used.insert(n);
        }
    }
}

fn response(
    r: &mut Reporter<'_>,
    spec: &ModelSpec,
    provider_has_webhook: Option<bool>,
) -> Option<Response> {
    let before = r.count;
    let ex = &spec.execution;
    let resp = &ex.response;
    let outputs = match (&resp.outputs, ex.mode) {
        (Some(o), ExecutionMode::Sync) => outputs(r, "/execution/response/outputs", o),
        (None, ExecutionMode::Sync) => {
            r.at("/execution/response", "a `sync` model needs `outputs`")
                .help("add `outputs: { at: /pointer/to/result }`");
            None
        }
        (Some(_), _) => {
            r.at_key(
                "/execution/response/outputs",
                "outputs of an async model are read from `poll.outputs`",
            )
            .help("move `outputs` to `execution.poll`");
            None
        }
        (None, _) => None,
    };
    match (&resp.task_id, ex.mode) {
        (None, ExecutionMode::Poll | ExecutionMode::Webhook) => {
            r.at("/execution/response", "an async model needs `task_id`")
                .help("add `task_id: /pointer/to/the/task/id` in the submit answer");
        }
        (Some(_), ExecutionMode::Sync) => {
            r.at_key(
                "/execution/response/task_id",
                "a `sync` model has no task id",
            )
            .help("remove `task_id`, or change `mode`");
        }
        (Some(t), _) => pointer(r, "/execution/response/task_id", t),
        (None, ExecutionMode::Sync) => {}
    }
    if ex.mode == ExecutionMode::Webhook && provider_has_webhook == Some(false) {
        r.at(
            "/execution/mode",
            format!(
                "provider `{}` declares no `webhook` delivery",
                spec.provider
            ),
        )
        .help("add `webhook:` to the provider file, or use `mode: poll`");
    }
    let provider_cost = resp
        .provider_cost
        .as_ref()
        .and_then(|c| provider_cost(r, "/execution/response/provider_cost", c));
    if r.count > before {
        return None;
    }
    Some(Response {
        outputs,
        task_id: resp.task_id.clone(),
        provider_cost,
    })
}

fn outputs(r: &mut Reporter<'_>, at: &str, o: &OutputSpec) -> Option<Outputs> {
    let before = r.count;
    pointer(r, &format!("{at}/at"), &o.at);
    let json_string = o.json_string.unwrap_or(false);
    if let Some(t) = &o.then {
        pointer(r, &format!("{at}/then"), t);
        if !json_string {
            r.at_key(
                &format!("{at}/then"),
                "`then` only applies with `json_string: true`",
            );
        }
    }
    if r.count > before {
        return None;
    }
    Some(Outputs {
        at: o.at.clone(),
        json_string,
        then: o.then.clone(),
        kind: o.kind,
    })
}

fn provider_cost(r: &mut Reporter<'_>, at: &str, c: &ProviderCostSpec) -> Option<ProviderCost> {
    pointer(r, &format!("{at}/at"), &c.at);
    match parse_decimal(&c.credits_per_unit) {
        Ok(d) if d > Decimal::ZERO => Some(ProviderCost {
            at: c.at.clone(),
            credits_per_unit: canonical(d),
        }),
        Ok(_) => {
            r.at(
                &format!("{at}/credits_per_unit"),
                "`credits_per_unit` must be positive",
            );
            None
        }
        Err(e) => {
            r.at(&format!("{at}/credits_per_unit"), e)
                .expect("a decimal string such as \"1000\"");
            None
        }
    }
}
