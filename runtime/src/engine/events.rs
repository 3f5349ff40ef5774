//! What the engine tells an observer: generations finished, provider errors, key retrievals,
//! webhook deliveries and the generations it is running. A server turns these into metrics;
//! the engine itself keeps no counters and works the same with no observer at all.
//!
//! Each event is emitted at the one place its fact is decided:
//!
//! - [`EngineEvents::generation_finished`]: when the store's `finish` returned `true` (this
//!   process recorded the end, so of two instances finishing one generation only one tells), by
//!   `Engine::settle`, which every path that ends a generation goes through (a run, a webhook
//!   applied with no run waiting, a takeover that fails an unresumable generation, a cancel);
//! - [`EngineEvents::provider_error`]: in the engine's `send`, from the last answer of each
//!   provider request (a request the transport retried counts once);
//! - [`EngineEvents::key_retrieved`]: in the engine's key resolution, once per retrieval, as
//!   `api_key_events` records it;
//! - [`EngineEvents::webhook`]: in [`Engine::handle_webhook`], once per delivery;
//! - [`EngineEvents::in_flight`]: `+1` when this process starts calling the provider for a
//!   generation (new or resumed), `-1` when that run has ended.
//!
//! No event carries a user id, a prompt, params, a generation id or a key value: only model,
//! provider and secret names, statuses and amounts.

use std::sync::Arc;
use std::time::Duration;

use super::{Engine, WebhookAck};
use crate::cost::Credits;
use crate::model::ModelInfo;
use crate::store::{Finish, Status, StoreError};
use crate::webhook::WebhookError;

/// A generation whose end this process recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Finished<'a> {
    /// Model id.
    pub model: &'a str,
    /// Provider id.
    pub provider: &'a str,
    /// [`Status::Completed`] or [`Status::Failed`].
    pub status: Status,
    /// The failure's kind (`provider`, `timeout`, `missing_key`, `cancelled`, ...), for a
    /// failed generation.
    pub error_kind: Option<&'a str>,
    /// From the run call (or, for a generation ended outside a run, its creation) to the end.
    pub elapsed: Duration,
    /// Credits charged.
    pub charged: Credits,
    /// Credits held and given back: a failed generation's whole hold, or the part of a
    /// completed one's hold for outputs that did not come back.
    pub refunded: Credits,
    /// What the provider reported it charged, in credits, for a completed generation whose
    /// provider reports it.
    pub provider_cost: Option<rust_decimal::Decimal>,
}

/// What the provider answered a request that failed: an HTTP status, or no answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderStatus {
    /// A non-2xx answer.
    Http(u16),
    /// No answer before the deadline.
    Timeout,
    /// The connection failed or broke.
    Transport,
}

impl ProviderStatus {
    /// `"503"`, `"timeout"` or `"transport"`.
    pub fn label(self) -> std::borrow::Cow<'static, str> {
        match self {
            ProviderStatus::Http(code) => code.to_string().into(),
            ProviderStatus::Timeout => "timeout".into(),
            ProviderStatus::Transport => "transport".into(),
        }
    }
}

/// What became of a webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookOutcome {
    /// Verified and acted on (handed to the waiting run, or applied to the store).
    Accepted,
    /// Verified, but the generation had already finished, or the delivery needs a run to
    /// confirm it: nothing changed.
    Ignored,
    /// A message already received (same `webhook-id`): nothing changed.
    Duplicate,
    /// Its signature or token did not verify, or was missing or stale.
    Forged,
    /// Refused for another reason: unknown generation, another provider's or task's, not
    /// readable, or this provider's verification is not configured.
    Refused,
}

impl WebhookOutcome {
    /// The outcome of a delivery the engine took or refused.
    pub fn of(result: &Result<WebhookAck, WebhookError>) -> WebhookOutcome {
        match result {
            Ok(WebhookAck::Delivered | WebhookAck::Applied) => WebhookOutcome::Accepted,
            Ok(WebhookAck::AlreadyFinished | WebhookAck::Ignored) => WebhookOutcome::Ignored,
            Ok(WebhookAck::Duplicate) => WebhookOutcome::Duplicate,
            Err(
                WebhookError::BadSignature | WebhookError::MissingHeader(_) | WebhookError::Stale,
            ) => WebhookOutcome::Forged,
            Err(_) => WebhookOutcome::Refused,
        }
    }

    /// `accepted`, `ignored`, `duplicate`, `forged` or `refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Accepted => "accepted",
            WebhookOutcome::Ignored => "ignored",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Forged => "forged",
            WebhookOutcome::Refused => "refused",
        }
    }
}

/// An observer of the engine. Every method has a no-op default; they are called on the
/// engine's tasks, so they must be quick and must not block (count, do not do I/O).
pub trait EngineEvents: Send + Sync {
    /// A generation's end was recorded by this process.
    fn generation_finished(&self, finished: &Finished<'_>) {
        let _ = finished;
    }
    /// A provider request failed: an HTTP error status, a timeout or a broken connection.
    fn provider_error(&self, provider: &str, status: ProviderStatus) {
        let _ = (provider, status);
    }
    /// A key was looked up by its secret name: found (`ok`) or missing.
    fn key_retrieved(&self, secret_name: &str, ok: bool) {
        let _ = (secret_name, ok);
    }
    /// A webhook delivery for `provider` (`unknown` when the URL names no provider the engine
    /// runs) was taken or refused.
    fn webhook(&self, provider: &str, outcome: WebhookOutcome) {
        let _ = (provider, outcome);
    }
    /// The generations this process is calling the provider for changed by `delta`.
    fn in_flight(&self, delta: i64) {
        let _ = delta;
    }
}

/// The observers of an engine: those given to the builder, and those added later.
#[derive(Default)]
pub(super) struct Observers(std::sync::RwLock<Vec<Arc<dyn EngineEvents>>>);

impl Observers {
    pub(super) fn new(first: Vec<Arc<dyn EngineEvents>>) -> Self {
        Observers(std::sync::RwLock::new(first))
    }

    pub(super) fn add(&self, o: Arc<dyn EngineEvents>) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).push(o);
    }

    /// Tell every observer.
    pub(super) fn each(&self, f: impl Fn(&dyn EngineEvents)) {
        for o in self.0.read().unwrap_or_else(|p| p.into_inner()).iter() {
            f(o.as_ref());
        }
    }
}

/// What a generation held, and how it ends: the amounts an observer is told.
pub(super) struct Settle<'a> {
    /// Model id (as stored: a model the engine no longer runs keeps its name).
    pub(super) model: &'a str,
    /// Provider id.
    pub(super) provider: &'a str,
    /// The credits held for it: its cost by the formula (zero when it can no longer be
    /// priced, such as a model gone from the registry).
    pub(super) held: Credits,
    /// The failure's kind, for a failed end.
    pub(super) error_kind: Option<&'a str>,
    /// How long it ran.
    pub(super) elapsed: Duration,
}

impl Engine {
    /// Add an observer (a server adds its metrics to an engine it was handed). Observers given
    /// to [`super::EngineBuilder::events`] and added here are all told every event.
    pub fn observe(&self, observer: Arc<dyn EngineEvents>) {
        self.inner.events.add(observer);
    }

    /// Tell the observers.
    pub(super) fn emit(&self, f: impl Fn(&dyn EngineEvents)) {
        self.inner.events.each(f);
    }

    /// Record the end of generation `g` in the store (which settles its hold) and, when this
    /// call recorded it, tell the observers: the one place a generation's end is counted.
    pub(super) async fn settle(
        &self,
        g: &str,
        finish: &Finish,
        s: Settle<'_>,
    ) -> Result<bool, StoreError> {
        let applied = self.inner.store.finish(g, finish).await?;
        if applied {
            let status = match finish {
                Finish::Completed { .. } => Status::Completed,
                Finish::Failed { .. } => Status::Failed,
            };
            let charged = finish.charge(s.held);
            let refunded = Credits::from_decimal(
                (s.held.as_decimal() - charged.as_decimal()).max(rust_decimal::Decimal::ZERO),
            );
            let finished = Finished {
                model: s.model,
                provider: s.provider,
                status,
                error_kind: match status {
                    Status::Failed => s.error_kind,
                    _ => None,
                },
                elapsed: s.elapsed,
                charged,
                refunded,
                provider_cost: match finish {
                    Finish::Completed { provider_cost, .. } => *provider_cost,
                    Finish::Failed { .. } => None,
                },
            };
            self.emit(|o| o.generation_finished(&finished));
        }
        Ok(applied)
    }

    /// The provider id `id` as an observer may see it: one of the engine's providers, or
    /// `unknown` (a webhook URL names any provider its sender likes).
    pub(super) fn known_provider(&self, id: &str) -> &'static str {
        self.inner
            .models
            .values()
            .map(|m| m.provider.id)
            .find(|p| *p == id)
            .unwrap_or("unknown")
    }
}

/// The credits `model` held for `params`: its cost by the formula, or zero when the params can
/// no longer be priced.
pub(super) fn held_for(model: &ModelInfo, params: &serde_json::Value) -> Credits {
    params
        .as_object()
        .and_then(|p| crate::cost::compute(&model.cost, p).ok())
        .unwrap_or(Credits::ZERO)
}

/// Counts a run in flight for as long as it lives.
pub(super) struct InFlight<'a>(&'a Engine);

impl<'a> InFlight<'a> {
    pub(super) fn new(engine: &'a Engine) -> Self {
        engine.emit(|o| o.in_flight(1));
        InFlight(engine)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.emit(|o| o.in_flight(-1));
    }
}
