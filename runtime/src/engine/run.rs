//! One generation from params to its recorded end: validate, compute the cost, resolve the
//! key, start (key event, credit hold and pending row together), call the provider, then finish
//! (charge) or fail (refund).
//!
//! Once the key is resolved, what the run carries is one [`RunCtx`], passed by reference to
//! every step after it (`call` here, the waits in `wait.rs`).

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::events::{InFlight, Settle};
use super::{Engine, ProviderStatus, RunOutput, Via, shortfall};
use crate::answer::provider_error;
use crate::cost;
use crate::error::RunError;
use crate::http::{Answer, CallTag, SendError};
use crate::keys::{KeyError, KeyRequest, Secret, resolve_logged};
use crate::model::{HttpRequest, Mode, ModelInfo, Outcome, RequestContext, SubmitAnswer, Task};
use crate::store::{Finish, Generation, KeyEvent, OutputCount, Status, now_ms};

/// Params as a run receives them.
pub(super) enum Checked<'a> {
    /// From a typed params value: checked when built, defaults filled in.
    Typed(Map<String, Value>),
    /// JSON from a caller: checked here.
    Json(&'a Value),
}

/// How a call to the provider ended.
pub(super) enum Step {
    Done(Outcome, Via),
    Err(RunError),
}

/// What one run carries once its key is resolved.
pub(super) struct RunCtx {
    /// The run's `generation` span (generation id, model, provider): every event's parent.
    pub(super) span: tracing::Span,
    /// Generation id (UUID v4).
    pub(super) generation_id: String,
    /// The model run.
    pub(super) model: &'static ModelInfo,
    /// Validated params, defaults filled in.
    pub(super) params: Map<String, Value>,
    /// The provider key.
    pub(super) key: Secret,
    /// When the run call began.
    pub(super) started: Instant,
    /// `started` plus the model's timeout after the configured cap: no request outlives it.
    pub(super) deadline: Instant,
    /// The provider's task, once the provider accepted it.
    pub(super) task: Option<Task>,
}

/// A generation recorded as pending, its credits held, not yet sent to the provider: see
/// [`Engine::start`](super::Engine::start).
pub struct Started {
    pub(super) run: RunCtx,
    pub(super) cost: cost::Credits,
}

impl Started {
    /// The generation's id.
    pub fn generation_id(&self) -> &str {
        &self.run.generation_id
    }

    /// What it costs (held now, charged on completion).
    pub fn cost(&self) -> cost::Credits {
        self.cost
    }
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("generation_id", &self.run.generation_id)
            .field("model", &self.run.model.id)
            .finish_non_exhaustive()
    }
}

/// The output count of a completed generation (see `shortfall.rs`); a count that cannot be
/// priced (exact arithmetic overflowing) charges the whole cost, with an error event.
pub(super) fn counted(
    span: &tracing::Span,
    info: &'static ModelInfo,
    params: &Map<String, Value>,
    cost: cost::Credits,
    received: usize,
) -> Option<OutputCount> {
    shortfall::reconcile(info, params, cost, received).unwrap_or_else(|e| {
        tracing::error!(parent: span, event = "output_count_unpriced", error = %e, "could not price the output shortfall; charging the whole cost");
        None
    })
}

/// The `output_shortfall` warning, when fewer outputs came back than were charged for.
pub(super) fn shortfall_event(span: &tracing::Span, c: &OutputCount, cost: cost::Credits) {
    if c.received < c.expected {
        let refunded = cost::Credits::from_decimal(cost.as_decimal() - c.charge.as_decimal());
        tracing::warn!(parent: span, event = "output_shortfall", expected = c.expected, received = c.received, charged = %c.charge, refunded = %refunded, "the provider returned fewer outputs than were charged for; refunded pro rata");
    }
}

/// Marks a generation as run by this process for as long as it lives.
struct Active<'a> {
    engine: &'a Engine,
    id: String,
}

impl<'a> Active<'a> {
    fn new(engine: &'a Engine, id: &str) -> Self {
        super::lock(&engine.inner.active).insert(id.to_owned());
        Active {
            engine,
            id: id.to_owned(),
        }
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        super::lock(&self.engine.inner.active).remove(&self.id);
    }
}

impl Engine {
    /// Run one generation from `params` to its recorded end: what every entry point does.
    pub(super) async fn execute(
        &self,
        model: &'static ModelInfo,
        params: Checked<'_>,
    ) -> Result<RunOutput, RunError> {
        let user = self.inner.config.user_id.clone();
        let started = self.begin(&user, model, params).await?;
        self.complete(started).await
    }

    /// The first half of a run, up to the recorded pending generation: validate, price,
    /// resolve the key, and record the key event, the credit hold and the pending row in one
    /// transaction. Nothing has been sent to the provider yet.
    pub(super) async fn begin(
        &self,
        user: &str,
        model: &'static ModelInfo,
        params: Checked<'_>,
    ) -> Result<Started, RunError> {
        let started = Instant::now();
        let info = model;
        let provider = info.provider;
        let generation_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::info_span!("generation", generation_id = %generation_id, model = info.id, provider = provider.id);
        let g = generation_id.as_str();
        tracing::info!(parent: &span, event = "run_started", content_type = ?info.content_type, mode = ?info.mode, "Starting direct model execution");

        if !info.enabled {
            tracing::warn!(parent: &span, event = "run_refused", reason = "disabled", "model is disabled");
            return Err(RunError::Disabled(info.id.to_owned()));
        }
        if let Err(retry_after) = self.inner.gates.of(provider).admit() {
            tracing::warn!(parent: &span, event = "run_refused", reason = "circuit_open", retry_after_ms = retry_after.as_millis() as u64, "provider circuit breaker is open");
            return Err(RunError::ProviderUnavailable {
                provider: provider.id.to_owned(),
                retry_after,
            });
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
        tracing::debug!(parent: &span, event = "cost_computed", credits = %cost, "cost computed");

        let store = &self.inner.store;
        let (key, key_event) =
            self.resolve_key(provider.id, info.id, info.key_scope, info.secret_name);
        // Key event, hold and pending row (leased to this instance) go in together: one
        // transaction.
        let pending = self.pending(g, user, info, &validated);
        if let Err(available) = store
            .start(&key_event, &pending, cost, &self.inner.config.lease)
            .await?
        {
            tracing::warn!(parent: &span, event = "credits_insufficient", needed = %cost, available = %available, "not enough credits");
            return Err(RunError::InsufficientCredits {
                needed: cost,
                available,
            });
        }
        tracing::info!(parent: &span, event = "generation_recorded", status = "pending", credits_reserved = %cost, user_id = user, "generation recorded, credits reserved");

        let key = match key {
            Ok(k) => k,
            Err(e) => {
                // Record the attempt as failed: that releases the hold, and monitoring sees it.
                self.fail(&span, g, info, cost, started, &e).await;
                return Err(e);
            }
        };

        Ok(Started {
            run: RunCtx {
                span,
                generation_id,
                model,
                params: validated,
                key,
                started,
                deadline: started + self.timeout_of(info),
                task: None,
            },
            cost,
        })
    }

    /// The second half of a run: call the provider, wait for the result, and record the end
    /// (charge, or refund).
    pub(super) async fn complete(&self, started: Started) -> Result<RunOutput, RunError> {
        let Started { mut run, cost } = started;
        let _active = Active::new(self, &run.generation_id);
        let _in_flight = InFlight::new(self);
        let info = run.model;
        let provider = info.provider;
        // A resumed run's task was accepted before a restart: wait for it, never submit again.
        let step = match run.task.is_some() {
            true => self.wait(&run, 0, None).await,
            false => self.call(&mut run).await,
        };
        let RunCtx {
            span,
            generation_id,
            params,
            started,
            task,
            ..
        } = run;
        let task_id = task.map(|t| t.id);
        let g = generation_id.as_str();
        match step {
            Step::Done(
                Outcome::Completed {
                    outputs,
                    provider_cost,
                },
                via,
            ) => {
                let stored = json!(outputs);
                let count = counted(&span, info, &params, cost, outputs.len());
                let finish = Finish::Completed {
                    outputs: stored,
                    provider_cost,
                    count,
                };
                let charged = finish.charge(cost);
                let elapsed = started.elapsed();
                let settle = Settle {
                    model: info.id,
                    provider: provider.id,
                    held: cost,
                    error_kind: None,
                    elapsed,
                };
                let applied = self.settle(g, &finish, settle).await?;
                if applied {
                    tracing::info!(parent: &span, event = "generation_completed", via = ?via, outputs = outputs.len(), elapsed_ms = elapsed.as_millis() as u64, credits_charged = %charged, "generation completed, credits charged");
                    if let Some(c) = count {
                        shortfall_event(&span, &c, cost);
                    }
                    if let Some(pc) = provider_cost
                        && pc.normalize() != charged.as_decimal()
                    {
                        tracing::warn!(parent: &span, event = "cost_mismatch", charged = %charged, provider_cost = %pc.normalize(), "provider-reported cost differs from the formula");
                    }
                }
                Ok(RunOutput {
                    generation_id: generation_id.clone(),
                    model_id: info.id,
                    outputs,
                    cost: charged,
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
                self.fail(&span, g, info, cost, started, &e).await;
                Err(e)
            }
            Step::Err(e) => {
                self.fail(&span, g, info, cost, started, &e).await;
                Err(e)
            }
        }
    }

    /// The generation's row as first recorded.
    fn pending(
        &self,
        g: &str,
        user: &str,
        info: &ModelInfo,
        validated: &Map<String, Value>,
    ) -> Generation {
        let now = now_ms();
        let content_type = serde_json::to_value(info.content_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Generation {
            id: g.to_owned(),
            user_id: user.to_owned(),
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
            outputs_expected: None,
            outputs_received: None,
            credits_refunded: None,
        }
    }

    /// Record generation `g` of `info` as failed with `e` (which refunds its hold of `held`),
    /// unless it has already finished.
    pub(super) async fn fail(
        &self,
        span: &tracing::Span,
        g: &str,
        info: &ModelInfo,
        held: cost::Credits,
        started: Instant,
        e: &RunError,
    ) {
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
        let settle = Settle {
            model: info.id,
            provider: info.provider.id,
            held,
            error_kind: Some(e.kind()),
            elapsed: started.elapsed(),
        };
        match self.settle(g, &Finish::Failed { error }, settle).await {
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

    /// Resolve a key outside a run (a webhook signing secret), recording its event at once.
    pub(super) async fn key(
        &self,
        provider: &str,
        model: &str,
        scope: &str,
        secret_name: &str,
    ) -> Result<Secret, RunError> {
        let (result, event) = self.resolve_key(provider, model, scope, secret_name);
        self.log_key_event(&event).await;
        result
    }

    /// Record a key retrieval; a store error is logged, not returned (the retrieval happened).
    pub(super) async fn log_key_event(&self, event: &KeyEvent) {
        if let Err(e) = self.inner.store.log_key_event(event).await {
            tracing::error!(event = "store_error", error = %e, "could not record the key event");
        }
    }

    /// Resolve a key (logged by `tracing`), with the event for the store to record.
    pub(super) fn resolve_key(
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
        let ok = result.is_ok();
        self.emit(|o| o.key_retrieved(secret_name, ok));
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

    /// Send one request of the run (`step`: `submit` or `poll`) and read the answer as JSON:
    /// a non-2xx status or an error the provider reports in a 2xx body is a provider error.
    pub(super) async fn send(
        &self,
        run: &RunCtx,
        step: &str,
        req: &HttpRequest,
    ) -> Result<Value, RunError> {
        let info = run.model;
        let provider = info.provider;
        let tag = CallTag {
            provider: provider.id,
            model: info.id,
            step,
            idempotent_submit: provider.idempotent_submit,
            allowed_hosts: provider.allowed_hosts,
        };
        let base = self.base_url(provider);
        let gate = self.inner.gates.of(provider);
        let Some(_slot) = gate.slot(run.deadline).await else {
            return Err(RunError::Timeout(self.timeout_of(info)));
        };
        let answer = self
            .inner
            .transport
            .send(tag, &base, req, &provider.auth, &run.key, run.deadline)
            .await;
        gate.record(match &answer {
            Ok(a) => a.status == 429 || a.status >= 500,
            Err(SendError::OffHost(_)) => false,
            Err(_) => true,
        });
        // The provider's failures, by status; a URL refused before sending is not one.
        let failed = match &answer {
            Ok(a) if !(200..300).contains(&a.status) => Some(ProviderStatus::Http(a.status)),
            Ok(_) | Err(SendError::OffHost(_)) => None,
            Err(SendError::Timeout) => Some(ProviderStatus::Timeout),
            Err(SendError::Transport { .. }) => Some(ProviderStatus::Transport),
        };
        if let Some(status) = failed {
            self.emit(|o| o.provider_error(provider.id, status));
        }
        let Answer { status, body } = match answer {
            Ok(a) => a,
            Err(SendError::Timeout) => return Err(RunError::Timeout(self.timeout_of(info))),
            Err(SendError::Transport { message, .. }) => {
                return Err(RunError::Transport {
                    provider: provider.id.to_owned(),
                    message,
                });
            }
            Err(SendError::OffHost(reason)) => {
                tracing::error!(parent: &run.span, event = "url_refused", step, reason = %reason, "refused a URL from the provider's answer");
                return Err(RunError::OffHost {
                    provider: provider.id.to_owned(),
                    reason,
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

    /// Submit, then wait for the result; `run.task_id` gets the provider's task id once
    /// accepted.
    async fn call(&self, run: &mut RunCtx) -> Step {
        let model = run.model;
        let info = model;
        let provider = info.provider;
        let span = &run.span;
        let g = run.generation_id.as_str();
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
                let (waiter, r) = self.register_waiter(g, model, token);
                guard = Some(waiter);
                rx = Some(r);
            } else {
                tracing::warn!(parent: span, event = "webhook_unavailable", "no callback listener: polling only");
            }
        }
        let ctx = RequestContext {
            uuid: uuid::Uuid::new_v4().to_string(),
            callback_url,
        };
        let req = model.submit_request(&run.params, &ctx);
        tracing::debug!(parent: span, event = "provider_submit", "calling provider");
        let value = match self.send(run, "submit", &req).await {
            Ok(v) => v,
            Err(e) => return Step::Err(e),
        };
        let (task, submit_cost, next_step) = match model.read_submit(&value) {
            Ok(SubmitAnswer::Done(outcome)) => return Step::Done(outcome, Via::Sync),
            Ok(SubmitAnswer::Accepted {
                task,
                provider_cost,
                next_step,
            }) => (task, provider_cost, next_step),
            Err(e) => return Step::Err(answer_err(e)),
        };
        tracing::info!(parent: span, event = "task_accepted", task_id = %task.id, "provider accepted the task");
        if let Err(e) = self.inner.store.mark_processing(g, Some(&task)).await {
            return Step::Err(e.into());
        }
        if let Some(guard) = &guard {
            guard.set_task_id(&task.id);
        }
        run.task = Some(task);
        let step = self.wait(run, next_step, rx.as_mut()).await;
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
}
