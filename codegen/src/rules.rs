//! The IR's params and cost formula as `registry-core` rules, borrowed from the IR.
//!
//! This is the one bridge from the IR to the rules generated code, the engine and codegen all
//! apply: codegen checks spec defaults and smoke params with it, and the parity vectors are
//! computed with it. The rules borrow from the IR, so nothing is leaked or copied.

use registry_core::cost::{Formula, Multiplier as CoreMultiplier, Round};
use registry_core::params::{Item, Kind, ParamRule, Violation};
use serde_json::Value;

use crate::ir::{self, ItemType, Multiplier, ParamKind, RoundMode};

/// Run `f` with the core kind of `kind` (`enum_values` holds an enum's values as `&str`).
fn core_kind<'a>(kind: &'a ParamKind, enum_values: &'a [&'a str]) -> Kind<'a> {
    match kind {
        ParamKind::String {
            min_length,
            max_length,
        } => Kind::String {
            min_length: *min_length,
            max_length: *max_length,
        },
        ParamKind::Integer {
            min,
            max,
            step,
            values,
        } => Kind::Integer {
            min: *min,
            max: *max,
            step: *step,
            values: values.as_deref(),
        },
        ParamKind::Decimal { min, max, step } => Kind::Decimal {
            min: min.as_deref(),
            max: max.as_deref(),
            step: step.as_deref(),
        },
        ParamKind::Enum { .. } => Kind::Enum {
            values: enum_values,
        },
        ParamKind::Boolean => Kind::Boolean,
        ParamKind::ImageUrl => Kind::ImageUrl,
        ParamKind::Array {
            items,
            min_items,
            max_items,
        } => Kind::Array {
            items: match items {
                ItemType::String => Item::String,
                ItemType::ImageUrl => Item::ImageUrl,
            },
            min_items: *min_items,
            max_items: *max_items,
        },
    }
}

fn enum_values(kind: &ParamKind) -> Vec<&str> {
    match kind {
        ParamKind::Enum { values } => values.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Check `value` for the param `name` of `kind` by the core rules: the runtime's verdict and
/// message.
pub fn check(name: &str, kind: &ParamKind, value: &Value) -> Result<(), Violation> {
    let values = enum_values(kind);
    registry_core::params::check(name, &core_kind(kind, &values), value)
}

/// Run `f` with the core rules of `params`, in order.
pub fn with_rules<R>(params: &[ir::Param], f: impl FnOnce(&[ParamRule<'_>]) -> R) -> R {
    let defaults: Vec<Option<String>> = params
        .iter()
        .map(|p| p.default.as_ref().map(Value::to_string))
        .collect();
    let values: Vec<Vec<&str>> = params.iter().map(|p| enum_values(&p.kind)).collect();
    let rules: Vec<ParamRule<'_>> = params
        .iter()
        .zip(&defaults)
        .zip(&values)
        .map(|((p, default), values)| ParamRule {
            name: &p.name,
            required: p.required,
            default: default.as_deref(),
            kind: core_kind(&p.kind, values),
        })
        .collect();
    f(&rules)
}

/// Run `f` with the core formula of `cost`.
pub fn with_formula<R>(cost: &ir::Cost, f: impl FnOnce(&Formula<'_>) -> R) -> R {
    let entries: Vec<Vec<(&str, &str)>> = cost
        .multipliers
        .iter()
        .map(|m| match m {
            Multiplier::Table { entries, .. } => entries
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let multipliers: Vec<CoreMultiplier<'_>> = cost
        .multipliers
        .iter()
        .zip(&entries)
        .map(|(m, entries)| match m {
            Multiplier::Table { param, .. } => CoreMultiplier::Table { param, entries },
            Multiplier::Ratio { param, per } => CoreMultiplier::Ratio { param, per: *per },
            Multiplier::Count { param } => CoreMultiplier::Count { param },
        })
        .collect();
    f(&Formula {
        base: &cost.base,
        multipliers: &multipliers,
        round: match cost.round {
            RoundMode::Ceil => Round::Ceil,
            RoundMode::Floor => Round::Floor,
            RoundMode::HalfUp => Round::HalfUp,
            RoundMode::HalfEven => Round::HalfEven,
        },
        scale: cost.scale,
    })
}
