//! After a restart: every generation the store holds unfinished is settled, so that a crash or
//! kill at any moment leaves each generation completed, failed or resumable, and charged at
//! most once.
//!
//! The rule, by what the store recorded before the process stopped:
//! - **a task id** (`processing`): the provider accepted the task, so its result is waited for
//!   again, by polling from the first step (steps only read, so repeating one is safe). The
//!   deadline still counts from the generation's creation. Webhook deliveries that arrive are
//!   applied by `delivery.rs` as for any run no process waits on.
//! - **no task id** (`pending`): the submit may or may not have reached the provider. It is
//!   not sent again, since a second submit could start (and bill) a second job; the generation
//!   fails with kind `interrupted` and its hold is refunded. A provider that makes submits
//!   idempotent (`idempotent_submit`) is no exception yet: the request's idempotency key is
//!   not stored, so a resubmit would not be recognised as the same request.
//! - a model the engine no longer knows, or whose key is gone: failed and refunded.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

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

impl Engine {
    /// Settle every unfinished generation of the store by the rule above. The resumed runs are
    /// returned as futures for the caller to spawn (a server spawns each; a test awaits them).
    pub fn recover(
        &self,
    ) -> Result<
        (
            Recovered,
            Vec<impl std::future::Future<Output = Result<RunOutput, RunError>> + Send + 'static>,
        ),
        RunError,
    > {
        let mut found = Recovered::default();
        let mut runs = Vec::new();
        for g in self.inner.store.unfinished()? {
            match self.resumable(&g) {
                Ok(started) => {
                    tracing::info!(event = "run_resumed", generation_id = %g.id, model = %g.model_id, "resuming a generation accepted before a restart");
                    found.resumed.push(g.id.clone());
                    let engine = self.clone();
                    runs.push(async move { engine.complete(started).await });
                }
                Err(reason) => {
                    let error = json!({ "kind": "interrupted", "message": reason, "code": null, "status": null });
                    if self.inner.store.finish(&g.id, &Finish::Failed { error })? {
                        tracing::warn!(event = "run_interrupted", generation_id = %g.id, model = %g.model_id, reason, "an unfinished generation could not be resumed; failed and refunded");
                        found.failed.push(g.id.clone());
                    }
                }
            }
        }
        Ok((found, runs))
    }

    /// The run of `g` to resume, or why it cannot be.
    fn resumable(&self, g: &Generation) -> Result<Started, &'static str> {
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
