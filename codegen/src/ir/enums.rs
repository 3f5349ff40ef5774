//! The IR's closed value sets.
//!
//! They spell their values as the spec does (the lowering stage converts each spec value with
//! one exhaustive match), so `generated/registry.json` reads like the specs it comes from. That
//! serde spelling is the only one: `name()` reads it back ([`crate::spelling`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

/// Array item types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    /// Text items.
    String,
    /// Image URL items.
    ImageUrl,
}

/// How a credit amount is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoundMode {
    /// Toward positive infinity (never undercharge).
    Ceil,
    /// Toward zero.
    Floor,
    /// To nearest, halves away from zero.
    HalfUp,
    /// To nearest, halves to even.
    HalfEven,
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

/// Output value kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// An `https` URL (may expire).
    Url,
    /// A `data:` URL with base64 content.
    DataUrl,
    /// Bare base64 content (OpenAI's `b64_json`).
    Base64,
    /// Plain text.
    Text,
}

/// What a provider state means; the first four are also the stored `generations.status`.
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
    /// Done; the next step says how (never stored).
    Done,
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
    /// fal: ED25519 over `request_id \n user_id \n timestamp \n hex(sha256(body))`, against
    /// the keys of a configured JWKS document.
    FalEd25519,
}

/// `name()` on each value set, read from its serde spelling.
macro_rules! spelled {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The value's name, as a spec writes it and `generated/registry.json` stores it.
            pub fn name(self) -> &'static str {
                crate::spelling::variant_name(&self)
            }
        }
    )*};
}

spelled!(
    ContentType,
    ItemType,
    RoundMode,
    ExecutionMode,
    HttpMethod,
    OutputKind,
    TaskStatus,
    SignatureScheme
);
