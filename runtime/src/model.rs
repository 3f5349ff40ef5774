//! The contract between generated executors and the engine.
//!
//! Generated code (`generated/rust`) implements [`Model`] once per model: static facts in a
//! [`ModelInfo`], typed params, request building from the spec's templates, and answer mapping
//! with the helpers of [`crate::answer`]. The engine runs any `Model` (typed entry) or any
//! [`DynModel`] (by id, with JSON params).

use std::fmt::Debug;
use std::marker::PhantomData;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::cost::Formula;
use crate::params::{ParamRule, Violations};

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
    pub params: &'static [ParamRule],
    /// Cost formula.
    pub cost: Formula,
    /// Smoke test.
    pub smoke: Option<Smoke>,
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

/// A request to a provider, relative to its base URL, without the key (the engine adds it).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Path and query, already percent-encoded.
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
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
        /// The provider's task id.
        task_id: String,
        /// What the provider says it charged, when it says so at submit.
        provider_cost: Option<Decimal>,
    },
}

/// What a poll answer or a webhook delivery says.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskState {
    /// Accepted, not started.
    Pending,
    /// Running.
    Processing,
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

/// A model generated from a spec. Implemented by `generated/rust`, run by the engine.
pub trait Model: Send + Sync + 'static {
    /// Typed params: required params are needed to build it, enums are Rust enums.
    type Params: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static;

    /// Static facts.
    const INFO: &'static ModelInfo;

    /// The submit request for `params` (already validated).
    fn submit_request(params: &Self::Params, ctx: &RequestContext) -> HttpRequest;

    /// Read a submit answer whose HTTP status was 2xx and whose body is not a provider error.
    fn read_submit(answer: &Value) -> Result<SubmitAnswer, AnswerError>;

    /// The status request for a task (poll and webhook modes).
    fn poll_request(task_id: &str) -> Option<HttpRequest>;

    /// Read a poll answer or a webhook delivery.
    fn read_task(answer: &Value) -> Result<TaskState, AnswerError>;
}

/// A model behind a pointer, with JSON params: for lookup by id and dynamic callers.
pub trait DynModel: Send + Sync {
    /// Static facts.
    fn info(&self) -> &'static ModelInfo;
    /// Validate JSON params and fill defaults.
    fn validate(&self, params: &Value) -> Result<Map<String, Value>, Violations>;
    /// The submit request for validated params.
    fn submit_request(
        &self,
        params: &Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, Violations>;
    /// See [`Model::read_submit`].
    fn read_submit(&self, answer: &Value) -> Result<SubmitAnswer, AnswerError>;
    /// See [`Model::poll_request`].
    fn poll_request(&self, task_id: &str) -> Option<HttpRequest>;
    /// See [`Model::read_task`].
    fn read_task(&self, answer: &Value) -> Result<TaskState, AnswerError>;
}

/// The [`DynModel`] of a [`Model`]: `static X: Erased<SeedanceV1Lite> = Erased::NEW;`.
pub struct Erased<M>(PhantomData<fn() -> M>);

impl<M> Erased<M> {
    /// The one value.
    pub const NEW: Erased<M> = Erased(PhantomData);
}

impl<M: Model> DynModel for Erased<M> {
    fn info(&self) -> &'static ModelInfo {
        M::INFO
    }
    fn validate(&self, params: &Value) -> Result<Map<String, Value>, Violations> {
        crate::params::validate(M::INFO.params, params)
    }
    fn submit_request(
        &self,
        params: &Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, Violations> {
        let typed: M::Params =
            serde_json::from_value(Value::Object(params.clone())).map_err(|e| {
                Violations(vec![crate::params::Violation {
                    param: String::new(),
                    code: crate::params::Code::Type,
                    message: e.to_string(),
                }])
            })?;
        Ok(M::submit_request(&typed, ctx))
    }
    fn read_submit(&self, answer: &Value) -> Result<SubmitAnswer, AnswerError> {
        M::read_submit(answer)
    }
    fn poll_request(&self, task_id: &str) -> Option<HttpRequest> {
        M::poll_request(task_id)
    }
    fn read_task(&self, answer: &Value) -> Result<TaskState, AnswerError> {
        M::read_task(answer)
    }
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
