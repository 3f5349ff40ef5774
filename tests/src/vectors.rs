//! Shared test vectors: costs and validation results computed by the Rust runtime from the
//! bundled registry, checked in under `tests/parity/` and replayed by the TypeScript and SQL
//! tests, which must give the identical answers.
//!
//! The vectors are generated from a fixed seed, so regenerating them gives the same bytes; a
//! test fails when the checked-in files are stale.

use codegen::ir::{self, ParamKind};
use codegen::rules::{with_formula, with_rules};
use runtime::params::JsonTypes;
use serde_json::{Map, Value, json};

/// Vectors generated per model (x16 bundled models > 10,000).
pub const COST_VECTORS_PER_MODEL: usize = 700;

/// SplitMix64: a tiny seeded generator, so vectors are reproducible without a dependency.
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// Next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64 + 1) as i64
    }
}

fn string_of(rng: &mut Rng, min: u32, max: u32) -> String {
    let len = rng.range(i64::from(min), i64::from(max.min(min + 40))) as usize;
    // Mix ASCII and non-ASCII code points: lengths count code points everywhere.
    let alphabet: Vec<char> = "abc xyzé漢🙂".chars().collect();
    (0..len)
        .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
        .collect()
}

/// A valid value for a param; `i` cycles through enum values and boundaries.
fn valid_value(rng: &mut Rng, kind: &ParamKind, i: usize) -> Value {
    match kind {
        ParamKind::String {
            min_length,
            max_length,
        } => {
            let min = min_length.unwrap_or(1);
            json!(string_of(rng, min, max_length.unwrap_or(min + 40).max(min)))
        }
        ParamKind::Integer {
            values: Some(vs), ..
        } => json!(vs[i % vs.len()]),
        ParamKind::Integer { min, max, step, .. } => {
            let lo = min.unwrap_or(-1000);
            let hi = max.unwrap_or(1_000_000);
            let step = step.unwrap_or(1).max(1);
            let (first, last) = (
                (lo + step - 1).div_euclid(step) * step,
                hi.div_euclid(step) * step,
            );
            let n = match i % 4 {
                0 => first,
                1 => last,
                _ => first + rng.range(0, (last - first) / step) * step,
            };
            json!(n)
        }
        ParamKind::Decimal { min, max, step } => {
            let p = |s: &Option<String>, d: &str| s.clone().unwrap_or_else(|| d.to_owned());
            let lo: runtime_decimal::D = p(min, "0").parse().unwrap_or_default();
            let hi: runtime_decimal::D = p(max, "100").parse().unwrap_or_default();
            let step: runtime_decimal::D = p(step, "0.01").parse().unwrap_or_default();
            let steps = ((hi - lo) / step).floor();
            let k = match i % 4 {
                0 => runtime_decimal::D::ZERO,
                1 => steps,
                _ => runtime_decimal::D::from(rng.below(steps.try_into().unwrap_or(0u64) + 1)),
            };
            let first = (lo / step).ceil() * step;
            let v = (first + k * step).min(hi).normalize();
            json!(v.to_string())
        }
        ParamKind::Enum { values } => json!(values[i % values.len()]),
        ParamKind::Boolean => json!(i % 2 == 0),
        ParamKind::ImageUrl => json!(format!("https://example.com/{}.png", rng.below(1000))),
        ParamKind::Array {
            items,
            min_items,
            max_items,
        } => {
            let n = rng.range(
                i64::from(min_items.unwrap_or(0)),
                i64::from(max_items.unwrap_or(8)),
            );
            let items: Vec<Value> = (0..n)
                .map(|k| match items {
                    ir::ItemType::String => json!(format!("item {k}")),
                    ir::ItemType::ImageUrl => json!(format!("https://example.com/{k}.png")),
                })
                .collect();
            Value::Array(items)
        }
        ParamKind::Object { fields } => {
            // From a generator of its own, seeded by the vector's index: an object param
            // changes no other param's or model's vectors.
            let mut rng = Rng::new(0x0B1E_C7ED ^ i as u64);
            let mut object = Map::new();
            for f in fields {
                // Optional fields are left out a third of the time, so defaults are exercised.
                if f.required || rng.below(3) != 0 {
                    object.insert(f.name.clone(), valid_value(&mut rng, &f.kind, i));
                }
            }
            Value::Object(object)
        }
        ParamKind::OneOf { options } => {
            let option = &options[i % options.len()];
            valid_value(rng, &option.kind, i / options.len())
        }
    }
}

/// Cost vectors: `{model, params, cost}`, params as a caller gives them (defaults not filled).
pub fn cost_vectors(reg: &ir::Registry) -> Vec<Value> {
    let mut rng = Rng::new(0x5EED_C057);
    let mut out = Vec::new();
    for model in reg.models.values() {
        with_rules(&model.params, |rules| {
            with_formula(&model.cost, |formula| {
                for i in 0..COST_VECTORS_PER_MODEL {
                    let mut params = Map::new();
                    for p in &model.params {
                        // Optional params are left out a third of the time, so defaults are exercised.
                        if p.required || rng.below(3) != 0 {
                            params.insert(p.name.clone(), valid_value(&mut rng, &p.kind, i));
                        }
                    }
                    let filled = runtime::params::validate(rules, &Value::Object(params.clone()))
                        .unwrap_or_else(|e| {
                            panic!("generated params for {} are invalid: {e}", model.id)
                        });
                    let cost = runtime::cost::compute(formula, &filled)
                        .unwrap_or_else(|e| panic!("cost of {}: {e}", model.id));
                    out.push(
                        json!({ "model": model.id, "params": params, "cost": cost.to_string() }),
                    );
                }
            })
        });
    }
    out
}

/// An invalid value for a param, with a description of the mutation.
fn invalid_values(kind: &ParamKind) -> Vec<Value> {
    let mut out = vec![json!({"not": "a value"})];
    match kind {
        ParamKind::Object { fields } => {
            // A valid object, then one mutation at a time.
            let mut rng = Rng::new(0x0B1E_C7ED);
            let base: Map<String, Value> = fields
                .iter()
                .filter(|f| f.required)
                .map(|f| (f.name.clone(), valid_value(&mut rng, &f.kind, 0)))
                .collect();
            out.push(json!("not an object"));
            out.push(json!([]));
            let mut unknown = base.clone();
            unknown.insert("zz_unknown".into(), json!(1));
            unknown.insert("another".into(), json!(null));
            out.push(Value::Object(unknown));
            for f in fields {
                if f.required {
                    let mut missing = base.clone();
                    missing.remove(&f.name);
                    out.push(Value::Object(missing.clone()));
                    missing.insert(f.name.clone(), Value::Null);
                    out.push(Value::Object(missing));
                }
                // The field's own wrong values, out of range among them.
                for bad in invalid_values(&f.kind).into_iter().skip(1) {
                    let mut c = base.clone();
                    c.insert(f.name.clone(), bad);
                    out.push(Value::Object(c));
                }
            }
        }
        ParamKind::OneOf { options } => {
            // A value of a JSON type no option takes.
            let types = codegen::rules::json_types(kind);
            for v in [json!([]), json!(true), json!(7), json!("text"), json!({})] {
                if types.intersection(JsonTypes::of(&v)).is_empty() {
                    out.push(v);
                }
            }
            // Each option's wrong values of its own JSON type, which that option checks.
            for o in options {
                let own = codegen::rules::json_types(&o.kind);
                for bad in invalid_values(&o.kind) {
                    if !own.intersection(JsonTypes::of(&bad)).is_empty() && !out.contains(&bad) {
                        out.push(bad);
                    }
                }
            }
        }
        ParamKind::String {
            min_length,
            max_length,
        } => {
            out.push(json!(5));
            if let Some(min) = min_length.filter(|m| *m > 0) {
                out.push(json!("é".repeat(min as usize - 1)));
            }
            if let Some(max) = max_length {
                out.push(json!("🙂".repeat(*max as usize + 1)));
            }
        }
        ParamKind::Integer {
            min,
            max,
            step,
            values,
        } => {
            out.push(json!("5"));
            out.push(json!(2.5));
            if let Some(vs) = values {
                out.push(json!(vs.iter().max().copied().unwrap_or(0) + 1));
            }
            if let Some(min) = min {
                out.push(json!(min - 1));
            }
            if let Some(max) = max {
                out.push(json!(max + 1));
            }
            if let (Some(step), Some(min)) = (step, min) {
                out.push(json!(
                    min + 1 + step - (min + 1).rem_euclid(*step).max(1) + 1
                ));
            }
        }
        ParamKind::Decimal { min, max, step } => {
            out.push(json!(0.5));
            out.push(json!("1e3"));
            out.push(json!(".5"));
            if let Some(min) = min {
                out.push(json!(
                    min.parse::<f64>()
                        .map(|_| format!("-{}", min.trim_start_matches('-')))
                        .unwrap_or_default()
                ));
            }
            if let Some(max) = max {
                out.push(json!(format!("{max}1")));
            }
            if step.is_some() {
                out.push(json!("0.123456"));
            }
        }
        ParamKind::Enum { values } => {
            out.push(json!(format!("{}x", values[0])));
            out.push(json!(values[0].to_uppercase() + "!"));
            out.push(json!(true));
        }
        ParamKind::Boolean => {
            out.push(json!("true"));
            out.push(json!(1));
        }
        ParamKind::ImageUrl => {
            out.push(json!("ftp://example.com/a.png"));
            out.push(json!("not a url"));
            out.push(json!("https://"));
        }
        ParamKind::Array { max_items, .. } => {
            out.push(json!("https://example.com/a.png"));
            out.push(json!([1, 2]));
            if let Some(max) = max_items {
                out.push(Value::Array(vec![
                    json!("https://example.com/a.png");
                    *max as usize + 1
                ]));
            }
        }
    }
    out
}

/// Validation vectors: `{model, params, violations: [{param, code, message}]}`.
pub fn validation_vectors(reg: &ir::Registry) -> Vec<Value> {
    let mut rng = Rng::new(0x000B_AD1D);
    let mut out = Vec::new();
    for model in reg.models.values() {
        let base: Map<String, Value> = model
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| (p.name.clone(), valid_value(&mut rng, &p.kind, 0)))
            .collect();
        let mut cases: Vec<Map<String, Value>> = vec![Map::new()];
        let mut unknown = base.clone();
        unknown.insert("unknown_param".into(), json!(1));
        unknown.insert("another".into(), json!(null));
        cases.push(unknown);
        for p in &model.params {
            for bad in invalid_values(&p.kind) {
                let mut c = base.clone();
                c.insert(p.name.clone(), bad);
                cases.push(c);
            }
        }
        // Two problems at once: every violation is reported, in declaration order.
        if let (Some(first), Some(last)) = (model.params.first(), model.params.last()) {
            let mut c = base.clone();
            c.insert(last.name.clone(), json!({"bad": true}));
            c.insert(first.name.clone(), json!([]));
            cases.push(c);
        }
        with_rules(&model.params, |rules| {
            for params in cases {
                let violations =
                    match runtime::params::validate(rules, &Value::Object(params.clone())) {
                        Ok(_) => continue,
                        Err(v) => v.0,
                    };
                out.push(json!({ "model": model.id, "params": params, "violations": violations }));
            }
        });
    }
    out
}

/// One JSON value per line inside `[` `]`: valid JSON, readable diffs.
pub fn to_lines(items: &[Value]) -> String {
    let mut s = String::from("[\n");
    for (i, item) in items.iter().enumerate() {
        s.push_str(&item.to_string());
        s.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
    }
    s.push_str("]\n");
    s
}

mod runtime_decimal {
    pub type D = rust_decimal::Decimal;
}
