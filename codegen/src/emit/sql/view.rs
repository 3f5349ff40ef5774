//! The view model of the SQL templates: every value already a finished SQL literal, so the
//! templates hold no logic beyond loops over it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::literal;
use crate::emit::alerts::RULES;
use crate::emit::{EmitError, HEADER, cost_formula};
use crate::ir::{Model, Registry, RoundMode, TaskStatus};

/// Everything the templates see.
#[derive(Debug, Serialize)]
pub struct Context {
    /// The generated-file header line (without the comment marker).
    pub header: &'static str,
    /// `'pending', 'processing', 'completed', 'failed'`.
    pub statuses: String,
    /// `'ceil', 'floor', 'half_up', 'half_even'`.
    pub round_modes: String,
    /// The statuses a generation ends in, quoted: `'completed', 'failed'`.
    pub finished: String,
    /// The statuses of a generation still running, quoted: `'pending', 'processing'`.
    pub unfinished: String,
    /// One row per model, in id order.
    pub models: Vec<ModelRow>,
    /// Every model id, quoted (for retiring deleted models).
    pub model_ids: Vec<String>,
    /// Thresholds that are not tied to one alert.
    pub monitoring: MonitoringView,
    /// Each alert rule by name.
    pub alerts: BTreeMap<&'static str, AlertView>,
}

/// A model as SQL literals, for the registry upsert.
#[derive(Debug, Serialize)]
pub struct ModelRow {
    /// The bare id, for comments.
    pub id_comment: String,
    /// The spec file, for comments.
    pub source_comment: String,
    pub id: String,
    pub display_name: String,
    pub provider: String,
    pub content_type: String,
    pub execution_mode: String,
    pub key_scope: String,
    pub secret_name: String,
    pub enabled: String,
    pub expected_latency: String,
    pub timeout: String,
    pub cost_base: String,
    pub cost_factors: String,
    pub cost_round: String,
    pub cost_scale: String,
    pub cost_formula: String,
    pub param_defaults: String,
    pub source: String,
}

/// Thresholds shared by several views.
#[derive(Debug, Serialize)]
pub struct MonitoringView {
    /// Fewest finished generations (or events) before a rate alert may fire.
    pub min_sample: String,
    /// Success-rate goal, percent.
    pub success_rate_goal: String,
    /// The window of the plan's "recent" and "failed in the last hour" dashboards.
    pub recent_window: String,
}

/// One alert rule as SQL literals.
#[derive(Debug, Serialize)]
pub struct AlertView {
    /// `'high_error_rate'`.
    pub rule: String,
    /// `'critical'` or `'warning'`.
    pub severity: String,
    /// The threshold as a numeric literal (its unit depends on the rule).
    pub threshold: String,
    /// The window as an interval literal.
    pub window: String,
    /// What to do, from the deployment plan's rollback decision matrix.
    pub action: String,
}

/// Build the view model.
pub fn build(ir: &Registry) -> Result<Context, EmitError> {
    let statuses = [
        TaskStatus::Pending,
        TaskStatus::Processing,
        TaskStatus::Completed,
        TaskStatus::Failed,
    ]
    .map(TaskStatus::name);
    let finished = [TaskStatus::Completed, TaskStatus::Failed].map(TaskStatus::name);
    let unfinished = [TaskStatus::Pending, TaskStatus::Processing].map(TaskStatus::name);
    let rounds = [
        RoundMode::Ceil,
        RoundMode::Floor,
        RoundMode::HalfUp,
        RoundMode::HalfEven,
    ]
    .map(RoundMode::name);

    let models = ir
        .models
        .values()
        .map(model_row)
        .collect::<Result<Vec<_>, _>>()?;
    let m = &ir.monitoring;
    let mut alerts = BTreeMap::new();
    for rule in RULES {
        let severity = rule.severity.name();
        alerts.insert(
            rule.name,
            AlertView {
                rule: literal::text(rule.name)?,
                severity: literal::text(severity)?,
                threshold: literal::numeric(&(rule.threshold)(m))?,
                window: literal::interval_s((rule.window_s)(m)),
                action: literal::text(rule.action)?,
            },
        );
    }
    Ok(Context {
        header: HEADER,
        statuses: literal::text_list(statuses)?,
        round_modes: literal::text_list(rounds)?,
        finished: literal::text_list(finished)?,
        unfinished: literal::text_list(unfinished)?,
        models,
        model_ids: ir
            .models
            .keys()
            .map(|id| literal::text(id))
            .collect::<Result<_, _>>()?,
        monitoring: MonitoringView {
            min_sample: m.min_sample.to_string(),
            success_rate_goal: literal::numeric(&m.success_rate_goal)?,
            // The plan's two dashboard queries look at "the last hour", the success-rate window.
            recent_window: literal::interval_s(m.success_rate_window_s),
        },
        alerts,
    })
}

fn model_row(model: &Model) -> Result<ModelRow, EmitError> {
    let defaults: Map<String, Value> = model
        .params
        .iter()
        .filter_map(|p| p.default.clone().map(|d| (p.name.clone(), d)))
        .collect();
    let mut factors = serde_json::to_value(&model.cost.multipliers)
        .map_err(|e| EmitError::Other(e.to_string()))?;
    // SQL prices raw params: a factor on an object's field carries the field's default.
    if let Value::Array(items) = &mut factors {
        for (item, m) in items.iter_mut().zip(&model.cost.multipliers) {
            let default = m.field().and_then(|field| {
                let param = model.param(m.param())?;
                let f = param.kind.fields().iter().find(|f| f.name == field)?;
                f.default.clone()
            });
            if let (Value::Object(members), Some(d)) = (item, default) {
                members.insert("field_default".into(), d);
            }
        }
    }
    Ok(ModelRow {
        id_comment: model.id.replace(['\n', '\r'], " "),
        source_comment: model.source.replace(['\n', '\r'], " "),
        id: literal::text(&model.id)?,
        display_name: literal::text(&model.display_name)?,
        provider: literal::text(&model.provider)?,
        content_type: literal::text(model.content_type.name())?,
        execution_mode: literal::text(model.execution.mode.name())?,
        key_scope: literal::text(&model.key_scope)?,
        secret_name: literal::text(&model.secret_name)?,
        enabled: literal::boolean(model.enabled),
        expected_latency: literal::interval_ms(model.execution.expected_latency_ms),
        timeout: literal::interval_ms(model.execution.timeout_ms),
        cost_base: literal::numeric(&model.cost.base)?,
        cost_factors: literal::jsonb(&factors)?,
        cost_round: literal::text(model.cost.round.name())?,
        cost_scale: model.cost.scale.to_string(),
        cost_formula: literal::text(&cost_formula(&model.cost))?,
        param_defaults: literal::jsonb(&Value::Object(defaults))?,
        source: literal::text(&model.source)?,
    })
}
