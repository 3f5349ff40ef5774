//! The generation store: the seed's `generations` table, API key events, and the credit ledger.
//!
//! Column names match the Postgres schema in `generated/sql` (`generations`: `id`, `user_id`,
//! `model_id`, `provider`, `content_type`, `status`, `params`, `provider_response`,
//! `tokens_used`, `provider_cost`, `created_at`, `updated_at`, `completed_at`, `outputs_expected`,
//! `outputs_received`, `credits_refunded`; `api_key_events`).
//! The provider's task id and the outputs live in `provider_response` (`task_id`, `outputs`),
//! the failure in `provider_response.error`.
//!
//! State transitions are idempotent: `pending -> processing -> completed | failed`, and a
//! finished generation never changes again. Finishing settles the credit hold in the same
//! transaction (charge on completed, refund on failed), so credits move exactly once however
//! often a webhook is delivered.
//!
//! This file holds what every store shares: the [`Store`] trait and the records it keeps
//! ([`Generation`], [`Status`], [`Finish`], [`KeyEvent`], [`GenerationQuery`], [`Lease`]).
//! `alerts.rs` holds the alert rules the stores answer [`Store::firing_alerts`] by.
//! `idempotency.rs` holds [`IdempotencyStore`], the record of `Idempotency-Key` requests an
//! HTTP front end keeps. `sqlite.rs` holds [`SqliteStore`], the embedded default, with its
//! schema and SQL; it implements both traits on one database. `postgres.rs` (feature
//! `postgres`) holds `PgStore`, which implements both on the tables of `generated/sql`, for
//! several server instances sharing one database.

use std::time::{SystemTime, UNIX_EPOCH};

use rust_decimal::Decimal;
use serde_json::Value;

use crate::cost::Credits;
pub use crate::error::StoreError;
use crate::model::Task;

pub mod alerts;
mod idempotency;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

pub use alerts::{Alert, AlertRules, Thresholds};
pub use idempotency::{Claim, IDEMPOTENCY_TTL_MS, IdempotencyRecord, IdempotencyStore, Replay};
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
pub use sqlite::{Column, SqliteStore, Table};

/// The user id of a local, single-user deployment (the `registry-run` CLI, tests, demos): the
/// nil UUID. User ids are UUIDs everywhere, as in Postgres, where `generations.user_id` is a
/// `uuid` holding Supabase's `auth.uid()`; the nil UUID is never a real user's id there.
pub const LOCAL_USER_ID: &str = "00000000-0000-0000-0000-000000000000";

/// Lifecycle of a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Recorded, not yet accepted by the provider.
    Pending,
    /// The provider is working on it.
    Processing,
    /// Done with outputs.
    Completed,
    /// Done without.
    Failed,
}

impl Status {
    /// The text stored in `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Processing => "processing",
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }

    /// Completed or failed.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Failed)
    }

    /// The status stored as `s`, if it is one.
    pub fn from_name(s: &str) -> Option<Status> {
        Status::parse(s).ok()
    }

    fn parse(s: &str) -> Result<Status, StoreError> {
        Ok(match s {
            "pending" => Status::Pending,
            "processing" => Status::Processing,
            "completed" => Status::Completed,
            "failed" => Status::Failed,
            other => return Err(StoreError::Corrupt(format!("status `{other}`"))),
        })
    }
}

/// One row of `generations`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Generation {
    /// Generation id (UUID v4).
    pub id: String,
    /// Who asked: a UUID, hyphenated ([`LOCAL_USER_ID`] for the local user).
    pub user_id: String,
    /// Model id.
    pub model_id: String,
    /// Provider id.
    pub provider: String,
    /// `image`, `video`, ...
    pub content_type: String,
    /// Lifecycle state.
    pub status: Status,
    /// Validated params, defaults filled in.
    pub params: Value,
    /// `{task_id, outputs, error: {kind, message, code, status}}`.
    pub provider_response: Value,
    /// Credits charged (0 on failure; unset while running).
    pub tokens_used: Option<Credits>,
    /// What the provider reported it charged, in credits.
    pub provider_cost: Option<Decimal>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
    /// Unix milliseconds, when finished.
    pub completed_at: Option<i64>,
    /// Outputs the user was charged for: the value of the param that counts them (see
    /// [`OutputCount`]); unset for a model without one, and until the generation completes.
    pub outputs_expected: Option<u32>,
    /// Outputs the provider returned, when `outputs_expected` is set.
    pub outputs_received: Option<u32>,
    /// Credits given back for outputs that did not come back (`0` when none were missing);
    /// unset when the outputs were not counted.
    pub credits_refunded: Option<Credits>,
}

impl Generation {
    /// The provider's task id, once accepted.
    pub fn task_id(&self) -> Option<&str> {
        self.provider_response
            .get("task_id")
            .and_then(Value::as_str)
    }

    /// The provider's task with the values kept from the submit answer, once accepted.
    pub fn task(&self) -> Option<Task> {
        let mut task = Task::new(self.task_id()?);
        if let Some(kept) = self.provider_response.get("kept") {
            task.kept = serde_json::from_value(kept.clone()).unwrap_or_default();
        }
        Some(task)
    }
}

/// One row of `api_key_events`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyEvent {
    /// Unix milliseconds.
    pub time: i64,
    /// Provider id.
    pub provider: String,
    /// Model id.
    pub model: String,
    /// Key scope.
    pub scope: String,
    /// Secret name.
    pub secret_name: String,
    /// Whether a key was found.
    pub success: bool,
    /// Why not (names only).
    pub error: Option<String>,
}

/// The output count of a completed generation of a model whose cost counts its outputs, and
/// what it is charged for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputCount {
    /// Outputs asked for (and held for).
    pub expected: u32,
    /// Outputs that came back.
    pub received: u32,
    /// What to charge: the held amount pro rata when fewer came back, else all of it. The
    /// store charges at most the hold and releases the rest in the same transaction.
    pub charge: Credits,
}

/// How a finished generation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// Completed: outputs (as JSON) and the provider's reported cost.
    Completed {
        /// The outputs.
        outputs: Value,
        /// Provider-reported cost, in credits.
        provider_cost: Option<Decimal>,
        /// The outputs counted against the counting param; `None` charges the whole hold.
        count: Option<OutputCount>,
    },
    /// Failed: the error object stored at `provider_response.error`.
    Failed {
        /// `{kind, message, code, status}`.
        error: Value,
    },
}

impl Finish {
    /// What ending this way charges of a hold of `held`: nothing for a failure; for a
    /// completion the whole hold, or the counted outputs' pro-rata share of it, never more than
    /// was held. Both stores settle by it, and the engine reports what they settled.
    pub fn charge(&self, held: Credits) -> Credits {
        match self {
            Finish::Completed { count: Some(c), .. } => c.charge.min(held),
            Finish::Completed { count: None, .. } => held,
            Finish::Failed { .. } => Credits::ZERO,
        }
    }
}

/// One page of a user's generations: newest first (`created_at`, then `id`, both descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerationQuery<'a> {
    /// Whose generations.
    pub user_id: &'a str,
    /// Only those in this state.
    pub status: Option<Status>,
    /// Only those of this model.
    pub model_id: Option<&'a str>,
    /// Only those after this one in the order: its `(created_at, id)` (a page's last row).
    pub after: Option<(i64, &'a str)>,
    /// At most this many.
    pub limit: usize,
}

impl GenerationQuery<'_> {
    /// Whether `g` passes the filters and comes after the cursor.
    pub fn matches(&self, g: &Generation) -> bool {
        g.user_id == self.user_id
            && self.status.is_none_or(|s| g.status == s)
            && self.model_id.is_none_or(|m| g.model_id == m)
            && self
                .after
                .is_none_or(|(t, id)| g.created_at < t || (g.created_at == t && g.id.as_str() < id))
    }
}

/// The lease an instance holds on the unfinished generations it runs: `owner` names the
/// instance, and a lease not renewed within `ttl_ms` may be taken over by another instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The instance's id (stable across restarts when configured, random otherwise).
    pub owner: String,
    /// How long a lease lasts without a renewal, in milliseconds.
    pub ttl_ms: i64,
}

/// Where generations, key events and credits are kept. Every method is async: the SQLite store
/// runs its statements one at a time on a thread of its own, the Postgres store on its
/// connection pool.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Record a new generation (status `pending`), leased to nobody.
    async fn insert(&self, g: &Generation) -> Result<(), StoreError>;
    /// A generation by id.
    async fn get(&self, id: &str) -> Result<Option<Generation>, StoreError>;
    /// Every generation, oldest first.
    async fn list(&self) -> Result<Vec<Generation>, StoreError>;
    /// Every generation not finished (`pending` or `processing`), oldest first.
    async fn unfinished(&self) -> Result<Vec<Generation>, StoreError>;
    /// One page of a user's generations, newest first (see [`GenerationQuery`]), answered
    /// from the `(user_id, created_at, id)` index.
    async fn list_for_user(&self, q: &GenerationQuery<'_>) -> Result<Vec<Generation>, StoreError>;
    /// `pending -> processing`, recording the task id; `false` when already further along.
    async fn mark_processing(&self, id: &str, task: Option<&Task>) -> Result<bool, StoreError>;
    /// Finish a running generation and settle its credit hold, atomically; `false` (and no
    /// change at all) when it had already finished. Of two instances finishing one generation
    /// at once, exactly one gets `true`.
    async fn finish(&self, id: &str, finish: &Finish) -> Result<bool, StoreError>;
    /// Record that provider `provider` delivered the webhook message `delivery_id` (Standard
    /// Webhooks' `webhook-id`, the same on every retry of one message): `true` the first time,
    /// `false` for a repeat. Ids older than a day are dropped (a sender's retries and the
    /// signature's timestamp tolerance are far shorter).
    async fn first_delivery(&self, provider: &str, delivery_id: &str) -> Result<bool, StoreError>;
    /// Forget a delivery id again, when handling that delivery failed and a retry must be taken.
    async fn forget_delivery(&self, provider: &str, delivery_id: &str) -> Result<(), StoreError>;
    /// Record a key retrieval.
    async fn log_key_event(&self, e: &KeyEvent) -> Result<(), StoreError>;
    /// Every key retrieval, oldest first.
    async fn key_events(&self) -> Result<Vec<KeyEvent>, StoreError>;
    /// Set a user's balance.
    async fn set_balance(&self, user_id: &str, balance: Credits) -> Result<(), StoreError>;
    /// Balance less open holds; `None` for an unknown user.
    async fn available(&self, user_id: &str) -> Result<Option<Credits>, StoreError>;
    /// Balance (charged amounts deducted, open holds not).
    async fn balance(&self, user_id: &str) -> Result<Option<Credits>, StoreError>;
    /// Hold `amount` for a generation; `Err(available)` when the user cannot cover it.
    async fn reserve(
        &self,
        generation_id: &str,
        user_id: &str,
        amount: Credits,
    ) -> Result<Result<(), Credits>, StoreError>;
    /// Start a generation in one transaction: record the key retrieval `key`, hold `amount`
    /// for `g` and record `g` (status `pending`, leased to `lease.owner` for `lease.ttl_ms`);
    /// `Err(available)`, with only the key event recorded, when the user cannot cover it. No
    /// hold ever exists without its generation row.
    async fn start(
        &self,
        key: &KeyEvent,
        g: &Generation,
        amount: Credits,
        lease: &Lease,
    ) -> Result<Result<(), Credits>, StoreError>;
    /// The heartbeat: push the expiry of every unfinished generation leased to `lease.owner`
    /// to now + `ttl_ms`. Returns the rows renewed.
    async fn renew_leases(&self, lease: &Lease) -> Result<u64, StoreError>;
    /// Take over up to `limit` unfinished generations whose lease has expired (or that no one
    /// holds): they are leased to `lease.owner` and returned, those whose poll is due first
    /// (`next_poll_at`, unset first), then the oldest. Two instances claiming at once never
    /// get the same generation.
    async fn claim_expired(
        &self,
        lease: &Lease,
        limit: usize,
    ) -> Result<Vec<Generation>, StoreError>;
    /// Hand back every unfinished generation leased to `owner` (its lease expires now), so
    /// another instance, or this one's next start, takes it over at once. Returns the rows.
    async fn release_leases(&self, owner: &str) -> Result<u64, StoreError>;
    /// Record when the generation's next provider poll is due (Unix milliseconds).
    async fn set_next_poll(&self, id: &str, at_ms: i64) -> Result<(), StoreError>;
    /// `Ok` when the store answers and its tables exist (what `/readyz` asks).
    async fn ready(&self) -> Result<(), StoreError>;
    /// The alerts firing now, in [`alerts::sort`]'s order. Postgres reads the view
    /// `monitoring_alerts` (its thresholds are the generated SQL's, and `rules` is not read);
    /// SQLite computes the same rules in Rust ([`alerts::evaluate`]) with `rules`, which must
    /// hold the same thresholds (`generated/registry.json`'s) and the registry's models.
    async fn firing_alerts(&self, rules: &AlertRules) -> Result<Vec<Alert>, StoreError>;
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_user_is_the_nil_uuid() {
        let id = uuid::Uuid::parse_str(LOCAL_USER_ID).unwrap();
        assert!(id.is_nil());
        assert_eq!(id.hyphenated().to_string(), LOCAL_USER_ID, "canonical form");
    }
}
