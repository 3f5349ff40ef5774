//! Exact credit costs.
//!
//! A cost is `base × f1 × f2 × …`, rounded once at the end. Factors are:
//! - a table entry chosen by a param's value (`"720p" → 1.5`),
//! - a ratio `value / per` of a numeric param (`duration / 5`),
//! - a count: an integer param's value or an array param's number of items.
//!
//! A multiplier may read a field of an object param instead of a param: its `param` is then
//! `param.field` (`size.width`; param and field names never contain a dot). Params are
//! validated before costing, so the field's default is already filled in.
//!
//! The algorithm, identical in Rust, TypeScript and SQL (the parity vectors prove it):
//! 1. `numerator` = base × every table factor × every ratio *value* × every count, multiplied
//!    exactly (decimal arithmetic, no rounding; in TS scaled `bigint`, in SQL `numeric`);
//! 2. `denominator` = the product of every ratio's `per` (positive integers);
//! 3. the result is `numerator / denominator` rounded to `scale` decimal places by the round
//!    mode, computed by integer division with remainder, so no intermediate rounding ever
//!    happens. `ceil` rounds toward +∞, `floor` toward −∞, `half_up` to nearest with halves
//!    away from zero, `half_even` to nearest with halves to even.
//!
//! The result is printed in canonical form: no exponent, no trailing zeros after the point, no
//! point when whole (`"12"`, `"2.5"`), and `"0"` for zero.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

/// How the final amount is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Round {
    /// Toward +∞.
    Ceil,
    /// Toward −∞.
    Floor,
    /// To nearest; halves away from zero.
    HalfUp,
    /// To nearest; halves to even.
    HalfEven,
}

/// One multiplier of a cost formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Multiplier<'a> {
    /// Factor looked up by the param's value rendered as text (`"720p"`, `"5"`, `"true"`).
    Table {
        /// Param name, or `param.field` for a field of an object param.
        param: &'a str,
        /// `(value, factor)` pairs; factors are decimal strings.
        entries: &'a [(&'a str, &'a str)],
    },
    /// `value / per`.
    Ratio {
        /// Param name (integer or decimal), or `param.field` for a field of an object param.
        param: &'a str,
        /// Positive divisor.
        per: u64,
    },
    /// The param's integer value, or its number of items.
    Count {
        /// Param name, or `param.field` for a field of an object param.
        param: &'a str,
    },
}

/// A model's cost formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formula<'a> {
    /// Base credits, a decimal string.
    pub base: &'a str,
    /// Multipliers in the spec's order.
    pub multipliers: &'a [Multiplier<'a>],
    /// Rounding mode.
    pub round: Round,
    /// Decimal places kept.
    pub scale: u32,
}

/// Why a cost could not be computed. Never silently zero.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    /// A param the formula needs is absent (defaults are applied before costing).
    #[error("cost needs param `{0}`, which is missing")]
    MissingParam(String),
    /// A param has a value the formula cannot use.
    #[error("cost cannot use `{param}` = {value}: {why}")]
    BadValue {
        /// Param name.
        param: String,
        /// The value as JSON.
        value: String,
        /// Why.
        why: String,
    },
    /// The amount does not fit the exact arithmetic.
    #[error("cost overflows exact arithmetic")]
    Overflow,
    /// A decimal in the formula does not parse (a generator bug).
    #[error("bad decimal `{0}` in a cost formula")]
    BadFormula(String),
}

/// An exact credit amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Credits(Decimal);

impl Credits {
    /// The amount as a decimal.
    pub fn as_decimal(self) -> Decimal {
        self.0
    }

    /// Wrap a decimal.
    pub fn from_decimal(d: Decimal) -> Self {
        Credits(d.normalize())
    }

    /// Zero credits.
    pub const ZERO: Credits = Credits(Decimal::ZERO);
}

impl fmt::Display for Credits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0.normalize();
        if d.is_zero() {
            return f.write_str("0");
        }
        write!(f, "{d}")
    }
}

impl FromStr for Credits {
    type Err = rust_decimal::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::from_str_exact(s).map(Credits::from_decimal)
    }
}

impl serde::Serialize for Credits {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn dec(text: &str) -> Result<Decimal, CostError> {
    Decimal::from_str_exact(text).map_err(|_| CostError::BadFormula(text.to_owned()))
}

/// Exact product; an error instead of any rounding.
fn mul(a: Decimal, b: Decimal) -> Result<Decimal, CostError> {
    let p = a.checked_mul(b).ok_or(CostError::Overflow)?;
    // rust_decimal drops scale (rounds) when the exact product does not fit: refuse instead.
    if p.scale() != a.scale() + b.scale() {
        return Err(CostError::Overflow);
    }
    Ok(p)
}

/// The text a table looks a value up by.
pub fn table_key(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn bad(param: &str, v: &Value, why: &str) -> CostError {
    CostError::BadValue {
        param: param.to_owned(),
        value: v.to_string(),
        why: why.to_owned(),
    }
}

fn numeric(param: &str, v: &Value) -> Result<Decimal, CostError> {
    match v {
        Value::Number(n) if n.is_i64() => Ok(Decimal::from(n.as_i64().unwrap_or_default())),
        Value::Number(n) if n.is_u64() => Ok(Decimal::from(n.as_u64().unwrap_or_default())),
        Value::String(s) => Decimal::from_str_exact(s).map_err(|_| bad(param, v, "not a decimal")),
        _ => Err(bad(param, v, "not an integer or a decimal string")),
    }
}

/// The value a multiplier reads: the param `path`, or the field of `param.field`.
fn lookup<'v>(
    params: &'v serde_json::Map<String, Value>,
    path: &str,
) -> Result<&'v Value, CostError> {
    let missing = || CostError::MissingParam(path.to_owned());
    let present = |v: &&Value| !v.is_null();
    match path.split_once('.') {
        None => params.get(path).filter(present).ok_or_else(missing),
        Some((param, field)) => {
            let object = params.get(param).filter(present).ok_or_else(missing)?;
            let Value::Object(fields) = object else {
                return Err(bad(path, object, "not an object"));
            };
            fields.get(field).filter(present).ok_or_else(missing)
        }
    }
}

/// Compute the cost of `params` (a JSON object with defaults already applied).
pub fn compute(
    formula: &Formula<'_>,
    params: &serde_json::Map<String, Value>,
) -> Result<Credits, CostError> {
    let mut numerator = dec(formula.base)?;
    let mut denominator: i128 = 1;
    for factor in formula.multipliers {
        let (name, value) = match factor {
            Multiplier::Table { param, .. }
            | Multiplier::Ratio { param, .. }
            | Multiplier::Count { param } => (*param, lookup(params, param)?),
        };
        match factor {
            Multiplier::Table { entries, .. } => {
                let key = table_key(value).ok_or_else(|| bad(name, value, "not a table key"))?;
                let (_, f) = entries
                    .iter()
                    .find(|(k, _)| *k == key)
                    .ok_or_else(|| bad(name, value, "no factor for this value"))?;
                numerator = mul(numerator, dec(f)?)?;
            }
            Multiplier::Ratio { per, .. } => {
                numerator = mul(numerator, numeric(name, value)?)?;
                denominator = denominator
                    .checked_mul(i128::from(*per))
                    .ok_or(CostError::Overflow)?;
            }
            Multiplier::Count { .. } => {
                let n = match value {
                    Value::Array(items) => Decimal::from(items.len()),
                    Value::Number(n) if n.is_i64() => Decimal::from(n.as_i64().unwrap_or_default()),
                    Value::Number(n) if n.is_u64() => Decimal::from(n.as_u64().unwrap_or_default()),
                    _ => return Err(bad(name, value, "not an integer or a list")),
                };
                numerator = mul(numerator, n)?;
            }
        }
    }
    round_div(numerator, denominator, formula.scale, formula.round).map(Credits::from_decimal)
}

/// `n / d` rounded to `scale` places, exactly.
pub fn round_div(n: Decimal, d: i128, scale: u32, round: Round) -> Result<Decimal, CostError> {
    if d <= 0 {
        return Err(CostError::Overflow);
    }
    // n = m / 10^s. Result in units of 10^-scale: q = m * 10^scale / (d * 10^s).
    let m = n.mantissa();
    let s = n.scale();
    let pow = |e: u32| 10i128.checked_pow(e).ok_or(CostError::Overflow);
    let (num, den) = if scale >= s {
        (
            m.checked_mul(pow(scale - s)?).ok_or(CostError::Overflow)?,
            d,
        )
    } else {
        (
            m,
            d.checked_mul(pow(s - scale)?).ok_or(CostError::Overflow)?,
        )
    };
    let mut q = num / den; // truncates toward zero
    let r = num % den; // same sign as num
    if r != 0 {
        let positive = num > 0;
        let twice = r.unsigned_abs().checked_mul(2).ok_or(CostError::Overflow)?;
        let half_cmp = twice.cmp(&den.unsigned_abs());
        let away = match round {
            Round::Ceil => positive,
            Round::Floor => !positive,
            Round::HalfUp => half_cmp != std::cmp::Ordering::Less,
            Round::HalfEven => match half_cmp {
                std::cmp::Ordering::Greater => true,
                std::cmp::Ordering::Less => false,
                std::cmp::Ordering::Equal => q % 2 != 0,
            },
        };
        if away {
            q += if positive { 1 } else { -1 };
        }
    }
    Decimal::try_from_i128_with_scale(q, scale).map_err(|_| CostError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SEEDANCE: Formula<'static> = Formula {
        base: "8",
        multipliers: &[
            Multiplier::Table {
                param: "resolution",
                entries: &[("480p", "1"), ("720p", "1.5"), ("1080p", "2.5")],
            },
            Multiplier::Ratio {
                param: "duration",
                per: 5,
            },
        ],
        round: Round::Ceil,
        scale: 0,
    };

    fn cost(f: &Formula<'_>, p: serde_json::Value) -> String {
        compute(f, p.as_object().unwrap()).unwrap().to_string()
    }

    #[test]
    fn seedance_costs() {
        assert_eq!(
            cost(&SEEDANCE, json!({"resolution": "720p", "duration": 5})),
            "12"
        );
        assert_eq!(
            cost(&SEEDANCE, json!({"resolution": "1080p", "duration": 10})),
            "40"
        );
        assert_eq!(
            cost(&SEEDANCE, json!({"resolution": "720p", "duration": 7})),
            "17"
        ); // 16.8 -> 17
    }

    #[test]
    fn rounding_modes_at_the_edges() {
        let r = |n: &str, d: i128, scale, mode| {
            round_div(Decimal::from_str_exact(n).unwrap(), d, scale, mode)
                .unwrap()
                .normalize()
                .to_string()
        };
        assert_eq!(r("5", 2, 0, Round::HalfEven), "2");
        assert_eq!(r("7", 2, 0, Round::HalfEven), "4");
        assert_eq!(r("5", 2, 0, Round::HalfUp), "3");
        assert_eq!(r("-5", 2, 0, Round::HalfUp), "-3");
        assert_eq!(r("-5", 2, 0, Round::Ceil), "-2");
        assert_eq!(r("-5", 2, 0, Round::Floor), "-3");
        assert_eq!(r("1", 3, 2, Round::Ceil), "0.34");
        assert_eq!(r("1", 3, 2, Round::Floor), "0.33");
        assert_eq!(r("10", 1, 0, Round::Ceil), "10");
        assert_eq!(r("0.0001", 1, 0, Round::Ceil), "1");
    }

    #[test]
    fn a_multiplier_reads_a_field_of_an_object_param() {
        const AREA: Formula<'static> = Formula {
            base: "1",
            multipliers: &[
                Multiplier::Ratio {
                    param: "size.width",
                    per: 512,
                },
                Multiplier::Table {
                    param: "size.unit",
                    entries: &[("px", "1"), ("mm", "2")],
                },
            ],
            round: Round::Ceil,
            scale: 2,
        };
        assert_eq!(
            cost(&AREA, json!({"size": {"width": 768, "unit": "mm"}})),
            "3"
        );
        let p = json!({"size": {"unit": "px"}});
        assert_eq!(
            compute(&AREA, p.as_object().unwrap()),
            Err(CostError::MissingParam("size.width".into()))
        );
        let p = json!({"size": "square"});
        assert_eq!(
            compute(&AREA, p.as_object().unwrap())
                .unwrap_err()
                .to_string(),
            "cost cannot use `size.width` = \"square\": not an object"
        );
    }

    #[test]
    fn missing_and_unknown_values_are_errors_not_zero() {
        let p = json!({"resolution": "4k", "duration": 5});
        assert!(matches!(
            compute(&SEEDANCE, p.as_object().unwrap()),
            Err(CostError::BadValue { .. })
        ));
        let p = json!({"duration": 5});
        assert_eq!(
            compute(&SEEDANCE, p.as_object().unwrap()),
            Err(CostError::MissingParam("resolution".into()))
        );
    }
}
