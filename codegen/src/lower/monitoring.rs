//! Rules for `monitoring.yaml`.

use super::{Annotate, Reporter};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::Monitoring;
use crate::spec::load::Loaded;
use crate::spec::types::MonitoringSpec;
use crate::spec::values::{canonical, parse_decimal, parse_duration};
use rust_decimal::Decimal;

/// Check and lower the thresholds. `loaded` is `None` when the defaults are used.
pub(super) fn lower(
    spec: &MonitoringSpec,
    loaded: Option<&Loaded<MonitoringSpec>>,
    diags: &mut Diagnostics,
) -> Option<Monitoring> {
    let mut problems: Vec<(Code, String, String, String)> = Vec::new();
    let mut pct = |field: &str, text: &str| -> String {
        match parse_decimal(text) {
            Ok(d) if d >= Decimal::ZERO && d <= Decimal::ONE_HUNDRED => canonical(d),
            Ok(_) => {
                problems.push((
                    Code::BadPercentage,
                    field.into(),
                    format!("`{text}` is not a percentage"),
                    "a number from 0 to 100".into(),
                ));
                String::new()
            }
            Err(e) => {
                problems.push((
                    Code::BadDecimal,
                    field.into(),
                    e,
                    "a decimal string such as \"90\" or \"12.5\"".into(),
                ));
                String::new()
            }
        }
    };
    let goal = pct("success_rate_goal", &spec.success_rate_goal);
    let below = pct("success_rate_alert_below", &spec.success_rate_alert_below);
    let high = pct("high_error_rate_above", &spec.high_error_rate_above);
    let model_fail = pct("model_failure_rate_above", &spec.model_failure_rate_above);
    let provider_err = pct("provider_error_rate_above", &spec.provider_error_rate_above);
    let shortfall = pct(
        "output_shortfall_rate_above",
        &spec.output_shortfall_rate_above,
    );
    let drift = pct(
        "cost_drift_tolerance_percent",
        &spec.cost_drift_tolerance_percent,
    );
    let factor = match parse_decimal(&spec.latency_factor) {
        Ok(d) if d > Decimal::ONE => canonical(d),
        Ok(_) => {
            problems.push((
                Code::LatencyFactorTooLow,
                "latency_factor".into(),
                format!("`{}` would alert on normal latency", spec.latency_factor),
                "a factor above 1".into(),
            ));
            String::new()
        }
        Err(e) => {
            problems.push((
                Code::BadDecimal,
                "latency_factor".into(),
                e,
                "a decimal string such as \"2\"".into(),
            ));
            String::new()
        }
    };
    let mut dur = |field: &str, text: &str| -> u64 {
        match parse_duration(text) {
            Ok(ms) if ms % 1000 == 0 => ms / 1000,
            Ok(_) => {
                problems.push((
                    Code::WindowNotWholeSeconds,
                    field.into(),
                    format!("`{text}` is not a whole number of seconds"),
                    "a window such as `15m` or `1h`".into(),
                ));
                0
            }
            Err(e) => {
                let e = match super::duration_in_words(text) {
                    Some(fixed) => format!("{e} (write `{fixed}`)"),
                    None => e,
                };
                problems.push((
                    Code::BadDuration,
                    field.into(),
                    e,
                    "a window such as `15m` or `1h`".into(),
                ));
                0
            }
        }
    };
    let m = Monitoring {
        min_sample: spec.min_sample,
        success_rate_goal: goal,
        success_rate_alert_below: below,
        success_rate_window_s: dur("success_rate_window", &spec.success_rate_window),
        high_error_rate_above: high,
        high_error_window_s: dur("high_error_window", &spec.high_error_window),
        all_failing_window_s: dur("all_failing_window", &spec.all_failing_window),
        latency_factor: factor,
        latency_window_s: dur("latency_window", &spec.latency_window),
        model_failure_rate_above: model_fail,
        model_failure_window_s: dur("model_failure_window", &spec.model_failure_window),
        provider_error_rate_above: provider_err,
        provider_error_window_s: dur("provider_error_window", &spec.provider_error_window),
        missing_key_window_s: dur("missing_key_window", &spec.missing_key_window),
        cost_mismatch_window_s: dur("cost_mismatch_window", &spec.cost_mismatch_window),
        output_shortfall_rate_above: shortfall,
        output_shortfall_window_s: dur("output_shortfall_window", &spec.output_shortfall_window),
        cost_drift_tolerance_percent: drift,
        cost_drift_window_s: dur("cost_drift_window", &spec.cost_drift_window),
    };
    if problems.is_empty() {
        return Some(m);
    }
    for (code, field, message, expected) in problems {
        match loaded {
            Some(l) => {
                Reporter::new(l, diags)
                    .at(code, &format!("/{field}"), message)
                    .expect(expected);
            }
            None => diags.push(Diagnostic::new(
                code,
                "monitoring.yaml",
                Default::default(),
                message,
            )),
        }
    }
    None
}
