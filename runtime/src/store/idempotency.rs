//! Requests made with an `Idempotency-Key` (Stripe's semantics), kept by the HTTP front end in
//! the same database as the generations.
//!
//! A key is scoped to one user. The first request with it claims it (recorded in flight with a
//! fingerprint of its body); once it has started a generation, its answer is stored and every
//! later request with the same key and the same fingerprint gets that answer again, status and
//! body, with no second generation and no second charge. A request that ends before any
//! generation exists (params refused, say) releases the key. Records are dropped
//! [`IDEMPOTENCY_TTL_MS`] after they were made.

use super::StoreError;

/// How long a key is kept: 24 hours, in milliseconds.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;

/// A stored answer, replayed as it was first given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// HTTP status.
    pub status: u16,
    /// The headers that belong to the answer (`Location`, `Preference-Applied`).
    pub headers: Vec<(String, String)>,
    /// The body, as sent.
    pub body: String,
}

/// What the store holds for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// A digest of the first request's body.
    pub fingerprint: String,
    /// The generation the first request started, once it did.
    pub generation_id: Option<String>,
    /// Its answer; `None` while that request is still in flight.
    pub response: Option<Replay>,
    /// Unix milliseconds, when the key was claimed.
    pub created_at: i64,
    /// Unix milliseconds, when the record last changed.
    pub updated_at: i64,
}

/// The outcome of claiming a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// No live record had the key: it is now recorded in flight for this request.
    Claimed,
    /// A request already claimed it: its record, unchanged.
    Existing(IdempotencyRecord),
}

/// Where `Idempotency-Key` records are kept.
#[async_trait::async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claim `key` for `user_id` with `fingerprint`, atomically: records older than
    /// [`IDEMPOTENCY_TTL_MS`] are dropped first, then the key is recorded in flight unless a
    /// record has it.
    async fn claim_key(
        &self,
        user_id: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Claim, StoreError>;
    /// Note the generation the in-flight request started.
    async fn key_started(
        &self,
        user_id: &str,
        key: &str,
        generation_id: &str,
    ) -> Result<(), StoreError>;
    /// Store the answer to replay.
    async fn key_answered(
        &self,
        user_id: &str,
        key: &str,
        answer: &Replay,
    ) -> Result<(), StoreError>;
    /// Drop the record of a request that ended before any generation existed: the key is free.
    async fn release_key(&self, user_id: &str, key: &str) -> Result<(), StoreError>;
}
