//! The serde types of the three kinds of spec file.
//!
//! These types are the single source of truth for the spec format: the JSON Schemas in
//! `schema/` are derived from them with schemars, and the doc comments below become the
//! schema's descriptions (and, through it, editor hover text and `schema/SPEC.md`).
//!
//! Shapes that JSON Schema cannot check well (which fields fit which param type, which
//! multiplier kind is used) are kept flat here and checked by `lower`, which gives a precise
//! message instead of a `oneOf` failure.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A decimal number written as a string (`"8"`, `"1.5"`, `"0.0035"`), so that it is exact.
pub type DecimalString = String;

/// A duration such as `10s`, `4m`, `1h` or `1m30s`.
pub type DurationString = String;

/// A JSON pointer (RFC 6901) into a provider's answer, such as `/data/taskId`. A segment `*`
/// stands for every element of an array (`/data/*/imageURL`).
pub type Pointer = String;

// ---------------------------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------------------------

/// A provider: where its API lives, how it authenticates, which secrets it uses, and how its
/// answers report errors. One file per provider under `models/providers/`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Provider spec")]
pub struct ProviderSpec {
    /// Unique provider id in snake_case; models name it in `provider`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub id: String,
    /// Human-readable name.
    pub display_name: String,
    /// What the provider is, for the catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Base URL of the API, without a trailing slash, such as `https://api.kie.ai`. The runtime
    /// can override it per provider (for the mock provider or a proxy).
    #[schemars(regex(pattern = r"^https?://[^\s/]+(/[^\s]*[^/\s])?$"))]
    pub base_url: String,
    /// How the API key is sent.
    pub auth: AuthSpec,
    /// Use case -> name of the secret (environment variable) that holds its API key. A model
    /// names one of these scopes in `key_scope`; the key of one scope is never used for another.
    #[schemars(length(min = 1))]
    pub key_scopes: BTreeMap<String, String>,
    /// How to tell an error from a success in this provider's answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<ErrorSpec>,
    /// How this provider delivers and signs webhooks, for models in `webhook` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookSpec>,
    /// Requests carry an idempotency key, so a submit may be retried safely after a lost
    /// answer. Without it, a submit the provider may have accepted is never retried.
    #[serde(default)]
    pub idempotent_submit: bool,
    /// Hosts besides `base_url`'s that a whole URL taken from an answer (`url: "{{ kept.status_url
    /// }}"`) may point to, such as `cdn.example.com`; `https` on port 443 only. Any other URL is
    /// refused before the API key is sent, whatever an answer says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// Limits on the traffic the runtime sends to this provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsSpec>,
}

/// Limits on the traffic sent to a provider, enforced by each runtime instance.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Requests in flight to the provider at once; more wait for a free slot, within their
    /// generation's timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub concurrency: Option<u32>,
    /// Stop starting generations while the provider keeps failing: new ones are refused at
    /// once with a clear error (the server answers 503), never left to hang.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreakerSpec>,
}

/// A circuit breaker, after Portkey's `cb_config`: once `min_requests` requests within
/// `window` saw `failure_rate` percent or more failures (transport errors, timeouts, 429 and
/// 5xx answers), no new generation starts for `cooldown`. Then requests go through again; the
/// first result closes the breaker or opens it again. Running generations keep polling.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreakerSpec {
    /// Percent of failed requests that opens the breaker.
    #[schemars(range(min = 1, max = 100))]
    pub failure_rate: u32,
    /// Requests within the window before the rate counts.
    #[serde(default = "d_min_requests")]
    #[schemars(range(min = 1))]
    pub min_requests: u32,
    /// The window the failure rate is measured over.
    #[serde(default = "d_window")]
    pub window: DurationString,
    /// How long the breaker stays open.
    #[serde(default = "d_cooldown")]
    pub cooldown: DurationString,
}

fn d_min_requests() -> u32 {
    10
}
fn d_window() -> String {
    "1m".into()
}
fn d_cooldown() -> String {
    "30s".into()
}

/// How the API key is sent.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    /// `bearer`: `Authorization: Bearer <key>`; `header`: the key alone in the header `name`;
    /// `query`: the key in the query parameter `name`.
    #[serde(rename = "type")]
    pub kind: AuthKind,
    /// Header or query parameter name, for `header` and `query`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Text before the key in a `header` (fal sends `Authorization: Key <key>`: `prefix: "Key "`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// How the API key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// The key alone in a header named by `name`.
    Header,
    /// The key in a query parameter named by `name`.
    Query,
}

/// How a provider reports errors in an answer body. An answer is an error when its HTTP status
/// is not 2xx; or, when `ok_codes` is set, when the body's `code` is not one of them (KIE
/// answers HTTP 200 with `"code": 422`); or, without `ok_codes`, when `message` is present.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// Pointer to the error message.
    pub message: Pointer,
    /// Pointer to the provider's error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Pointer>,
    /// Codes at `code` that mean success.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ok_codes: Vec<serde_json::Value>,
}

/// How a provider delivers webhooks.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// How deliveries are authenticated.
    pub signature: SignatureScheme,
    /// Key scope (in `key_scopes`) of the signing secret, for `standard_webhooks` and
    /// `kie_hmac`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_scope: Option<String>,
    /// Pointers tried in order to find the task id in a delivery (some callbacks name it
    /// `taskId`, some `task_id`).
    #[schemars(length(min = 1))]
    pub task_id: Vec<Pointer>,
    /// The body is not covered by the signature: confirm a delivery's result with a poll before
    /// trusting it.
    #[serde(default)]
    pub confirm_by_poll: bool,
    /// Deliveries older than this are rejected (replay protection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<DurationString>,
}

/// Webhook authentication schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignatureScheme {
    /// Not authenticated: only safe together with `confirm_by_poll`.
    None,
    /// A secret token in the callback URL's query string (`?token=`), compared in constant time.
    UrlToken,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` headers,
    /// HMAC-SHA256 over `id.timestamp.body` with the base64 part of a `whsec_` secret.
    StandardWebhooks,
    /// KIE: `X-Webhook-Timestamp` and `X-Webhook-Signature` = base64(HMAC-SHA256(key,
    /// taskId + "." + timestamp)). The body is not signed.
    KieHmac,
    /// fal: `X-Fal-Webhook-Request-Id`, `-User-Id`, `-Timestamp` and `-Signature` (hex ED25519
    /// over `request_id \n user_id \n timestamp \n hex(sha256(body))`), checked against the
    /// public keys of a JWKS document. `secret_scope` names the scope whose secret is the JWKS
    /// document's environment variable (or `<NAME>_FILE`, a path to it); nothing is fetched at
    /// run time.
    FalEd25519,
}

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

/// A generation model: its params, its credit cost, and how to call the provider. One file per
/// model under `models/<provider>/`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Model spec")]
pub struct ModelSpec {
    /// Unique model id in snake_case, stable forever: it is stored in every generation record.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub id: String,
    /// Name shown in the model dropdown.
    pub display_name: String,
    /// What the model does, shown to users and in doc comments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Provider id (a file under `models/providers/`).
    pub provider: String,
    /// What the model produces.
    pub content_type: ContentType,
    /// The provider key scope whose secret this model uses.
    pub key_scope: String,
    /// `false` rolls the model back: it stays in the registry but is not offered and not run.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The model's params, in the order a form shows them.
    #[serde(default)]
    pub params: IndexMap<String, ParamSpec>,
    /// Credit cost: `base` times every multiplier, then rounded.
    pub cost: CostSpec,
    /// How the provider is called and how its answers are read.
    pub execution: ExecutionSpec,
    /// The smoke test run after a deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke: Option<SmokeSpec>,
}

fn default_true() -> bool {
    true
}

/// What a model produces.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
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

/// One param. Which bounds apply depends on `type`: `min_length`/`max_length` for `string`;
/// `min`/`max`/`step` for `integer` and `decimal`, and `values` for `integer` and `enum`;
/// `min_items`/`max_items`/`items` for `array`; `fields` for `object`; `options` for `one_of`.
///
/// The same shape describes an object's field (`type`, `required`, `default`, `description`
/// and the bounds of its type) and an option of a `one_of` (`type`, `description` and the
/// bounds; an option is chosen, never required, and has no default of its own).
///
/// ```yaml
/// image_size:
///   type: one_of
///   options:
///     preset: { type: enum, values: [square_hd, landscape_4_3] }
///     custom:
///       type: object
///       fields:
///         width:  { type: integer, min: 64, max: 14142, required: true }
///         height: { type: integer, min: 64, max: 14142, required: true }
///   default: landscape_4_3
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// The param's type.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// A call without this param (an object without this field) is invalid. A required param
    /// or field has no default.
    #[serde(default)]
    pub required: bool,
    /// Value used when the caller gives none. For an `object`, a mapping of its fields (absent
    /// fields take their own defaults); for a `one_of`, a value one of its options accepts
    /// (`landscape_4_3`, or `{ width: 1024, height: 768 }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// Help text shown next to the form field and in doc comments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Shortest allowed string, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Longest allowed string, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Smallest allowed number (inclusive). For `decimal`, a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<serde_json::Value>,
    /// Largest allowed number (inclusive). For `decimal`, a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<serde_json::Value>,
    /// The number must be a multiple of this (such as 64 for image sizes). For `decimal`, a
    /// decimal string such as `"0.1"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<serde_json::Value>,
    /// The allowed values: strings for `enum`, integers for an `integer` with a fixed set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<serde_json::Value>>,
    /// Fewest array items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u32>,
    /// Most array items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    /// Item type of an `array`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<ItemType>,
    /// The fields of an `object`, in order: field name (snake_case) -> its spec, of a scalar
    /// type (`string`, `integer`, `decimal`, `enum`, `boolean`, `image_url`). The value is a
    /// JSON object with these fields and no others; a field marked `required` must be given,
    /// an absent field takes its `default`, and an absent optional field without one is left
    /// out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<IndexMap<String, ParamSpec>>,
    /// The options of a `one_of`, in order: option name (snake_case) -> its spec, of a scalar
    /// type or `object` (not another `one_of`, not an `array`). The options must take
    /// different JSON types (string for `string`, `enum` and `image_url`; number for
    /// `integer`; string and number for `decimal`; boolean; object), because a value's JSON
    /// type alone chooses its option, the same way in Rust, TypeScript and SQL. The param's
    /// `default` must be valid under one option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<IndexMap<String, ParamSpec>>,
    /// How the value is sent: `string` sends a number or boolean as a JSON string (KIE takes
    /// `"duration": "5"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_as: Option<SendAs>,
}

/// Param types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// An exact decimal number (written as a string in the spec).
    Decimal,
    /// One of a fixed set of strings (`values`).
    Enum,
    /// `true` or `false`.
    Boolean,
    /// An `http(s)` URL of an input image.
    ImageUrl,
    /// A list of `items`.
    Array,
    /// A JSON object with the named `fields` and no others, such as `{ width, height }`.
    Object,
    /// One of several `options` of different JSON types, such as a preset name or an
    /// `object` of a custom size.
    OneOf,
}

/// Array item types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    /// Text items.
    String,
    /// Image URL items.
    ImageUrl,
}

/// How a param value is put into a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendAs {
    /// As a JSON string.
    String,
}

/// Credit cost: `base` times every multiplier, rounded once at the end by `round` to `scale`
/// decimal places. Computed exactly (no binary floating point) and identically in Rust,
/// TypeScript and SQL.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostSpec {
    /// Base credits, a non-negative decimal string such as `"8"` or `"0.5"`.
    pub base: DecimalString,
    /// Factors applied to `base`, in order.
    #[serde(default)]
    pub multipliers: Vec<MultiplierSpec>,
    /// Rounding of the final amount.
    #[serde(default)]
    pub round: RoundMode,
    /// Decimal places kept after rounding (0 = whole credits).
    #[serde(default)]
    #[schemars(range(max = 6))]
    pub scale: u32,
}

/// One cost factor. Give exactly one of `table`, `per` or `count`. With `field`, the factor
/// reads that field of an `object` param instead of the whole param, and the field's type
/// decides which factors fit: `{ param: size, field: width, per: 512 }`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MultiplierSpec {
    /// The param the factor depends on.
    pub param: String,
    /// A field of `param`, which must be an `object`: the factor depends on that field. The
    /// field must be required or have a default, so the cost is always defined. A `one_of`
    /// param has no `field` multipliers (its fields exist for one option only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Factor per value of an `enum`, `boolean` or fixed-set `integer` param; every value needs
    /// an entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<IndexMap<String, DecimalString>>,
    /// Ratio: the factor is `param / per` (`duration` with `per: 5` doubles a 10 s video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub per: Option<u64>,
    /// Count: the factor is the param's value (an integer) or its number of items (an array).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<bool>,
}

/// How a credit amount is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoundMode {
    /// Toward positive infinity (never undercharge).
    #[default]
    Ceil,
    /// Toward zero.
    Floor,
    /// To nearest, halves away from zero.
    HalfUp,
    /// To nearest, halves to even.
    HalfEven,
}

/// How a model is executed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutionSpec {
    /// `sync`: the answer to the request holds the result. `poll`: submit, then poll for the
    /// result. `webhook`: submit with a callback URL and wait for the delivery, polling as a
    /// fallback.
    pub mode: ExecutionMode,
    /// The request that starts a generation.
    pub submit: RequestSpec,
    /// How the submit answer is read: outputs for `sync`, the task id for `poll` and `webhook`.
    pub response: ResponseSpec,
    /// How a task's state is fetched, for `poll` and `webhook`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<PollSpec>,
    /// A request that fetches the result once `poll` says the task is `done` (fal's
    /// `response_url`). It may fail on its own: an error answer there fails the generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultSpec>,
    /// How a webhook delivery is read, when it differs from the last step's answer (fal sends
    /// `{status: OK | ERROR, payload, error}`). A state mapped to `done` runs the last step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<ReadingSpec>,
    /// The request that cancels a task (`poll` and `webhook` models); the task id and the kept
    /// values are available to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel: Option<RequestSpec>,
    /// Typical time to a result; the latency alert fires above twice this.
    pub expected_latency: DurationString,
    /// Give up (and refund) after this long.
    pub timeout: DurationString,
}

/// Execution modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionMode {
    /// One request, the answer holds the result.
    Sync,
    /// Submit, then poll until done.
    Poll,
    /// Submit with a callback URL; poll as a fallback.
    Webhook,
}

/// An HTTP request template. `{{ name }}` names a param or a runtime value (`uuid`: a fresh
/// UUID v4; `callback_url`: this generation's webhook URL; `task_id`: the provider's task id,
/// after the submit; `kept.NAME`: a value kept from the submit answer by `response.keep`). A
/// string that is only `{{ name }}` keeps the value's JSON type; an optional param without a
/// default that the caller left out drops its key. Give `path` or `url`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// HTTP method.
    pub method: HttpMethod,
    /// Path and query under the provider's base URL, starting with `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^/"))]
    pub path: Option<String>,
    /// A whole URL from the submit answer, starting with `{{ kept.NAME }}` (fal's
    /// `"{{ kept.status_url }}"`). At run time it must stay on the base URL's scheme, host and
    /// port, or on a host in the provider's `allowed_hosts`; any other URL is refused before
    /// the key is sent. Not in `submit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^\{\{ *kept\."))]
    pub url: Option<String>,
    /// Extra headers (never a secret: the key is added by `auth`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// JSON body template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

/// HTTP methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
}

/// Where results are in an answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// Where the outputs are (sync mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<OutputSpec>,
    /// Pointer to the provider's task id (poll and webhook modes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<Pointer>,
    /// Where the provider reports what it charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_cost: Option<ProviderCostSpec>,
    /// Values to keep from the submit answer for later requests: name -> pointer, used as
    /// `{{ kept.NAME }}` (fal: `status_url: /status_url`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keep: BTreeMap<String, Pointer>,
    /// The submit answer may already be a poll answer (Replicate with `Prefer: wait`): it is
    /// read like one, and a finished task ends the generation without a poll.
    #[serde(default)]
    pub like_poll: bool,
}

/// Where the outputs (URLs or data URLs) are in an answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Pointer to a string or an array of strings (`*` for every element).
    pub at: Pointer,
    /// The value at `at` is a JSON document inside a string (KIE's `resultJson`): parse it,
    /// then follow `then`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_string: Option<bool>,
    /// Pointer inside the parsed `json_string`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<Pointer>,
    /// What each output is.
    #[serde(default)]
    pub kind: OutputKind,
}

/// Output value kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// An `https` URL (may expire).
    #[default]
    Url,
    /// A `data:` URL with base64 content.
    DataUrl,
    /// Bare base64 content (OpenAI's `b64_json`).
    Base64,
    /// Plain text.
    Text,
}

/// What the provider says it charged.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderCostSpec {
    /// Pointer to the amount (a number or numeric string).
    pub at: Pointer,
    /// Credits per provider unit, a decimal string (`"1"` when the provider counts in our
    /// credits), so the amount can be compared with the registry's formula.
    #[serde(default = "one")]
    pub credits_per_unit: DecimalString,
}

fn one() -> String {
    "1".to_owned()
}

/// How to fetch and read a task's state. Repeated until the state is terminal (`completed`,
/// `failed`, or `done` when a `result` step follows).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PollSpec {
    /// The status request; `{{ task_id }}` and the kept values are available.
    #[serde(flatten)]
    pub request: RequestSpec,
    /// Pointer to the provider's state.
    pub status: Pointer,
    /// Provider state -> what it means.
    #[schemars(length(min = 1))]
    pub states: BTreeMap<String, TaskStatus>,
    /// Where the outputs are once completed (not with a `result` step, which has them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<OutputSpec>,
    /// Pointer to the failure message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Pointer>,
    /// Pointer to the failure code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<Pointer>,
    /// What the provider says it charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_cost: Option<ProviderCostSpec>,
    /// First poll interval; it doubles up to `max_interval`.
    #[serde(default = "default_interval")]
    pub interval: DurationString,
    /// Longest poll interval.
    #[serde(default = "default_max_interval")]
    pub max_interval: DurationString,
}

/// The request that fetches a finished task's result, and how its answer is read.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultSpec {
    /// The result request; `{{ task_id }}` and the kept values are available.
    #[serde(flatten)]
    pub request: RequestSpec,
    /// Pointer to a state in the answer, when it has one; without it a 2xx answer with outputs
    /// is completed, one with an `error` message is failed, and an error status fails too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Pointer>,
    /// Provider state -> what it means (with `status`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub states: BTreeMap<String, TaskStatus>,
    /// Where the outputs are.
    pub outputs: OutputSpec,
    /// Pointer to the failure message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Pointer>,
    /// Pointer to the failure code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<Pointer>,
    /// What the provider says it charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_cost: Option<ProviderCostSpec>,
}

/// How a webhook delivery is read.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingSpec {
    /// Pointer to the provider's state.
    pub status: Pointer,
    /// Provider state -> what it means; `done` fetches the result with the last step.
    #[schemars(length(min = 1))]
    pub states: BTreeMap<String, TaskStatus>,
    /// Where the outputs are, when a state maps to `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<OutputSpec>,
    /// Pointer to the failure message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Pointer>,
    /// Pointer to the failure code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<Pointer>,
    /// What the provider says it charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_cost: Option<ProviderCostSpec>,
}

fn default_interval() -> String {
    "2s".to_owned()
}
fn default_max_interval() -> String {
    "30s".to_owned()
}

/// What a provider state means. `completed` and `failed` end the generation; `done` ends the
/// step and runs the next one (the `result`), which tells completed from failed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Accepted, not started.
    Pending,
    /// Running.
    Processing,
    /// Done with outputs.
    Completed,
    /// Done with an error.
    Failed,
    /// Done; the `result` step says how.
    Done,
}

/// A smoke test.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmokeSpec {
    /// Params of the smoke generation (defaults fill the rest).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// It must complete within this.
    pub within: DurationString,
}

// ---------------------------------------------------------------------------------------------
// Monitoring
// ---------------------------------------------------------------------------------------------

/// Alert thresholds of the monitoring SQL. `models/monitoring.yaml`; every field defaults to the
/// deployment plan's value.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Monitoring spec")]
pub struct MonitoringSpec {
    /// Fewest generations in a window before a rate alert may fire.
    #[serde(default = "d_min_sample")]
    pub min_sample: u32,
    /// Success-rate goal (percent), shown next to the observed rate.
    #[serde(default = "d_goal")]
    pub success_rate_goal: DecimalString,
    /// Warning when the success rate over `success_rate_window` is under this (percent).
    #[serde(default = "d_success_alert")]
    pub success_rate_alert_below: DecimalString,
    /// Window of the success-rate alert.
    #[serde(default = "d_1h")]
    pub success_rate_window: DurationString,
    /// Critical when more than this share (percent) fails within `high_error_window`.
    #[serde(default = "d_high_error")]
    pub high_error_rate_above: DecimalString,
    /// Window of the high-error alert.
    #[serde(default = "d_15m")]
    pub high_error_window: DurationString,
    /// Critical (rollback) when every generation fails for this long.
    #[serde(default = "d_5m")]
    pub all_failing_window: DurationString,
    /// Warning when a model's average latency is over this many times its expected latency.
    #[serde(default = "d_latency")]
    pub latency_factor: DecimalString,
    /// Window of the latency alert.
    #[serde(default = "d_1h")]
    pub latency_window: DurationString,
    /// Warning when one model fails more than this share (percent).
    #[serde(default = "d_model_fail")]
    pub model_failure_rate_above: DecimalString,
    /// Window of the model-failure alert.
    #[serde(default = "d_1h")]
    pub model_failure_window: DurationString,
    /// Warning when one provider errs more than this share (percent).
    #[serde(default = "d_provider_err")]
    pub provider_error_rate_above: DecimalString,
    /// Window of the provider-error alert.
    #[serde(default = "d_1h")]
    pub provider_error_window: DurationString,
    /// Window in which any failed key retrieval is a critical alert.
    #[serde(default = "d_1h")]
    pub missing_key_window: DurationString,
    /// Window in which any charge that differs from the cost formula is a warning.
    #[serde(default = "d_1h")]
    pub cost_mismatch_window: DurationString,
    /// Warning when more than this share (percent) of one model's completed generations came
    /// back with fewer outputs than were charged for (the shortfall is refunded pro rata).
    #[serde(default = "d_shortfall")]
    pub output_shortfall_rate_above: DecimalString,
    /// Window of the output-shortfall alert.
    #[serde(default = "d_1h")]
    pub output_shortfall_window: DurationString,
    /// Warning when, over `cost_drift_window`, the costs a provider reported for one model's
    /// completed generations differ on average from what the users were charged by more than
    /// this share (percent, of the charge).
    #[serde(default = "d_cost_drift")]
    pub cost_drift_tolerance_percent: DecimalString,
    /// Window of the cost-drift alert.
    #[serde(default = "d_24h")]
    pub cost_drift_window: DurationString,
}

fn d_min_sample() -> u32 {
    10
}
fn d_goal() -> String {
    "95".into()
}
fn d_success_alert() -> String {
    "90".into()
}
fn d_high_error() -> String {
    "20".into()
}
fn d_latency() -> String {
    "2".into()
}
fn d_model_fail() -> String {
    "50".into()
}
fn d_provider_err() -> String {
    "10".into()
}
fn d_shortfall() -> String {
    "5".into()
}
fn d_cost_drift() -> String {
    "5".into()
}
fn d_24h() -> String {
    "24h".into()
}
fn d_1h() -> String {
    "1h".into()
}
fn d_15m() -> String {
    "15m".into()
}
fn d_5m() -> String {
    "5m".into()
}

impl Default for MonitoringSpec {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("every monitoring field has a default")
    }
}
