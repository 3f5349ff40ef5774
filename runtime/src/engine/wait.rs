//! Waiting for an accepted task: polls with exponential backoff (from the model's interval up
//! to its maximum, both under the configured cap), or, in webhook mode, the webhook delivery
//! with polls `webhook_poll_factor` times rarer as the fallback. A delivery the provider's rule
//! wants confirmed (or whose body is not signed) counts only once a poll confirms it. Polls that
//! fail are retried up to `poll_failures_allowed` times in a row; `fatal` errors end the wait
//! at once.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::delivery::Delivery;
use super::run::{RunCtx, Step};
use super::{Engine, Via};
use crate::error::RunError;
use crate::model::{HttpRequest, Outcome, Signature, TaskState};

impl Engine {
    /// Wait for task `task_id` of the run to finish, until the run's deadline: by polling, and
    /// with `rx` (webhook mode, a listener up) also by webhook deliveries.
    pub(super) async fn wait(
        &self,
        run: &RunCtx,
        task_id: &str,
        mut rx: Option<&mut mpsc::UnboundedReceiver<Delivery>>,
    ) -> Step {
        let span = &run.span;
        let g = run.generation_id.as_str();
        let model = run.model;
        let deadline = run.deadline;
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
                        match self.poll_once(run, &poll_req).await {
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
            match self.poll_once(run, &poll_req).await {
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

    /// One poll of the run's task, read with the model's `read_task`.
    async fn poll_once(&self, run: &RunCtx, req: &HttpRequest) -> Result<TaskState, RunError> {
        let model = run.model;
        let value = self.send(run, "poll", req).await?;
        model.read_task(&value).map_err(|source| RunError::Answer {
            provider: model.provider.id.to_owned(),
            source,
        })
    }
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
