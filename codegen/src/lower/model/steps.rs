//! The requests after the submit: the status poll, the result, the webhook reading and the
//! cancel, with the state maps that say which states are terminal.

use super::*;
use crate::ir::{PollTiming, Reading, Step, TaskStatus as IrStatus};
use crate::spec::types::{ReadingSpec, TaskStatus};

/// What the requests after the submit may use.
pub(super) struct Steps<'a> {
    pub(super) param_names: &'a [String],
    pub(super) is_param: &'a dyn Fn(&str) -> bool,
    pub(super) kept: &'a BTreeSet<String>,
}

/// A reading as written: in `poll`, `result` or `webhook`.
struct ReadingParts<'a> {
    at: &'a str,
    status: Option<&'a String>,
    states: &'a BTreeMap<String, TaskStatus>,
    outputs: Option<&'a OutputSpec>,
    error: Option<&'a String>,
    error_code: Option<&'a String>,
    provider_cost: Option<&'a ProviderCostSpec>,
}

type Lowered = (
    Vec<Step>,
    Option<PollTiming>,
    Option<Reading>,
    Option<Request>,
);

/// Check and lower `poll`, `result`, `webhook` and `cancel` of a model.
pub(super) fn steps(r: &mut Reporter<'_>, spec: &ModelSpec, s: &Steps<'_>) -> Lowered {
    let ex = &spec.execution;
    let sync = ex.mode == ExecutionMode::Sync;
    let mut steps = Vec::new();
    let mut timing = None;
    if sync {
        for (present, field, code) in [
            (ex.poll.is_some(), "poll", Code::PollInSync),
            (ex.result.is_some(), "result", Code::ResultInSync),
            (ex.webhook.is_some(), "webhook", Code::ResultInSync),
            (ex.cancel.is_some(), "cancel", Code::CancelInSync),
        ] {
            if present {
                r.at_key(
                    code,
                    &format!("/execution/{field}"),
                    format!(
                        "`{field}` is not used in `sync` mode: the submit answer is the result"
                    ),
                )
                .help(format!("remove `{field}`, or set `mode: poll`"));
            }
        }
        if ex.response.like_poll {
            r.at_key(
                Code::LikePollWithoutPoll,
                "/execution/response/like_poll",
                "`like_poll` reads the submit answer like a poll answer, and a `sync` model has no poll",
            )
            .help("remove `like_poll`, or set `mode: poll` and add `poll:`");
        }
        return (steps, None, None, None);
    }
    if ex.poll.is_none() && ex.result.is_none() {
        r.at(
            Code::MissingPoll,
            "/execution",
            format!("missing `poll` for `mode: {}`", variant_name(&ex.mode)),
        )
        .help("add `poll:` with the status request and how to read it (webhook models poll as a fallback)");
    }
    if ex.response.like_poll && ex.poll.is_none() {
        r.at_key(
            Code::LikePollWithoutPoll,
            "/execution/response/like_poll",
            "`like_poll` reads the submit answer like a poll answer, but there is no `poll`",
        )
        .help("add `poll:`, or remove `like_poll`");
    }
    let has_result = ex.result.is_some();
    if let Some(p) = &ex.poll {
        let req = after_submit(r, "/execution/poll", &p.request, ex.mode, s);
        if has_result && p.outputs.is_some() {
            r.at_key(
                Code::OutputsBeforeResult,
                "/execution/poll/outputs",
                "`poll.outputs` is not read: the `result` step has the outputs",
            )
            .help("move `outputs` to `execution.result`");
        }
        let reading = reading(
            r,
            ReadingParts {
                at: "/execution/poll",
                status: Some(&p.status),
                states: &p.states,
                outputs: p.outputs.as_ref().filter(|_| !has_result),
                error: p.error.as_ref(),
                error_code: p.error_code.as_ref(),
                provider_cost: p.provider_cost.as_ref(),
            },
            has_result,
        );
        let interval_ms = super::duration(r, "/execution/poll/interval", &p.interval);
        let max_interval_ms = super::duration(r, "/execution/poll/max_interval", &p.max_interval);
        if let (Some(a), Some(b)) = (interval_ms, max_interval_ms) {
            if a > b {
                r.at(
                    Code::IntervalOverMax,
                    "/execution/poll/interval",
                    "`interval` is longer than `max_interval`",
                );
            }
            timing = Some(PollTiming {
                interval_ms: a,
                max_interval_ms: b,
            });
        }
        if let (Some(request), Some(reading)) = (req, reading) {
            steps.push(Step { request, reading });
        }
    } else if has_result {
        // A result without a status poll: fetched after the default interval, retried on 5xx.
        timing = Some(PollTiming {
            interval_ms: 2_000,
            max_interval_ms: 30_000,
        });
    }
    if let Some(res) = &ex.result {
        let req = after_submit(r, "/execution/result", &res.request, ex.mode, s);
        let reading = reading(
            r,
            ReadingParts {
                at: "/execution/result",
                status: res.status.as_ref(),
                states: &res.states,
                outputs: Some(&res.outputs),
                error: res.error.as_ref(),
                error_code: res.error_code.as_ref(),
                provider_cost: res.provider_cost.as_ref(),
            },
            false,
        );
        if let (Some(request), Some(reading)) = (req, reading) {
            steps.push(Step { request, reading });
        }
    }
    let webhook = match (&ex.webhook, ex.mode) {
        (Some(_), ExecutionMode::Poll) => {
            r.at_key(
                Code::WebhookReadingMisplaced,
                "/execution/webhook",
                "`execution.webhook` reads webhook deliveries, and a `poll` model gets none",
            )
            .help("set `mode: webhook`, or remove `execution.webhook`");
            None
        }
        (Some(w), _) => webhook_reading(r, w, has_result),
        (None, _) => None,
    };
    let cancel = ex
        .cancel
        .as_ref()
        .and_then(|c| after_submit(r, "/execution/cancel", c, ex.mode, s));
    (steps, timing, webhook, cancel)
}

fn after_submit(
    r: &mut Reporter<'_>,
    at: &str,
    req: &RequestSpec,
    mode: ExecutionMode,
    s: &Steps<'_>,
) -> Option<Request> {
    request(r, at, req, s.param_names, s.is_param, mode, Some(s.kept))
}

fn webhook_reading(r: &mut Reporter<'_>, w: &ReadingSpec, has_result: bool) -> Option<Reading> {
    reading(
        r,
        ReadingParts {
            at: "/execution/webhook",
            status: Some(&w.status),
            states: &w.states,
            outputs: w.outputs.as_ref(),
            error: w.error.as_ref(),
            error_code: w.error_code.as_ref(),
            provider_cost: w.provider_cost.as_ref(),
        },
        has_result,
    )
}

/// Check a reading. `before_result`: a `result` step follows, so `done` is the success state
/// and `failed` may be absent.
fn reading(r: &mut Reporter<'_>, p: ReadingParts<'_>, before_result: bool) -> Option<Reading> {
    let before = r.count;
    let at = p.at;
    if let Some(status) = p.status {
        pointer(r, &format!("{at}/status"), status);
    }
    for (field, value) in [("error", p.error), ("error_code", p.error_code)] {
        if let Some(v) = value {
            pointer(r, &format!("{at}/{field}"), v);
        }
    }
    let meanings: BTreeSet<TaskStatus> = p.states.values().copied().collect();
    let states_at = format!("{at}/states");
    let webhook = at.ends_with("/webhook");
    for (state, meaning) in p.states {
        if *meaning == TaskStatus::Completed && before_result && !webhook {
            r.at(
                Code::CompletedBeforeResult,
                &format!("{states_at}/{}", crate::spec::yaml::escape_token(state)),
                format!("state `{state}` maps to `completed`, but the `result` step reads the outputs"),
            )
            .expect("pending, processing, done or failed")
            .help(format!("write `{state}: done`: the task is finished, and the `result` step says whether it completed"));
        }
        if *meaning == TaskStatus::Done && !before_result {
            r.at(
                Code::DoneWithoutResult,
                &format!("{states_at}/{}", crate::spec::yaml::escape_token(state)),
                format!("state `{state}` maps to `done`, but no `result` step follows to fetch the result"),
            )
            .expect("pending, processing, completed or failed")
            .help("map it to `completed` and say where the `outputs` are, or add `execution.result`");
        }
    }
    if p.status.is_some() && !p.states.is_empty() {
        let needed: &[TaskStatus] = if webhook {
            &[]
        } else if before_result {
            &[TaskStatus::Done]
        } else if meanings.contains(&TaskStatus::Done) {
            // `done` without a result step: E0624 says what to do.
            &[]
        } else {
            &[TaskStatus::Completed, TaskStatus::Failed]
        };
        for n in needed {
            if !meanings.contains(n) {
                let help = match n {
                    TaskStatus::Done => {
                        "map the provider's finished state to `done`: the `result` step then tells completed from failed"
                    }
                    _ => "map each provider state to pending, processing, completed or failed",
                };
                r.at(
                    Code::MissingState,
                    &states_at,
                    format!("no provider state maps to `{}`", variant_name(n)),
                )
                .help(help);
            }
        }
    }
    if p.status.is_some() && p.states.is_empty() {
        r.at(
            Code::MissingState,
            &states_at,
            "a `status` pointer needs `states` saying what each provider state means",
        )
        .help("add `states: { running: processing, ok: completed, error: failed }`");
    }
    if meanings.contains(&TaskStatus::Completed)
        && p.outputs.is_none()
        && (webhook || !before_result)
    {
        r.at(
            Code::MissingPollOutputs,
            at,
            "a state maps to `completed`, but nothing says where the outputs are",
        )
        .help("add `outputs: { at: /output }`");
    }
    let outputs = p
        .outputs
        .and_then(|o| outputs(r, &format!("{at}/outputs"), o));
    let provider_cost = p
        .provider_cost
        .and_then(|c| provider_cost(r, &format!("{at}/provider_cost"), c));
    if r.count > before {
        return None;
    }
    Some(Reading {
        status: p.status.cloned(),
        states: p
            .states
            .iter()
            .map(|(k, v)| (k.clone(), IrStatus::from(*v)))
            .collect(),
        outputs,
        error: p.error.cloned(),
        error_code: p.error_code.cloned(),
        provider_cost,
    })
}
