//! Cancelling a generation: the model's cancel request is sent to the provider with the task
//! the store holds (so any process sharing the store can cancel), then the generation is
//! recorded as failed with kind `cancelled`, which refunds its hold in the same transaction,
//! and a run of this engine waiting on it stops at once.

use std::sync::Arc;

use serde_json::{Map, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::events::{Settle, held_for};
use super::run::RunCtx;
use super::{Engine, Inner, lock};
use crate::error::RunError;
use crate::store::Finish;

/// How a cancel ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelAck {
    /// The provider took the cancel; the generation is failed (`cancelled`) and refunded.
    Cancelled,
    /// The generation had already finished: nothing changed.
    AlreadyFinished,
}

/// A run's cancel signal, registered while it waits (removed however the wait ends).
pub(super) struct CancelSignal<'a> {
    inner: &'a Inner,
    id: String,
    notify: Arc<Notify>,
}

impl CancelSignal<'_> {
    /// Resolves once the generation is cancelled.
    pub(super) async fn notified(&self) {
        self.notify.notified().await;
    }
}

impl Drop for CancelSignal<'_> {
    fn drop(&mut self) {
        lock(&self.inner.cancels).remove(&self.id);
    }
}

/// How long a cancel request may take.
const CANCEL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Engine {
    /// Register generation `g`'s wait for a cancel.
    pub(super) fn cancel_signal(&self, g: &str) -> CancelSignal<'_> {
        let notify = Arc::new(Notify::new());
        lock(&self.inner.cancels).insert(g.to_owned(), notify.clone());
        CancelSignal {
            inner: &self.inner,
            id: g.to_owned(),
            notify,
        }
    }

    /// Cancel generation `generation_id`: send the model's cancel request for its task, then
    /// record it as failed (`cancelled`) and refund it. A generation that has finished is left
    /// as it is. A provider that refuses the cancel (its job already done, say) leaves the
    /// generation running, and its error is returned.
    pub async fn cancel(&self, generation_id: &str) -> Result<CancelAck, RunError> {
        let g = generation_id;
        let row = self
            .inner
            .store
            .get(g)
            .await?
            .ok_or_else(|| RunError::Config(format!("no generation {g}")))?;
        if row.status.is_terminal() {
            return Ok(CancelAck::AlreadyFinished);
        }
        let model = self
            .model(&row.model_id)
            .ok_or_else(|| RunError::UnknownModel(row.model_id.clone()))?;
        let span = tracing::info_span!("generation", generation_id = %g, model = model.id, provider = model.provider.id);
        if model.cancel.is_none() {
            return Err(RunError::Config(format!(
                "model {} has no cancel request",
                model.id
            )));
        }
        // Before the provider accepted a task there is nothing to cancel there.
        if let Some(task) = row.task() {
            let key = self
                .key(
                    model.provider.id,
                    model.id,
                    model.key_scope,
                    model.secret_name,
                )
                .await?;
            let req = model
                .cancel_request(&task)
                .ok_or_else(|| RunError::Config("no cancel request".to_owned()))?;
            let now = Instant::now();
            let call = RunCtx {
                span: span.clone(),
                generation_id: g.to_owned(),
                model,
                params: Map::new(),
                key,
                started: now,
                deadline: now + CANCEL_TIMEOUT,
                task: Some(task),
            };
            tracing::info!(parent: &span, event = "provider_cancel", "asking the provider to cancel");
            self.send(&call, "cancel", &req).await?;
        }
        let error =
            json!({ "kind": "cancelled", "message": "cancelled", "code": null, "status": null });
        let settle = Settle {
            model: &row.model_id,
            provider: &row.provider,
            held: held_for(model, &row.params),
            error_kind: Some("cancelled"),
            elapsed: std::time::Duration::from_millis(
                u64::try_from(crate::store::now_ms() - row.created_at).unwrap_or(0),
            ),
        };
        let applied = self.settle(g, &Finish::Failed { error }, settle).await?;
        if let Some(n) = lock(&self.inner.cancels).get(g) {
            n.notify_one();
        }
        if applied {
            tracing::info!(parent: &span, event = "generation_cancelled", "generation cancelled; credits refunded");
            Ok(CancelAck::Cancelled)
        } else {
            Ok(CancelAck::AlreadyFinished)
        }
    }
}
