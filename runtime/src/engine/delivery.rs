//! Webhook deliveries: a verified delivery goes to the run waiting for it, or, when none is
//! waiting (e.g. after a restart), is applied to the store directly.
//!
//! A webhook-mode run registers a [`Waiter`] under its generation id for as long as it waits
//! (the [`WaiterGuard`] removes it however the run ends); a delivery reaches it as a
//! [`Delivery`] on the waiter's channel, which `wait.rs` selects on beside its fallback polls.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::events::{Settle, held_for};
use super::{Engine, Inner, WebhookAck, lock};
use crate::keys::{KeyError, Secret};
use crate::model::{ModelInfo, Outcome, Signature, TaskState};
use crate::store::{Finish, KeyEvent, now_ms};
use crate::webhook::{self, WebhookError, WebhookRequest};

/// A webhook delivery, handed to the waiting run.
pub(super) struct Delivery {
    pub(super) state: TaskState,
}

/// A run waiting for its webhook.
pub(super) struct Waiter {
    model: &'static ModelInfo,
    token: Secret,
    task_id: Option<String>,
    tx: mpsc::UnboundedSender<Delivery>,
}

/// Remove a waiter when a run ends, however it ends.
pub(super) struct WaiterGuard<'a> {
    inner: &'a Inner,
    id: String,
}

impl WaiterGuard<'_> {
    /// Record the provider's task id, so that deliveries naming another task are refused.
    pub(super) fn set_task_id(&self, task_id: &str) {
        if let Some(w) = lock(&self.inner.waiters).get_mut(&self.id) {
            w.task_id = Some(task_id.to_owned());
        }
    }
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        lock(&self.inner.waiters).remove(&self.id);
    }
}

/// What a signature check found.
enum Verified {
    /// Signed as the scheme wants (`delivery_id`: Standard Webhooks' `webhook-id`).
    Signed { delivery_id: Option<String> },
    /// A URL-token delivery for a generation that has ended, with no run to check it.
    AlreadyFinished,
}

impl Engine {
    /// Where the provider sends generation `g`'s webhook: the listener's route, with the
    /// run's token. `None` while no listener is up.
    pub(super) fn callback_url(&self, g: &str, provider: &str, token: &Secret) -> Option<String> {
        let base = lock(&self.inner.callback_base).clone()?;
        Some(format!(
            "{}/webhooks/{provider}/{g}?token={}",
            base.trim_end_matches('/'),
            token.expose()
        ))
    }

    /// Register generation `g` of `model` as waiting for a webhook that carries `token`: the
    /// guard that unregisters it and the receiving end of its deliveries.
    pub(super) fn register_waiter(
        &self,
        g: &str,
        model: &'static ModelInfo,
        token: Secret,
    ) -> (WaiterGuard<'_>, mpsc::UnboundedReceiver<Delivery>) {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.inner.waiters).insert(
            g.to_owned(),
            Waiter {
                model,
                token,
                task_id: None,
                tx,
            },
        );
        let guard = WaiterGuard {
            inner: &self.inner,
            id: g.to_owned(),
        };
        (guard, rx)
    }

    /// [`Engine::handle_webhook`] without its tracing: look up the generation and its model,
    /// verify the delivery, then deliver or apply it.
    pub(super) async fn handle_webhook_inner(
        &self,
        provider_id: &str,
        g: &str,
        req: &WebhookRequest,
    ) -> Result<WebhookAck, WebhookError> {
        let row = self
            .inner
            .store
            .get(g)
            .await
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
        // The secrets' key events are recorded once the check is done, whatever its outcome.
        let mut events = Vec::new();
        let checked = self.verify(
            model,
            rule,
            req,
            token.as_ref(),
            task_id.as_deref(),
            row.status.is_terminal(),
            &mut events,
        );
        for event in &events {
            self.log_key_event(event).await;
        }
        let delivery_id = match checked? {
            Verified::Signed { delivery_id } => delivery_id,
            Verified::AlreadyFinished => return Ok(WebhookAck::AlreadyFinished),
        };
        if let (Some(t), Some(expected)) = (&task_id, &expected_task)
            && t != expected
        {
            return Err(WebhookError::Mismatch);
        }
        // A message the provider sent again (its retry after a lost answer) changes nothing.
        if let Some(id) = &delivery_id {
            let first = self
                .inner
                .store
                .first_delivery(provider_id, id)
                .await
                .map_err(|e| WebhookError::Malformed(e.to_string()))?;
            if !first {
                return Ok(WebhookAck::Duplicate);
            }
        }
        let acted = self.act_on_delivery(g, &row, model, rule, &body).await;
        if acted.is_err()
            && let Some(id) = &delivery_id
        {
            let _ = self.inner.store.forget_delivery(provider_id, id).await;
        }
        acted
    }

    /// Check a delivery's signature by the provider's scheme, resolving the secrets it needs
    /// (their key events pushed to `events`). `finished`: the generation has ended, so a
    /// URL-token delivery with no run waiting is answered as such rather than refused.
    #[allow(clippy::too_many_arguments)]
    fn verify(
        &self,
        info: &'static ModelInfo,
        rule: crate::model::WebhookRule,
        req: &WebhookRequest,
        token: Option<&Secret>,
        task_id: Option<&str>,
        finished: bool,
        events: &mut Vec<KeyEvent>,
    ) -> Result<Verified, WebhookError> {
        let tolerance = rule.tolerance.unwrap_or(Duration::from_secs(300));
        let name = || {
            rule.secret_name
                .ok_or(WebhookError::MissingSecret("(unnamed)".to_owned()))
        };
        let mut resolve = |n: &str| {
            let (result, event) = self.resolve_key(info.provider.id, info.id, "webhook_signing", n);
            events.push(event);
            result
        };
        let mut delivery_id = None;
        match rule.signature {
            Signature::StandardWebhooks => {
                let name = name()?;
                let secret =
                    resolve(name).map_err(|_| WebhookError::MissingSecret(name.to_owned()))?;
                delivery_id = webhook::verify_standard_webhooks_delivery(
                    secret.expose(),
                    req,
                    webhook::now_secs(),
                    tolerance,
                )?
                .delivery_id;
            }
            Signature::KieHmac => {
                let t = task_id.ok_or(WebhookError::Malformed("no task id".to_owned()))?;
                let name = name()?;
                let secret =
                    resolve(name).map_err(|_| WebhookError::MissingSecret(name.to_owned()))?;
                webhook::verify_kie(secret.expose(), t, req, webhook::now_secs(), tolerance)?
            }
            Signature::UrlToken => match token {
                Some(t) => webhook::verify_url_token(t.expose(), req)?,
                None if finished => return Ok(Verified::AlreadyFinished),
                None => return Err(WebhookError::BadSignature),
            },
            Signature::FalEd25519 => {
                // The JWKS document (or, under `<NAME>_FILE`, its path) through the key
                // resolver, as the other schemes read their secrets.
                let keys = webhook::Jwks::from_config(name()?, &mut |n| {
                    resolve(n).map_err(|_| KeyError::NotSet(n.to_owned()))
                })?;
                webhook::verify_fal(&keys, req, webhook::now_secs(), tolerance)?;
            }
            Signature::None => {}
        }
        Ok(Verified::Signed { delivery_id })
    }

    /// Hand a verified delivery to the waiting run, or apply it to the store.
    async fn act_on_delivery(
        &self,
        g: &str,
        row: &crate::store::Generation,
        model: &'static ModelInfo,
        rule: crate::model::WebhookRule,
        body: &Value,
    ) -> Result<WebhookAck, WebhookError> {
        let state = model
            .read_delivery(body)
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
            TaskState::Done(_) | TaskState::Ready if confirm => Ok(WebhookAck::Ignored),
            // The delivery says only "done": the result is at the last step, which needs a run.
            TaskState::Ready => Ok(WebhookAck::Ignored),
            TaskState::Done(Outcome::Completed {
                outputs,
                provider_cost,
            }) => {
                let span = tracing::info_span!("generation", generation_id = %g, model = model.id, provider = model.provider.id);
                let count = row.params.as_object().and_then(|params| {
                    let cost = crate::cost::compute(&model.cost, params).ok()?;
                    super::run::counted(&span, model, params, cost, outputs.len())
                        .map(|c| (c, cost))
                });
                let applied = self
                    .settle(
                        g,
                        &Finish::Completed {
                            outputs: json!(outputs),
                            provider_cost,
                            count: count.map(|(c, _)| c),
                        },
                        settled(row, model, None),
                    )
                    .await
                    .map_err(|e| WebhookError::Malformed(e.to_string()))?;
                if applied && let Some((c, cost)) = count {
                    super::run::shortfall_event(&span, &c, cost);
                }
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
                    .settle(
                        g,
                        &Finish::Failed { error },
                        settled(row, model, Some("provider")),
                    )
                    .await
                    .map_err(|e| WebhookError::Malformed(e.to_string()))?;
                Ok(if applied {
                    WebhookAck::Applied
                } else {
                    WebhookAck::AlreadyFinished
                })
            }
            TaskState::Processing => {
                let _ = self.inner.store.mark_processing(g, None).await;
                Ok(WebhookAck::Applied)
            }
            TaskState::Pending => Ok(WebhookAck::Ignored),
        }
    }
}

/// What a stored generation ended outside a run held, and how long it took.
fn settled<'a>(
    row: &'a crate::store::Generation,
    model: &'static ModelInfo,
    error_kind: Option<&'a str>,
) -> Settle<'a> {
    Settle {
        model: &row.model_id,
        provider: &row.provider,
        held: held_for(model, &row.params),
        error_kind,
        elapsed: Duration::from_millis(u64::try_from(now_ms() - row.created_at).unwrap_or(0)),
    }
}
