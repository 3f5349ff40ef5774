//! `GET /metrics`: the engine's events ([`runtime::engine::EngineEvents`]) and the alerts as
//! Prometheus metrics, in the Prometheus text exposition format (0.0.4), with
//! `prometheus-client`.
//!
//! Every name starts with `registry_`; counters end in `_total`, durations are in seconds.
//! Labels are model ids, provider ids, secret names (never a key value), statuses, error kinds
//! and alert rules: never a user id, a prompt, params or a generation id, so the number of
//! series is bounded by the registry. A webhook URL names its provider, so a provider the
//! engine does not run is counted as `unknown`.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `registry_generations_total` | counter | `model`, `provider`, `status` (`completed`, `failed`) |
//! | `registry_generation_failures_total` | counter | `model`, `provider`, `kind` (`provider`, `timeout`, `missing_key`, `cancelled`, ...) |
//! | `registry_generation_duration_seconds` | histogram | `model`, `status`; buckets at 0.25, 0.5, 1, 2, 4 and 8 times the model's expected latency |
//! | `registry_generations_in_flight` | gauge | (none) |
//! | `registry_provider_errors_total` | counter | `provider`, `status` (`500`, `429`, ..., `timeout`, `transport`) |
//! | `registry_key_retrievals_total` | counter | `secret_name`, `result` (`success`, `missing`) |
//! | `registry_credits_charged_total` | counter | `model`, `provider` |
//! | `registry_credits_refunded_total` | counter | `model`, `provider` |
//! | `registry_provider_cost_credits_total` | counter | `model`: what providers reported they charged, for completions that report it |
//! | `registry_charged_credits_total` | counter | `model`: what those same completions were charged (the cost-drift rule compares the two) |
//! | `registry_webhooks_total` | counter | `provider`, `outcome` (`accepted`, `ignored`, `duplicate`, `forged`, `refused`) |
//! | `registry_alerts_firing` | gauge | `rule`, `severity`, `subject` |
//! | `registry_alert_notifications_total` | counter | `event` (`firing`, `resolved`), `result` (`sent`, `failed`) |
//!
//! The series of `registry_generations_total` (every model, provider and final status) and of
//! `registry_key_retrievals_total` (every model's secret name, both results) exist from the
//! start at 0, so a rule over `increase()` sees the first event too (the Prometheus rules of
//! `generated/prometheus/alerts.yml` read these names).
//!
//! Credits are exact decimals and a Prometheus sample is an `f64`: each credit counter keeps
//! its running sum exactly (a `Decimal`) and converts it to `f64` only when scraped, so the
//! only rounding is the one of the value exposed (15 to 17 significant digits). The store's
//! ledger stays the exact record.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit};
use runtime::engine::{EngineEvents, Finished, ProviderStatus, WebhookOutcome};
use runtime::model::ModelInfo;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sha2::Digest;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The `Content-Type` of `/metrics`.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The factors of a model's expected latency its duration buckets sit at.
const LATENCY_FACTORS: [f64; 6] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// Buckets for a model the registry did not give (seconds).
const DEFAULT_BUCKETS: [f64; 8] = [0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GenerationLabels {
    model: String,
    provider: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    model: String,
    provider: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderErrorLabels {
    provider: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    secret_name: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DriftLabels {
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    provider: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlertLabels {
    rule: String,
    severity: String,
    subject: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotificationLabels {
    event: String,
    result: String,
}

/// A counter of credits: the exact running sum, exposed as an `f64` when scraped.
#[derive(Debug, Clone, Default)]
struct CreditCounter(Arc<Mutex<Decimal>>);

impl CreditCounter {
    fn add(&self, amount: Decimal) {
        let mut sum = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *sum = sum.saturating_add(amount);
    }
}

impl TypedMetric for CreditCounter {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for CreditCounter {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        let sum = *self.0.lock().unwrap_or_else(|p| p.into_inner());
        let value = sum.to_f64().unwrap_or(f64::MAX);
        encoder.encode_counter::<NoLabelSet, _, u64>(&value, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// Generation durations by model and status, each model's histogram with buckets scaled to its
/// expected latency. (A `Family` builds every series with one constructor that does not see the
/// labels, so the buckets could not follow the model.)
#[derive(Debug, Clone, Default)]
struct Durations {
    buckets: Arc<HashMap<String, Vec<f64>>>,
    series: Arc<RwLock<BTreeMap<(String, String), Histogram>>>,
}

impl Durations {
    fn new(models: &[&'static ModelInfo]) -> Self {
        let buckets = models
            .iter()
            .map(|m| {
                (
                    m.id.to_owned(),
                    buckets_for(m.expected_latency.as_secs_f64()),
                )
            })
            .collect();
        Durations {
            buckets: Arc::new(buckets),
            series: Arc::default(),
        }
    }

    fn observe(&self, model: &str, status: &str, seconds: f64) {
        let key = (model.to_owned(), status.to_owned());
        if let Some(h) = self
            .series
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            h.observe(seconds);
            return;
        }
        let mut series = self.series.write().unwrap_or_else(|p| p.into_inner());
        series
            .entry(key)
            .or_insert_with(|| {
                let b = self.buckets.get(model).cloned();
                Histogram::new(b.unwrap_or_else(|| DEFAULT_BUCKETS.to_vec()))
            })
            .observe(seconds);
    }
}

/// Buckets at [`LATENCY_FACTORS`] times an expected latency of `expected` seconds.
fn buckets_for(expected: f64) -> Vec<f64> {
    if !(expected.is_finite() && expected > 0.0) {
        return DEFAULT_BUCKETS.to_vec();
    }
    LATENCY_FACTORS.iter().map(|f| f * expected).collect()
}

impl TypedMetric for Durations {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Durations {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        let series = self.series.read().unwrap_or_else(|p| p.into_inner());
        for ((model, status), h) in series.iter() {
            let labels = [("model", model.as_str()), ("status", status.as_str())];
            h.encode(encoder.encode_family(&labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }

    fn is_empty(&self) -> bool {
        self.series
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }
}

/// The server's metrics: an engine observer, and what `/metrics` serves.
pub struct Metrics {
    registry: Registry,
    finished: Family<GenerationLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    durations: Durations,
    in_flight: Gauge,
    provider_errors: Family<ProviderErrorLabels, Counter>,
    keys: Family<KeyLabels, Counter>,
    charged: Family<ModelLabels, CreditCounter>,
    refunded: Family<ModelLabels, CreditCounter>,
    provider_cost: Family<DriftLabels, CreditCounter>,
    drift_charged: Family<DriftLabels, CreditCounter>,
    webhooks: Family<WebhookLabels, Counter>,
    alerts: Family<AlertLabels, Gauge>,
    notifications: Family<NotificationLabels, Counter>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The metrics of a server running `models` (their expected latencies set the duration
    /// buckets).
    pub fn new(models: &[&'static ModelInfo]) -> Metrics {
        let mut registry = Registry::with_prefix("registry");
        let m = Metrics {
            registry: Registry::default(),
            finished: Family::default(),
            failures: Family::default(),
            durations: Durations::new(models),
            in_flight: Gauge::default(),
            provider_errors: Family::default(),
            keys: Family::default(),
            charged: Family::default(),
            refunded: Family::default(),
            provider_cost: Family::default(),
            drift_charged: Family::default(),
            webhooks: Family::default(),
            alerts: Family::default(),
            notifications: Family::default(),
        };
        for info in models {
            for status in ["completed", "failed"] {
                let _ = m.finished.get_or_create(&GenerationLabels {
                    model: info.id.to_owned(),
                    provider: info.provider.id.to_owned(),
                    status: status.to_owned(),
                });
            }
            for result in ["success", "missing"] {
                let _ = m.keys.get_or_create(&KeyLabels {
                    secret_name: info.secret_name.to_owned(),
                    result: result.to_owned(),
                });
            }
        }
        registry.register(
            "generations",
            "Generations whose end this instance recorded, by model, provider and final status",
            m.finished.clone(),
        );
        registry.register(
            "generation_failures",
            "Failed generations by model, provider and error kind",
            m.failures.clone(),
        );
        registry.register_with_unit(
            "generation_duration",
            "Generation duration from the run call to its recorded end; buckets at 0.25x to 8x of the model's expected latency",
            Unit::Seconds,
            m.durations.clone(),
        );
        registry.register(
            "generations_in_flight",
            "Generations this instance is calling the provider for now",
            m.in_flight.clone(),
        );
        registry.register(
            "provider_errors",
            "Provider requests that failed, by provider and HTTP status (or timeout, transport), counted once per request after retries",
            m.provider_errors.clone(),
        );
        registry.register(
            "key_retrievals",
            "API key retrievals by secret name and result",
            m.keys.clone(),
        );
        registry.register(
            "credits_charged",
            "Credits charged for completed generations (exact sums, exposed as floats)",
            m.charged.clone(),
        );
        registry.register(
            "credits_refunded",
            "Credits held and given back: failed generations, and outputs that did not come back (exact sums, exposed as floats)",
            m.refunded.clone(),
        );
        registry.register(
            "provider_cost_credits",
            "Credits providers reported they charged, for completed generations whose provider reports it (exact sums, exposed as floats)",
            m.provider_cost.clone(),
        );
        registry.register(
            "charged_credits",
            "Credits charged for the completed generations whose provider reports its cost: the other side of provider_cost_credits",
            m.drift_charged.clone(),
        );
        registry.register(
            "webhooks",
            "Webhook deliveries by provider and outcome",
            m.webhooks.clone(),
        );
        registry.register(
            "alerts_firing",
            "Alerts firing now (1) by rule, severity and subject, as of the last evaluation",
            m.alerts.clone(),
        );
        registry.register(
            "alert_notifications",
            "Alert notifications sent to the configured webhooks, by event and result",
            m.notifications.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String does not fail; a metric that did is left out.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }

    /// The alerts firing now, as `(rule, severity, subject)`: the gauge's series are replaced.
    pub fn set_alerts<'a>(&self, firing: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) {
        self.alerts.clear();
        for (rule, severity, subject) in firing {
            self.alerts
                .get_or_create(&AlertLabels {
                    rule: rule.to_owned(),
                    severity: severity.to_owned(),
                    subject: subject.to_owned(),
                })
                .set(1);
        }
    }

    /// An alert notification was sent (`ok`) or failed.
    pub fn alert_notification(&self, event: &str, ok: bool) {
        self.notifications
            .get_or_create(&NotificationLabels {
                event: event.to_owned(),
                result: if ok { "sent" } else { "failed" }.to_owned(),
            })
            .inc();
    }
}

impl EngineEvents for Metrics {
    fn generation_finished(&self, f: &Finished<'_>) {
        let status = f.status.as_str();
        self.finished
            .get_or_create(&GenerationLabels {
                model: f.model.to_owned(),
                provider: f.provider.to_owned(),
                status: status.to_owned(),
            })
            .inc();
        if let Some(kind) = f.error_kind {
            self.failures
                .get_or_create(&FailureLabels {
                    model: f.model.to_owned(),
                    provider: f.provider.to_owned(),
                    kind: kind.to_owned(),
                })
                .inc();
        }
        self.durations
            .observe(f.model, status, f.elapsed.as_secs_f64());
        let labels = ModelLabels {
            model: f.model.to_owned(),
            provider: f.provider.to_owned(),
        };
        if !f.charged.as_decimal().is_zero() {
            self.charged
                .get_or_create(&labels)
                .add(f.charged.as_decimal());
        }
        if !f.refunded.as_decimal().is_zero() {
            self.refunded
                .get_or_create(&labels)
                .add(f.refunded.as_decimal());
        }
        if let Some(pc) = f.provider_cost
            && f.status == runtime::store::Status::Completed
        {
            let labels = DriftLabels {
                model: f.model.to_owned(),
            };
            self.provider_cost.get_or_create(&labels).add(pc);
            self.drift_charged
                .get_or_create(&labels)
                .add(f.charged.as_decimal());
        }
    }

    fn provider_error(&self, provider: &str, status: ProviderStatus) {
        self.provider_errors
            .get_or_create(&ProviderErrorLabels {
                provider: provider.to_owned(),
                status: status.label().into_owned(),
            })
            .inc();
    }

    fn key_retrieved(&self, secret_name: &str, ok: bool) {
        self.keys
            .get_or_create(&KeyLabels {
                secret_name: secret_name.to_owned(),
                result: if ok { "success" } else { "missing" }.to_owned(),
            })
            .inc();
    }

    fn webhook(&self, provider: &str, outcome: WebhookOutcome) {
        self.webhooks
            .get_or_create(&WebhookLabels {
                provider: provider.to_owned(),
                outcome: outcome.as_str().to_owned(),
            })
            .inc();
    }

    fn in_flight(&self, delta: i64) {
        self.in_flight.inc_by(delta);
    }
}

/// The metrics, in the Prometheus text format. No bearer token is needed unless the server was
/// started with `--metrics-token`; nothing served holds a secret, a user id or a prompt.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses(
        (status = 200, description = "Every metric, in the Prometheus text exposition format (0.0.4).", body = String, content_type = "text/plain"),
        (status = 401, description = "The server requires `--metrics-token` and it was not given as a bearer token.", body = ErrorBody),
    )
)]
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(want) = &state.metrics_token {
        let given = sha2::Sha256::digest(crate::auth::bearer(&headers)?.as_bytes());
        if given[..] != want[..] {
            return Err(crate::auth::unauthorized(
                "the bearer token is not the metrics token",
                true,
            ));
        }
    }
    Ok((
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.render(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_expected_latency() {
        assert_eq!(buckets_for(4.0), vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0]);
        assert_eq!(buckets_for(0.0), DEFAULT_BUCKETS.to_vec());
    }

    #[test]
    fn credit_sums_are_exact_until_exposed() {
        let c = CreditCounter::default();
        for _ in 0..10 {
            c.add(Decimal::new(1, 1));
        }
        assert_eq!(*c.0.lock().unwrap(), Decimal::ONE);
    }
}
