//! The IR's params and cost formula as `registry-core` rules, borrowed from the IR.
//!
//! This is the one bridge from the IR to the rules generated code, the engine and codegen all
//! apply: codegen checks spec defaults and smoke params with it, and the parity vectors are
//! computed with it. The rules borrow from the IR, so nothing is leaked or copied.
//!
//! Core's kinds borrow their parts (`Kind::Enum` its values as `&[&str]`, `Kind::Object` its
//! fields' rules, `Kind::OneOf` its options), so the rules of a set of kinds are built level
//! by level, each borrowing from the one below: the fields of objects, then the options of
//! one_ofs, then the kinds themselves. Objects hold scalar fields and one_ofs hold scalars and
//! objects, so three levels are all there are.

use registry_core::cost::{Formula, Multiplier as CoreMultiplier, Round};
use registry_core::params::{Item, JsonTypes, Kind, ParamRule, Violation};
use serde_json::Value;

use crate::ir::{self, ItemType, Multiplier, ParamKind, RoundMode};

/// The core kind of `kind`, given the parts it borrows: an enum's values as `&str`, an
/// object's field rules and a one_of's options (empty for other kinds).
fn core_kind<'a>(
    kind: &'a ParamKind,
    enum_values: &'a [&'a str],
    fields: &'a [ParamRule<'a>],
    options: &'a [(&'a str, Kind<'a>)],
) -> Kind<'a> {
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
        ParamKind::Object { .. } => Kind::Object { fields },
        ParamKind::OneOf { .. } => Kind::OneOf { options },
    }
}

fn enum_values(kind: &ParamKind) -> Vec<&str> {
    match kind {
        ParamKind::Enum { values } => values.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    }
}

/// What the rules of an object's fields borrow: each field's enum values and default as JSON
/// text (empty for a kind that is not an object).
struct FieldParts<'ir> {
    values: Vec<Vec<&'ir str>>,
    defaults: Vec<Option<String>>,
}

impl<'ir> FieldParts<'ir> {
    fn of(kind: &'ir ParamKind) -> Self {
        let fields = kind.fields();
        FieldParts {
            values: fields.iter().map(|f| enum_values(&f.kind)).collect(),
            defaults: fields
                .iter()
                .map(|f| f.default.as_ref().map(Value::to_string))
                .collect(),
        }
    }

    /// The rules of `kind`'s fields (a field is a scalar: it borrows only its values).
    fn rules<'a>(&'a self, kind: &'a ParamKind) -> Vec<ParamRule<'a>> {
        kind.fields()
            .iter()
            .zip(&self.values)
            .zip(&self.defaults)
            .map(|((f, values), default)| ParamRule {
                name: &f.name,
                required: f.required,
                default: default.as_deref(),
                kind: core_kind(&f.kind, values, &[], &[]),
            })
            .collect()
    }
}

fn options_of(kind: &ParamKind) -> &[ir::OneOfOption] {
    match kind {
        ParamKind::OneOf { options } => options,
        _ => &[],
    }
}

/// Run `f` with the core kinds of `kinds`, in order.
fn with_kinds<R>(kinds: &[&ParamKind], f: impl FnOnce(&[Kind<'_>]) -> R) -> R {
    // The fields of the objects among the one_ofs' options.
    let option_parts: Vec<Vec<FieldParts<'_>>> = kinds
        .iter()
        .map(|k| {
            options_of(k)
                .iter()
                .map(|o| FieldParts::of(&o.kind))
                .collect()
        })
        .collect();
    let option_fields: Vec<Vec<Vec<ParamRule<'_>>>> = kinds
        .iter()
        .zip(&option_parts)
        .map(|(k, parts)| {
            options_of(k)
                .iter()
                .zip(parts)
                .map(|(o, p)| p.rules(&o.kind))
                .collect()
        })
        .collect();
    // The options of the one_ofs, and the fields of the objects.
    let option_values: Vec<Vec<Vec<&str>>> = kinds
        .iter()
        .map(|k| options_of(k).iter().map(|o| enum_values(&o.kind)).collect())
        .collect();
    let options: Vec<Vec<(&str, Kind<'_>)>> = kinds
        .iter()
        .zip(&option_values)
        .zip(&option_fields)
        .map(|((k, values), fields)| {
            options_of(k)
                .iter()
                .zip(values)
                .zip(fields)
                .map(|((o, values), fields)| {
                    (o.name.as_str(), core_kind(&o.kind, values, fields, &[]))
                })
                .collect()
        })
        .collect();
    let parts: Vec<FieldParts<'_>> = kinds.iter().map(|k| FieldParts::of(k)).collect();
    let fields: Vec<Vec<ParamRule<'_>>> =
        kinds.iter().zip(&parts).map(|(k, p)| p.rules(k)).collect();
    // The kinds.
    let values: Vec<Vec<&str>> = kinds.iter().map(|k| enum_values(k)).collect();
    let core: Vec<Kind<'_>> = kinds
        .iter()
        .zip(&values)
        .zip(&fields)
        .zip(&options)
        .map(|(((k, values), fields), options)| core_kind(k, values, fields, options))
        .collect();
    f(&core)
}

/// Check `value` for the param `name` of `kind` by the core rules: the runtime's verdict and
/// message.
pub fn check(name: &str, kind: &ParamKind, value: &Value) -> Result<(), Violation> {
    checked(name, kind, value).map(drop)
}

/// Check `value` for the param `name` of `kind` by the core rules, and return it with the
/// defaults of absent object fields filled in.
pub fn checked(name: &str, kind: &ParamKind, value: &Value) -> Result<Value, Violation> {
    with_kinds(&[kind], |kinds| {
        registry_core::params::checked(name, &kinds[0], value)
    })
}

/// The JSON types a value of `kind` may have, by the core rules (which choose a one_of's
/// option by them).
pub fn json_types(kind: &ParamKind) -> JsonTypes {
    with_kinds(&[kind], |kinds| {
        registry_core::params::json_types(&kinds[0])
    })
}

/// Run `f` with the core rules of `params`, in order.
pub fn with_rules<R>(params: &[ir::Param], f: impl FnOnce(&[ParamRule<'_>]) -> R) -> R {
    let defaults: Vec<Option<String>> = params
        .iter()
        .map(|p| p.default.as_ref().map(Value::to_string))
        .collect();
    let kinds: Vec<&ParamKind> = params.iter().map(|p| &p.kind).collect();
    with_kinds(&kinds, |kinds| {
        let rules: Vec<ParamRule<'_>> = params
            .iter()
            .zip(&defaults)
            .zip(kinds)
            .map(|((p, default), kind)| ParamRule {
                name: &p.name,
                required: p.required,
                default: default.as_deref(),
                kind: *kind,
            })
            .collect();
        f(&rules)
    })
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
    // Core names a field of an object param as `param.field`.
    let paths: Vec<String> = cost.multipliers.iter().map(Multiplier::path).collect();
    let multipliers: Vec<CoreMultiplier<'_>> = cost
        .multipliers
        .iter()
        .zip(&entries)
        .zip(&paths)
        .map(|((m, entries), param)| match m {
            Multiplier::Table { .. } => CoreMultiplier::Table { param, entries },
            Multiplier::Ratio { per, .. } => CoreMultiplier::Ratio { param, per: *per },
            Multiplier::Count { .. } => CoreMultiplier::Count { param },
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
