//! The contract between generated executors and the engine.
//!
//! Generated code (`generated/rust`) implements [`Model`] once per model: static facts in a
//! [`ModelInfo`], typed params, request building from the spec's templates, and answer mapping
//! with the helpers of [`crate::answer`]. The engine runs any `Model` (typed entry) or any
//! [`DynModel`] (by id, with JSON params).

use std::fmt::Debug;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::cost::{CostError, Credits, Formula};
use crate::params::{ParamRule, Violations};
use crate::template::{RequestTemplate, Values};

/// What a model produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    /// Images.
    Image,
    /// Videos.
    Video,
    /// Audio.
    Audio,
    /// Text.
    Text,
}

/// How a model is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The submit answer holds the result.
    Sync,
    /// Submit, then poll.
    Poll,
    /// Submit with a callback URL; poll as a fallback.
    Webhook,
}

/// How the API key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `<name>: <prefix><key>`.
    Header {
        /// Header name.
        name: &'static str,
        /// Text before the key.
        prefix: &'static str,
    },
    /// `?<name>=<key>`.
    Query {
        /// Parameter name.
        name: &'static str,
    },
}

/// How a provider reports errors in answer bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorRule {
    /// Pointer to the message.
    pub message: &'static str,
    /// Pointer to the code.
    pub code: Option<&'static str>,
    /// Codes (as JSON text, `"200"`) that mean success; empty: a present message is an error.
    pub ok_codes: &'static [&'static str],
}

/// Webhook authentication schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// Unauthenticated; confirmed by polling.
    None,
    /// A secret token in the callback URL.
    UrlToken,
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    StandardWebhooks,
    /// KIE: HMAC-SHA256 of `taskId.timestamp`.
    KieHmac,
    /// fal: ED25519 over `request_id \n user_id \n timestamp \n hex(sha256(body))`, checked
    /// against the public keys of a JWKS document from configuration.
    FalEd25519,
}

/// How a provider delivers webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookRule {
    /// Authentication.
    pub signature: Signature,
    /// Secret name (environment variable) of the signing key.
    pub secret_name: Option<&'static str>,
    /// Pointers tried in order for the task id.
    pub task_id: &'static [&'static str],
    /// Confirm a delivery by a poll before trusting it.
    pub confirm_by_poll: bool,
    /// Reject deliveries older than this.
    pub tolerance: Option<Duration>,
}

/// Static facts about a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderInfo {
    /// Provider id.
    pub id: &'static str,
    /// Display name.
    pub display_name: &'static str,
    /// Default base URL (overridable at run time).
    pub base_url: &'static str,
    /// Key placement.
    pub auth: Auth,
    /// Error detection in bodies.
    pub errors: Option<ErrorRule>,
    /// Webhook delivery.
    pub webhook: Option<WebhookRule>,
    /// A submit may be retried safely.
    pub idempotent_submit: bool,
    /// Hosts besides the base URL's that a whole URL taken from an answer may point to
    /// (`https` only). A URL off these hosts is refused before the key is sent.
    pub allowed_hosts: &'static [&'static str],
    /// Limits on the traffic sent to the provider.
    pub limits: Limits,
}

/// Limits on the traffic sent to a provider, enforced per engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Requests in flight to the provider at once; more wait (within their deadline).
    pub concurrency: Option<u32>,
    /// Stop starting generations while the provider keeps failing.
    pub circuit_breaker: Option<CircuitBreaker>,
}

impl Limits {
    /// No limits.
    pub const NONE: Limits = Limits {
        concurrency: None,
        circuit_breaker: None,
    };
}

/// A circuit breaker (after Portkey's `cb_config`): once `min_requests` requests in `window`
/// saw `failure_rate` percent or more failures (transport errors, timeouts, 429 and 5xx), no
/// new generation starts for `cooldown`; then requests go through again, and the first result
/// closes the breaker (a success) or opens it again (a failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreaker {
    /// Percent of failed requests that opens the breaker (1 to 100).
    pub failure_rate: u32,
    /// Requests in the window before the rate counts.
    pub min_requests: u32,
    /// The window the rate is measured over.
    pub window: Duration,
    /// How long the breaker stays open.
    pub cooldown: Duration,
}

/// Poll pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollTiming {
    /// First interval (doubles each time).
    pub interval: Duration,
    /// Longest interval.
    pub max_interval: Duration,
}

/// A smoke test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smoke {
    /// Params as JSON text.
    pub params: &'static str,
    /// Deadline.
    pub within: Duration,
}

/// Static facts about a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// Model id.
    pub id: &'static str,
    /// Display name.
    pub display_name: &'static str,
    /// Description.
    pub description: Option<&'static str>,
    /// Its provider.
    pub provider: &'static ProviderInfo,
    /// What it produces.
    pub content_type: ContentType,
    /// Key scope name.
    pub key_scope: &'static str,
    /// Secret name the scope resolves to (never the value).
    pub secret_name: &'static str,
    /// Execution mode.
    pub mode: Mode,
    /// Offered and runnable; `false` = rolled back.
    pub enabled: bool,
    /// Typical latency.
    pub expected_latency: Duration,
    /// Give up after.
    pub timeout: Duration,
    /// Poll pacing (poll and webhook modes).
    pub poll: Option<PollTiming>,
    /// Param rules, in form order.
    pub params: &'static [ParamRule<'static>],
    /// Cost formula.
    pub cost: Formula<'static>,
    /// Smoke test.
    pub smoke: Option<Smoke>,
    /// The request that starts a generation.
    pub submit: RequestTemplate<'static>,
    /// Reading the submit answer.
    pub response: SubmitReading<'static>,
    /// The requests after the submit, in order (poll and webhook modes). Each is repeated
    /// until its answer says the task is done; then the next runs. The last one's answer holds
    /// the result: fal polls its status URL, then fetches the result URL.
    pub steps: &'static [StepReading<'static>],
    /// How a webhook delivery is read; `None`: like the last step's answer.
    pub webhook: Option<Reading<'static>>,
    /// The request that cancels a task.
    pub cancel: Option<RequestTemplate<'static>>,
}

/// Our four states, as a provider state maps to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Accepted, not started.
    Pending,
    /// Running.
    Processing,
    /// Finished with outputs.
    Completed,
    /// Finished with a failure.
    Failed,
    /// Finished, success or failure unknown yet: the next step tells (fal's `COMPLETED`, which
    /// it also says of a failed job). Only in a step that another step follows.
    Done,
}

/// Where outputs are in an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputsAt<'a> {
    /// Pointer (a `*` segment stands for every element).
    pub at: &'a str,
    /// The value is a JSON document in a string, parsed first.
    pub json_string: bool,
    /// Pointer inside the parsed string.
    pub then: Option<&'a str>,
    /// What the values are.
    pub kind: OutputKind,
}

impl OutputsAt<'_> {
    /// The outputs of `answer`.
    pub fn read(&self, answer: &Value) -> Result<Vec<Output>, AnswerError> {
        crate::answer::outputs(answer, self.at, self.json_string, self.then, self.kind)
    }
}

/// Where the provider reports what it charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderCostAt<'a> {
    /// Pointer to the amount.
    pub at: &'a str,
    /// Credits per provider unit, a decimal string.
    pub credits_per_unit: &'a str,
}

impl ProviderCostAt<'_> {
    /// The reported cost in credits, when `answer` has one.
    pub fn read(&self, answer: &Value) -> Option<Decimal> {
        crate::answer::provider_cost(answer, self.at, self.credits_per_unit)
    }
}

/// How a submit answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitReading<'a> {
    /// The task id (poll and webhook modes).
    pub task_id: Option<&'a str>,
    /// The outputs (sync mode).
    pub outputs: Option<OutputsAt<'a>>,
    /// The provider-reported cost.
    pub provider_cost: Option<ProviderCostAt<'a>>,
    /// Values kept from the answer for later requests, `(name, pointer)`: fal's `status_url`,
    /// `response_url` and `cancel_url`.
    pub keep: &'a [(&'a str, &'a str)],
    /// The answer may already be the first step's answer (Replicate with `Prefer: wait`): it is
    /// read like one too, and a finished task ends the generation without a poll.
    pub like_first_step: bool,
}

/// A request after the submit and the reading of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepReading<'a> {
    /// The request; the task id and the kept values are available to it.
    pub request: RequestTemplate<'a>,
    /// Its answer.
    pub reading: Reading<'a>,
}

/// How a step's answer or a webhook delivery is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading<'a> {
    /// Pointer to the provider's state. `None`: every 2xx answer is final, completed when it
    /// has outputs and failed when it has an error message (fal's result URL).
    pub status: Option<&'a str>,
    /// Provider state -> what it means, in the spec's order.
    pub states: &'a [(&'a str, TaskStatus)],
    /// The outputs once completed; `None` in a step that another step follows.
    pub outputs: Option<OutputsAt<'a>>,
    /// The failure message.
    pub error: Option<&'a str>,
    /// The failure code.
    pub error_code: Option<&'a str>,
    /// The provider-reported cost.
    pub provider_cost: Option<ProviderCostAt<'a>>,
}

impl Reading<'_> {
    /// What `answer` says of the task.
    pub fn read(&self, answer: &Value) -> Result<TaskState, AnswerError> {
        let Some(status) = self.status else {
            let outputs = self.outputs.map(|o| o.read(answer));
            return match outputs {
                Some(Ok(outputs)) => Ok(TaskState::Done(self.completed(answer, outputs))),
                found => match self.failure(answer) {
                    Some(failed) => Ok(TaskState::Done(failed)),
                    None => Err(found
                        .and_then(Result::err)
                        .unwrap_or(AnswerError::NoOutputs)),
                },
            };
        };
        let state = crate::answer::state(answer, status)?;
        let Some((_, mapped)) = self.states.iter().find(|(name, _)| *name == state) else {
            return Err(AnswerError::UnknownState(state));
        };
        Ok(match mapped {
            TaskStatus::Pending => TaskState::Pending,
            TaskStatus::Processing => TaskState::Processing,
            TaskStatus::Done => TaskState::Ready,
            TaskStatus::Completed => {
                let outputs = self.outputs.ok_or(AnswerError::NoOutputs)?.read(answer)?;
                TaskState::Done(self.completed(answer, outputs))
            }
            TaskStatus::Failed => {
                TaskState::Done(self.failure(answer).unwrap_or_else(|| Outcome::Failed {
                    message: "the provider reported a failure".to_owned(),
                    code: self.code(answer),
                }))
            }
        })
    }

    fn completed(&self, answer: &Value, outputs: Vec<Output>) -> Outcome {
        Outcome::Completed {
            outputs,
            provider_cost: self.provider_cost.and_then(|c| c.read(answer)),
        }
    }

    /// The failure `answer` reports, when it has a message.
    fn failure(&self, answer: &Value) -> Option<Outcome> {
        let message = self.error.and_then(|p| crate::answer::message(answer, p))?;
        Some(Outcome::Failed {
            message,
            code: self.code(answer),
        })
    }

    fn code(&self, answer: &Value) -> Option<String> {
        self.error_code
            .and_then(|p| crate::answer::message(answer, p))
    }
}

/// HTTP methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
}

/// A request to a provider, without the key (the engine adds it).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Path and query under the base URL, already percent-encoded; or, when `whole_url`, a
    /// whole URL taken from an answer, which the engine checks against the provider's hosts.
    pub path: String,
    /// `path` is a whole URL.
    pub whole_url: bool,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<Value>,
}

/// Values the engine supplies to request templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// A fresh UUID v4 for this request.
    pub uuid: String,
    /// This generation's webhook URL (webhook models).
    pub callback_url: Option<String>,
}

/// A task the provider accepted: its id and the values kept from the submit answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Task {
    /// The provider's task id.
    pub id: String,
    /// Kept values by name (strings; numbers as text).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub kept: std::collections::BTreeMap<String, String>,
}

impl Task {
    /// A task known by its id alone.
    pub fn new(id: impl Into<String>) -> Self {
        Task {
            id: id.into(),
            kept: Default::default(),
        }
    }
}

/// One output of a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Output {
    /// What `value` is.
    pub kind: OutputKind,
    /// A URL, a `data:` URL, base64 or text.
    pub value: String,
}

/// Output kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// An http(s) URL.
    Url,
    /// A `data:` URL.
    DataUrl,
    /// Bare base64.
    Base64,
    /// Text.
    Text,
}

/// How a generation ended, as the provider said.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Done with outputs.
    Completed {
        /// The outputs (at least one).
        outputs: Vec<Output>,
        /// What the provider says it charged, in credits.
        provider_cost: Option<Decimal>,
    },
    /// The provider reports a failure.
    Failed {
        /// Its message.
        message: String,
        /// Its code.
        code: Option<String>,
    },
}

/// What a submit answer says.
#[derive(Debug, Clone, PartialEq)]
pub enum SubmitAnswer {
    /// Sync models: the result.
    Done(Outcome),
    /// Async models: the provider accepted a task.
    Accepted {
        /// The task.
        task: Task,
        /// What the provider says it charged, when it says so at submit.
        provider_cost: Option<Decimal>,
        /// The step to run first: 1 when the submit answer already said the first step is
        /// done (`like_first_step`), else 0.
        next_step: usize,
    },
}

/// What a poll answer or a webhook delivery says.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskState {
    /// Accepted, not started.
    Pending,
    /// Running.
    Processing,
    /// This step is done: run the next one.
    Ready,
    /// Finished.
    Done(Outcome),
}

/// An answer that does not have the shape the spec promises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// Nothing at a pointer the spec names.
    #[error("the answer has nothing at `{0}`")]
    Missing(String),
    /// A value of the wrong type.
    #[error("the answer has {found} at `{pointer}`, expected {expected}")]
    WrongType {
        /// Where.
        pointer: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// A JSON string that does not parse.
    #[error("the JSON string at `{0}` does not parse")]
    BadJsonString(String),
    /// A provider state the spec does not map.
    #[error("unknown provider state `{0}`")]
    UnknownState(String),
    /// A completed task without outputs.
    #[error("the task completed without outputs")]
    NoOutputs,
}

/// Params of a model, typed: built and checked by generated code, seen by the rules as JSON.
pub trait Params: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static {
    /// The params as the rules see them: a JSON object with every default filled in.
    fn to_json(&self) -> Map<String, Value>;
}

/// A model generated from a spec: a typed params type and its static [`ModelInfo`]. Everything
/// else (requests, answer reading, cost) is the data in `INFO`, interpreted by this crate.
pub trait Model: Send + Sync + 'static {
    /// Typed params: required params are needed to build it, enums are Rust enums.
    type Params: Params;

    /// Static facts and the protocol as data.
    const INFO: &'static ModelInfo;

    /// The submit request for `params` (already checked when they were built).
    fn submit_request(params: &Self::Params, ctx: &RequestContext) -> HttpRequest {
        Self::INFO.submit_request(&params.to_json(), ctx)
    }

    /// The exact credit cost of a generation with `params`.
    fn cost(params: &Self::Params) -> Result<Credits, CostError> {
        Self::INFO.cost(&params.to_json())
    }

    /// See [`ModelInfo::read_submit`].
    fn read_submit(answer: &Value) -> Result<SubmitAnswer, AnswerError> {
        Self::INFO.read_submit(answer)
    }

    /// See [`ModelInfo::poll_request`].
    fn poll_request(task_id: &str) -> Option<HttpRequest> {
        Self::INFO.poll_request(task_id)
    }

    /// See [`ModelInfo::read_step`].
    fn read_task(answer: &Value) -> Result<TaskState, AnswerError> {
        Self::INFO.read_step(0, answer)
    }
}

impl ModelInfo {
    /// Check JSON params against the rules and fill defaults.
    pub fn validate(&self, params: &Value) -> Result<Map<String, Value>, Violations> {
        crate::params::validate(self.params, params)
    }

    /// The exact cost of checked params (defaults filled in).
    pub fn cost(&self, params: &Map<String, Value>) -> Result<Credits, CostError> {
        crate::cost::compute(&self.cost, params)
    }

    /// The submit request for checked params (defaults filled in).
    pub fn submit_request(&self, params: &Map<String, Value>, ctx: &RequestContext) -> HttpRequest {
        self.submit.render(&Values {
            params,
            ctx: Some(ctx),
            task: None,
        })
    }

    /// The first step's request for a task known by its id (poll and webhook modes).
    pub fn poll_request(&self, task_id: &str) -> Option<HttpRequest> {
        self.step_request(0, &Task::new(task_id))
    }

    /// Step `i`'s request for `task`.
    pub fn step_request(&self, i: usize, task: &Task) -> Option<HttpRequest> {
        Some(self.steps.get(i)?.request.render(&task_values(task)))
    }

    /// The cancel request for `task`, when the model has one.
    pub fn cancel_request(&self, task: &Task) -> Option<HttpRequest> {
        Some(self.cancel.as_ref()?.render(&task_values(task)))
    }

    /// Read a submit answer whose HTTP status was 2xx and whose body is not a provider error.
    pub fn read_submit(&self, answer: &Value) -> Result<SubmitAnswer, AnswerError> {
        let r = &self.response;
        let provider_cost = r.provider_cost.and_then(|c| c.read(answer));
        let Some(task_id) = r.task_id else {
            let outputs = r.outputs.ok_or(AnswerError::NoOutputs)?;
            return Ok(SubmitAnswer::Done(Outcome::Completed {
                outputs: outputs.read(answer)?,
                provider_cost,
            }));
        };
        let mut next_step = 0;
        if r.like_first_step
            && let Some(first) = self.steps.first()
        {
            match first.reading.read(answer)? {
                TaskState::Done(outcome) => return Ok(SubmitAnswer::Done(outcome)),
                TaskState::Ready => next_step = 1,
                TaskState::Pending | TaskState::Processing => {}
            }
        }
        let mut kept = std::collections::BTreeMap::new();
        for (name, pointer) in r.keep {
            kept.insert((*name).to_owned(), crate::answer::string(answer, pointer)?);
        }
        Ok(SubmitAnswer::Accepted {
            task: Task {
                id: crate::answer::string(answer, task_id)?,
                kept,
            },
            provider_cost,
            next_step,
        })
    }

    /// Read step `i`'s answer.
    pub fn read_step(&self, i: usize, answer: &Value) -> Result<TaskState, AnswerError> {
        match self.steps.get(i) {
            Some(step) => step.reading.read(answer),
            None => self.read_as_submit(answer),
        }
    }

    /// Read a webhook delivery: by the model's webhook reading, else like the last step's
    /// answer (a sync model's like a submit answer). `Ready` means: run the last step now.
    pub fn read_delivery(&self, answer: &Value) -> Result<TaskState, AnswerError> {
        match (&self.webhook, self.steps.last()) {
            (Some(reading), _) => reading.read(answer),
            (None, Some(last)) => last.reading.read(answer),
            (None, None) => self.read_as_submit(answer),
        }
    }

    fn read_as_submit(&self, answer: &Value) -> Result<TaskState, AnswerError> {
        Ok(match self.read_submit(answer)? {
            SubmitAnswer::Done(outcome) => TaskState::Done(outcome),
            SubmitAnswer::Accepted { .. } => TaskState::Pending,
        })
    }
}

fn task_values(task: &Task) -> Values<'_> {
    Values {
        params: empty_params(),
        ctx: None,
        task: Some(task),
    }
}

fn empty_params() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

/// Percent-encode `text` for a URL path segment or query value: every byte except the RFC 3986
/// unreserved characters (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`. Generated request builders call
/// it for every placeholder in a path.
pub fn encode_component(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URLS: OutputsAt<'static> = OutputsAt {
        at: "/images/*/url",
        json_string: false,
        then: None,
        kind: OutputKind::Url,
    };

    /// fal's queue: the status step says `done` even for a failed job; the result says how.
    const STATUS: Reading<'static> = Reading {
        status: Some("/status"),
        states: &[
            ("IN_QUEUE", TaskStatus::Pending),
            ("IN_PROGRESS", TaskStatus::Processing),
            ("COMPLETED", TaskStatus::Done),
        ],
        outputs: None,
        error: None,
        error_code: None,
        provider_cost: None,
    };
    const RESULT: Reading<'static> = Reading {
        status: None,
        states: &[],
        outputs: Some(URLS),
        error: Some("/detail"),
        error_code: None,
        provider_cost: None,
    };

    #[test]
    fn a_status_step_reports_done_and_the_result_step_tells_how() {
        assert_eq!(
            STATUS.read(&json!({"status": "IN_QUEUE"})),
            Ok(TaskState::Pending)
        );
        assert_eq!(
            STATUS.read(&json!({"status": "COMPLETED"})),
            Ok(TaskState::Ready)
        );
        assert_eq!(
            STATUS.read(&json!({"status": "LOST"})),
            Err(AnswerError::UnknownState("LOST".into()))
        );
        assert_eq!(
            RESULT.read(&json!({"images": [{"url": "https://a"}]})),
            Ok(TaskState::Done(Outcome::Completed {
                outputs: vec![Output {
                    kind: OutputKind::Url,
                    value: "https://a".into()
                }],
                provider_cost: None
            }))
        );
        assert_eq!(
            RESULT.read(&json!({"detail": "NSFW"})),
            Ok(TaskState::Done(Outcome::Failed {
                message: "NSFW".into(),
                code: None
            }))
        );
        // Neither outputs nor an error: a malformed answer, not a success.
        assert_eq!(
            RESULT.read(&json!({"images": []})),
            Err(AnswerError::Missing("/images/*/url".into()))
        );
        assert_eq!(
            RESULT.read(&json!({})),
            Err(AnswerError::Missing("/images/*/url".into()))
        );
    }

    #[test]
    fn kept_values_fill_later_requests_and_like_first_step_skips_polling() {
        let provider = ProviderInfo {
            id: "q",
            display_name: "q",
            base_url: "https://q.test",
            auth: Auth::Bearer,
            errors: None,
            webhook: None,
            idempotent_submit: false,
            allowed_hosts: &[],
            limits: Limits::NONE,
        };
        let step = |reading| StepReading {
            request: RequestTemplate {
                method: Method::Get,
                path: &[crate::template::Segment::Slot(crate::template::Slot::Kept(
                    "status_url",
                ))],
                whole_url: true,
                headers: &[],
                body: None,
            },
            reading,
        };
        let steps: &'static [StepReading<'static>] =
            Box::leak(Box::new([step(STATUS), step(RESULT)]));
        let info = ModelInfo {
            id: "q_model",
            display_name: "q",
            description: None,
            provider: Box::leak(Box::new(provider)),
            content_type: ContentType::Image,
            key_scope: "s",
            secret_name: "S",
            mode: Mode::Poll,
            enabled: true,
            expected_latency: Duration::from_secs(1),
            timeout: Duration::from_secs(9),
            poll: None,
            params: &[],
            cost: Formula {
                base: "1",
                multipliers: &[],
                round: crate::cost::Round::Ceil,
                scale: 0,
            },
            smoke: None,
            submit: RequestTemplate {
                method: Method::Post,
                path: &[crate::template::Segment::Text("/q")],
                whole_url: false,
                headers: &[],
                body: None,
            },
            response: SubmitReading {
                task_id: Some("/request_id"),
                outputs: None,
                provider_cost: None,
                keep: &[("status_url", "/status_url")],
                like_first_step: true,
            },
            steps,
            webhook: None,
            cancel: None,
        };
        let accepted = info
            .read_submit(&json!({"request_id": "r1", "status_url": "https://q.test/r1?a=b c", "status": "IN_PROGRESS"}))
            .unwrap();
        let SubmitAnswer::Accepted {
            task, next_step, ..
        } = accepted
        else {
            panic!("accepted expected")
        };
        assert_eq!((task.id.as_str(), next_step), ("r1", 0));
        // A whole URL is used as given, not percent-encoded.
        let req = info.step_request(0, &task).unwrap();
        assert_eq!(
            (req.path.as_str(), req.whole_url),
            ("https://q.test/r1?a=b c", true)
        );
        // Already done at submit: the first step is skipped.
        let ready = info
            .read_submit(&json!({"request_id": "r1", "status_url": "u", "status": "COMPLETED"}))
            .unwrap();
        assert!(matches!(ready, SubmitAnswer::Accepted { next_step: 1, .. }));
        // A kept value the answer lacks is a malformed answer.
        assert_eq!(
            info.read_submit(&json!({"request_id": "r1", "status": "IN_QUEUE"})),
            Err(AnswerError::Missing("/status_url".into()))
        );
        // Webhook deliveries default to the last step's reading.
        assert!(matches!(
            info.read_delivery(&json!({"detail": "boom"})),
            Ok(TaskState::Done(Outcome::Failed { .. }))
        ));
    }
}
