//! Alerts: evaluated on an interval, delivered to webhooks, served at `GET /v1/alerts`.
//!
//! Every `--alert-interval` the server asks the store for the alerts firing now
//! ([`runtime::store::Store::firing_alerts`]: the view `monitoring_alerts` on Postgres, the
//! same rules in Rust on SQLite) and compares them with the alerts firing at the last
//! evaluation, by rule and subject:
//!
//! - an alert that was not firing is **firing**: it is recorded with the time it was first seen
//!   (`since`), and a `firing` event goes to every `--alert-webhook`;
//! - an alert still firing keeps its `since` and its numbers are updated; nothing is sent;
//! - an alert that no longer fires is **resolved**: a `resolved` event is sent, and it is
//!   forgotten.
//!
//! So each alert is announced once when it starts and once when it stops, however many
//! evaluations it spans. An evaluation the store fails is logged and changes nothing (no alert
//! is resolved because the store did not answer).
//!
//! The firing set lives in memory: a restarted server announces again the alerts that are
//! still firing, and an alert that stopped while it was down gets no resolved event. With
//! several instances on one Postgres, each evaluates and sends on its own: give
//! `--alert-webhook` to one of them.
//!
//! Deliveries never hold up an evaluation: each webhook has its own queue and task, which sends
//! the events in order, each with a timeout; a failure is logged (never with the URL, which
//! for Slack is a secret) and counted, and the event is not sent again. The body is what Slack
//! incoming webhooks take, `text` and `blocks`, plus `event` and `alert` for other receivers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use runtime::store::{Alert, AlertRules, Store, StoreError, now_ms};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use utoipa::ToSchema;

use crate::auth::User;
use crate::error::ErrorBody;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::views::rfc3339;

/// How alerts are evaluated and delivered.
#[derive(Debug, Clone)]
pub struct AlertOptions {
    /// Time between evaluations.
    pub interval: Duration,
    /// Where firing and resolved events are posted (Slack incoming webhooks, or any receiver
    /// of JSON).
    pub webhooks: Vec<String>,
    /// How long one delivery may take.
    pub delivery_timeout: Duration,
}

impl Default for AlertOptions {
    fn default() -> Self {
        AlertOptions {
            interval: Duration::from_secs(60),
            webhooks: Vec::new(),
            delivery_timeout: Duration::from_secs(10),
        }
    }
}

/// An alert firing, and since when.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// The alert as last evaluated.
    pub alert: Alert,
    /// When an evaluation first found it firing (Unix milliseconds).
    pub since_ms: i64,
}

/// A change an evaluation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The alert started firing.
    Firing,
    /// The alert stopped firing.
    Resolved,
}

impl Event {
    /// `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Firing => "firing",
            Event::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Default)]
struct Current {
    firing: BTreeMap<(String, String), Firing>,
    evaluated_at: Option<i64>,
}

/// The alert evaluator: the firing set, the rules, and the delivery queues.
pub struct Alerting {
    store: Arc<dyn Store>,
    rules: AlertRules,
    metrics: Arc<Metrics>,
    current: Mutex<Current>,
    queues: Vec<mpsc::UnboundedSender<Value>>,
    interval: Duration,
    /// Evaluations run one at a time (the loop and a test's `evaluate`).
    turn: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Alerting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerting")
            .field("webhooks", &self.queues.len())
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// The host of a URL, for logs (a webhook URL's path is its secret).
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.rsplit('@').next().unwrap_or("")
}

impl Alerting {
    /// The evaluator over `store` with `rules`; its delivery tasks are spawned here (call it
    /// inside the runtime).
    pub fn new(
        store: Arc<dyn Store>,
        rules: AlertRules,
        metrics: Arc<Metrics>,
        opts: &AlertOptions,
    ) -> Alerting {
        runtime::http::install_crypto();
        let client = reqwest::Client::builder()
            .timeout(opts.delivery_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let mut queues = Vec::new();
        for (n, url) in opts.webhooks.iter().enumerate() {
            let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
            let (client, url, metrics) = (client.clone(), url.clone(), metrics.clone());
            tokio::spawn(async move {
                while let Some(body) = rx.recv().await {
                    let event = body["event"].as_str().unwrap_or("").to_owned();
                    let sent = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.to_string())
                        .send()
                        .await;
                    let ok = match sent {
                        Ok(r) if r.status().is_success() => true,
                        Ok(r) => {
                            tracing::warn!(event = "alert_delivery_failed", webhook = n, host = host_of(&url), status = r.status().as_u16(), alert_event = %event, "the alert webhook refused the event");
                            false
                        }
                        Err(e) => {
                            tracing::warn!(event = "alert_delivery_failed", webhook = n, host = host_of(&url), timeout = e.is_timeout(), alert_event = %event, "could not deliver the alert event");
                            false
                        }
                    };
                    metrics.alert_notification(&event, ok);
                }
            });
            queues.push(tx);
        }
        Alerting {
            store,
            rules,
            metrics,
            current: Mutex::new(Current::default()),
            queues,
            interval: opts.interval,
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// Evaluate now: read the firing alerts, record what started and stopped, queue the events.
    /// Returns the events, in the order queued.
    pub async fn evaluate(&self) -> Result<Vec<(Event, Alert)>, StoreError> {
        let _turn = self.turn.lock().await;
        let found = self.store.firing_alerts(&self.rules).await?;
        let now = now_ms();
        let mut events = Vec::new();
        {
            let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
            let mut next: BTreeMap<(String, String), Firing> = BTreeMap::new();
            for alert in found {
                let key = alert.key();
                if next.contains_key(&key) {
                    // Two rows of one rule and subject (a secret name used by two providers):
                    // one alert.
                    continue;
                }
                let since_ms = match current.firing.get(&key) {
                    Some(f) => f.since_ms,
                    None => {
                        events.push((Event::Firing, alert.clone(), now));
                        now
                    }
                };
                next.insert(key, Firing { alert, since_ms });
            }
            for (key, f) in &current.firing {
                if !next.contains_key(key) {
                    events.push((Event::Resolved, f.alert.clone(), f.since_ms));
                }
            }
            current.firing = next;
            current.evaluated_at = Some(now);
            self.metrics.set_alerts(current.firing.values().map(|f| {
                (
                    f.alert.rule.as_str(),
                    f.alert.severity.as_str(),
                    f.alert.subject.as_str(),
                )
            }));
            for (event, alert, since_ms) in &events {
                match event {
                    Event::Firing => {
                        tracing::warn!(event = "alert_firing", severity = %alert.severity, rule = %alert.rule, subject = %alert.subject, observed = %alert.observed, threshold = %alert.threshold, "alert firing")
                    }
                    Event::Resolved => {
                        tracing::info!(event = "alert_resolved", severity = %alert.severity, rule = %alert.rule, subject = %alert.subject, "alert resolved")
                    }
                }
                let body = message(*event, alert, *since_ms, now);
                for q in &self.queues {
                    let _ = q.send(body.clone());
                }
            }
        }
        Ok(events.into_iter().map(|(e, a, _)| (e, a)).collect())
    }

    /// The alerts firing as of the last evaluation, and when that was.
    pub fn firing(&self) -> (Option<i64>, Vec<Firing>) {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let mut list: Vec<Firing> = current.firing.values().cloned().collect();
        list.sort_by(|a, b| runtime::store::alerts::order(&a.alert, &b.alert));
        (current.evaluated_at, list)
    }

    /// Evaluate every interval until `stop` completes; a store error is logged and the next
    /// evaluation tries again.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        loop {
            if let Err(e) = self.evaluate().await {
                tracing::error!(event = "alerts_unevaluated", error = %e, "could not evaluate the alerts");
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
    }
}

/// The thresholds of the registry this server was built with: the `monitoring` object of
/// `generated/registry.json`, written by codegen from `models/monitoring.yaml` with the SQL.
pub fn registry_thresholds() -> Result<runtime::store::Thresholds, String> {
    runtime::store::Thresholds::from_registry_json(include_str!("../../generated/registry.json"))
}

/// A window in seconds as people say it: `15m`, `1h`, `90s`.
fn window_text(s: i64) -> String {
    match s {
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The event's body: Slack's `text` and `blocks`, and the alert as data.
fn message(event: Event, a: &Alert, since_ms: i64, now_ms: i64) -> Value {
    let head = match event {
        Event::Firing => "FIRING",
        Event::Resolved => "RESOLVED",
    };
    let title = format!(
        "[{head}] {} {}: {}",
        a.severity.to_uppercase(),
        a.rule,
        a.subject
    );
    let detail = format!(
        "observed {} against a threshold of {} over {} ({} judged)",
        a.observed,
        a.threshold,
        window_text(a.window_s),
        a.sample
    );
    let text = match event {
        Event::Firing => format!("{title}: {detail}. {}", a.action),
        Event::Resolved => format!(
            "{title}: no longer firing (since {}). Last {detail}.",
            rfc3339(since_ms)
        ),
    };
    json!({
        "text": text,
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": format!("*{title}*\n{detail}") } },
            { "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("{} Since {}.", a.action, rfc3339(since_ms)) } ] },
        ],
        "event": event.as_str(),
        "alert": AlertView::of(a, since_ms),
        "at": rfc3339(now_ms),
    })
}

/// An alert firing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    /// `critical` or `warning`.
    pub severity: String,
    /// The rule: `missing_api_key`, `high_error_rate`, `all_generations_failing`,
    /// `low_success_rate`, `high_latency`, `model_failing`, `provider_errors`,
    /// `unexpected_token_cost` or `output_shortfall`.
    pub rule: String,
    /// What it is about: a model id, a provider id, a secret name, or `all models`.
    pub subject: String,
    /// The value observed, as a decimal string: a percentage, an average latency in seconds,
    /// or a count.
    pub observed: String,
    /// The threshold, in the same unit, as a decimal string.
    pub threshold: String,
    /// The window judged, in seconds.
    pub window_s: i64,
    /// How many generations (or key retrievals) were judged.
    pub sample: i64,
    /// What to do.
    pub action: String,
    /// When it was first found firing (RFC 3339, UTC).
    pub since: String,
}

impl AlertView {
    fn of(a: &Alert, since_ms: i64) -> AlertView {
        AlertView {
            severity: a.severity.clone(),
            rule: a.rule.clone(),
            subject: a.subject.clone(),
            observed: a.observed.to_string(),
            threshold: a.threshold.to_string(),
            window_s: a.window_s,
            sample: a.sample,
            action: a.action.clone(),
            since: rfc3339(since_ms),
        }
    }
}

/// The alerts firing.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    /// When they were evaluated (RFC 3339, UTC); absent before the first evaluation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluated_at: Option<String>,
    /// The alerts firing, critical first, then by rule and subject.
    pub data: Vec<AlertView>,
}

/// The alerts firing as of the last evaluation (every `--alert-interval`).
#[utoipa::path(
    get,
    path = "/v1/alerts",
    tag = "alerts",
    responses(
        (status = 200, description = "The alerts firing now, with since when.", body = AlertList),
        (status = 401, description = "Missing or wrong bearer token.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, _user: User) -> Json<AlertList> {
    let (evaluated_at, firing) = state.alerts.firing();
    Json(AlertList {
        evaluated_at: evaluated_at.map(rfc3339),
        data: firing
            .iter()
            .map(|f| AlertView::of(&f.alert, f.since_ms))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_name_the_host_only() {
        assert_eq!(
            host_of("https://hooks.slack.com/services/T0/B0/secret"),
            "hooks.slack.com"
        );
        assert_eq!(host_of("http://user:pw@127.0.0.1:9/x?y"), "127.0.0.1:9");
    }

    #[test]
    fn windows_read_as_people_say_them() {
        assert_eq!(window_text(900), "15m");
        assert_eq!(window_text(3600), "1h");
        assert_eq!(window_text(90), "90s");
    }
}
