//! The alerts of the deployment plan, shared by the SQL alerts (`sql/005_alerts.sql`) and the
//! Prometheus rules (`prometheus/alerts.yml`), so both fire at the same thresholds with the
//! same severities and actions.

use crate::ir::Monitoring;

/// Severity of an alert, as in the deployment plan's alert configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Severity {
    Critical,
    Warning,
}

impl Severity {
    /// `critical` or `warning`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        }
    }
}

/// An alert of the deployment plan: severity and action are the plan's; threshold and window
/// come from `models/monitoring.yaml`.
pub(crate) struct Rule {
    /// `high_error_rate`: the rule of a `monitoring_alerts` row.
    pub name: &'static str,
    pub severity: Severity,
    /// The threshold as a canonical decimal (its unit depends on the rule).
    pub threshold: fn(&Monitoring) -> String,
    /// The window, seconds.
    pub window_s: fn(&Monitoring) -> u64,
    /// What to do, from the deployment plan's rollback decision matrix.
    pub action: &'static str,
}

/// Every alert, in the order the docs list them.
pub(crate) const RULES: &[Rule] = &[
    Rule {
        name: "missing_api_key",
        severity: Severity::Critical,
        // Any failed key retrieval fires: the plan's goal is 100% success.
        threshold: |_| "0".into(),
        window_s: |m| m.missing_key_window_s,
        action: "Add the missing key to the secrets; no rollback.",
    },
    Rule {
        name: "high_error_rate",
        severity: Severity::Critical,
        threshold: |m| m.high_error_rate_above.clone(),
        window_s: |m| m.high_error_window_s,
        action: "Check provider status and investigate the logs; no rollback yet.",
    },
    Rule {
        name: "all_generations_failing",
        severity: Severity::Critical,
        // Every finished generation of the window failed.
        threshold: |_| "100".into(),
        window_s: |m| m.all_failing_window_s,
        action: "Roll back the deployment immediately.",
    },
    Rule {
        name: "low_success_rate",
        severity: Severity::Warning,
        threshold: |m| m.success_rate_alert_below.clone(),
        window_s: |m| m.success_rate_window_s,
        action: "Review failures by model and provider; disable a failing model in the registry.",
    },
    Rule {
        name: "high_latency",
        severity: Severity::Warning,
        // A factor of the model's expected latency; the alert row shows it in seconds.
        threshold: |m| m.latency_factor.clone(),
        window_s: |m| m.latency_window_s,
        action: "Investigate the provider's status; no rollback.",
    },
    Rule {
        name: "model_failing",
        severity: Severity::Warning,
        threshold: |m| m.model_failure_rate_above.clone(),
        window_s: |m| m.model_failure_window_s,
        action: "Disable the model in the registry (enabled: false in its spec); no rollback.",
    },
    Rule {
        name: "provider_errors",
        severity: Severity::Warning,
        threshold: |m| m.provider_error_rate_above.clone(),
        window_s: |m| m.provider_error_window_s,
        action: "Disable the provider's models in the registry until it recovers; no rollback.",
    },
    Rule {
        name: "unexpected_token_cost",
        severity: Severity::Warning,
        // Any charge that differs from the cost formula fires.
        threshold: |_| "0".into(),
        window_s: |m| m.cost_mismatch_window_s,
        action: "Fix the cost formula and redeploy; no rollback.",
    },
    Rule {
        name: "output_shortfall",
        severity: Severity::Warning,
        // Percent of a model's completions whose outputs were counted and came back short.
        threshold: |m| m.output_shortfall_rate_above.clone(),
        window_s: |m| m.output_shortfall_window_s,
        action: "Check the provider's output count; the charge was refunded pro rata.",
    },
    Rule {
        name: "provider_cost_drift",
        severity: Severity::Warning,
        // Percent of the charge: the mean relative difference between what the provider
        // reported and what the user was charged, per model.
        threshold: |m| m.cost_drift_tolerance_percent.clone(),
        window_s: |m| m.cost_drift_window_s,
        action: "Compare the provider's current price with the model's cost formula and update the spec; no rollback.",
    },
];
