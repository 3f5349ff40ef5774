//! Answers built by inverting a model's readings: every value the model reads at a JSON pointer
//! is written at that pointer, creating the objects and arrays on the way.
//!
//! - `/data/taskId` <- `"t1"` gives `{"data": {"taskId": "t1"}}`; a numeric token on a fresh
//!   node makes an array (`/choices/0/message` gives `{"choices": [{"message": ...}]}`).
//! - A `*` token spreads values over an array: `/data/*/imageURL` <- two URLs gives
//!   `{"data": [{"imageURL": ..}, {"imageURL": ..}]}`; without a `*`, one value is written
//!   as itself and several as an array (a reading accepts a string or an array of strings).
//! - Outputs read from a JSON document in a string (`json_string`, `then`) are written into a
//!   fresh document at `then`, which is then written as a string at `at`.

use serde_json::{Map, Value};

use crate::model::{OutputsAt, Reading, TaskStatus};

/// The tokens of an RFC 6901 pointer (`""` is the whole document).
fn tokens(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The child `token` of `node`, made if absent: an array element for an index (or `*`, taken
/// as the first element) unless `node` is already an object, else an object member. A node of
/// the wrong shape is replaced.
fn child<'a>(node: &'a mut Value, token: &str) -> &'a mut Value {
    let index = match token {
        "*" => Some(0),
        t => t.parse::<usize>().ok(),
    };
    match index {
        Some(i) if !node.is_object() => {
            if !node.is_array() {
                *node = Value::Array(Vec::new());
            }
            let Value::Array(items) = node else {
                unreachable!("made an array above")
            };
            if items.len() <= i {
                items.resize(i + 1, Value::Null);
            }
            &mut items[i]
        }
        _ => {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let Value::Object(members) = node else {
                unreachable!("made an object above")
            };
            members.entry(token.to_owned()).or_insert(Value::Null)
        }
    }
}

fn node_at<'a>(doc: &'a mut Value, tokens: &[String]) -> &'a mut Value {
    tokens.iter().fold(doc, |node, t| child(node, t))
}

/// Write `value` at `pointer` (a `*` stands for the first element).
pub(super) fn write_at(doc: &mut Value, pointer: &str, value: Value) {
    *node_at(doc, &tokens(pointer)) = value;
}

/// Write `values` at `pointer`: spread over the array at its first `*`, else one value as
/// itself and several as an array.
pub(super) fn write_all(doc: &mut Value, pointer: &str, values: Vec<Value>) {
    let tokens = tokens(pointer);
    let Some(star) = tokens.iter().position(|t| t == "*") else {
        let node = node_at(doc, &tokens);
        *node = match values.len() {
            1 => values.into_iter().next().unwrap_or(Value::Null),
            _ => Value::Array(values),
        };
        return;
    };
    let node = node_at(doc, &tokens[..star]);
    if !node.is_array() {
        *node = Value::Array(Vec::new());
    }
    let Value::Array(items) = node else {
        unreachable!("made an array above")
    };
    items.resize(values.len(), Value::Null);
    for (item, value) in items.iter_mut().zip(values) {
        *node_at(item, &tokens[star + 1..]) = value;
    }
}

/// Write `outputs` where `at` reads them.
pub(super) fn write_outputs(doc: &mut Value, at: &OutputsAt<'_>, outputs: &[String]) {
    let values: Vec<Value> = outputs.iter().map(|o| Value::from(o.as_str())).collect();
    if at.json_string {
        let mut inner = Value::Null;
        write_all(&mut inner, at.then.unwrap_or(""), values);
        write_all(doc, at.at, vec![Value::from(inner.to_string())]);
    } else {
        write_all(doc, at.at, values);
    }
}

/// The provider state `reading` maps to `meaning`; for `prefer_name`, a state whose name
/// contains it wins (`canceled` over `failed` for a cancelled job). Falls back to a neighbour
/// meaning when the map has none (`processing` for `pending`, `completed` for `done`).
pub(super) fn state_name<'a>(
    reading: &Reading<'a>,
    meaning: TaskStatus,
    prefer_name: Option<&str>,
) -> Option<&'a str> {
    let find = |m: TaskStatus| {
        let of_m = || reading.states.iter().filter(move |(_, s)| *s == m);
        let preferred = prefer_name
            .and_then(|p| of_m().find(|(name, _)| name.to_ascii_lowercase().contains(p)));
        preferred.or_else(|| of_m().next()).map(|(name, _)| *name)
    };
    let fallback = match meaning {
        TaskStatus::Pending => Some(TaskStatus::Processing),
        TaskStatus::Processing => Some(TaskStatus::Pending),
        TaskStatus::Done => Some(TaskStatus::Completed),
        TaskStatus::Completed | TaskStatus::Failed => None,
    };
    find(meaning).or_else(|| fallback.and_then(find))
}

/// Whether `reading` maps some state to `meaning`.
pub(super) fn has_state(reading: &Reading<'_>, meaning: TaskStatus) -> bool {
    reading.states.iter().any(|(_, s)| *s == meaning)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OutputKind;
    use serde_json::json;

    fn read(doc: &Value, at: &OutputsAt<'_>) -> Vec<String> {
        at.read(doc).unwrap().into_iter().map(|o| o.value).collect()
    }

    #[test]
    fn writes_objects_arrays_and_spreads_stars() {
        let mut doc = Value::Null;
        let at = OutputsAt {
            at: "/data/*/imageURL",
            json_string: false,
            then: None,
            kind: OutputKind::Url,
        };
        write_outputs(&mut doc, &at, &["a".into(), "b".into()]);
        write_at(&mut doc, "/data/0/cost", json!(0.5));
        assert_eq!(
            doc,
            json!({"data": [{"imageURL": "a", "cost": 0.5}, {"imageURL": "b"}]})
        );
        assert_eq!(read(&doc, &at), ["a", "b"]);

        let mut doc = Value::Null;
        write_at(&mut doc, "/choices/0/message/role", json!("assistant"));
        let at = OutputsAt {
            at: "/choices/0/message/images/*/image_url/url",
            json_string: false,
            then: None,
            kind: OutputKind::DataUrl,
        };
        write_outputs(&mut doc, &at, &["data:x".into()]);
        assert_eq!(
            doc,
            json!({"choices": [{"message": {"role": "assistant", "images": [{"image_url": {"url": "data:x"}}]}}]})
        );
    }

    #[test]
    fn one_value_is_itself_several_are_a_list_and_json_strings_nest() {
        let at = OutputsAt {
            at: "/output",
            json_string: false,
            then: None,
            kind: OutputKind::Url,
        };
        let mut doc = Value::Null;
        write_outputs(&mut doc, &at, &["a".into()]);
        assert_eq!(doc, json!({"output": "a"}));
        write_outputs(&mut doc, &at, &["a".into(), "b".into()]);
        assert_eq!(doc, json!({"output": ["a", "b"]}));

        let kie = OutputsAt {
            at: "/data/resultJson",
            json_string: true,
            then: Some("/resultUrls"),
            kind: OutputKind::Url,
        };
        let mut doc = Value::Null;
        write_outputs(&mut doc, &kie, &["v".into()]);
        assert_eq!(
            doc,
            json!({"data": {"resultJson": "{\"resultUrls\":\"v\"}"}})
        );
        assert_eq!(read(&doc, &kie), ["v"]);
        write_outputs(&mut doc, &kie, &["v".into(), "w".into()]);
        assert_eq!(read(&doc, &kie), ["v", "w"]);
    }

    #[test]
    fn escaped_tokens_and_existing_objects_keep_their_keys() {
        let mut doc = json!({"0": {}});
        write_at(&mut doc, "/0/a~1b", json!(1));
        assert_eq!(doc, json!({"0": {"a/b": 1}}));
    }

    #[test]
    fn states_by_meaning_with_a_preferred_name() {
        let reading = Reading {
            status: Some("/status"),
            states: &[
                ("starting", TaskStatus::Pending),
                ("succeeded", TaskStatus::Completed),
                ("failed", TaskStatus::Failed),
                ("canceled", TaskStatus::Failed),
            ],
            outputs: None,
            error: None,
            error_code: None,
            provider_cost: None,
        };
        assert_eq!(
            state_name(&reading, TaskStatus::Failed, None),
            Some("failed")
        );
        assert_eq!(
            state_name(&reading, TaskStatus::Failed, Some("cancel")),
            Some("canceled")
        );
        assert_eq!(
            state_name(&reading, TaskStatus::Processing, None),
            Some("starting")
        );
        assert_eq!(
            state_name(&reading, TaskStatus::Done, None),
            Some("succeeded")
        );
    }
}
