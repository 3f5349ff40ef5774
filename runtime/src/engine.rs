//! The engine: runs a model from params to a finished, charged generation.
//!
//! validate params -> compute cost -> resolve the key for the model's scope -> record the key
//! event, reserve credits and record the generation (pending), in one store transaction -> call
//! the provider (sync; or submit, then poll with backoff or await the webhook with polling as a
//! fallback) -> map the answer -> completed or failed -> charge exactly once, refund on failure.
//! Each step emits a `tracing` event with the generation id, model and provider. A run refused
//! for credits has still resolved (and recorded) its key, but never sends it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::answer::provider_error;
use crate::cost::{self, Credits};
use crate::error::RunError;
use crate::http::{Answer, CallTag, RetryPolicy, SendError, Transport};
use crate::keys::{EnvKeys, KeyError, KeyRequest, KeyResolver, Secret, resolve_logged};
use crate::model::{
    HttpRequest, Mode, Model, ModelInfo, Outcome, Output, Params, ProviderInfo, RequestContext,
    Signature, SubmitAnswer, TaskState,
};
use crate::store::{Finish, Generation, KeyEvent, SqliteStore, Status, Store, now_ms};
use crate::webhook::{self, WebhookError, WebhookRequest};

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
    /// Credits charged (the formula's result).
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
}

struct Delivery {
    state: TaskState,
}

struct Waiter {
    model: &'static ModelInfo,
    token: Secret,
    task_id: Option<String>,
    tx: mpsc::UnboundedSender<Delivery>,
}

struct Inner {
    config: EngineConfig,
    store: Arc<dyn Store>,
    keys: Arc<dyn KeyResolver>,
    transport: Transport,
    models: HashMap<&'static str, &'static ModelInfo>,
    waiters: Mutex<HashMap<String, Waiter>>,
    callback_base: Mutex<Option<String>>,
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
                callback_base: Mutex::new(None),
            }),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Remove a waiter when a run ends, however it ends.
struct WaiterGuard<'a> {
    inner: &'a Inner,
    id: String,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        lock(&self.inner.waiters).remove(&self.id);
    }
}

/// Params as a run receives them.
enum Checked<'a> {
    /// From a typed params value: checked when built, defaults filled in.
    Typed(Map<String, Value>),
    /// JSON from a caller: checked here.
    Json(&'a Value),
}

enum Step {
    Done(Outcome, Via),
    Err(RunError),
}

impl Engine {
    /// A builder with defaults: env keys, in-memory SQLite store, no models registered.
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            config: EngineConfig::default(),
            store: None,
            keys: Arc::new(EnvKeys),
            models: Vec::new(),
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

    /// Dynamic entry with a model and JSON params.
    pub async fn run_dynamic(
        &self,
        model: &'static ModelInfo,
        params: &Value,
    ) -> Result<RunOutput, RunError> {
        self.execute(model, Checked::Json(params)).await
    }

    async fn execute(
        &self,
        model: &'static ModelInfo,
        params: Checked<'_>,
    ) -> Result<RunOutput, RunError> {
        let started = Instant::now();
        let info = model;
        let provider = info.provider;
        let generation_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::info_span!("generation", generation_id = %generation_id, model = info.id, provider = provider.id);
        let _enter = span.enter();
        drop(_enter);
        let g = generation_id.as_str();
        tracing::info!(parent: &span, event = "run_started", content_type = ?info.content_type, mode = ?info.mode, "Starting direct model execution");

        if !info.enabled {
            tracing::warn!(parent: &span, event = "run_refused", reason = "disabled", "model is disabled");
            return Err(RunError::Disabled(info.id.to_owned()));
        }
        let validated = match params {
            Checked::Typed(map) => map,
            Checked::Json(value) => info.validate(value).map_err(|v| {
                tracing::warn!(parent: &span, event = "params_invalid", violations = v.0.len(), error = %v, "params rejected");
                RunError::Validation(v)
            })?,
        };
        tracing::debug!(parent: &span, event = "params_valid", "params validated");
        let cost = cost::compute(&info.cost, &validated)?;
        tracing::info!(parent: &span, event = "cost_computed", credits = %cost, "cost computed");

        let store = &self.inner.store;
        let user = self.inner.config.user_id.as_str();
        let (key, key_event) =
            self.resolve_key(provider.id, info.id, info.key_scope, info.secret_name);
        // Key event, hold and pending row go in together: one transaction in the SQLite store.
        if let Err(available) = store.start(&key_event, &self.pending(g, info, &validated), cost)? {
            tracing::warn!(parent: &span, event = "credits_insufficient", needed = %cost, available = %available, "not enough credits");
            return Err(RunError::InsufficientCredits {
                needed: cost,
                available,
            });
        }
        tracing::info!(parent: &span, event = "credits_reserved", credits = %cost, user_id = user, "credits reserved");
        tracing::info!(parent: &span, event = "generation_recorded", status = "pending", "generation recorded");

        let key = match key {
            Ok(k) => k,
            Err(e) => {
                // Record the attempt as failed: that releases the hold, and monitoring sees it.
                self.fail(&span, g, &e);
                return Err(e);
            }
        };

        let mut task_id = None;
        let step = self
            .call(&span, g, model, &validated, &key, started, &mut task_id)
            .await;
        match step {
            Step::Done(
                Outcome::Completed {
                    outputs,
                    provider_cost,
                },
                via,
            ) => {
                let stored = json!(outputs);
                let finish = Finish::Completed {
                    outputs: stored,
                    provider_cost,
                };
                let applied = store.finish(g, &finish)?;
                let elapsed = started.elapsed();
                if applied {
                    tracing::info!(parent: &span, event = "generation_completed", via = ?via, outputs = outputs.len(), elapsed_ms = elapsed.as_millis() as u64, "generation completed");
                    tracing::info!(parent: &span, event = "credits_charged", credits = %cost, "credits charged");
                    if let Some(pc) = provider_cost
                        && pc.normalize() != cost.as_decimal()
                    {
                        tracing::warn!(parent: &span, event = "cost_mismatch", charged = %cost, provider_cost = %pc.normalize(), "provider-reported cost differs from the formula");
                    }
                }
                Ok(RunOutput {
                    generation_id: generation_id.clone(),
                    model_id: info.id,
                    outputs,
                    cost,
                    provider_cost,
                    task_id,
                    via,
                    elapsed,
                })
            }
            Step::Done(Outcome::Failed { message, code }, _) => {
                let e = RunError::Provider {
                    provider: provider.id.to_owned(),
                    message,
                    code,
                    status: None,
                };
                self.fail(&span, g, &e);
                Err(e)
            }
            Step::Err(e) => {
                self.fail(&span, g, &e);
                Err(e)
            }
        }
    }

    /// The generation's row as first recorded.
    fn pending(&self, g: &str, info: &ModelInfo, validated: &Map<String, Value>) -> Generation {
        let now = now_ms();
        let content_type = serde_json::to_value(info.content_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Generation {
            id: g.to_owned(),
            user_id: self.inner.config.user_id.clone(),
            model_id: info.id.to_owned(),
            provider: info.provider.id.to_owned(),
            content_type,
            status: Status::Pending,
            params: Value::Object(validated.clone()),
            provider_response: json!({}),
            tokens_used: None,
            provider_cost: None,
            created_at: now,
            updated_at: now,
            completed_at: None,
        }
    }

    fn fail(&self, span: &tracing::Span, g: &str, e: &RunError) {
        let (message, code, status) = match e {
            RunError::Provider {
                message,
                code,
                status,
                ..
            } => (message.clone(), code.clone(), *status),
            other => (other.to_string(), None, None),
        };
        let error = json!({ "kind": e.kind(), "message": message, "code": code, "status": status });
        match self.inner.store.finish(g, &Finish::Failed { error }) {
            Ok(true) => {
                tracing::error!(parent: span, event = "generation_failed", kind = e.kind(), error = %e, "Generation failed");
                tracing::info!(parent: span, event = "credits_refunded", "credits refunded");
            }
            Ok(false) => {
                tracing::warn!(parent: span, event = "generation_already_finished", "generation had already finished")
            }
            Err(se) => {
                tracing::error!(parent: span, event = "store_error", error = %se, "could not record the failure")
            }
        }
    }

    fn key(
        &self,
        provider: &str,
        model: &str,
        scope: &str,
        secret_name: &str,
    ) -> Result<Secret, RunError> {
        let (result, event) = self.resolve_key(provider, model, scope, secret_name);
        if let Err(e) = self.inner.store.log_key_event(&event) {
            tracing::error!(event = "store_error", error = %e, "could not record the key event");
        }
        result
    }

    /// Resolve a key (logged by `tracing`), with the event for the store to record.
    fn resolve_key(
        &self,
        provider: &str,
        model: &str,
        scope: &str,
        secret_name: &str,
    ) -> (Result<Secret, RunError>, KeyEvent) {
        let req = KeyRequest {
            provider,
            model,
            scope,
            secret_name,
        };
        let result = resolve_logged(self.inner.keys.as_ref(), &req);
        let event = KeyEvent {
            time: now_ms(),
            provider: provider.to_owned(),
            model: model.to_owned(),
            scope: scope.to_owned(),
            secret_name: secret_name.to_owned(),
            success: result.is_ok(),
            error: result.as_ref().err().map(KeyError::to_string),
        };
        let result = result.map_err(|_| RunError::MissingKey {
            provider: provider.to_owned(),
            scope: scope.to_owned(),
            secret_name: secret_name.to_owned(),
        });
        (result, event)
    }

    fn callback_url(&self, g: &str, provider: &str, token: &Secret) -> Option<String> {
        let base = lock(&self.inner.callback_base).clone()?;
        Some(format!(
            "{}/webhooks/{provider}/{g}?token={}",
            base.trim_end_matches('/'),
            token.expose()
        ))
    }

    async fn send(
        &self,
        info: &ModelInfo,
        step: &str,
        req: &HttpRequest,
        key: &Secret,
        deadline: Instant,
    ) -> Result<Value, RunError> {
        let provider = info.provider;
        let tag = CallTag {
            provider: provider.id,
            model: info.id,
            step,
            idempotent_submit: provider.idempotent_submit,
        };
        let base = self.base_url(provider);
        let answer = self
            .inner
            .transport
            .send(tag, &base, req, &provider.auth, key, deadline)
            .await;
        let Answer { status, body } = match answer {
            Ok(a) => a,
            Err(SendError::Timeout) => return Err(RunError::Timeout(self.timeout_of(info))),
            Err(SendError::Transport { message, .. }) => {
                return Err(RunError::Transport {
                    provider: provider.id.to_owned(),
                    message,
                });
            }
        };
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        if !(200..300).contains(&status) {
            let (message, code) = parsed
                .as_ref()
                .and_then(|v| provider.errors.and_then(|rule| provider_error(&rule, v)))
                .unwrap_or_else(|| (format!("HTTP {status}"), None));
            return Err(RunError::Provider {
                provider: provider.id.to_owned(),
                message,
                code,
                status: Some(status),
            });
        }
        let value = parsed.ok_or_else(|| RunError::NotJson {
            provider: provider.id.to_owned(),
            status,
        })?;
        if let Some(rule) = provider.errors
            && let Some((message, code)) = provider_error(&rule, &value)
        {
            return Err(RunError::Provider {
                provider: provider.id.to_owned(),
                message,
                code,
                status: Some(status),
            });
        }
        Ok(value)
    }

    /// Submit, then wait for the result; `task` gets the provider's task id once accepted.
    #[allow(clippy::too_many_arguments)]
    async fn call(
        &self,
        span: &tracing::Span,
        g: &str,
        model: &'static ModelInfo,
        params: &Map<String, Value>,
        key: &Secret,
        started: Instant,
        task: &mut Option<String>,
    ) -> Step {
        let info = model;
        let provider = info.provider;
        let deadline = started + self.timeout_of(info);
        let answer_err = |source| RunError::Answer {
            provider: provider.id.to_owned(),
            source,
        };

        // Webhook models get a callback URL with a per-generation token, and a waiter.
        let mut guard = None;
        let mut rx = None;
        let mut callback_url = None;
        if info.mode == Mode::Webhook {
            let token = Secret::new(uuid::Uuid::new_v4().simple().to_string());
            callback_url = self.callback_url(g, provider.id, &token);
            if callback_url.is_some() {
                let (tx, r) = mpsc::unbounded_channel();
                lock(&self.inner.waiters).insert(
                    g.to_owned(),
                    Waiter {
                        model,
                        token,
                        task_id: None,
                        tx,
                    },
                );
                guard = Some(WaiterGuard {
                    inner: &self.inner,
                    id: g.to_owned(),
                });
                rx = Some(r);
            } else {
                tracing::warn!(parent: span, event = "webhook_unavailable", "no callback listener: polling only");
            }
        }
        let ctx = RequestContext {
            uuid: uuid::Uuid::new_v4().to_string(),
            callback_url,
        };
        let req = model.submit_request(params, &ctx);
        tracing::info!(parent: span, event = "provider_submit", "calling provider");
        let value = match self.send(info, "submit", &req, key, deadline).await {
            Ok(v) => v,
            Err(e) => return Step::Err(e),
        };
        let (task_id, submit_cost) = match model.read_submit(&value) {
            Ok(SubmitAnswer::Done(outcome)) => return Step::Done(outcome, Via::Sync),
            Ok(SubmitAnswer::Accepted {
                task_id,
                provider_cost,
            }) => (task_id, provider_cost),
            Err(e) => return Step::Err(answer_err(e)),
        };
        tracing::info!(parent: span, event = "task_accepted", task_id = %task_id, "provider accepted the task");
        if let Err(e) = self.inner.store.mark_processing(g, Some(&task_id)) {
            return Step::Err(e.into());
        }
        *task = Some(task_id.clone());
        if guard.is_some()
            && let Some(w) = lock(&self.inner.waiters).get_mut(g)
        {
            w.task_id = Some(task_id.clone());
        }
        let step = self
            .wait(span, g, model, &task_id, key, deadline, rx.as_mut())
            .await;
        drop(guard);
        match step {
            Step::Done(
                Outcome::Completed {
                    outputs,
                    provider_cost,
                },
                via,
            ) => Step::Done(
                Outcome::Completed {
                    outputs,
                    provider_cost: provider_cost.or(submit_cost),
                },
                via,
            ),
            other => other,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn wait(
        &self,
        span: &tracing::Span,
        g: &str,
        model: &'static ModelInfo,
        task_id: &str,
        key: &Secret,
        deadline: Instant,
        mut rx: Option<&mut mpsc::UnboundedReceiver<Delivery>>,
    ) -> Step {
        let info = model;
        let Some(poll_req) = model.poll_request(task_id) else {
            return Step::Err(RunError::Config(format!(
                "model {} has no poll request",
                info.id
            )));
        };
        let timing = info.poll.unwrap_or(crate::model::PollTiming {
            interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(30),
        });
        let cap = self.inner.config.poll_interval_cap;
        let capped = |d: Duration| cap.map_or(d, |c| d.min(c));
        let factor = if rx.is_some() {
            self.inner.config.webhook_poll_factor.max(1)
        } else {
            1
        };
        let mut interval = capped(timing.interval) * factor;
        let max_interval = capped(timing.max_interval).max(capped(timing.interval)) * factor;
        let confirm = info
            .provider
            .webhook
            .is_some_and(|w| w.confirm_by_poll || w.signature == Signature::None);
        let mut failures = 0u32;
        let mut polls = 0u32;
        loop {
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!(parent: span, event = "timeout", polls, "no result before the timeout");
                return Step::Err(RunError::Timeout(self.timeout_of(info)));
            }
            let wake = (now + interval).min(deadline);
            let delivery = match rx.as_deref_mut() {
                Some(r) => tokio::select! {
                    d = r.recv() => d,
                    _ = tokio::time::sleep_until(wake) => None,
                },
                None => {
                    tokio::time::sleep_until(wake).await;
                    None
                }
            };
            if let Some(d) = delivery {
                tracing::info!(parent: span, event = "webhook_delivered", state = state_name(&d.state), "webhook delivery");
                match d.state {
                    TaskState::Done(outcome) if !confirm => {
                        return Step::Done(outcome, Via::Webhook);
                    }
                    TaskState::Done(_) => {
                        // The body is not signed: trust the provider's own record instead.
                        tracing::info!(parent: span, event = "webhook_confirm_poll", "confirming the delivery by a poll");
                        match self.poll_once(info, model, &poll_req, key, deadline).await {
                            Ok(TaskState::Done(outcome)) => {
                                return Step::Done(outcome, Via::Webhook);
                            }
                            Ok(_) => {
                                tracing::warn!(parent: span, event = "webhook_unconfirmed", "the poll does not confirm the delivery");
                            }
                            Err(e) if fatal(&e) => return Step::Err(e),
                            Err(e) => {
                                tracing::warn!(parent: span, event = "poll_error", error = %e, "poll failed")
                            }
                        }
                    }
                    TaskState::Processing => {
                        let _ = self.inner.store.mark_processing(g, None);
                    }
                    TaskState::Pending => {}
                }
                continue;
            }
            if Instant::now() >= deadline {
                continue;
            }
            polls += 1;
            match self.poll_once(info, model, &poll_req, key, deadline).await {
                Ok(TaskState::Done(outcome)) => {
                    tracing::info!(parent: span, event = "poll", polls, state = "done", "task finished");
                    return Step::Done(outcome, Via::Poll);
                }
                Ok(state) => {
                    failures = 0;
                    tracing::debug!(parent: span, event = "poll", polls, state = state_name(&state), next_ms = interval.as_millis() as u64, "task running");
                    if matches!(state, TaskState::Processing) {
                        let _ = self.inner.store.mark_processing(g, None);
                    }
                }
                Err(e) if fatal(&e) => return Step::Err(e),
                Err(e) => {
                    failures += 1;
                    tracing::warn!(parent: span, event = "poll_error", polls, failures, error = %e, "poll failed");
                    if failures > self.inner.config.poll_failures_allowed {
                        return Step::Err(e);
                    }
                }
            }
            interval = (interval * 2).min(max_interval);
        }
    }

    async fn poll_once(
        &self,
        info: &ModelInfo,
        model: &ModelInfo,
        req: &HttpRequest,
        key: &Secret,
        deadline: Instant,
    ) -> Result<TaskState, RunError> {
        let value = self.send(info, "poll", req, key, deadline).await?;
        model.read_task(&value).map_err(|source| RunError::Answer {
            provider: info.provider.id.to_owned(),
            source,
        })
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

    async fn handle_webhook_inner(
        &self,
        provider_id: &str,
        g: &str,
        req: &WebhookRequest,
    ) -> Result<WebhookAck, WebhookError> {
        let row = self
            .inner
            .store
            .get(g)
            .map_err(|e| WebhookError::Malformed(e.to_string()))?
            .ok_or(WebhookError::UnknownGeneration)?;
        if row.provider != provider_id {
            return Err(WebhookError::Mismatch);
        }
        let (model, token, waiter_task) = {
            let waiters = lock(&self.inner.waiters);
            match waiters.get(g) {
                Some(w) => (Some(w.model), Some(w.token.clone()), w.task_id.clone()),
                None => (
                    self.inner.models.get(row.model_id.as_str()).copied(),
                    None,
                    None,
                ),
            }
        };
        let Some(model) = model else {
            return if row.status.is_terminal() {
                Ok(WebhookAck::AlreadyFinished)
            } else {
                Err(WebhookError::UnknownGeneration)
            };
        };
        let info = model;
        let rule = info.provider.webhook.ok_or(WebhookError::NotSupported)?;
        let body: Value = serde_json::from_slice(&req.body)
            .map_err(|_| WebhookError::Malformed("body is not JSON".to_owned()))?;
        let task_id = rule
            .task_id
            .iter()
            .find_map(|p| crate::answer::string(&body, p).ok());
        let expected_task = waiter_task.or_else(|| row.task_id().map(str::to_owned));
        let tolerance = rule.tolerance.unwrap_or(Duration::from_secs(300));
        let secret = |name: Option<&'static str>| -> Result<Secret, WebhookError> {
            let name = name.ok_or(WebhookError::MissingSecret("(unnamed)".to_owned()))?;
            self.key(info.provider.id, info.id, "webhook_signing", name)
                .map_err(|_| WebhookError::MissingSecret(name.to_owned()))
        };
        match rule.signature {
            Signature::StandardWebhooks => webhook::verify_standard_webhooks(
                secret(rule.secret_name)?.expose(),
                req,
                webhook::now_secs(),
                tolerance,
            )?,
            Signature::KieHmac => {
                let t = task_id
                    .as_deref()
                    .ok_or(WebhookError::Malformed("no task id".to_owned()))?;
                webhook::verify_kie(
                    secret(rule.secret_name)?.expose(),
                    t,
                    req,
                    webhook::now_secs(),
                    tolerance,
                )?
            }
            Signature::UrlToken => match &token {
                Some(t) => webhook::verify_url_token(t.expose(), req)?,
                None if row.status.is_terminal() => return Ok(WebhookAck::AlreadyFinished),
                None => return Err(WebhookError::BadSignature),
            },
            Signature::None => {}
        }
        if let (Some(t), Some(expected)) = (&task_id, &expected_task)
            && t != expected
        {
            return Err(WebhookError::Mismatch);
        }
        let state = model
            .read_task(&body)
            .map_err(|e| WebhookError::Malformed(e.to_string()))?;
        if row.status.is_terminal() {
            return Ok(WebhookAck::AlreadyFinished);
        }
        if let Some(tx) = lock(&self.inner.waiters).get(g).map(|w| w.tx.clone())
            && tx
                .send(Delivery {
                    state: state.clone(),
                })
                .is_ok()
        {
            return Ok(WebhookAck::Delivered);
        }
        // No run is waiting (e.g. after a restart): apply a signed result directly.
        let confirm = rule.confirm_by_poll || rule.signature == Signature::None;
        match state {
            TaskState::Done(_) if confirm => Ok(WebhookAck::Ignored),
            TaskState::Done(Outcome::Completed {
                outputs,
                provider_cost,
            }) => {
                let applied = self
                    .inner
                    .store
                    .finish(
                        g,
                        &Finish::Completed {
                            outputs: json!(outputs),
                            provider_cost,
                        },
                    )
                    .map_err(|e| WebhookError::Malformed(e.to_string()))?;
                Ok(if applied {
                    WebhookAck::Applied
                } else {
                    WebhookAck::AlreadyFinished
                })
            }
            TaskState::Done(Outcome::Failed { message, code }) => {
                let error =
                    json!({ "kind": "provider", "message": message, "code": code, "status": null });
                let applied = self
                    .inner
                    .store
                    .finish(g, &Finish::Failed { error })
                    .map_err(|e| WebhookError::Malformed(e.to_string()))?;
                Ok(if applied {
                    WebhookAck::Applied
                } else {
                    WebhookAck::AlreadyFinished
                })
            }
            TaskState::Processing => {
                let _ = self.inner.store.mark_processing(g, None);
                Ok(WebhookAck::Applied)
            }
            TaskState::Pending => Ok(WebhookAck::Ignored),
        }
    }
}

/// `<PROVIDER_ID>_BASE_URL`.
pub fn base_url_var(provider_id: &str) -> String {
    format!("{}_BASE_URL", provider_id.to_ascii_uppercase())
}

fn state_name(s: &TaskState) -> &'static str {
    match s {
        TaskState::Pending => "pending",
        TaskState::Processing => "processing",
        TaskState::Done(Outcome::Completed { .. }) => "completed",
        TaskState::Done(Outcome::Failed { .. }) => "failed",
    }
}

/// Poll errors that end a generation at once (others are retried at the next poll).
fn fatal(e: &RunError) -> bool {
    match e {
        RunError::Provider {
            status: Some(s), ..
        } => *s != 429 && *s < 500,
        RunError::Provider { status: None, .. } => true,
        RunError::Timeout(_) => true,
        RunError::Answer { .. } => true,
        _ => false,
    }
}
