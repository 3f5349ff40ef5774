//! What the API answers with: generations, models, the account, as JSON.
//!
//! Built from the store's rows and the registry's static data. Nothing here carries a key
//! value, a key scope or a secret name.

use runtime::cost::{self, Multiplier};
use runtime::model::ModelInfo;
use runtime::params::{Item, Kind, ParamRule};
use runtime::store::{Generation, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::state::AppState;

/// A generation request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGeneration {
    /// Model id (`GET /v1/models` lists them).
    pub model: String,
    /// The model's params; absent or `null` is `{}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Value,
}

/// A generation's state.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusView {
    /// Recorded, not yet accepted by the provider.
    Pending,
    /// The provider is working on it.
    Processing,
    /// Done, with outputs.
    Completed,
    /// Done, without (the error says why; its credits were refunded).
    Failed,
}

impl From<Status> for StatusView {
    fn from(s: Status) -> Self {
        match s {
            Status::Pending => StatusView::Pending,
            Status::Processing => StatusView::Processing,
            Status::Completed => StatusView::Completed,
            Status::Failed => StatusView::Failed,
        }
    }
}

/// One output.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutputView {
    /// `url`, `data_url`, `base64` or `text`.
    pub kind: String,
    /// The URL, data URL, base64 or text.
    pub value: String,
}

/// Why a generation failed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GenerationErrorView {
    /// `provider`, `timeout`, `cancelled`, `transport`, `malformed_answer`, `missing_key`, ...
    pub kind: String,
    /// What happened.
    pub message: String,
    /// The provider's error code, when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A generation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GenerationView {
    /// Generation id (UUID).
    pub id: String,
    /// Model id.
    pub model: String,
    /// `image`, `video`, `audio` or `text`.
    pub content_type: String,
    /// State.
    pub status: StatusView,
    /// The params as run: validated, defaults filled in.
    #[schema(value_type = Object)]
    pub params: Value,
    /// What it costs, in credits (exact decimal): held from the balance while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    /// Credits charged, once finished (`0` when it failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charged: Option<String>,
    /// Credits given back because fewer outputs came back than were paid for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refunded: Option<String>,
    /// The outputs, when completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<OutputView>>,
    /// Why it failed, when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<GenerationErrorView>,
    /// When it was asked for (RFC 3339, UTC).
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// When it finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

/// A page of generations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GenerationPage {
    /// Newest first.
    pub data: Vec<GenerationView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl GenerationView {
    /// The view of row `g`.
    pub fn of(state: &AppState, g: &Generation) -> GenerationView {
        let model = state.engine.model(&g.model_id);
        let cost = model.and_then(|m| {
            let params = g.params.as_object()?;
            cost::compute(&m.cost, params).ok().map(|c| c.to_string())
        });
        let outputs = (g.status == Status::Completed).then(|| {
            g.provider_response
                .get("outputs")
                .cloned()
                .and_then(|v| serde_json::from_value::<Vec<OutputView>>(v).ok())
                .unwrap_or_default()
        });
        let error = (g.status == Status::Failed).then(|| {
            let e = g.provider_response.get("error");
            let text = |k: &str| e.and_then(|e| e.get(k)).and_then(Value::as_str);
            let kind = text("kind").unwrap_or("unknown").to_owned();
            let message = if kind == "missing_key" {
                "the provider key for this model is not configured".to_owned()
            } else {
                state.scrub(text("message").unwrap_or("failed"))
            };
            GenerationErrorView {
                kind,
                message,
                code: e.and_then(|e| e.get("code")).and_then(|c| match c {
                    Value::String(s) => Some(state.scrub(s)),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }),
            }
        });
        GenerationView {
            id: g.id.clone(),
            model: g.model_id.clone(),
            content_type: g.content_type.clone(),
            status: g.status.into(),
            params: g.params.clone(),
            cost,
            charged: g.tokens_used.map(|c| c.to_string()),
            refunded: g.credits_refunded.map(|c| c.to_string()),
            outputs,
            error,
            created_at: rfc3339(g.created_at),
            updated_at: rfc3339(g.updated_at),
            completed_at: g.completed_at.map(rfc3339),
        }
    }
}

/// A user's credits.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    /// The caller's user id.
    pub user_id: String,
    /// Balance in credits (charges deducted; holds of running generations not).
    pub balance: String,
    /// What a new generation can use: the balance less the holds.
    pub available: String,
}

/// A model's provider.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderView {
    /// Provider id.
    pub id: String,
    /// Name for people.
    pub display_name: String,
}

/// A param's type.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// Text; lengths count Unicode code points.
    String,
    /// A whole number.
    Integer,
    /// An exact decimal, given as a string.
    Decimal,
    /// One of `values`.
    Enum,
    /// `true` or `false`.
    Boolean,
    /// An http(s) image URL.
    ImageUrl,
    /// A list of `items`.
    Array,
    /// An object with typed `fields`.
    Object,
    /// One of `options`, chosen by the value's JSON type.
    OneOf,
}

/// One param's rules, as the server checks them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParamView {
    /// Name, as sent in `params`.
    pub name: String,
    /// Must be given.
    pub required: bool,
    /// Type.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// The value taken when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub default: Option<Value>,
    /// Fewest code points (strings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Most code points (strings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Smallest value (a number for integers, a decimal string for decimals).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub min: Option<Value>,
    /// Largest value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub max: Option<Value>,
    /// The value must be a multiple of this.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub step: Option<Value>,
    /// The allowed values (enums; integers with a fixed set).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub values: Option<Vec<Value>>,
    /// Item type of an array: `string` or `image_url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<String>,
    /// Fewest items (arrays).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u32>,
    /// Most items (arrays).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    /// The fields of an object, as params.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub fields: Option<Vec<ParamView>>,
    /// The options of a one_of, each named and described as a param (`name` is the option's).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub options: Option<Vec<ParamView>>,
}

impl ParamView {
    fn of(p: &ParamRule<'_>) -> ParamView {
        let mut v = ParamView {
            name: p.name.to_owned(),
            required: p.required,
            kind: ParamType::String,
            default: p.default.and_then(|d| serde_json::from_str(d).ok()),
            min_length: None,
            max_length: None,
            min: None,
            max: None,
            step: None,
            values: None,
            items: None,
            min_items: None,
            max_items: None,
            fields: None,
            options: None,
        };
        let text = |s: Option<&str>| s.map(|s| Value::String(s.to_owned()));
        match p.kind {
            Kind::String {
                min_length,
                max_length,
            } => {
                v.min_length = min_length;
                v.max_length = max_length;
            }
            Kind::Integer {
                min,
                max,
                step,
                values,
            } => {
                v.kind = ParamType::Integer;
                v.min = min.map(Value::from);
                v.max = max.map(Value::from);
                v.step = step.map(Value::from);
                v.values = values.map(|vs| vs.iter().map(|n| Value::from(*n)).collect());
            }
            Kind::Decimal { min, max, step } => {
                v.kind = ParamType::Decimal;
                v.min = text(min);
                v.max = text(max);
                v.step = text(step);
            }
            Kind::Enum { values } => {
                v.kind = ParamType::Enum;
                v.values = Some(values.iter().map(|s| Value::from(*s)).collect());
            }
            Kind::Boolean => v.kind = ParamType::Boolean,
            Kind::ImageUrl => v.kind = ParamType::ImageUrl,
            Kind::Array {
                items,
                min_items,
                max_items,
            } => {
                v.kind = ParamType::Array;
                v.items = Some(
                    match items {
                        Item::String => "string",
                        Item::ImageUrl => "image_url",
                    }
                    .to_owned(),
                );
                v.min_items = min_items;
                v.max_items = max_items;
            }
            Kind::Object { fields } => {
                v.kind = ParamType::Object;
                v.fields = Some(fields.iter().map(ParamView::of).collect());
            }
            Kind::OneOf { options } => {
                v.kind = ParamType::OneOf;
                v.options = Some(
                    options
                        .iter()
                        .map(|(name, kind)| {
                            ParamView::of(&ParamRule {
                                name,
                                required: false,
                                default: None,
                                kind: *kind,
                            })
                        })
                        .collect(),
                );
            }
        }
        v
    }
}

/// One factor of a cost formula.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MultiplierView {
    /// The factor listed for the param's value (`"720p"`, `"5"`, `"true"`).
    Table {
        /// Param name.
        param: String,
        /// Value -> factor (exact decimal strings).
        factors: std::collections::BTreeMap<String, String>,
    },
    /// The param's value divided by `per`.
    Ratio {
        /// Param name.
        param: String,
        /// Divisor.
        per: u64,
    },
    /// The param's value (an integer) or its number of items (a list).
    Count {
        /// Param name.
        param: String,
    },
}

/// Credits = `base` x every multiplier, rounded once to `scale` decimal places by `round`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CostView {
    /// Base credits (exact decimal string).
    pub base: String,
    /// Factors, in order.
    pub multipliers: Vec<MultiplierView>,
    /// `ceil`, `floor`, `half_up` or `half_even`.
    pub round: String,
    /// Decimal places kept.
    pub scale: u32,
}

/// A model that can be run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelView {
    /// Model id, as sent in `model`.
    pub id: String,
    /// Name for people.
    pub display_name: String,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who runs it.
    pub provider: ProviderView,
    /// `image`, `video`, `audio` or `text`.
    pub content_type: String,
    /// `sync`, `poll` or `webhook`: how the server gets the result.
    pub mode: String,
    /// Params in form order.
    pub params: Vec<ParamView>,
    /// How its cost is computed from the params.
    pub cost: CostView,
    /// Typical time to a result, in milliseconds.
    pub expected_latency_ms: u64,
    /// Time after which a generation is given up, in milliseconds.
    pub timeout_ms: u64,
    /// Whether a running generation can be cancelled.
    pub cancellable: bool,
}

fn name_of<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl ModelView {
    /// The view of `m`.
    pub fn of(m: &ModelInfo) -> ModelView {
        let f = &m.cost;
        ModelView {
            id: m.id.to_owned(),
            display_name: m.display_name.to_owned(),
            description: m.description.map(str::to_owned),
            provider: ProviderView {
                id: m.provider.id.to_owned(),
                display_name: m.provider.display_name.to_owned(),
            },
            content_type: name_of(&m.content_type),
            mode: name_of(&m.mode),
            params: m.params.iter().map(ParamView::of).collect(),
            cost: CostView {
                base: f.base.to_owned(),
                multipliers: f
                    .multipliers
                    .iter()
                    .map(|x| match *x {
                        Multiplier::Table { param, entries } => MultiplierView::Table {
                            param: param.to_owned(),
                            factors: entries
                                .iter()
                                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                                .collect(),
                        },
                        Multiplier::Ratio { param, per } => MultiplierView::Ratio {
                            param: param.to_owned(),
                            per,
                        },
                        Multiplier::Count { param } => MultiplierView::Count {
                            param: param.to_owned(),
                        },
                    })
                    .collect(),
                round: name_of(&f.round),
                scale: f.scale,
            },
            expected_latency_ms: m.expected_latency.as_millis() as u64,
            timeout_ms: m.timeout.as_millis() as u64,
            cancellable: m.cancel.is_some(),
        }
    }
}

/// Unix milliseconds as RFC 3339 in UTC with milliseconds (`2026-12-01T09:30:00.123Z`).
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_798_761_599_999), "2026-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn every_bundled_model_has_a_view_without_secrets() {
        for m in generated_models::MODELS {
            let v = serde_json::to_string(&ModelView::of(m)).unwrap();
            assert!(!v.contains(m.secret_name), "{}", m.id);
            assert!(!v.contains("key_scope"), "{}", m.id);
            assert_eq!(ModelView::of(m).params.len(), m.params.len());
        }
    }
}
