//! The engine: runs a model from params to a finished, charged generation.
//!
//! validate params -> compute cost -> resolve the key for the model's scope -> record the key
//! event, reserve credits and record the generation (pending), in one store transaction -> call
//! the provider (sync; or submit, then poll with backoff or await the webhook with polling as a
//! fallback) -> map the answer -> completed or failed -> charge exactly once, refund on failure.
//! Each step emits a `tracing` event with the generation id, model and provider. A run refused
//! for credits has still resolved (and recorded) its key, but never sends it.
//!
//! This file holds the public face: [`Engine`], [`EngineBuilder`], [`EngineConfig`], the entry
//! points and what they return ([`RunOutput`], [`Via`], [`WebhookAck`]). The rest is split by
//! step:
//!
//! - `run.rs`: one generation from params to its recorded end (validate, cost, key, start,
//!   call the provider, finish or fail), with the context a run carries (`RunCtx`);
//! - `wait.rs`: waiting for an accepted task, by polling with backoff or by the webhook with
//!   polling as a fallback;
//! - `recover.rs`: leases (the heartbeat, the takeover of expired ones) and the rule for a
//!   generation taken over: resumed by polling, or failed and refunded;
//! - `cancel.rs`: cancelling a generation at the provider, then in the store;
//! - `delivery.rs`: a webhook delivery, verified and handed to the waiting run or applied to
//!   the store. (Signature checks themselves live in [`crate::webhook`].)
//! - `events.rs`: the observer hook ([`EngineEvents`]) and `Engine::settle`, through which
//!   every end of a generation is recorded and counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::Value;

use crate::cost::Credits;
use crate::error::RunError;
use crate::http::{RetryPolicy, Transport};
use crate::keys::{EnvKeys, KeyResolver};
use crate::model::{Model, ModelInfo, Output, Params, ProviderInfo};
use crate::store::{Lease, SqliteStore, Store};
use crate::webhook::{WebhookError, WebhookRequest};

mod cancel;
mod delivery;
mod events;
mod limits;
mod recover;
mod run;
mod shortfall;
mod wait;

pub use cancel::CancelAck;
use delivery::Waiter;
pub use events::{EngineEvents, Finished, ProviderStatus, WebhookOutcome};
pub use recover::{Recovered, Resumed};
use run::Checked;
pub use run::Started;

/// The lease owner of a single instance (the CLI, a server on SQLite): stable, so a restart
/// takes its own generations back at once.
pub const LOCAL_OWNER: &str = "local";

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Base URL per provider id; wins over `<PROVIDER_ID>_BASE_URL` and the spec's URL.
    pub base_urls: HashMap<String, String>,
    /// Read `<PROVIDER_ID>_BASE_URL` from the environment.
    pub base_urls_from_env: bool,
    /// Cap on every model's timeout (tests, demos).
    pub timeout_cap: Option<Duration>,
    /// Cap on poll intervals (tests, demos).
    pub poll_interval_cap: Option<Duration>,
    /// In webhook mode, fallback polls come this many times less often than in poll mode.
    pub webhook_poll_factor: u32,
    /// HTTP retries.
    pub retry: RetryPolicy,
    /// Polls in a row that may fail (transport, 5xx, not JSON) before the generation fails.
    pub poll_failures_allowed: u32,
    /// The user generations are run for.
    pub user_id: String,
    /// This instance's lease on the generations it runs (see `recover.rs`).
    pub lease: Lease,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            base_urls: HashMap::new(),
            base_urls_from_env: true,
            timeout_cap: None,
            poll_interval_cap: None,
            webhook_poll_factor: 3,
            retry: RetryPolicy::default(),
            poll_failures_allowed: 3,
            user_id: crate::store::LOCAL_USER_ID.to_owned(),
            lease: Lease {
                owner: LOCAL_OWNER.to_owned(),
                ttl_ms: 30_000,
            },
        }
    }
}

/// How a finished generation got its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// In the submit answer.
    Sync,
    /// From a poll.
    Poll,
    /// From a webhook delivery (confirmed by a poll where the provider needs it).
    Webhook,
}

/// A completed generation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunOutput {
    /// Generation id.
    pub generation_id: String,
    /// Model id.
    pub model_id: &'static str,
    /// The outputs.
    pub outputs: Vec<Output>,
    /// Credits charged: the formula's result, or its pro-rata share when the provider returned
    /// fewer outputs than the counting param asked for (the rest was refunded).
    pub cost: Credits,
    /// What the provider reports it charged, in credits.
    pub provider_cost: Option<Decimal>,
    /// The provider's task id (async models).
    pub task_id: Option<String>,
    /// How the result arrived.
    pub via: Via,
    /// Wall time from the run call to the result.
    #[serde(serialize_with = "ser_ms")]
    pub elapsed: Duration,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// What a webhook delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookAck {
    /// Handed to the waiting run.
    Delivered,
    /// Applied to the store directly (no run waiting).
    Applied,
    /// The generation had already finished: nothing changed.
    AlreadyFinished,
    /// Accepted but not acted on (an unsigned body with no run to confirm it).
    Ignored,
    /// A message already received (same Standard Webhooks `webhook-id`): nothing changed.
    Duplicate,
}

struct Inner {
    config: EngineConfig,
    store: Arc<dyn Store>,
    keys: Arc<dyn KeyResolver>,
    transport: Transport,
    models: HashMap<&'static str, &'static ModelInfo>,
    waiters: Mutex<HashMap<String, Waiter>>,
    cancels: Mutex<HashMap<String, Arc<tokio::sync::Notify>>>,
    gates: limits::Gates,
    callback_base: Mutex<Option<String>>,
    /// Generations this process is running now: a takeover leaves them alone.
    active: Mutex<std::collections::HashSet<String>>,
    /// Who is told what happens (see `events.rs`).
    events: events::Observers,
}

/// Runs models. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("models", &self.inner.models.len())
            .finish_non_exhaustive()
    }
}

/// Builds an [`Engine`].
pub struct EngineBuilder {
    config: EngineConfig,
    store: Option<Arc<dyn Store>>,
    keys: Arc<dyn KeyResolver>,
    models: Vec<&'static ModelInfo>,
    events: Vec<Arc<dyn EngineEvents>>,
}

impl EngineBuilder {
    /// Settings.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }
    /// The generation store (default: in-memory SQLite).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }
    /// The key resolver (default: environment variables).
    pub fn keys(mut self, keys: Arc<dyn KeyResolver>) -> Self {
        self.keys = keys;
        self
    }
    /// Models runnable by id and addressable by webhooks.
    pub fn models(mut self, models: &[&'static ModelInfo]) -> Self {
        self.models.extend_from_slice(models);
        self
    }
    /// An observer of generations, provider errors, key retrievals and webhooks (default:
    /// none; see [`EngineEvents`]). Repeatable: every observer is told.
    pub fn events(mut self, observer: Arc<dyn EngineEvents>) -> Self {
        self.events.push(observer);
        self
    }
    /// Build.
    pub fn build(self) -> Result<Engine, RunError> {
        let store = match self.store {
            Some(s) => s,
            None => Arc::new(SqliteStore::in_memory()?),
        };
        let transport = Transport::new(self.config.retry);
        Ok(Engine {
            inner: Arc::new(Inner {
                models: self.models.iter().map(|m| (m.id, *m)).collect(),
                config: self.config,
                store,
                keys: self.keys,
                transport,
                waiters: Mutex::new(HashMap::new()),
                cancels: Mutex::new(HashMap::new()),
                gates: limits::Gates::default(),
                callback_base: Mutex::new(None),
                active: Mutex::new(std::collections::HashSet::new()),
                events: events::Observers::new(self.events),
            }),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
impl Engine {
    /// A builder with defaults: env keys, in-memory SQLite store, no models registered.
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            config: EngineConfig::default(),
            store: None,
            keys: Arc::new(EnvKeys),
            models: Vec::new(),
            events: Vec::new(),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The HTTP transport.
    pub fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// Registered models.
    pub fn models(&self) -> impl Iterator<Item = &'static ModelInfo> + '_ {
        self.inner.models.values().copied()
    }

    /// A registered model.
    pub fn model(&self, id: &str) -> Option<&'static ModelInfo> {
        self.inner.models.get(id).copied()
    }

    /// Where webhooks reach this engine (`http://127.0.0.1:PORT`); set by the listener.
    pub fn set_callback_base(&self, base: Option<String>) {
        *lock(&self.inner.callback_base) = base;
    }

    /// The base URL used for `provider`.
    pub fn base_url(&self, provider: &ProviderInfo) -> String {
        if let Some(u) = self.inner.config.base_urls.get(provider.id) {
            return u.clone();
        }
        if self.inner.config.base_urls_from_env
            && let Ok(u) = std::env::var(base_url_var(provider.id))
            && !u.trim().is_empty()
        {
            return u;
        }
        provider.base_url.to_owned()
    }

    /// The model's timeout after the configured cap.
    pub fn timeout_of(&self, info: &ModelInfo) -> Duration {
        self.inner
            .config
            .timeout_cap
            .map_or(info.timeout, |cap| info.timeout.min(cap))
    }

    /// Typed entry: the params were checked when they were built, so they are not checked again.
    pub async fn run<M: Model>(&self, params: M::Params) -> Result<RunOutput, RunError> {
        self.execute(M::INFO, Checked::Typed(params.to_json()))
            .await
    }

    /// Dynamic entry by id with JSON params.
    pub async fn run_by_id(&self, id: &str, params: &Value) -> Result<RunOutput, RunError> {
        let model = self
            .model(id)
            .ok_or_else(|| RunError::UnknownModel(id.to_owned()))?;
        self.execute(model, Checked::Json(params)).await
    }

    /// Start a generation of model `id` with JSON params for user `user`, without waiting for
    /// the provider: the params are checked, the cost held from the user's credits and the
    /// generation recorded as pending. Then [`Engine::finish`] calls the provider (a server
    /// answers with the id first, and runs this in the background).
    pub async fn start(&self, user: &str, id: &str, params: &Value) -> Result<Started, RunError> {
        let model = self
            .model(id)
            .ok_or_else(|| RunError::UnknownModel(id.to_owned()))?;
        self.begin(user, model, Checked::Json(params)).await
    }

    /// Run a started generation to its recorded end.
    pub async fn finish(&self, started: Started) -> Result<RunOutput, RunError> {
        self.complete(started).await
    }

    /// Dynamic entry with a model and JSON params.
    pub async fn run_dynamic(
        &self,
        model: &'static ModelInfo,
        params: &Value,
    ) -> Result<RunOutput, RunError> {
        self.execute(model, Checked::Json(params)).await
    }

    /// Take a webhook delivery for generation `generation_id` of provider `provider_id`:
    /// verify it by the provider's scheme, map it with the model's `read_task`, and hand it to
    /// the waiting run (or apply it). Duplicates, late and out-of-order deliveries change
    /// nothing once the generation has finished.
    pub async fn handle_webhook(
        &self,
        provider_id: &str,
        generation_id: &str,
        req: &WebhookRequest,
    ) -> Result<WebhookAck, WebhookError> {
        let span = tracing::info_span!("webhook", generation_id, provider = provider_id);
        let result = self
            .handle_webhook_inner(provider_id, generation_id, req)
            .await;
        let outcome = WebhookOutcome::of(&result);
        let provider = self.known_provider(provider_id);
        self.emit(|o| o.webhook(provider, outcome));
        match &result {
            Ok(ack) => {
                tracing::info!(parent: &span, event = "webhook_received", ack = ?ack, "webhook handled")
            }
            Err(e) => {
                tracing::warn!(parent: &span, event = "webhook_rejected", error = %e, "webhook rejected")
            }
        }
        result
    }
}

/// `<PROVIDER_ID>_BASE_URL`.
pub fn base_url_var(provider_id: &str) -> String {
    format!("{}_BASE_URL", provider_id.to_ascii_uppercase())
}
