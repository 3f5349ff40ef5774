//! The intermediate representation: every spec, checked and normalized, in one value.
//!
//! Emitters read only this. It is also what `generated/registry.json` and `--dump-ir` contain,
//! so tools in other languages get the same view. Maps are `BTreeMap`s and lists keep spec
//! order, so output never depends on hash order.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::enums::{
    ContentType, ExecutionMode, HttpMethod, ItemType, OutputKind, RoundMode, SignatureScheme,
    TaskStatus,
};

/// Version of the IR layout; bumped on any incompatible change.
pub const IR_VERSION: u32 = 2;

/// The whole registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Registry {
    /// [`IR_VERSION`].
    pub version: u32,
    /// Providers by id.
    pub providers: BTreeMap<String, Provider>,
    /// Models by id.
    pub models: BTreeMap<String, Model>,
    /// Alert thresholds.
    pub monitoring: Monitoring,
}

/// A provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Provider {
    /// Provider id.
    pub id: String,
    /// Human-readable name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// Base URL, no trailing slash.
    pub base_url: String,
    /// How the key is sent.
    pub auth: Auth,
    /// Key scope -> secret name.
    pub key_scopes: BTreeMap<String, String>,
    /// How errors show in answers.
    pub errors: Option<ErrorMapping>,
    /// Webhook delivery, when any model of the provider uses it.
    pub webhook: Option<Webhook>,
    /// Submits may be retried (the provider deduplicates).
    pub idempotent_submit: bool,
    /// Hosts besides the base URL's that whole URLs from answers may point to.
    pub allowed_hosts: Vec<String>,
    /// Requests in flight at once.
    pub concurrency: Option<u32>,
    /// The circuit breaker.
    pub circuit_breaker: Option<CircuitBreaker>,
}

/// A provider's circuit breaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CircuitBreaker {
    /// Percent of failed requests that opens it.
    pub failure_rate: u32,
    /// Requests in the window before the rate counts.
    pub min_requests: u32,
    /// Window, ms.
    pub window_ms: u64,
    /// How long it stays open, ms.
    pub cooldown_ms: u64,
}

/// How the key is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `<name>: <prefix><key>`.
    Header {
        /// Header name.
        name: String,
        /// Text before the key (may be empty).
        prefix: String,
    },
    /// `?<name>=<key>`.
    Query {
        /// Query parameter name.
        name: String,
    },
}

/// How errors show in an answer body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorMapping {
    /// Pointer to the message.
    pub message: String,
    /// Pointer to the code.
    pub code: Option<String>,
    /// Codes meaning success; when empty, a present message means error.
    pub ok_codes: Vec<serde_json::Value>,
}

/// Webhook delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Webhook {
    /// Authentication scheme.
    pub signature: SignatureScheme,
    /// Secret name of the signing key (resolved from the provider's key scopes).
    pub secret_name: Option<String>,
    /// Key scope of the signing key.
    pub secret_scope: Option<String>,
    /// Pointers tried in order for the task id.
    pub task_id: Vec<String>,
    /// Confirm a delivery by polling before trusting it.
    pub confirm_by_poll: bool,
    /// Replay tolerance in milliseconds.
    pub tolerance_ms: Option<u64>,
}

/// A model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Model {
    /// Model id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// Provider id.
    pub provider: String,
    /// What it produces.
    pub content_type: ContentType,
    /// Key scope name.
    pub key_scope: String,
    /// Name of the secret the scope resolves to (never its value).
    pub secret_name: String,
    /// Offered and runnable.
    pub enabled: bool,
    /// Params in form order.
    pub params: Vec<Param>,
    /// Cost formula.
    pub cost: Cost,
    /// Execution.
    pub execution: Execution,
    /// Smoke test.
    pub smoke: Option<Smoke>,
    /// The spec file, relative to the models directory, with `/` separators.
    pub source: String,
}

/// A param.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Param {
    /// Name (a snake_case identifier).
    pub name: String,
    /// Help text.
    pub description: Option<String>,
    /// Must be given.
    pub required: bool,
    /// Default value, already checked against the kind and bounds.
    pub default: Option<serde_json::Value>,
    /// Type and bounds.
    pub kind: ParamKind,
    /// Sent as a JSON string whatever its type.
    pub send_as_string: bool,
}

/// A param's type and bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParamKind {
    /// Text.
    String {
        /// Fewest characters.
        min_length: Option<u32>,
        /// Most characters.
        max_length: Option<u32>,
    },
    /// Whole number.
    Integer {
        /// Smallest value.
        min: Option<i64>,
        /// Largest value.
        max: Option<i64>,
        /// Must be a multiple of this.
        step: Option<i64>,
        /// Allowed values, when a fixed set.
        values: Option<Vec<i64>>,
    },
    /// Exact decimal (canonical decimal strings).
    Decimal {
        /// Smallest value.
        min: Option<String>,
        /// Largest value.
        max: Option<String>,
        /// Must be a multiple of this.
        step: Option<String>,
    },
    /// One of `values`.
    Enum {
        /// Allowed values, in spec order.
        values: Vec<String>,
    },
    /// Boolean.
    Boolean,
    /// `http(s)` image URL.
    ImageUrl,
    /// List.
    Array {
        /// Item type.
        items: ItemType,
        /// Fewest items.
        min_items: Option<u32>,
        /// Most items.
        max_items: Option<u32>,
    },
    /// A JSON object with these fields and no others.
    Object {
        /// Fields in spec order; each of a scalar kind.
        fields: Vec<Field>,
    },
    /// One of several options, chosen by the value's JSON type (the options take different
    /// JSON types).
    OneOf {
        /// Options in spec order; each of a scalar kind or an object.
        options: Vec<OneOfOption>,
    },
}

impl ParamKind {
    /// The fields, for an object.
    pub fn fields(&self) -> &[Field] {
        match self {
            ParamKind::Object { fields } => fields,
            _ => &[],
        }
    }

    /// The spec's name of the kind (`integer`, `one_of`).
    pub fn name(&self) -> &'static str {
        match self {
            ParamKind::String { .. } => "string",
            ParamKind::Integer { .. } => "integer",
            ParamKind::Decimal { .. } => "decimal",
            ParamKind::Enum { .. } => "enum",
            ParamKind::Boolean => "boolean",
            ParamKind::ImageUrl => "image_url",
            ParamKind::Array { .. } => "array",
            ParamKind::Object { .. } => "object",
            ParamKind::OneOf { .. } => "one_of",
        }
    }
}

/// A field of an object param (or of an object option).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Field {
    /// Name (a snake_case identifier).
    pub name: String,
    /// Help text.
    pub description: Option<String>,
    /// Must be given when the object is.
    pub required: bool,
    /// Default value, already checked against the kind and bounds.
    pub default: Option<serde_json::Value>,
    /// Type and bounds (a scalar kind).
    pub kind: ParamKind,
}

/// An option of a `one_of` param.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OneOfOption {
    /// Name (a snake_case identifier).
    pub name: String,
    /// Help text.
    pub description: Option<String>,
    /// Type and bounds (a scalar kind or an object).
    pub kind: ParamKind,
}

/// Cost formula: `base x multipliers`, rounded once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Cost {
    /// Base credits, canonical decimal string.
    pub base: String,
    /// Factors in order.
    pub multipliers: Vec<Multiplier>,
    /// Rounding mode.
    pub round: RoundMode,
    /// Decimal places kept.
    pub scale: u32,
}

/// One cost factor. With `field`, the factor reads that field of the object param `param`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Multiplier {
    /// Factor looked up by the param's value (as a string: `"720p"`, `"5"`, `"true"`).
    Table {
        /// Param name.
        param: String,
        /// A field of the object param, when the factor reads it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        /// Value -> canonical decimal factor, in the spec's order.
        entries: indexmap::IndexMap<String, String>,
    },
    /// Factor `param / per`.
    Ratio {
        /// Param name (integer or decimal).
        param: String,
        /// A field of the object param, when the factor reads it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        /// Divisor, at least 1.
        per: u64,
    },
    /// Factor = the param's value (integer) or item count (array).
    Count {
        /// Param name.
        param: String,
        /// A field of the object param, when the factor reads it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
    },
}

impl Multiplier {
    /// The param the factor reads.
    pub fn param(&self) -> &str {
        match self {
            Multiplier::Table { param, .. }
            | Multiplier::Ratio { param, .. }
            | Multiplier::Count { param, .. } => param,
        }
    }

    /// The field of the param the factor reads, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Multiplier::Table { field, .. }
            | Multiplier::Ratio { field, .. }
            | Multiplier::Count { field, .. } => field.as_deref(),
        }
    }

    /// What the factor reads, as `param` or `param.field`: the name core's cost rules and
    /// messages use.
    pub fn path(&self) -> String {
        match self.field() {
            Some(field) => format!("{}.{field}", self.param()),
            None => self.param().to_owned(),
        }
    }
}

/// How to execute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Execution {
    /// Mode.
    pub mode: ExecutionMode,
    /// The request that starts a generation.
    pub submit: Request,
    /// Reading the submit answer.
    pub response: Response,
    /// The requests after the submit, in order (poll and webhook modes): the status poll, then
    /// the result. Each runs once the one before reports `done`.
    pub steps: Vec<Step>,
    /// Poll pacing (poll and webhook modes).
    pub timing: Option<PollTiming>,
    /// Reading a webhook delivery, when it differs from the last step's answer.
    pub webhook: Option<Reading>,
    /// The cancel request.
    pub cancel: Option<Request>,
    /// Typical latency, ms.
    pub expected_latency_ms: u64,
    /// Give up after, ms.
    pub timeout_ms: u64,
}

/// A request template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Request {
    /// Method.
    pub method: HttpMethod,
    /// Path and query template (placeholders are URL-encoded when filled); or, when
    /// `whole_url`, a whole URL starting with a kept value (not encoded, host-checked).
    pub path: Vec<Segment>,
    /// `path` is a whole URL.
    pub whole_url: bool,
    /// Header templates.
    pub headers: BTreeMap<String, Vec<Segment>>,
    /// Body template.
    pub body: Option<Template>,
}

/// A JSON template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Template {
    /// A JSON value without placeholders.
    Literal(serde_json::Value),
    /// A string that is exactly one placeholder: the value keeps its JSON type.
    Value(Placeholder),
    /// A string with placeholders inside text.
    Text(Vec<Segment>),
    /// An object; a member whose value is an absent optional param is dropped.
    Object(Vec<(String, Template)>),
    /// An array.
    Array(Vec<Template>),
}

/// Part of a string template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Segment {
    /// Literal text.
    Text(String),
    /// A placeholder.
    Value(Placeholder),
}

/// What a placeholder stands for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Placeholder {
    /// A param of the model.
    Param(String),
    /// A value the runtime supplies.
    Runtime(RuntimeValue),
    /// A value kept from the submit answer (`kept.NAME`).
    Kept(String),
}

/// Values the runtime supplies to templates.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RuntimeValue {
    /// A fresh UUID v4 per request.
    Uuid,
    /// This generation's webhook URL.
    CallbackUrl,
    /// The provider's task id (poll requests).
    TaskId,
}

impl RuntimeValue {
    /// All runtime values.
    pub const ALL: [RuntimeValue; 3] = [
        RuntimeValue::Uuid,
        RuntimeValue::CallbackUrl,
        RuntimeValue::TaskId,
    ];

    /// The placeholder name (`uuid`, `callback_url`, `task_id`): its serde spelling.
    pub fn name(self) -> &'static str {
        crate::spelling::variant_name(&self)
    }
}

/// Reading a submit answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Response {
    /// Outputs (sync).
    pub outputs: Option<Outputs>,
    /// Task id pointer (poll, webhook).
    pub task_id: Option<String>,
    /// Provider-reported cost.
    pub provider_cost: Option<ProviderCost>,
    /// Values kept for later requests: name -> pointer.
    pub keep: BTreeMap<String, String>,
    /// The answer may already be the first step's answer.
    pub like_poll: bool,
}

/// Where outputs are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Outputs {
    /// Pointer (`*` = every element).
    pub at: String,
    /// The value is a JSON string to parse first.
    pub json_string: bool,
    /// Pointer inside the parsed string.
    pub then: Option<String>,
    /// Output kind.
    pub kind: OutputKind,
}

/// Provider-reported cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProviderCost {
    /// Pointer to the amount.
    pub at: String,
    /// Credits per provider unit, canonical decimal.
    pub credits_per_unit: String,
}

/// A request after the submit and how its answer is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    /// The request.
    pub request: Request,
    /// Reading its answer.
    pub reading: Reading,
}

/// Reading a step's answer or a webhook delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reading {
    /// Pointer to the provider state; `None`: every 2xx answer is final.
    pub status: Option<String>,
    /// Provider state -> what it means.
    pub states: BTreeMap<String, TaskStatus>,
    /// Outputs once completed (`None` in a step another follows).
    pub outputs: Option<Outputs>,
    /// Failure message pointer.
    pub error: Option<String>,
    /// Failure code pointer.
    pub error_code: Option<String>,
    /// Provider-reported cost.
    pub provider_cost: Option<ProviderCost>,
}

/// Poll pacing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PollTiming {
    /// First interval, ms (doubles each time).
    pub interval_ms: u64,
    /// Longest interval, ms.
    pub max_interval_ms: u64,
}

/// Smoke test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Smoke {
    /// Params given (defaults fill the rest).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Deadline, ms.
    pub within_ms: u64,
}

/// Alert thresholds. Percentages and factors are canonical decimal strings; windows are
/// seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Monitoring {
    /// Fewest generations before a rate alert fires.
    pub min_sample: u32,
    /// Success-rate goal, percent.
    pub success_rate_goal: String,
    /// Success-rate alert threshold, percent.
    pub success_rate_alert_below: String,
    /// Window, seconds.
    pub success_rate_window_s: u64,
    /// High-error threshold, percent.
    pub high_error_rate_above: String,
    /// Window, seconds.
    pub high_error_window_s: u64,
    /// All-failing window, seconds.
    pub all_failing_window_s: u64,
    /// Latency factor.
    pub latency_factor: String,
    /// Window, seconds.
    pub latency_window_s: u64,
    /// Model failure threshold, percent.
    pub model_failure_rate_above: String,
    /// Window, seconds.
    pub model_failure_window_s: u64,
    /// Provider error threshold, percent.
    pub provider_error_rate_above: String,
    /// Window, seconds.
    pub provider_error_window_s: u64,
    /// Missing-key window, seconds.
    pub missing_key_window_s: u64,
    /// Cost-mismatch window, seconds.
    pub cost_mismatch_window_s: u64,
    /// Output-shortfall threshold, percent of a model's counted completions.
    pub output_shortfall_rate_above: String,
    /// Window, seconds.
    pub output_shortfall_window_s: u64,
    /// Cost-drift tolerance: percent of the charge by which a model's provider-reported costs
    /// may differ from its charges, on average.
    pub cost_drift_tolerance_percent: String,
    /// Window, seconds.
    pub cost_drift_window_s: u64,
}

impl Model {
    /// The param named `name`.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// The IR's JSON Schema (for `generated/registry.json` and `--dump-ir`), derived from these
/// types. Its `$comment` names [`IR_VERSION`], so a layout change shows in review as a schema
/// diff next to the version.
pub fn schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(Registry).to_value();
    if let serde_json::Value::Object(map) = &mut schema {
        map.insert(
            "$id".into(),
            "https://model-registry.local/schema/ir.schema.json".into(),
        );
        map.insert("$comment".into(), format!("IR version {IR_VERSION}").into());
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in IR schema is what these types derive, at this version. After a change of
    /// the layout: bump `IR_VERSION` if it is incompatible, then `cargo run -p codegen`.
    #[test]
    fn the_ir_schema_is_pinned_to_its_version() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/ir.schema.json");
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("schema/ir.schema.json"))
                .expect("the IR schema parses");
        assert_eq!(
            IR_VERSION, 2,
            "a new IR version: update this pin with the schema"
        );
        assert_eq!(committed["$comment"], format!("IR version {IR_VERSION}"));
        assert_eq!(
            committed,
            schema(),
            "schema/ir.schema.json is stale: run `cargo run -p codegen`"
        );
    }
}
