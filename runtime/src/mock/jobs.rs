//! Jobs: what a submit started, how far it is, what each of the model's requests answers about
//! it, and the webhook it sends when it finishes.
//!
//! A job goes pending (the first third of [`super::MockOptions::job_duration`]), processing,
//! then finished: completed, failed (the `JobFails` fault), failed at the result step
//! (`JobFailsAtResult`) or cancelled. Each answer is the model's own reading inverted
//! ([`super::invert`]): the state the reading maps to the job's phase at its `status`
//! pointer, the outputs and the provider cost where it reads them, the failure message where
//! it reads one.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use ed25519_dalek::Signer as _;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::invert::{has_state, state_name, write_at, write_outputs};
use super::routes::Captures;
use super::{JobFaults, SentWebhook, Shared};
use crate::model::{
    ContentType, ModelInfo, Output, OutputKind, OutputsAt, ProviderCostAt, ProviderInfo, Reading,
    Signature, TaskStatus,
};
use crate::params::Kind;
use crate::webhook::{now_secs, sign_kie, sign_standard_webhooks};

/// The message of a failed job.
pub(super) const FAILED: &str = "mock: generation failed";
/// The message of a cancelled job.
pub(super) const CANCELLED: &str = "mock: the job was cancelled";
/// The user id in fal-style signatures.
pub(super) const FAL_USER: &str = "mock-user";

/// A job the mock runs.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) id: String,
    pub(super) model: &'static ModelInfo,
    pub(super) created: Instant,
    pub(super) outputs: Vec<Output>,
    /// The formula's cost of the params sent, in credits.
    pub(super) credits: Option<Decimal>,
    pub(super) kept: Vec<(String, String)>,
    pub(super) callback_url: Option<String>,
    pub(super) faults: JobFaults,
    pub(super) cancelled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pending,
    Processing,
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Completed,
    Failed,
    FailedAtResult,
    Cancelled,
}

impl Job {
    /// A job of `model` for a submit that carried `captures`.
    pub(super) fn new(
        shared: &Shared,
        model: &'static ModelInfo,
        captures: &Captures,
        faults: JobFaults,
    ) -> Job {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let params = match model.validate(&Value::Object(captures.params.clone())) {
            Ok(p) => p,
            Err(_) => captures.params.clone(),
        };
        let credits = model.cost(&params).ok().map(|c| c.as_decimal());
        let asked = count(model, &params);
        let n = faults.at_most.map_or(asked, |m| asked.min(m));
        let kind = outputs_at(model).map_or(OutputKind::Url, |o| o.kind);
        let outputs = (0..n)
            .map(|i| Output {
                kind,
                value: output_value(shared, model, &id, i, kind),
            })
            .collect();
        let kept = model
            .response
            .keep
            .iter()
            .map(|(name, _)| {
                let value = if shared.whole_url_names(model).contains(name) {
                    let host = if faults.off_host {
                        "http://evil.example".to_owned()
                    } else {
                        shared.root.clone()
                    };
                    format!("{host}/p/{}/_jobs/{id}/{name}", model.provider.id)
                } else {
                    format!("{name}-{id}")
                };
                ((*name).to_owned(), value)
            })
            .collect();
        Job {
            id,
            model,
            created: Instant::now(),
            outputs,
            credits,
            kept,
            callback_url: captures.callback_url.clone(),
            faults,
            cancelled: false,
        }
    }

    fn phase(&self, d: Duration) -> Phase {
        let elapsed = self.created.elapsed();
        if self.cancelled || elapsed >= d {
            Phase::Finished
        } else if elapsed >= d / 3 {
            Phase::Processing
        } else {
            Phase::Pending
        }
    }

    /// Finished (cancelled included).
    pub(super) fn finished(&self, d: Duration) -> bool {
        self.phase(d) == Phase::Finished
    }

    fn ending(&self) -> Ending {
        if self.cancelled {
            Ending::Cancelled
        } else if self.faults.fails {
            Ending::Failed
        } else if self.faults.fails_at_result {
            Ending::FailedAtResult
        } else {
            Ending::Completed
        }
    }

    fn failure(&self) -> &'static str {
        if self.cancelled { CANCELLED } else { FAILED }
    }

    fn output_values(&self) -> Vec<String> {
        self.outputs.iter().map(|o| o.value.clone()).collect()
    }
}

/// How many outputs a model's params ask for: the value of the integer param its cost counts
/// (as the engine reconciles), else 1.
fn count(model: &ModelInfo, params: &serde_json::Map<String, Value>) -> usize {
    model
        .cost
        .multipliers
        .iter()
        .find_map(|m| match m {
            crate::cost::Multiplier::Count { param } => model
                .params
                .iter()
                .find(|p| p.name == *param && matches!(p.kind, Kind::Integer { .. }))
                .and_then(|p| params.get(p.name))
                .and_then(Value::as_u64),
            _ => None,
        })
        .map_or(1, |n| n.clamp(1, 16) as usize)
}

/// Where the model reads its outputs: the submit (sync), else the last step, else the webhook.
fn outputs_at(model: &ModelInfo) -> Option<OutputsAt<'static>> {
    model
        .response
        .outputs
        .or_else(|| model.steps.iter().rev().find_map(|s| s.reading.outputs))
        .or_else(|| model.webhook.and_then(|w| w.outputs))
}

fn output_value(
    shared: &Shared,
    model: &ModelInfo,
    job: &str,
    i: usize,
    kind: OutputKind,
) -> String {
    let (ext, mime) = match model.content_type {
        ContentType::Image => ("png", "image/png"),
        ContentType::Video => ("mp4", "video/mp4"),
        ContentType::Audio => ("mp3", "audio/mpeg"),
        ContentType::Text => ("txt", "text/plain"),
    };
    let bytes = format!("mock {ext} {i} of {job}");
    match kind {
        OutputKind::Url => format!(
            "{}/p/{}/_files/{job}/{i}.{ext}",
            shared.root, model.provider.id
        ),
        OutputKind::DataUrl => format!("data:{mime};base64,{}", B64.encode(bytes)),
        OutputKind::Base64 => B64.encode(bytes),
        OutputKind::Text => bytes,
    }
}

/// The provider's cost of `credits`, in its units, as a JSON number.
fn provider_units(at: &ProviderCostAt<'_>, credits: Decimal) -> Option<Value> {
    let rate = Decimal::from_str_exact(at.credits_per_unit).ok()?;
    let units = credits.checked_div(rate)?.normalize().to_string();
    Some(
        units
            .parse::<serde_json::Number>()
            .map_or(Value::from(units), Value::Number),
    )
}

/// An answer the provider's error rule reads `message` (and `code`) from.
pub(super) fn error_body(provider: &ProviderInfo, message: &str, code: Option<Value>) -> Value {
    let mut doc = Value::Null;
    match provider.errors {
        Some(rule) => {
            write_at(&mut doc, rule.message, Value::from(message));
            if let (Some(at), Some(code)) = (rule.code, code) {
                write_at(&mut doc, at, code);
            }
        }
        None => write_at(&mut doc, "/error", Value::from(message)),
    }
    doc
}

/// A provider error in a body the engine must read as one: HTTP 200 with the error where the
/// provider's rule finds it (KIE: `code: 422`), or 400 for a provider without a rule.
pub(super) fn error_answer(provider: &ProviderInfo, message: &str) -> (u16, Value) {
    let code = match provider.errors {
        Some(rule) if !rule.ok_codes.is_empty() => json!(422),
        _ => json!("invalid_input"),
    };
    let status = if provider.errors.is_some() { 200 } else { 400 };
    (status, error_body(provider, message, Some(code)))
}

/// What every successful answer of the provider carries: its success code (KIE's
/// `code: 200, msg: success`).
fn envelope(provider: &ProviderInfo, doc: &mut Value) {
    if let Some(rule) = provider.errors
        && let (Some(ok), Some(at)) = (rule.ok_codes.first(), rule.code)
    {
        write_at(doc, at, serde_json::from_str(ok).unwrap_or(Value::Null));
        if crate::answer::at(doc, rule.message).is_none() {
            write_at(doc, rule.message, Value::from("success"));
        }
    }
    if doc.is_null() {
        *doc = json!({});
    }
}

/// Write what `reading` reads for a job at `meaning`.
fn write_reading(doc: &mut Value, reading: &Reading<'_>, meaning: TaskStatus, job: &Job) {
    if let Some(at) = reading.status {
        let prefer = job.cancelled.then_some("cancel");
        if let Some(name) = state_name(reading, meaning, prefer) {
            write_at(doc, at, Value::from(name));
        }
    }
    match meaning {
        TaskStatus::Completed => write_result(doc, reading.outputs, reading.provider_cost, job),
        TaskStatus::Failed => write_failure(doc, reading, job),
        TaskStatus::Pending | TaskStatus::Processing | TaskStatus::Done => {}
    }
}

fn write_result(
    doc: &mut Value,
    outputs: Option<OutputsAt<'_>>,
    cost: Option<ProviderCostAt<'_>>,
    job: &Job,
) {
    if let Some(at) = outputs {
        write_outputs(doc, &at, &job.output_values());
    }
    if let (Some(at), Some(credits)) = (cost, job.credits)
        && let Some(units) = provider_units(&at, credits)
    {
        write_at(doc, at.at, units);
    }
}

fn write_failure(doc: &mut Value, reading: &Reading<'_>, job: &Job) {
    if let Some(at) = reading.error {
        write_at(doc, at, Value::from(job.failure()));
    }
    if let Some(at) = reading.error_code {
        let code = if job.cancelled { "cancelled" } else { "500" };
        write_at(doc, at, Value::from(code));
    }
}

/// What step `i`'s status reading says of the job now.
fn meaning(reading: &Reading<'_>, last: bool, job: &Job, d: Duration) -> TaskStatus {
    match job.phase(d) {
        Phase::Pending => TaskStatus::Pending,
        Phase::Processing => TaskStatus::Processing,
        Phase::Finished => match job.ending() {
            Ending::Completed if !last && has_state(reading, TaskStatus::Done) => TaskStatus::Done,
            Ending::Completed => TaskStatus::Completed,
            Ending::Failed | Ending::Cancelled if has_state(reading, TaskStatus::Failed) => {
                TaskStatus::Failed
            }
            // fal's status has no failed state: it says done, and the result step fails.
            Ending::Failed | Ending::Cancelled => TaskStatus::Done,
            Ending::FailedAtResult if !last && has_state(reading, TaskStatus::Done) => {
                TaskStatus::Done
            }
            Ending::FailedAtResult => TaskStatus::Failed,
        },
    }
}

/// The submit answer: the outputs (sync), or the task id and kept values (and, with
/// `like_first_step`, the first step's answer as it stands).
pub(super) fn submit_answer(job: &Job, d: Duration) -> (u16, Value) {
    let model = job.model;
    let provider = model.provider;
    let r = &model.response;
    let mut doc = Value::Null;
    match r.task_id {
        None => {
            if job.faults.fails {
                return error_answer(provider, FAILED);
            }
            write_result(&mut doc, r.outputs, r.provider_cost, job);
        }
        Some(task_id) => {
            if r.like_first_step
                && let Some(first) = model.steps.first()
                && first.reading.status.is_some()
            {
                let m = meaning(&first.reading, model.steps.len() == 1, job, d);
                write_reading(&mut doc, &first.reading, m, job);
            }
            write_at(&mut doc, task_id, Value::from(job.id.as_str()));
            for ((_, pointer), (_, value)) in r.keep.iter().zip(&job.kept) {
                write_at(&mut doc, pointer, Value::from(value.as_str()));
            }
            write_result(&mut doc, None, r.provider_cost, job);
        }
    }
    envelope(provider, &mut doc);
    (200, doc)
}

/// Step `i`'s answer about the job now.
pub(super) fn step_answer(job: &Job, i: usize, d: Duration) -> (u16, Value) {
    let model = job.model;
    let provider = model.provider;
    let Some(step) = model.steps.get(i) else {
        return (
            404,
            error_body(provider, "mock: no such step", Some(json!(404))),
        );
    };
    let reading = &step.reading;
    let last = i + 1 == model.steps.len();
    let mut doc = Value::Null;
    if reading.status.is_some() {
        write_reading(&mut doc, reading, meaning(reading, last, job, d), job);
    } else if !job.finished(d) {
        // fal's result URL while the job runs.
        let body = error_body(provider, "mock: the job is still running", Some(json!(400)));
        return (400, body);
    } else if job.ending() == Ending::Completed {
        write_result(&mut doc, reading.outputs, reading.provider_cost, job);
    } else {
        // A result that fails: an error status the engine treats as final, with the message
        // where the provider's rule (and the reading) find it.
        let mut body = error_body(provider, job.failure(), Some(json!(422)));
        if provider.errors.is_some() {
            if let Some(at) = reading.error {
                write_at(&mut body, at, Value::from(job.failure()));
            }
            return (422, body);
        }
        match reading.error {
            Some(at) => write_at(&mut doc, at, Value::from(job.failure())),
            None => return (422, body),
        }
    }
    envelope(provider, &mut doc);
    (200, doc)
}

/// The cancel answer; a job that has finished cannot be cancelled.
pub(super) fn cancel_answer(job: &mut Job, d: Duration) -> (u16, Value) {
    let provider = job.model.provider;
    if job.finished(d) && !job.cancelled {
        let body = error_body(provider, "mock: the job already finished", Some(json!(409)));
        return (409, body);
    }
    job.cancelled = true;
    let mut doc = Value::Null;
    envelope(provider, &mut doc);
    (200, doc)
}

/// The webhook delivery about the job: the model's webhook reading (else its last step's)
/// at the job's end, or, `stale`, while it was still processing.
fn delivery(job: &Job, stale: bool) -> Option<Value> {
    let model = job.model;
    let reading = model
        .webhook
        .or_else(|| model.steps.last().map(|s| s.reading))?;
    let mut doc = Value::Null;
    let has = |m| has_state(&reading, m);
    let running = has(TaskStatus::Pending) || has(TaskStatus::Processing);
    if stale && !running {
        // No state to be stale in (fal's `OK | ERROR`).
        return None;
    }
    if reading.status.is_some() {
        let m = match (stale, job.ending()) {
            (true, _) => TaskStatus::Processing,
            (false, Ending::Completed)
                if has(TaskStatus::Completed) && reading.outputs.is_some() =>
            {
                TaskStatus::Completed
            }
            (false, Ending::Completed) if has(TaskStatus::Done) => TaskStatus::Done,
            (false, Ending::Completed) => TaskStatus::Completed,
            (false, Ending::Failed | Ending::Cancelled) if has(TaskStatus::Failed) => {
                TaskStatus::Failed
            }
            (false, Ending::FailedAtResult) if !has(TaskStatus::Done) => TaskStatus::Failed,
            (false, _) => TaskStatus::Done,
        };
        write_reading(&mut doc, &reading, m, job);
    } else if job.ending() == Ending::Completed {
        write_result(&mut doc, reading.outputs, reading.provider_cost, job);
    } else {
        write_failure(&mut doc, &reading, job);
    }
    if let Some(rule) = model.provider.webhook {
        let pointers = rule.task_id;
        let at = if job.faults.task_id_variant {
            pointers.get(1).or(pointers.first())
        } else {
            pointers.first()
        };
        if let Some(at) = at {
            write_at(&mut doc, at, Value::from(job.id.as_str()));
        }
    }
    envelope(model.provider, &mut doc);
    Some(doc)
}

/// Send the job's webhooks once it has finished (plus the injected lateness), by its faults:
/// twice, followed by a stale one, badly signed.
pub(super) async fn send_webhooks(shared: Arc<Shared>, id: String) {
    let first = shared.lock().jobs.get(&id).map(|j| j.faults.late);
    let Some(late) = first else { return };
    tokio::time::sleep(shared.opts.job_duration + late.unwrap_or_default()).await;
    let Some(job) = shared.lock().jobs.get(&id).cloned() else {
        return;
    };
    let Some(url) = job.callback_url.clone() else {
        return;
    };
    let Some(done) = delivery(&job, false) else {
        return;
    };
    let times = if job.faults.twice { 2 } else { 1 };
    for _ in 0..times {
        deliver(&shared, &job, &url, &done).await;
    }
    if job.faults.out_of_order {
        // A stale delivery after the final one; a reading without states repeats the final.
        let stale = delivery(&job, true).unwrap_or(done);
        deliver(&shared, &job, &url, &stale).await;
    }
}

/// POST one delivery, signed by the provider's scheme, and record it.
async fn deliver(shared: &Shared, job: &Job, url: &str, body: &Value) {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let ts = now_secs();
    let bad = job.faults.bad_signature;
    let mut url = url.to_owned();
    let mut headers: Vec<(&str, String)> = vec![("content-type", "application/json".to_owned())];
    match job.model.provider.webhook.map(|w| w.signature) {
        Some(Signature::StandardWebhooks) => {
            let msg_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
            let secret = if bad {
                "whsec_bm90LXRoZS1zZWNyZXQ="
            } else {
                shared.opts.standard_webhooks_secret.as_str()
            };
            let sig = sign_standard_webhooks(secret, &msg_id, ts, &bytes).unwrap_or_default();
            headers.push(("webhook-id", msg_id));
            headers.push(("webhook-timestamp", ts.to_string()));
            headers.push(("webhook-signature", sig));
        }
        Some(Signature::KieHmac) => {
            let key = if bad {
                "not-the-key"
            } else {
                shared.opts.kie_webhook_key.as_str()
            };
            headers.push(("X-Webhook-Timestamp", ts.to_string()));
            headers.push(("X-Webhook-Signature", sign_kie(key, &job.id, ts)));
        }
        Some(Signature::FalEd25519) => {
            let key = if bad {
                ed25519_dalek::SigningKey::from_bytes(&[0x42; 32])
            } else {
                shared.signing.clone()
            };
            headers.push(("X-Fal-Webhook-Request-Id", job.id.clone()));
            headers.push(("X-Fal-Webhook-User-Id", FAL_USER.to_owned()));
            headers.push(("X-Fal-Webhook-Timestamp", ts.to_string()));
            headers.push((
                "X-Fal-Webhook-Signature",
                fal_signature(&key, &job.id, ts, &bytes),
            ));
        }
        Some(Signature::UrlToken) if bad => url = forge_token(&url),
        Some(Signature::UrlToken | Signature::None) | None => {}
    }
    let mut rb = shared.client.post(&url);
    for (name, value) in headers {
        rb = rb.header(name, value);
    }
    let status = match rb.body(bytes).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    };
    shared.lock().webhooks.push(SentWebhook {
        url,
        status,
        body: body.clone(),
    });
}

/// fal's signature: ED25519 over `request_id \n user_id \n timestamp \n hex(sha256(body))`, as
/// 128 hex digits.
fn fal_signature(
    key: &ed25519_dalek::SigningKey,
    request_id: &str,
    ts: i64,
    body: &[u8],
) -> String {
    let digest: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let message = format!("{request_id}\n{FAL_USER}\n{ts}\n{digest}");
    key.sign(message.as_bytes())
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The JWKS document of `key`'s public half.
pub(super) fn jwks(key: &ed25519_dalek::SigningKey) -> String {
    json!({"keys": [{
        "kty": "OKP",
        "crv": "Ed25519",
        "use": "sig",
        "kid": "mock-1",
        "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
    }]})
    .to_string()
}

/// `url` with its `token` query value replaced.
fn forge_token(url: &str) -> String {
    let Ok(mut u) = reqwest::Url::parse(url) else {
        return url.to_owned();
    };
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "token" { "forged".into() } else { v };
            (k.into_owned(), v.into_owned())
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.into()
}
