//! Request templates as data, and their rendering.
//!
//! Generated code describes each request of a model (the submit, the status poll) as a static
//! [`RequestTemplate`]; [`RequestTemplate::render`] fills it from checked params (defaults
//! already applied) and the values the engine supplies. The rules:
//! - a placeholder standing alone keeps its param's JSON type, or becomes a JSON string when the
//!   param is sent as a string (lists joined with `,`);
//! - an object member that is an absent optional param is left out;
//! - inside text, a placeholder is shown as text (lists joined with `,`, absent values empty),
//!   and percent-encoded in paths.

use serde_json::{Map, Value};

use crate::model::{HttpRequest, Method, RequestContext, Task};

/// What fills a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot<'a> {
    /// A param of the model.
    Param {
        /// Param name.
        name: &'a str,
        /// Sent as a JSON string whatever its type.
        as_string: bool,
    },
    /// A fresh UUID v4 per request.
    Uuid,
    /// This generation's webhook URL (`null` when there is none).
    CallbackUrl,
    /// The provider's task id (requests after the submit).
    TaskId,
    /// A value kept from the submit answer (requests after the submit).
    Kept(&'a str),
}

/// Part of a text template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Literal text.
    Text(&'a str),
    /// A placeholder, shown as text.
    Slot(Slot<'a>),
}

/// A JSON template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template<'a> {
    /// A literal JSON value, as JSON text (`8`, `true`, `"img"`, `null`).
    Json(&'a str),
    /// A literal string.
    Str(&'a str),
    /// A placeholder standing alone: the value keeps its JSON type.
    Slot(Slot<'a>),
    /// A string with placeholders inside text.
    Text(&'a [Segment<'a>]),
    /// An object; a member that is an absent optional param is left out.
    Object(&'a [(&'a str, Template<'a>)]),
    /// An array.
    Array(&'a [Template<'a>]),
}

impl<'a> Template<'a> {
    /// The param `name`, keeping its JSON type.
    pub const fn param(name: &'a str) -> Self {
        Template::Slot(Slot::Param {
            name,
            as_string: false,
        })
    }

    /// The param `name`, sent as a JSON string.
    pub const fn param_as_string(name: &'a str) -> Self {
        Template::Slot(Slot::Param {
            name,
            as_string: true,
        })
    }
}

/// A request to a provider, relative to its base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTemplate<'a> {
    /// Method.
    pub method: Method,
    /// Path and query; placeholders are percent-encoded. When `whole_url`, a whole URL taken
    /// from an answer, not encoded.
    pub path: &'a [Segment<'a>],
    /// `path` is a whole URL.
    pub whole_url: bool,
    /// Extra headers.
    pub headers: &'a [(&'a str, &'a [Segment<'a>])],
    /// JSON body.
    pub body: Option<Template<'a>>,
}

/// What a template is filled from.
#[derive(Debug, Clone, Copy)]
pub struct Values<'v> {
    /// Checked params, defaults filled in.
    pub params: &'v Map<String, Value>,
    /// Engine-supplied values (the submit).
    pub ctx: Option<&'v RequestContext>,
    /// The task, for the requests after the submit.
    pub task: Option<&'v Task>,
}

impl RequestTemplate<'_> {
    /// The request for `values`, without the key (the engine adds it).
    pub fn render(&self, values: &Values<'_>) -> HttpRequest {
        HttpRequest {
            method: self.method,
            path: text(self.path, values, !self.whole_url),
            whole_url: self.whole_url,
            headers: self
                .headers
                .iter()
                .map(|(name, segments)| ((*name).to_owned(), text(segments, values, false)))
                .collect(),
            body: self.body.map(|b| value(&b, values)),
        }
    }
}

/// The JSON value of `template`.
pub fn value(template: &Template<'_>, values: &Values<'_>) -> Value {
    match *template {
        Template::Json(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        Template::Str(s) => Value::from(s),
        Template::Slot(slot) => slot_value(slot, values).unwrap_or(Value::Null),
        Template::Text(segments) => Value::from(text(segments, values, false)),
        Template::Object(members) => {
            let mut map = Map::new();
            for (key, member) in members {
                let v = match member {
                    // An absent optional param drops its member.
                    Template::Slot(slot @ Slot::Param { .. }) => match slot_value(*slot, values) {
                        Some(v) => v,
                        None => continue,
                    },
                    other => value(other, values),
                };
                map.insert((*key).to_owned(), v);
            }
            Value::Object(map)
        }
        Template::Array(items) => Value::Array(items.iter().map(|t| value(t, values)).collect()),
    }
}

fn slot_value(slot: Slot<'_>, values: &Values<'_>) -> Option<Value> {
    match slot {
        Slot::Param { name, as_string } => {
            let v = values.params.get(name).filter(|v| !v.is_null())?;
            Some(if as_string && !v.is_string() {
                Value::from(shown(v))
            } else {
                v.clone()
            })
        }
        Slot::Uuid | Slot::CallbackUrl | Slot::TaskId | Slot::Kept(_) => {
            Some(runtime_text(slot, values).map_or(Value::Null, Value::from))
        }
    }
}

/// A value shown inside text: strings as they are, lists joined with `,`, absent as empty.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// A runtime value; `None` when the request has none (a callback URL without a listener).
fn runtime_text(slot: Slot<'_>, values: &Values<'_>) -> Option<String> {
    match slot {
        Slot::Param { .. } => None,
        Slot::Uuid => values.ctx.map(|c| c.uuid.clone()),
        Slot::CallbackUrl => values.ctx.and_then(|c| c.callback_url.clone()),
        Slot::TaskId => values.task.map(|t| t.id.clone()),
        Slot::Kept(name) => values.task.and_then(|t| t.kept.get(name).cloned()),
    }
}

fn slot_text(slot: Slot<'_>, values: &Values<'_>) -> String {
    match slot {
        Slot::Param { name, .. } => values.params.get(name).map(shown).unwrap_or_default(),
        other => runtime_text(other, values).unwrap_or_default(),
    }
}

fn text(segments: &[Segment<'_>], values: &Values<'_>, encode: bool) -> String {
    let mut out = String::new();
    for segment in segments {
        match *segment {
            Segment::Text(t) => out.push_str(t),
            Segment::Slot(slot) if encode => {
                out.push_str(&crate::model::encode_component(&slot_text(slot, values)));
            }
            Segment::Slot(slot) => out.push_str(&slot_text(slot, values)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KIE: RequestTemplate<'static> = RequestTemplate {
        method: Method::Post,
        path: &[
            Segment::Text("/jobs/"),
            Segment::Slot(Slot::Param {
                name: "app",
                as_string: false,
            }),
        ],
        whole_url: false,
        headers: &[("X-Run", &[Segment::Text("run-"), Segment::Slot(Slot::Uuid)])],
        body: Some(Template::Object(&[
            ("model", Template::Str("v1")),
            ("n", Template::Json("2")),
            ("callBackUrl", Template::Slot(Slot::CallbackUrl)),
            (
                "input",
                Template::Object(&[
                    (
                        "duration",
                        Template::Slot(Slot::Param {
                            name: "duration",
                            as_string: true,
                        }),
                    ),
                    (
                        "seed",
                        Template::Slot(Slot::Param {
                            name: "seed",
                            as_string: false,
                        }),
                    ),
                    (
                        "tags",
                        Template::Slot(Slot::Param {
                            name: "tags",
                            as_string: true,
                        }),
                    ),
                ]),
            ),
        ])),
    };

    #[test]
    fn renders_types_drops_absent_members_and_encodes_paths() {
        let params = json!({"app": "a/b c", "duration": 5, "tags": ["x", "y"]});
        let ctx = RequestContext {
            uuid: "u-1".into(),
            callback_url: Some("https://cb".into()),
        };
        let req = KIE.render(&Values {
            params: params.as_object().unwrap(),
            ctx: Some(&ctx),
            task: None,
        });
        assert_eq!(req.path, "/jobs/a%2Fb%20c");
        assert_eq!(
            req.headers,
            vec![("X-Run".to_owned(), "run-u-1".to_owned())]
        );
        assert_eq!(
            req.body.unwrap(),
            json!({"model": "v1", "n": 2, "callBackUrl": "https://cb",
                   "input": {"duration": "5", "tags": "x,y"}})
        );
    }
}
