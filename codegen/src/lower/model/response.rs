//! Reading answers: outputs, task ids and provider costs.

use super::*;

pub(super) fn response(
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
            r.at(
                Code::MissingOutputs,
                "/execution/response",
                "a `sync` model needs `outputs`",
            )
            .help("add `outputs: { at: /pointer/to/result }`");
            None
        }
        (Some(_), _) => {
            r.at_key(
                Code::OutputsMisplaced,
                "/execution/response/outputs",
                "outputs of an async model are read from `poll.outputs` (or `result.outputs`)",
            )
            .help("move `outputs` to `execution.poll`, or to `execution.result` when the result is fetched apart");
            None
        }
        (None, _) => None,
    };
    match (&resp.task_id, ex.mode) {
        (None, ExecutionMode::Poll | ExecutionMode::Webhook) => {
            r.at(
                Code::MissingTaskId,
                "/execution/response",
                "an async model needs `task_id`",
            )
            .help("add `task_id: /pointer/to/the/task/id` in the submit answer");
        }
        (Some(_), ExecutionMode::Sync) => {
            r.at_key(
                Code::TaskIdInSync,
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
            Code::NoProviderWebhook,
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
    for (name, p) in &resp.keep {
        let at = format!(
            "/execution/response/keep/{}",
            crate::spec::yaml::escape_token(name)
        );
        if !is_snake(name) {
            r.at_key(
                Code::NotSnakeCase,
                &at,
                format!("kept value name `{name}` is not snake_case"),
            )
            .help("use lowercase letters, digits and `_`: it is written `{{ kept.NAME }}`");
        }
        pointer(r, &at, p);
    }
    if r.count > before {
        return None;
    }
    Some(Response {
        outputs,
        task_id: resp.task_id.clone(),
        provider_cost,
        keep: resp.keep.clone(),
        like_poll: resp.like_poll,
    })
}

pub(super) fn outputs(r: &mut Reporter<'_>, at: &str, o: &OutputSpec) -> Option<Outputs> {
    let before = r.count;
    pointer(r, &format!("{at}/at"), &o.at);
    let json_string = o.json_string.unwrap_or(false);
    if let Some(t) = &o.then {
        pointer(r, &format!("{at}/then"), t);
        if !json_string {
            r.at_key(
                Code::ThenWithoutJsonString,
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
        kind: o.kind.into(),
    })
}

pub(super) fn provider_cost(
    r: &mut Reporter<'_>,
    at: &str,
    c: &ProviderCostSpec,
) -> Option<ProviderCost> {
    pointer(r, &format!("{at}/at"), &c.at);
    match parse_decimal(&c.credits_per_unit) {
        Ok(d) if d > Decimal::ZERO => Some(ProviderCost {
            at: c.at.clone(),
            credits_per_unit: canonical(d),
        }),
        Ok(_) => {
            r.at(
                Code::NonPositiveRate,
                &format!("{at}/credits_per_unit"),
                "`credits_per_unit` must be positive",
            );
            None
        }
        Err(e) => {
            r.at(Code::BadDecimal, &format!("{at}/credits_per_unit"), e)
                .expect("a decimal string such as \"1000\"");
            None
        }
    }
}
