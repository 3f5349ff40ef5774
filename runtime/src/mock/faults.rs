//! Faults: what a test injects, which requests they hit, and what a faulted request answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::routes::RequestKind;
use super::{Reply, State, error_reply, jobs, json_reply, reply};
use crate::model::ProviderInfo;

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Submits.
    Submit,
    /// Every request after the submit: steps and cancels.
    Poll,
    /// Step `i` only (0: the status poll; the last one: the result).
    Step(usize),
    /// Cancels.
    Cancel,
    /// Any request.
    Any,
}

impl Target {
    pub(super) fn covers(self, kind: RequestKind) -> bool {
        match (self, kind) {
            (_, RequestKind::File) => false,
            (Target::Any, _) => true,
            (Target::Submit, k) => k == RequestKind::Submit,
            (Target::Poll, k) => k != RequestKind::Submit,
            (Target::Step(i), k) => k == RequestKind::Step(i),
            (Target::Cancel, k) => k == RequestKind::Cancel,
        }
    }
}

/// A fault, injected with [`MockProvider::inject`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (500, 502, ...) and an error body in the provider's shape.
    Status {
        /// HTTP status.
        code: u16,
        /// Requests affected.
        target: Target,
    },
    /// `429` with `Retry-After: secs`.
    RateLimit {
        /// Seconds in `Retry-After`.
        retry_after_secs: u64,
        /// Requests affected.
        target: Target,
    },
    /// Answer after `delay` (past the client's timeout, typically).
    Slow {
        /// Delay.
        delay: Duration,
        /// Requests affected.
        target: Target,
    },
    /// Reset the connection instead of answering (after reading the request).
    Reset {
        /// Requests affected.
        target: Target,
    },
    /// A 200 whose body is not JSON.
    MalformedJson {
        /// Requests affected.
        target: Target,
    },
    /// A provider error where the provider's error rule reads it, with HTTP 200 (KIE:
    /// `code: 422`; elsewhere a message and the code `invalid_input`); HTTP 400 for a
    /// provider without an error rule.
    ErrorBody {
        /// Requests affected.
        target: Target,
    },
    /// The next job fails: its status says failed (or, with no failed state, done and the
    /// result step errors); a sync submit answers an error body.
    JobFails,
    /// The next job's status step says done and its result step errors (a model without a
    /// result step: like `JobFails`).
    JobFailsAtResult,
    /// The next job's webhook is delivered twice.
    WebhookTwice,
    /// The next job's webhook comes this long after the job finished.
    WebhookLate(Duration),
    /// The next job's final webhook is followed by a stale `processing` one.
    WebhookOutOfOrder,
    /// The next job's webhook carries a bad signature (a forged token for URL tokens).
    WebhookBadSignature,
    /// The next job sends no webhook.
    NoWebhook,
    /// The next job's webhook names the task id at the provider's second `task_id` pointer
    /// (KIE's `task_id` instead of `taskId`).
    WebhookTaskIdVariant,
    /// The next job returns at most this many outputs, whatever count was asked for.
    FewerOutputs(usize),
    /// A hostile answer: the next submit's kept whole-URL values point to
    /// `http://evil.example/...`, which the engine must refuse to send the key to.
    OffHostUrl,
}

impl Fault {
    fn target(&self) -> Option<Target> {
        match self {
            Fault::Status { target, .. }
            | Fault::RateLimit { target, .. }
            | Fault::Slow { target, .. }
            | Fault::Reset { target }
            | Fault::MalformedJson { target }
            | Fault::ErrorBody { target } => Some(*target),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
/// The faults of one job.
pub(super) struct JobFaults {
    pub(super) fails: bool,
    pub(super) fails_at_result: bool,
    pub(super) twice: bool,
    pub(super) late: Option<Duration>,
    pub(super) out_of_order: bool,
    pub(super) bad_signature: bool,
    pub(super) no_webhook: bool,
    pub(super) task_id_variant: bool,
    pub(super) at_most: Option<usize>,
    pub(super) off_host: bool,
}

/// A queued fault, for any provider or for one.
#[derive(Debug, Clone)]
pub(super) struct Queued {
    pub(super) provider: Option<String>,
    pub(super) fault: Fault,
}

impl Queued {
    fn applies_to(&self, provider: Option<&str>) -> bool {
        self.provider.is_none() || self.provider.as_deref() == provider
    }
}

/// Take the first request fault that covers `kind` at `provider`.
pub(super) fn take_request_fault(
    state: &mut State,
    kind: RequestKind,
    provider: Option<&str>,
) -> Option<Fault> {
    let i = state
        .faults
        .iter()
        .position(|q| q.applies_to(provider) && q.fault.target().is_some_and(|t| t.covers(kind)))?;
    Some(state.faults.remove(i).fault)
}

/// Take the job faults for `provider`'s next job (one of each kind).
pub(super) fn take_job_faults(state: &mut State, provider: &str) -> JobFaults {
    let mut jf = JobFaults::default();
    state.faults.retain(|q| {
        if !q.applies_to(Some(provider)) {
            return true;
        }
        match &q.fault {
            Fault::JobFails if !jf.fails => jf.fails = true,
            Fault::JobFailsAtResult if !jf.fails_at_result => jf.fails_at_result = true,
            Fault::WebhookTwice if !jf.twice => jf.twice = true,
            Fault::WebhookLate(d) if jf.late.is_none() => jf.late = Some(*d),
            Fault::WebhookOutOfOrder if !jf.out_of_order => jf.out_of_order = true,
            Fault::WebhookBadSignature if !jf.bad_signature => jf.bad_signature = true,
            Fault::NoWebhook if !jf.no_webhook => jf.no_webhook = true,
            Fault::WebhookTaskIdVariant if !jf.task_id_variant => jf.task_id_variant = true,
            Fault::FewerOutputs(n) if jf.at_most.is_none() => jf.at_most = Some(*n),
            Fault::OffHostUrl if !jf.off_host => jf.off_host = true,
            _ => return true,
        }
        false
    });
    jf
}

/// The answer a request fault gives instead of the normal one (`None`: answer normally, after
/// a `Slow` fault's delay).
pub(super) async fn faulted(
    fault: Fault,
    provider: Option<&ProviderInfo>,
    kill: &AtomicBool,
) -> Option<Reply> {
    Some(match fault {
        Fault::Status { code, .. } => error_reply(provider, code, "mock: injected server error"),
        Fault::RateLimit {
            retry_after_secs, ..
        } => {
            let mut r = error_reply(provider, 429, "mock: rate limited");
            r.headers_mut()
                .insert("retry-after", http::HeaderValue::from(retry_after_secs));
            r
        }
        Fault::Slow { delay, .. } => {
            tokio::time::sleep(delay).await;
            return None;
        }
        Fault::Reset { .. } => {
            kill.store(true, Ordering::SeqCst);
            reply(200, "application/json", "{}")
        }
        Fault::MalformedJson { .. } => {
            reply(200, "application/json", "{\"data\": [ this is not json")
        }
        Fault::ErrorBody { .. } => {
            json_reply(jobs::error_answer(provider?, "mock: the input is invalid"))
        }
        _ => return None,
    })
}
