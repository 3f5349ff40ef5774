//! The alerts of the deployment plan, as [`Store::firing_alerts`](super::Store::firing_alerts)
//! answers them: one [`Alert`] per alert firing now.
//!
//! On Postgres the answer is the view `monitoring_alerts` (`generated/sql/005_alerts.sql`, over
//! the views of `004_monitoring.sql`). On SQLite it is [`evaluate`], the same rules written in
//! Rust over the rows of the windows: the same windows (`created_at > now - window`), the same
//! minimum sample, the same exact comparisons (`failed x 100 > threshold x finished`), and the
//! observed values rounded as Postgres rounds them (percentages to 2 places, half away from
//! zero; latencies averaged to the microsecond as Postgres averages intervals, then to 3
//! places). `tests/tests/alert_rules.rs` runs both over the same rows and compares them.
//!
//! The thresholds are data: [`Thresholds`] reads them from the `monitoring` object of
//! `generated/registry.json`, which codegen writes from `models/monitoring.yaml` together with
//! the SQL. The models' expected latencies and cost formulas come from the [`ModelInfo`]s given
//! to [`AlertRules::new`], as the SQL reads them from `model_registry`.
//!
//! Two things the Rust side reads differently, by construction: a model that is in
//! `model_registry` but not among the models given (retired from `models/`) has no latency or
//! cost rule on SQLite; and the expected cost of a stored generation fills in missing
//! top-level params from the model's defaults, as `expected_credit_cost` does, but not the
//! defaults of an object's fields (the engine stores params validated, with those filled in).

use std::collections::{BTreeMap, HashMap};

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use super::{Generation, KeyEvent, Status};
use crate::model::ModelInfo;

/// `critical` or `warning`.
pub const CRITICAL: &str = "critical";
/// `warning`.
pub const WARNING: &str = "warning";

/// The subject of the alerts on all generations.
pub const ALL_MODELS: &str = "all models";

/// Each rule's severity and the action of the plan's rollback matrix (the texts of
/// `005_alerts.sql`).
pub const RULES: &[(&str, &str, &str)] = &[
    (
        "missing_api_key",
        CRITICAL,
        "Add the missing key to the secrets; no rollback.",
    ),
    (
        "high_error_rate",
        CRITICAL,
        "Check provider status and investigate the logs; no rollback yet.",
    ),
    (
        "all_generations_failing",
        CRITICAL,
        "Roll back the deployment immediately.",
    ),
    (
        "low_success_rate",
        WARNING,
        "Review failures by model and provider; disable a failing model in the registry.",
    ),
    (
        "high_latency",
        WARNING,
        "Investigate the provider's status; no rollback.",
    ),
    (
        "model_failing",
        WARNING,
        "Disable the model in the registry (enabled: false in its spec); no rollback.",
    ),
    (
        "provider_errors",
        WARNING,
        "Disable the provider's models in the registry until it recovers; no rollback.",
    ),
    (
        "unexpected_token_cost",
        WARNING,
        "Fix the cost formula and redeploy; no rollback.",
    ),
    (
        "output_shortfall",
        WARNING,
        "Check the provider's output count; the charge was refunded pro rata.",
    ),
    (
        "provider_cost_drift",
        WARNING,
        "Compare the provider's current price with the model's cost formula and update the spec; no rollback.",
    ),
];

/// One alert firing now: a row of `monitoring_alerts`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Alert {
    /// `critical` or `warning`.
    pub severity: String,
    /// The rule (`high_error_rate`, `model_failing`, ...).
    pub rule: String,
    /// What it is about: a model id, a provider id, a secret name, or `all models`.
    pub subject: String,
    /// The value observed: a percentage (2 places), an average latency in seconds (3 places),
    /// or a count.
    pub observed: Decimal,
    /// The threshold it is compared with, in the same unit.
    pub threshold: Decimal,
    /// The window judged, in seconds.
    pub window_s: i64,
    /// How many generations (or key retrievals) were judged.
    pub sample: i64,
    /// What to do, from the plan's rollback matrix.
    pub action: String,
}

impl Alert {
    /// The alert's identity across evaluations: its rule and subject.
    pub fn key(&self) -> (String, String) {
        (self.rule.clone(), self.subject.clone())
    }
}

/// The order of `monitoring_alerts`: critical first, then by rule and subject (byte order, so
/// that both stores list alike whatever the database's collation), then by the numbers.
pub fn sort(alerts: &mut [Alert]) {
    alerts.sort_by(order);
}

/// [`sort`]'s comparison of two alerts.
pub fn order(a: &Alert, b: &Alert) -> std::cmp::Ordering {
    (a.severity != CRITICAL)
        .cmp(&(b.severity != CRITICAL))
        .then_with(|| a.rule.cmp(&b.rule))
        .then_with(|| a.subject.cmp(&b.subject))
        .then_with(|| a.sample.cmp(&b.sample))
        .then_with(|| a.observed.cmp(&b.observed))
}

/// The alert thresholds and windows of `models/monitoring.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    /// A rate alert needs at least this many finished generations in its window.
    pub min_sample: i64,
    /// `low_success_rate` fires under this success rate (percent).
    pub success_rate_alert_below: Decimal,
    /// Its window, in seconds.
    pub success_rate_window_s: i64,
    /// `high_error_rate` fires over this failure rate (percent).
    pub high_error_rate_above: Decimal,
    /// Its window, in seconds.
    pub high_error_window_s: i64,
    /// `all_generations_failing`'s window, in seconds.
    pub all_failing_window_s: i64,
    /// `high_latency` fires over this factor of the expected latency.
    pub latency_factor: Decimal,
    /// Its window, in seconds.
    pub latency_window_s: i64,
    /// `model_failing` fires over this failure rate of one model (percent).
    pub model_failure_rate_above: Decimal,
    /// Its window, in seconds.
    pub model_failure_window_s: i64,
    /// `provider_errors` fires over this failure rate of one provider (percent).
    pub provider_error_rate_above: Decimal,
    /// Its window, in seconds.
    pub provider_error_window_s: i64,
    /// `missing_api_key`'s window, in seconds.
    pub missing_key_window_s: i64,
    /// `unexpected_token_cost`'s window, in seconds.
    pub cost_mismatch_window_s: i64,
    /// `output_shortfall` fires over this rate of short completions (percent).
    pub output_shortfall_rate_above: Decimal,
    /// Its window, in seconds.
    pub output_shortfall_window_s: i64,
    /// `provider_cost_drift` fires when a model's provider-reported costs differ from its
    /// charges by more than this, on average (percent).
    pub cost_drift_tolerance_percent: Decimal,
    /// Its window, in seconds.
    pub cost_drift_window_s: i64,
}

impl Thresholds {
    /// The `monitoring` object of `generated/registry.json` (the whole document's text).
    pub fn from_registry_json(text: &str) -> Result<Thresholds, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("registry.json: {e}"))?;
        let m = doc
            .get("monitoring")
            .ok_or("registry.json has no `monitoring` object")?;
        let int = |name: &str| -> Result<i64, String> {
            m.get(name)
                .and_then(Value::as_i64)
                .ok_or_else(|| format!("registry.json: monitoring.{name} is not an integer"))
        };
        let dec = |name: &str| -> Result<Decimal, String> {
            let v = m.get(name);
            let text = match v {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            Decimal::from_str_exact(&text)
                .map_err(|_| format!("registry.json: monitoring.{name} is not a decimal"))
        };
        Ok(Thresholds {
            min_sample: int("min_sample")?,
            success_rate_alert_below: dec("success_rate_alert_below")?,
            success_rate_window_s: int("success_rate_window_s")?,
            high_error_rate_above: dec("high_error_rate_above")?,
            high_error_window_s: int("high_error_window_s")?,
            all_failing_window_s: int("all_failing_window_s")?,
            latency_factor: dec("latency_factor")?,
            latency_window_s: int("latency_window_s")?,
            model_failure_rate_above: dec("model_failure_rate_above")?,
            model_failure_window_s: int("model_failure_window_s")?,
            provider_error_rate_above: dec("provider_error_rate_above")?,
            provider_error_window_s: int("provider_error_window_s")?,
            missing_key_window_s: int("missing_key_window_s")?,
            cost_mismatch_window_s: int("cost_mismatch_window_s")?,
            output_shortfall_rate_above: dec("output_shortfall_rate_above")?,
            output_shortfall_window_s: int("output_shortfall_window_s")?,
            cost_drift_tolerance_percent: dec("cost_drift_tolerance_percent")?,
            cost_drift_window_s: int("cost_drift_window_s")?,
        })
    }

    /// The longest window of the rules over generations, in seconds.
    pub fn longest_generation_window_s(&self) -> i64 {
        [
            self.success_rate_window_s,
            self.high_error_window_s,
            self.all_failing_window_s,
            self.latency_window_s,
            self.model_failure_window_s,
            self.provider_error_window_s,
            self.cost_mismatch_window_s,
            self.output_shortfall_window_s,
            self.cost_drift_window_s,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }
}

/// What the alert rules need: the thresholds, and the models (their expected latencies and
/// cost formulas, as `model_registry` holds them on Postgres).
#[derive(Debug, Clone)]
pub struct AlertRules {
    /// Thresholds and windows.
    pub thresholds: Thresholds,
    models: HashMap<&'static str, &'static ModelInfo>,
}

impl AlertRules {
    /// Rules with `thresholds` over `models`.
    pub fn new(thresholds: Thresholds, models: &[&'static ModelInfo]) -> AlertRules {
        AlertRules {
            thresholds,
            models: models.iter().map(|m| (m.id, *m)).collect(),
        }
    }
}

fn rule_of(rule: &str) -> (&'static str, &'static str) {
    RULES
        .iter()
        .find(|(r, _, _)| *r == rule)
        .map(|(_, s, a)| (*s, *a))
        .unwrap_or((WARNING, ""))
}

fn alert(
    rule: &str,
    subject: &str,
    observed: Decimal,
    threshold: Decimal,
    window_s: i64,
    sample: i64,
) -> Alert {
    let (severity, action) = rule_of(rule);
    Alert {
        severity: severity.to_owned(),
        rule: rule.to_owned(),
        subject: subject.to_owned(),
        observed,
        threshold,
        window_s,
        sample,
        action: action.to_owned(),
    }
}

/// `round(100.0 * part / whole, 2)` as Postgres computes it (`whole` > 0).
fn pct(part: i64, whole: i64) -> Decimal {
    let mut p = (Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    p.rescale(2);
    p
}

/// `part x 100 > threshold x whole`, exactly.
fn over(part: i64, threshold: Decimal, whole: i64) -> bool {
    Decimal::from(part) * Decimal::ONE_HUNDRED > threshold * Decimal::from(whole)
}

/// Finished, completed and failed generations.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    finished: i64,
    completed: i64,
    failed: i64,
}

impl Tally {
    fn add(&mut self, s: Status) {
        match s {
            Status::Completed => {
                self.finished += 1;
                self.completed += 1;
            }
            Status::Failed => {
                self.finished += 1;
                self.failed += 1;
            }
            Status::Pending | Status::Processing => {}
        }
    }
}

/// The average of latencies (milliseconds each) in seconds, as Postgres computes
/// `extract(epoch from avg(completed_at - created_at))` for millisecond timestamps: each
/// difference is an interval justified into days and microseconds, their sum is divided by the
/// count in floating point and rounded to the microsecond (`interval_div`).
fn pg_avg_seconds(latencies_ms: &[i64]) -> Decimal {
    const DAY_US: i64 = 86_400_000_000;
    let (mut days, mut time) = (0i64, 0i64);
    for ms in latencies_ms {
        let us = ms * 1000;
        days += us / DAY_US;
        time += us % DAY_US;
    }
    let n = latencies_ms.len() as f64;
    let round_us = |secs: f64| (secs * 1e6).round_ties_even() / 1e6;
    let day_q = days as f64 / n;
    let mut result_day = day_q.trunc() as i64;
    let mut sec_remainder = round_us((day_q - result_day as f64) * 86_400.0);
    if sec_remainder.abs() >= 86_400.0 {
        let whole = (sec_remainder / 86_400.0).trunc();
        result_day += whole as i64;
        sec_remainder -= whole * 86_400.0;
    }
    let result_time = (time as f64 / n + sec_remainder * 1e6).round_ties_even() as i64;
    Decimal::from(result_day) * Decimal::from(86_400) + Decimal::new(result_time, 6)
}

/// The model's cost of stored `params`, with missing or null top-level params defaulted, as
/// `expected_credit_cost` computes it; `None` when it cannot be computed.
fn expected_cost(model: &ModelInfo, params: &Value) -> Option<Decimal> {
    let mut map = match params {
        Value::Object(m) => m.clone(),
        Value::Null => serde_json::Map::new(),
        _ => return None,
    };
    for p in model.params {
        if map.get(p.name).is_none_or(Value::is_null)
            && let Some(d) = p
                .default
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
        {
            map.insert(p.name.to_owned(), d);
        }
    }
    crate::cost::compute(&model.cost, &map)
        .ok()
        .map(|c| c.as_decimal())
}

/// Every alert firing at `now_ms` over `generations` and `key_events` (at least the rows of the
/// windows; older ones are left out here), in [`sort`]'s order.
pub fn evaluate(
    rules: &AlertRules,
    now_ms: i64,
    generations: &[Generation],
    key_events: &[KeyEvent],
) -> Vec<Alert> {
    let t = &rules.thresholds;
    let within = |at: i64, window_s: i64| at > now_ms - window_s * 1000;
    let mut out = Vec::new();

    // missing_api_key, per provider, key scope and secret name.
    let mut keys: BTreeMap<(&str, &str, &str), (i64, i64)> = BTreeMap::new();
    for k in key_events
        .iter()
        .filter(|k| within(k.time, t.missing_key_window_s))
    {
        let e = keys
            .entry((&k.provider, &k.scope, &k.secret_name))
            .or_default();
        e.0 += 1;
        if !k.success {
            e.1 += 1;
        }
    }
    for ((_, _, secret), (attempts, failed)) in keys {
        if failed > 0 {
            out.push(alert(
                "missing_api_key",
                secret,
                Decimal::from(failed),
                Decimal::ZERO,
                t.missing_key_window_s,
                attempts,
            ));
        }
    }

    // The success-rate family, over all generations.
    let tally = |window_s: i64| {
        let mut s = Tally::default();
        for g in generations
            .iter()
            .filter(|g| within(g.created_at, window_s))
        {
            s.add(g.status);
        }
        s
    };
    let s = tally(t.high_error_window_s);
    if s.finished >= t.min_sample && over(s.failed, t.high_error_rate_above, s.finished) {
        out.push(alert(
            "high_error_rate",
            ALL_MODELS,
            pct(s.failed, s.finished),
            t.high_error_rate_above,
            t.high_error_window_s,
            s.finished,
        ));
    }
    let s = tally(t.all_failing_window_s);
    if s.finished >= t.min_sample && s.failed >= s.finished {
        out.push(alert(
            "all_generations_failing",
            ALL_MODELS,
            pct(s.failed, s.finished),
            Decimal::ONE_HUNDRED,
            t.all_failing_window_s,
            s.finished,
        ));
    }
    let s = tally(t.success_rate_window_s);
    if s.finished >= t.min_sample
        && Decimal::from(s.completed) * Decimal::ONE_HUNDRED
            < t.success_rate_alert_below * Decimal::from(s.finished)
    {
        out.push(alert(
            "low_success_rate",
            ALL_MODELS,
            pct(s.completed, s.finished),
            t.success_rate_alert_below,
            t.success_rate_window_s,
            s.finished,
        ));
    }

    // high_latency, per registered model.
    let mut latencies: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for g in generations
        .iter()
        .filter(|g| g.status == Status::Completed && within(g.created_at, t.latency_window_s))
    {
        if let Some(done) = g.completed_at
            && rules.models.contains_key(g.model_id.as_str())
        {
            latencies
                .entry(&g.model_id)
                .or_default()
                .push(done - g.created_at);
        }
    }
    for (model, ms) in latencies {
        let n = ms.len() as i64;
        let Some(info) = rules.models.get(model) else {
            continue;
        };
        let expected =
            Decimal::from_i128_with_scale(info.expected_latency.as_millis() as i128, 3).normalize();
        let limit = t.latency_factor * expected;
        let avg = pg_avg_seconds(&ms);
        if n >= t.min_sample && avg > limit {
            let mut observed =
                avg.round_dp_with_strategy(3, RoundingStrategy::MidpointAwayFromZero);
            observed.rescale(3);
            out.push(alert(
                "high_latency",
                model,
                observed,
                limit,
                t.latency_window_s,
                n,
            ));
        }
    }

    // model_failing and provider_errors.
    let mut by_model: BTreeMap<&str, Tally> = BTreeMap::new();
    for g in generations
        .iter()
        .filter(|g| within(g.created_at, t.model_failure_window_s))
    {
        by_model.entry(&g.model_id).or_default().add(g.status);
    }
    for (model, s) in by_model {
        if s.finished >= t.min_sample && over(s.failed, t.model_failure_rate_above, s.finished) {
            out.push(alert(
                "model_failing",
                model,
                pct(s.failed, s.finished),
                t.model_failure_rate_above,
                t.model_failure_window_s,
                s.finished,
            ));
        }
    }
    let mut by_provider: BTreeMap<&str, Tally> = BTreeMap::new();
    for g in generations
        .iter()
        .filter(|g| within(g.created_at, t.provider_error_window_s))
    {
        by_provider.entry(&g.provider).or_default().add(g.status);
    }
    for (provider, s) in by_provider {
        if s.finished >= t.min_sample && over(s.failed, t.provider_error_rate_above, s.finished) {
            out.push(alert(
                "provider_errors",
                provider,
                pct(s.failed, s.finished),
                t.provider_error_rate_above,
                t.provider_error_window_s,
                s.finished,
            ));
        }
    }

    // unexpected_token_cost: completed charges (refunds added back) that are not the formula's
    // cost, or whose cost cannot be computed.
    let mut mismatches: BTreeMap<&str, i64> = BTreeMap::new();
    for g in generations
        .iter()
        .filter(|g| g.status == Status::Completed && within(g.created_at, t.cost_mismatch_window_s))
    {
        let charged = g
            .tokens_used
            .map(|c| c.as_decimal() + g.credits_refunded.map_or(Decimal::ZERO, |r| r.as_decimal()));
        let expected = rules
            .models
            .get(g.model_id.as_str())
            .and_then(|m| expected_cost(m, &g.params));
        if charged != expected {
            *mismatches.entry(&g.model_id).or_default() += 1;
        }
    }
    for (model, n) in mismatches {
        out.push(alert(
            "unexpected_token_cost",
            model,
            Decimal::from(n),
            Decimal::ZERO,
            t.cost_mismatch_window_s,
            n,
        ));
    }

    // output_shortfall, per model and provider, over the completions whose outputs were
    // counted.
    let mut counted: BTreeMap<(&str, &str), (i64, i64)> = BTreeMap::new();
    for g in generations.iter().filter(|g| {
        g.status == Status::Completed && within(g.created_at, t.output_shortfall_window_s)
    }) {
        if let (Some(expected), Some(received)) = (g.outputs_expected, g.outputs_received) {
            let e = counted.entry((&g.model_id, &g.provider)).or_default();
            e.0 += 1;
            if received < expected {
                e.1 += 1;
            }
        }
    }
    for ((model, _), (n, short)) in counted {
        if n >= t.min_sample && over(short, t.output_shortfall_rate_above, n) {
            out.push(alert(
                "output_shortfall",
                model,
                pct(short, n),
                t.output_shortfall_rate_above,
                t.output_shortfall_window_s,
                n,
            ));
        }
    }

    // provider_cost_drift, per model and provider: the mean of (provider cost - charge) /
    // charge over the completions that report a provider cost and were charged.
    let mut drift: BTreeMap<(&str, &str), Vec<Decimal>> = BTreeMap::new();
    for g in generations
        .iter()
        .filter(|g| g.status == Status::Completed && within(g.created_at, t.cost_drift_window_s))
    {
        if let (Some(pc), Some(used)) = (g.provider_cost, g.tokens_used)
            && used.as_decimal() > Decimal::ZERO
        {
            let used = used.as_decimal();
            drift
                .entry((&g.model_id, &g.provider))
                .or_default()
                .push((pc - used) / used);
        }
    }
    for ((model, _), ratios) in drift {
        let n = ratios.len() as i64;
        let mean = ratios.iter().copied().sum::<Decimal>() / Decimal::from(n);
        if n >= t.min_sample && mean.abs() * Decimal::ONE_HUNDRED > t.cost_drift_tolerance_percent {
            let mut observed = (mean * Decimal::ONE_HUNDRED)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            observed.rescale(2);
            out.push(alert(
                "provider_cost_drift",
                model,
                observed,
                t.cost_drift_tolerance_percent,
                t.cost_drift_window_s,
                n,
            ));
        }
    }

    sort(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_half_away_from_zero_to_two_places() {
        assert_eq!(pct(21, 100).to_string(), "21.00");
        assert_eq!(pct(1, 3).to_string(), "33.33");
        assert_eq!(pct(2, 3).to_string(), "66.67");
        assert_eq!(pct(1, 8).to_string(), "12.50");
        assert_eq!(pct(1, 800).to_string(), "0.13", "0.125 rounds up");
    }

    #[test]
    fn averages_are_those_of_postgres_intervals() {
        assert_eq!(pg_avg_seconds(&[1000, 2000]).to_string(), "1.500000");
        // 1/3 ms: the microsecond is rounded, as interval division does.
        assert_eq!(pg_avg_seconds(&[0, 0, 1]).to_string(), "0.000333");
        // Over a day, days and time are divided apart.
        let day = 86_400_000;
        assert_eq!(
            pg_avg_seconds(&[day + 1000, day + 3000]).to_string(),
            "86402.000000"
        );
        assert_eq!(pg_avg_seconds(&[day, 0]).to_string(), "43200.000000");
    }

    #[test]
    fn thresholds_are_read_from_the_registry_document() {
        let text = include_str!("../../../generated/registry.json");
        let t = Thresholds::from_registry_json(text).unwrap();
        assert_eq!(t.min_sample, 10);
        assert_eq!(t.high_error_rate_above, Decimal::from(20));
        assert_eq!(t.all_failing_window_s, 300);
        assert_eq!(t.cost_drift_tolerance_percent, Decimal::from(5));
        assert_eq!(t.cost_drift_window_s, 24 * 3600);
        // The cost drift's day is the longest window the rules read.
        assert_eq!(t.longest_generation_window_s(), 24 * 3600);
        assert!(Thresholds::from_registry_json("{}").is_err());
    }
}
