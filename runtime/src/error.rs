//! Errors of a run, typed so callers can match on them.
//!
//! No variant carries a key value: keys live in [`crate::keys::Secret`], which has no way to
//! print itself, and provider messages are taken from answer bodies, never from requests.

use std::time::Duration;

use crate::cost::{CostError, Credits};
use crate::model::AnswerError;
use crate::params::Violations;

/// Why a generation did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The params break the model's rules.
    #[error("invalid params: {0}")]
    Validation(Violations),
    /// No model has this id.
    #[error("unknown model `{0}`")]
    UnknownModel(String),
    /// The model is rolled back (`enabled: false`): listed, never run.
    #[error("model `{0}` is disabled")]
    Disabled(String),
    /// The cost formula cannot price these params (never read as zero).
    #[error("cost: {0}")]
    Cost(#[from] CostError),
    /// The user's balance does not cover the cost.
    #[error("insufficient credits: needs {needed}, has {available}")]
    InsufficientCredits {
        /// Cost of the generation.
        needed: Credits,
        /// Balance not already reserved.
        available: Credits,
    },
    /// The key for the model's scope is not configured.
    #[error("no API key for {provider} scope `{scope}`: set {secret_name}")]
    MissingKey {
        /// Provider id.
        provider: String,
        /// Key scope.
        scope: String,
        /// The secret (environment variable) that should hold it.
        secret_name: String,
    },
    /// The provider answered with an error.
    #[error("{provider} error{}{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(), code.as_ref().map(|c| format!(" [{c}]")).unwrap_or_default())]
    Provider {
        /// Provider id.
        provider: String,
        /// The provider's message.
        message: String,
        /// The provider's code.
        code: Option<String>,
        /// HTTP status, when the error came with a non-2xx status.
        status: Option<u16>,
    },
    /// No result within the model's timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// An answer without the shape the spec promises.
    #[error("malformed answer from {provider}: {source}")]
    Answer {
        /// Provider id.
        provider: String,
        /// What is wrong with it.
        #[source]
        source: AnswerError,
    },
    /// The provider's answer is not JSON.
    #[error("{provider} answered with a body that is not JSON (HTTP {status})")]
    NotJson {
        /// Provider id.
        provider: String,
        /// HTTP status.
        status: u16,
    },
    /// The request did not reach the provider, or the connection failed.
    #[error("transport error talking to {provider}: {message}")]
    Transport {
        /// Provider id.
        provider: String,
        /// What happened (no URL query, no header).
        message: String,
    },
    /// A URL in the provider's answer points off the provider's hosts: refused, nothing sent.
    #[error("refused a URL from {provider}'s answer: {reason}")]
    OffHost {
        /// Provider id.
        provider: String,
        /// Why.
        reason: crate::http::OffHost,
    },
    /// The generation was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The provider's circuit breaker is open: it kept failing, so no generation starts.
    #[error("{provider} is failing: no new generations for {}s (circuit breaker open)", retry_after.as_secs().max(1))]
    ProviderUnavailable {
        /// Provider id.
        provider: String,
        /// When the breaker lets requests through again.
        retry_after: Duration,
    },
    /// The generation store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The engine is not set up for this run (e.g. a webhook model without a callback listener).
    #[error("configuration: {0}")]
    Config(String),
}

impl RunError {
    /// A short, stable name of the variant, stored in `provider_response.error.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            RunError::Validation(_) => "validation",
            RunError::UnknownModel(_) => "unknown_model",
            RunError::Disabled(_) => "disabled",
            RunError::Cost(_) => "cost",
            RunError::InsufficientCredits { .. } => "insufficient_credits",
            RunError::MissingKey { .. } => "missing_key",
            RunError::Provider { .. } => "provider",
            RunError::Timeout(_) => "timeout",
            RunError::Answer { .. } => "malformed_answer",
            RunError::NotJson { .. } => "malformed_answer",
            RunError::Transport { .. } => "transport",
            RunError::OffHost { .. } => "off_host",
            RunError::Cancelled => "cancelled",
            RunError::ProviderUnavailable { .. } => "provider_unavailable",
            RunError::Store(_) => "store",
            RunError::Config(_) => "config",
        }
    }
}

/// A failure of the generation store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Postgres failed, or refused a value (the message never holds the connection string).
    #[error("postgres: {0}")]
    Postgres(String),
    /// A generation id the store does not know.
    #[error("unknown generation {0}")]
    UnknownGeneration(String),
    /// Stored data that does not parse.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The store cannot be reached or did not answer (the pool is closed, a worker died).
    #[error("store unavailable: {0}")]
    Unavailable(String),
}
