//! Leases, and what a takeover does with a generation it claims. A crash or kill at any moment
//! leaves each generation completed, failed or resumable, and charged at most once.
//!
//! Every unfinished generation is leased to the instance running it (`lease_owner`, with an
//! expiry the instance pushes forward on every heartbeat, [`Engine::keep_leases`]). The lease
//! is taken in the transaction that records the generation. When an instance stops renewing
//! (killed, hung, cut off from the store), its leases expire and any instance claims them
//! ([`Engine::take_over`]; on Postgres `FOR UPDATE SKIP LOCKED`, so two never claim one). An
//! instance starting under an owner id that has leases left from before (a restart with
//! `--instance-id`, or the single instance on SQLite) hands them back first and takes them at
//! once ([`Engine::recover`]). On a clean shutdown the instance hands its leases back.
//!
//! The rule for a claimed generation, by what the store recorded:
//! - **a task id** (`processing`): the provider accepted the task (the task id is recorded in
//!   the step that reads the submit answer), so its result is waited for again by polling from
//!   the first step (steps only read, so repeating one is safe). The deadline still counts
//!   from the generation's creation. Webhook deliveries that arrive are applied by
//!   `delivery.rs` as for any run no process waits on.
//! - **no task id** (`pending`): the instance stopped between recording the generation and
//!   recording the provider's answer, so the submit may or may not have reached the provider.
//!   It is not sent again, since a second submit could start (and bill) a second job; the
//!   generation fails with kind `interrupted` and its hold is refunded. The user is never
//!   charged for it; a job the provider did start is the operator's cost, and is visible in
//!   the provider's dashboard by its task. A provider that makes submits idempotent
//!   (`idempotent_submit`) is no exception yet: the request's idempotency key is not stored,
//!   so a resubmit would not be recognised as the same request.
//! - a model the engine no longer knows, or whose key is gone: failed and refunded.
//!
//! A lease taken over from an instance that was alive after all (a long pause) can leave two
//! instances polling one task for a while; finishing is idempotent in the store, so exactly
//! one of them records the end and moves the credits.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::events::{Settle, held_for};
use super::run::{RunCtx, Started};
use super::{Engine, RunOutput};
use crate::error::RunError;
use crate::store::{Finish, Generation, now_ms};

/// What a recovery found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Generations with a task, now waited for again.
    pub resumed: Vec<String>,
    /// Generations failed and refunded (no task recorded, unknown model, missing key).
    pub failed: Vec<String>,
}

/// A resumed run, for the caller to spawn (a server spawns each; a test awaits them).
pub type Resumed = Pin<Box<dyn Future<Output = Result<RunOutput, RunError>> + Send + 'static>>;

/// How many generations one claim takes.
const CLAIM_BATCH: usize = 100;

impl Engine {
    /// At start: hand back the leases a previous process under this owner id left, then take
    /// over every generation no live instance holds.
    pub async fn recover(&self) -> Result<(Recovered, Vec<Resumed>), RunError> {
        let lease = &self.inner.config.lease;
        let released = self.inner.store.release_leases(&lease.owner).await?;
        if released > 0 {
            tracing::info!(event = "leases_released", count = released, owner = %lease.owner, "took back the leases of a previous run under this owner");
        }
        self.take_over().await
    }

    /// Claim the generations whose lease expired (or that no one holds), a batch at a time,
    /// and settle each by the rule above. Generations this process runs are left alone.
    pub async fn take_over(&self) -> Result<(Recovered, Vec<Resumed>), RunError> {
        let lease = &self.inner.config.lease;
        let mut found = Recovered::default();
        let mut runs: Vec<Resumed> = Vec::new();
        loop {
            let batch = self.inner.store.claim_expired(lease, CLAIM_BATCH).await?;
            let full = batch.len() == CLAIM_BATCH;
            for g in batch {
                if super::lock(&self.inner.active).contains(&g.id) {
                    continue;
                }
                match self.resumable(&g).await {
                    Ok(started) => {
                        tracing::info!(event = "run_resumed", generation_id = %g.id, model = %g.model_id, owner = %lease.owner, "resuming a generation the provider had accepted");
                        found.resumed.push(g.id.clone());
                        let engine = self.clone();
                        runs.push(Box::pin(async move { engine.complete(started).await }));
                    }
                    Err(reason) => {
                        let error = json!({ "kind": "interrupted", "message": reason, "code": null, "status": null });
                        let settle = Settle {
                            model: &g.model_id,
                            provider: &g.provider,
                            held: self
                                .model(&g.model_id)
                                .map_or(crate::cost::Credits::ZERO, |m| held_for(m, &g.params)),
                            error_kind: Some("interrupted"),
                            elapsed: Duration::from_millis(
                                u64::try_from(now_ms() - g.created_at).unwrap_or(0),
                            ),
                        };
                        if self
                            .settle(&g.id, &Finish::Failed { error }, settle)
                            .await?
                        {
                            tracing::warn!(event = "run_interrupted", generation_id = %g.id, model = %g.model_id, reason, "an unfinished generation could not be resumed; failed and refunded");
                            found.failed.push(g.id.clone());
                        }
                    }
                }
            }
            if !full {
                return Ok((found, runs));
            }
        }
    }

    /// Push this instance's leases forward (the heartbeat). Returns the leases renewed.
    pub async fn renew_leases(&self) -> Result<u64, RunError> {
        Ok(self
            .inner
            .store
            .renew_leases(&self.inner.config.lease)
            .await?)
    }

    /// Hand this instance's leases back, so another instance takes its unfinished generations
    /// over at once (on shutdown, once the runs that could finish have). Returns the leases.
    pub async fn release_leases(&self) -> Result<u64, RunError> {
        Ok(self
            .inner
            .store
            .release_leases(&self.inner.config.lease.owner)
            .await?)
    }

    /// Until `stop` completes: every third of the lease's lifetime, renew this instance's
    /// leases and take over the expired ones of others, spawning the resumed runs. A store
    /// error is logged and tried again at the next beat.
    pub async fn keep_leases(&self, stop: impl Future<Output = ()>) {
        let ttl = u64::try_from(self.inner.config.lease.ttl_ms).unwrap_or(30_000);
        let beat = Duration::from_millis((ttl / 3).max(10));
        let mut stop = std::pin::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(beat) => {}
            }
            if let Err(e) = self.renew_leases().await {
                tracing::error!(event = "lease_renew_failed", error = %e, "could not renew the leases");
                continue;
            }
            match self.take_over().await {
                Ok((found, runs)) => {
                    if !found.resumed.is_empty() || !found.failed.is_empty() {
                        tracing::info!(
                            event = "takeover",
                            resumed = found.resumed.len(),
                            failed = found.failed.len(),
                            "took over generations whose lease had expired"
                        );
                    }
                    for run in runs {
                        tokio::spawn(run);
                    }
                }
                Err(e) => {
                    tracing::error!(event = "takeover_failed", error = %e, "could not take over expired leases")
                }
            }
        }
    }

    /// The run of `g` to resume, or why it cannot be.
    async fn resumable(&self, g: &Generation) -> Result<Started, &'static str> {
        let task = g.task().ok_or(
            "the process stopped before the provider accepted the task; not submitted again",
        )?;
        let model = self
            .model(&g.model_id)
            .ok_or("the model is no longer in the registry")?;
        let params = match &g.params {
            Value::Object(m) => m.clone(),
            _ => return Err("the stored params are not an object"),
        };
        let cost = crate::cost::compute(&model.cost, &params)
            .map_err(|_| "the stored params can no longer be priced")?;
        let key = self
            .key(
                model.provider.id,
                model.id,
                model.key_scope,
                model.secret_name,
            )
            .await
            .map_err(|_| "the model's API key is not configured")?;
        let age = Duration::from_millis(u64::try_from(now_ms() - g.created_at).unwrap_or(0));
        let now = Instant::now();
        let started = now.checked_sub(age).unwrap_or(now);
        let span = tracing::info_span!("generation", generation_id = %g.id, model = model.id, provider = model.provider.id);
        Ok(Started {
            run: RunCtx {
                span,
                generation_id: g.id.clone(),
                model,
                params,
                key,
                started,
                deadline: started + self.timeout_of(model),
                task: Some(task),
            },
            cost,
        })
    }
}
