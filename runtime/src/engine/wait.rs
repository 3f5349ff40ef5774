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
use crate::model::{Outcome, Signature, TaskState};
use crate::store::now_ms;

impl Engine {
    /// Wait for the run's task to finish, until the run's deadline: by running its steps from
    /// `first_step` (each polled until it reports its part done), and with `rx` (webhook mode,
    /// a listener up) also by webhook deliveries. A cancel ends the wait at once.
    pub(super) async fn wait(
        &self,
        run: &RunCtx,
        first_step: usize,
        mut rx: Option<&mut mpsc::UnboundedReceiver<Delivery>>,
    ) -> Step {
        let span = &run.span;
        let g = run.generation_id.as_str();
        let model = run.model;
        let deadline = run.deadline;
        let info = model;
        if info.steps.is_empty() {
            return Step::Err(RunError::Config(format!(
                "model {} has no poll request",
                info.id
            )));
        }
        let cancelled = self.cancel_signal(g);
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
        let mut at = first_step.min(info.steps.len() - 1);
        // A step that follows a finished one runs at once, not after an interval.
        let mut now_due = first_step > 0;
        let mut failures = 0u32;
        let mut polls = 0u32;
        loop {
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!(parent: span, event = "timeout", polls, "no result before the timeout");
                return Step::Err(RunError::Timeout(self.timeout_of(info)));
            }
            let wake = if now_due {
                now
            } else {
                (now + interval).min(deadline)
            };
            now_due = false;
            let delivery = tokio::select! {
                d = recv(rx.as_deref_mut()) => d,
                _ = cancelled.notified() => {
                    tracing::info!(parent: span, event = "run_cancelled", "cancelled while waiting");
                    return Step::Err(RunError::Cancelled);
                }
                _ = tokio::time::sleep_until(wake) => None,
            };
            if let Some(d) = delivery {
                tracing::info!(parent: span, event = "webhook_delivered", state = state_name(&d.state), "webhook delivery");
                match d.state {
                    TaskState::Done(outcome) if !confirm => {
                        return Step::Done(outcome, Via::Webhook);
                    }
                    TaskState::Done(_) | TaskState::Ready => {
                        // Unsigned body, or a delivery that only says "done": the provider's own
                        // record has the result. Ready: straight to the last step.
                        if matches!(d.state, TaskState::Ready) {
                            at = info.steps.len() - 1;
                        }
                        tracing::info!(parent: span, event = "webhook_confirm_poll", "reading the result the delivery announces");
                        match self.advance(run, &mut at).await {
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
                        let _ = self.inner.store.mark_processing(g, None).await;
                    }
                    TaskState::Pending => {}
                }
                continue;
            }
            if Instant::now() >= deadline {
                continue;
            }
            polls += 1;
            match self.advance(run, &mut at).await {
                Ok(TaskState::Done(outcome)) => {
                    tracing::info!(parent: span, event = "poll", polls, state = "done", "task finished");
                    return Step::Done(outcome, Via::Poll);
                }
                Ok(state) => {
                    failures = 0;
                    tracing::debug!(parent: span, event = "poll", polls, step = at, state = state_name(&state), next_ms = interval.as_millis() as u64, "task running");
                    if matches!(state, TaskState::Processing) {
                        let _ = self.inner.store.mark_processing(g, None).await;
                    }
                    // Where a takeover starts: the poll due soonest is claimed first.
                    let next = now_ms() + i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
                    if let Err(e) = self.inner.store.set_next_poll(g, next).await {
                        tracing::warn!(parent: span, event = "store_error", error = %e, "could not record the next poll");
                    }
                }
                Err(e) if fatal(&e) => return Step::Err(e),
                Err(e) => {
                    failures += 1;
                    tracing::warn!(parent: span, event = "poll_error", polls, step = at, failures, error = %e, "poll failed");
                    if failures > self.inner.config.poll_failures_allowed {
                        return Step::Err(e);
                    }
                }
            }
            interval = (interval * 2).min(max_interval);
        }
    }

    /// Run step `*at` of the run's task; while a step reports its part done, go on to the next
    /// at once. Ends on the first state that is not `Ready` (`*at` is then the step to poll
    /// next); `Ready` from the last step is a malformed answer.
    async fn advance(&self, run: &RunCtx, at: &mut usize) -> Result<TaskState, RunError> {
        let model = run.model;
        let answer_err = |source| RunError::Answer {
            provider: model.provider.id.to_owned(),
            source,
        };
        let task = run.task.as_ref().ok_or_else(|| {
            RunError::Config("a step ran before the provider accepted a task".to_owned())
        })?;
        loop {
            let req = model.step_request(*at, task).ok_or_else(|| {
                answer_err(crate::model::AnswerError::Missing(format!("step {}", *at)))
            })?;
            let name = if *at + 1 == model.steps.len() && *at > 0 {
                "result"
            } else {
                "poll"
            };
            let value = self.send(run, name, &req).await?;
            match model.read_step(*at, &value).map_err(answer_err)? {
                TaskState::Ready if *at + 1 < model.steps.len() => {
                    tracing::info!(parent: &run.span, event = "step_done", step = *at, "step done; next step");
                    *at += 1;
                }
                TaskState::Ready => {
                    return Err(answer_err(crate::model::AnswerError::NoOutputs));
                }
                other => return Ok(other),
            }
        }
    }
}

/// The next delivery, or never when the run has no webhook.
async fn recv(rx: Option<&mut mpsc::UnboundedReceiver<Delivery>>) -> Option<Delivery> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

fn state_name(s: &TaskState) -> &'static str {
    match s {
        TaskState::Pending => "pending",
        TaskState::Processing => "processing",
        TaskState::Ready => "step_done",
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
        RunError::OffHost { .. } => true,
        RunError::Cancelled => true,
        _ => false,
    }
}
