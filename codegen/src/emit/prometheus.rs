//! `prometheus/alerts.yml`: the deployment plan's alerts as Prometheus alerting rules, for
//! teams that alert from Prometheus rather than from `monitoring_alerts`. Each rule reads the
//! server's metrics (`/metrics`), with the thresholds, windows and `min_sample` of
//! `models/monitoring.yaml` and the severities and actions of the SQL alerts ([`RULES`]). A
//! model's expected latency is a recording rule, one constant series per model.
//!
//! Two alerts have no Prometheus form ([`Form::Sql`] says why); the file's header lists them.

use std::fmt::Write;

use super::alerts::{RULES, Rule};
use super::{EmitError, HEADER};
use crate::ir::{Monitoring, Registry};
use crate::write::Files;

/// Every metric the rules read, as the server exposes it.
pub const METRICS: &[&str] = &[
    "registry_generations_total",
    "registry_generation_duration_seconds_sum",
    "registry_generation_duration_seconds_count",
    "registry_key_retrievals_total",
    "registry_provider_cost_credits_total",
    "registry_charged_credits_total",
];

/// The recorded series of each model's expected latency, label `model`.
pub const EXPECTED_LATENCY: &str = "registry:expected_latency_seconds";

/// How an alert of the plan is written for Prometheus.
enum Form {
    /// An alerting rule.
    Rule {
        /// The PromQL expression, one clause a line.
        expr: String,
        /// The alert's one-line summary (Prometheus templating: `$labels`, `$value`).
        summary: String,
        /// What fired, with the thresholds.
        description: String,
    },
    /// Only the SQL alert can judge it, for this reason.
    Sql(&'static str),
}

/// `1h`, `15m`, `90s`: a PromQL duration in its largest whole unit.
fn duration(seconds: u64) -> String {
    if seconds % 3600 == 0 {
        format!("{}h", seconds / 3600)
    } else if seconds % 60 == 0 {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

/// `240`, `1.5`: milliseconds as seconds, exactly.
fn seconds(ms: u64) -> String {
    let (s, frac) = (ms / 1000, ms % 1000);
    if frac == 0 {
        s.to_string()
    } else {
        format!("{s}.{frac:03}").trim_end_matches('0').to_owned()
    }
}

const FINISHED: &str = r#"registry_generations_total{status=~"completed|failed"}"#;
const FAILED: &str = r#"registry_generations_total{status="failed"}"#;
const COMPLETED: &str = r#"registry_generations_total{status="completed"}"#;

/// The Prometheus form of `rule`; `None` for an alert nobody has written one for (a bug the
/// unit test catches).
fn form(rule: &Rule, m: &Monitoring) -> Option<Form> {
    let t = (rule.threshold)(m);
    let w = duration((rule.window_s)(m));
    let n = m.min_sample;
    let shown = crate::emit::human_duration((rule.window_s)(m) * 1000);
    // The share of finished generations that failed, per `by` (empty: all models).
    let failure_rate = |by: &str| {
        let by = if by.is_empty() {
            String::new()
        } else {
            format!(" by ({by}) ")
        };
        format!(
            "100 * sum{by}(increase({FAILED}[{w}]))\n  / sum{by}(increase({FINISHED}[{w}])) > {t}\nand sum{by}(increase({FINISHED}[{w}])) >= {n}"
        )
    };
    Some(match rule.name {
        "missing_api_key" => Form::Rule {
            expr: format!(
                "sum by (secret_name) (increase(registry_key_retrievals_total{{result=\"missing\"}}[{w}])) > {t}"
            ),
            summary: "Secret {{ $labels.secret_name }} is missing".into(),
            description: format!(
                "{{{{ $value | printf \"%.0f\" }}}} key retrieval(s) of {{{{ $labels.secret_name }}}} failed in the last {shown} (any failure alerts)."
            ),
        },
        "high_error_rate" => Form::Rule {
            expr: failure_rate(""),
            summary: "{{ $value | printf \"%.2f\" }}% of generations are failing".into(),
            description: format!(
                "More than {t}% of the generations that finished in the last {shown} failed (at least {n} finished)."
            ),
        },
        "all_generations_failing" => Form::Rule {
            // Every finished generation failed: at least min_sample failed and none completed.
            expr: format!(
                "sum(increase({FAILED}[{w}])) >= {n}\nunless sum(increase({COMPLETED}[{w}])) > 0"
            ),
            summary: "Every generation is failing".into(),
            description: format!(
                "{{{{ $value | printf \"%.0f\" }}}} generations failed in the last {shown} and none completed."
            ),
        },
        "low_success_rate" => Form::Rule {
            expr: format!(
                "100 * (sum(increase({COMPLETED}[{w}])) or vector(0))\n  / sum(increase({FINISHED}[{w}])) < {t}\nand sum(increase({FINISHED}[{w}])) >= {n}"
            ),
            summary: "The success rate is {{ $value | printf \"%.2f\" }}%".into(),
            description: format!(
                "Under {t}% of the generations that finished in the last {shown} completed (at least {n} finished; the goal is {}%).",
                m.success_rate_goal
            ),
        },
        "high_latency" => Form::Rule {
            expr: format!(
                "sum by (model) (increase(registry_generation_duration_seconds_sum[{w}]))\n  / sum by (model) (increase(registry_generation_duration_seconds_count[{w}]))\n> on (model) {t} * {EXPECTED_LATENCY}\nand on (model) sum by (model) (increase(registry_generation_duration_seconds_count[{w}])) >= {n}"
            ),
            summary: "{{ $labels.model }} takes {{ $value | printf \"%.1f\" }}s on average".into(),
            description: format!(
                "The average latency of {{{{ $labels.model }}}} over the last {shown} is over {t} times its expected latency (at least {n} completed)."
            ),
        },
        "model_failing" => Form::Rule {
            expr: failure_rate("model"),
            summary: "{{ $labels.model }} fails {{ $value | printf \"%.2f\" }}% of its generations"
                .into(),
            description: format!(
                "More than {t}% of the generations of {{{{ $labels.model }}}} that finished in the last {shown} failed (at least {n} finished)."
            ),
        },
        "provider_errors" => Form::Rule {
            expr: failure_rate("provider"),
            summary:
                "{{ $labels.provider }} fails {{ $value | printf \"%.2f\" }}% of its generations"
                    .into(),
            description: format!(
                "More than {t}% of the generations of {{{{ $labels.provider }}}}'s models that finished in the last {shown} failed (at least {n} finished)."
            ),
        },
        "provider_cost_drift" => Form::Rule {
            // The credit-weighted drift: the provider's total against the users' total.
            expr: format!(
                "100 * abs(\n    sum by (model) (increase(registry_provider_cost_credits_total[{w}]))\n  - sum by (model) (increase(registry_charged_credits_total[{w}]))\n)\n  / sum by (model) (increase(registry_charged_credits_total[{w}])) > {t}\nand sum by (model) (increase({COMPLETED}[{w}])) >= {n}"
            ),
            summary: "The provider's costs for {{ $labels.model }} drift {{ $value | printf \"%.2f\" }}% from the charges".into(),
            description: format!(
                "Over the last {shown}, the costs the provider reported for {{{{ $labels.model }}}} differ from what the users were charged by more than {t}% (at least {n} completed)."
            ),
        },
        "unexpected_token_cost" => Form::Sql(
            "each charge is compared with expected_credit_cost(model_id, params), which needs the generation's params; the server charges by that formula, so no counter of its own can differ from it",
        ),
        "output_shortfall" => Form::Sql(
            "the server's metrics do not count the completions whose outputs were counted, nor those that came back short",
        ),
        _ => return None,
    })
}

/// `HighErrorRate` for `high_error_rate`, prefixed `Registry`.
fn alert_name(rule: &str) -> String {
    let mut out = String::from("Registry");
    for word in rule.split('_') {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// `text` as `#   ` comment lines of at most 96 characters, continued lines indented.
fn comment(out: &mut String, text: &str) {
    let mut line = String::from("#  ");
    for word in text.split(' ') {
        if line.len() + 1 + word.len() > 96 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#    ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

/// A YAML double-quoted scalar (a JSON string is one).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

pub(super) fn emit(ir: &Registry, files: &mut Files) -> Result<(), EmitError> {
    let m = &ir.monitoring;
    let mut out = String::new();
    let mut sql_only = Vec::new();
    let mut alerts = String::new();
    for rule in RULES {
        let form = form(rule, m).ok_or_else(|| {
            EmitError::Other(format!(
                "alert {} has no Prometheus form (write one in emit/prometheus.rs, or say why not)",
                rule.name
            ))
        })?;
        match form {
            Form::Sql(why) => sql_only.push((rule.name, why)),
            Form::Rule {
                expr,
                summary,
                description,
            } => {
                let _ = writeln!(alerts, "      - alert: {}", alert_name(rule.name));
                let _ = writeln!(alerts, "        expr: |-");
                for line in expr.lines() {
                    let _ = writeln!(alerts, "          {line}");
                }
                // The window is in the expression, as in the SQL view: no extra wait.
                let _ = writeln!(alerts, "        for: 0s");
                let _ = writeln!(alerts, "        labels:");
                let _ = writeln!(alerts, "          severity: {}", rule.severity.name());
                let _ = writeln!(alerts, "          rule: {}", rule.name);
                let _ = writeln!(alerts, "        annotations:");
                let _ = writeln!(alerts, "          summary: {}", quoted(&summary));
                let _ = writeln!(alerts, "          description: {}", quoted(&description));
                let _ = writeln!(alerts, "          action: {}", quoted(rule.action));
            }
        }
    }
    let _ = writeln!(out, "# {HEADER}");
    out.push_str(
        "#
# Prometheus alerting rules of the deployment plan's alerts, for teams that alert from
# Prometheus instead of from monitoring_alerts (generated/sql/005_alerts.sql). Thresholds,
# windows and min_sample come from models/monitoring.yaml; severities, rule names (label
# `rule`) and actions are those of the SQL alerts. Load it with `rule_files:` in
# prometheus.yml; `promtool check rules` checks it.
#
# The rules read the server's metrics:
",
    );
    for name in METRICS {
        let _ = writeln!(out, "#   {name}");
    }
    out.push_str(
        "# and registry:expected_latency_seconds{model}, recorded below from the specs.
#
# Where they differ from the SQL alerts: a window here holds the generations that finished in
# it (SQL: that were created in it); increase() extrapolates to the window's edges, so a count
# near min_sample or a rate near its threshold may read a little either way; a series that
# appears in the window (the first failure of a model since the server started) counts from
# its first sample, so the server starts each series at 0. The cost drift is the drift of the
# totals (credit-weighted), where SQL averages each generation's relative drift; both are the
# same when a model's generations cost the same.
#
# Only the SQL alerts judge:
",
    );
    for (name, why) in &sql_only {
        comment(&mut out, &format!("{name}: {why}."));
    }
    out.push_str("\ngroups:\n");
    out.push_str("  - name: registry-expected-latency\n    rules:\n");
    for model in ir.models.values() {
        let _ = writeln!(out, "      - record: {EXPECTED_LATENCY}");
        let _ = writeln!(
            out,
            "        expr: vector({})",
            seconds(model.execution.expected_latency_ms)
        );
        let _ = writeln!(out, "        labels:");
        let _ = writeln!(out, "          model: {}", quoted(&model.id));
    }
    out.push_str("  - name: registry-alerts\n    rules:\n");
    out.push_str(&alerts);
    files.insert("prometheus/alerts.yml".into(), out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alert_has_a_prometheus_form_or_a_reason() {
        let m = crate::lower::default_monitoring();
        for rule in RULES {
            assert!(form(rule, &m).is_some(), "{}", rule.name);
        }
    }

    #[test]
    fn durations_and_seconds_read_like_promql() {
        assert_eq!(duration(3600), "1h");
        assert_eq!(duration(86_400), "24h");
        assert_eq!(duration(900), "15m");
        assert_eq!(duration(90), "90s");
        assert_eq!(seconds(240_000), "240");
        assert_eq!(seconds(1500), "1.5");
        assert_eq!(seconds(1050), "1.05");
    }

    #[test]
    fn alert_names_are_camel_case() {
        assert_eq!(alert_name("high_error_rate"), "RegistryHighErrorRate");
        assert_eq!(alert_name("missing_api_key"), "RegistryMissingApiKey");
    }
}
