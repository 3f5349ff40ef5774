//! Output-count reconciliation: a model whose cost counts its outputs (`count: true` on a param
//! such as `number_results`) charges for N outputs, and a provider sometimes returns fewer.
//!
//! Which param counts the outputs: the first [`Multiplier::Count`] of the model's cost formula
//! whose param is an integer. A count on a list param counts inputs (reference images), not
//! outputs, and is skipped; a model with several integer counts is reconciled against the
//! first (the others scale the price of each output, as a table factor would).
//!
//! A shortfall is refunded pro rata, not only flagged: the formula is linear in the count, so
//! `cost × received / expected` is what the outputs that did come back cost, and the user pays
//! for exactly those, in the same store transaction that records the completion. Flagging
//! alone would keep credits for outputs that never existed until someone refunded them by hand;
//! the record stays for that follow-up anyway (`outputs_expected`, `outputs_received`,
//! `credits_refunded`, the `output_shortfall` event and alert). The share is rounded by the
//! model's own rule and scale, with exact arithmetic ([`cost::round_div`]), so the charge is
//! an amount the formula could have produced and never exceeds the hold.

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::cost::{self, CostError, Credits, Multiplier};
use crate::model::ModelInfo;
use crate::params::Kind;
use crate::store::OutputCount;

/// The param that counts `info`'s outputs, if its cost has one (see the module docs).
pub(super) fn count_param(info: &'static ModelInfo) -> Option<&'static str> {
    info.cost.multipliers.iter().find_map(|m| match m {
        Multiplier::Count { param } => info
            .params
            .iter()
            .find(|p| p.name == *param && matches!(p.kind, Kind::Integer { .. }))
            .map(|p| p.name),
        _ => None,
    })
}

/// The output count of a completed generation of `info` with `params` (defaults filled in)
/// whose full cost is `cost`, and its charge: `cost × received / expected` rounded by the
/// model's rule when fewer came back, else `cost`. `None` for a model that does not count its
/// outputs.
pub(super) fn reconcile(
    info: &'static ModelInfo,
    params: &Map<String, Value>,
    cost: Credits,
    received: usize,
) -> Result<Option<OutputCount>, CostError> {
    let Some(name) = count_param(info) else {
        return Ok(None);
    };
    let Some(expected) = params
        .get(name)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
    else {
        return Ok(None);
    };
    let received = u32::try_from(received).unwrap_or(u32::MAX);
    let charge = if expected == 0 || received >= expected {
        cost
    } else {
        let full = cost.as_decimal();
        let n = full
            .checked_mul(Decimal::from(received))
            .filter(|p| p.scale() == full.scale())
            .ok_or(CostError::Overflow)?;
        let share = cost::round_div(n, i128::from(expected), info.cost.scale, info.cost.round)?;
        Credits::from_decimal(share).min(cost)
    };
    Ok(Some(OutputCount {
        expected,
        received,
        charge,
    }))
}
