//! Which request of which model a received request is, found by matching it against the
//! models' request templates.
//!
//! A template matches when the method is the same, the path and query match its segments
//! (literal text exactly; a slot any text, not empty unless it is the callback URL, and in a
//! path without `/`, `?`, `&` or `#`, which the engine percent-encodes) and the body has every
//! literal of the body template at its place (extra members are allowed; a member that is an
//! optional param may be absent), and the template's headers are there with their literals. The candidate with the most literal matches wins: Runware's
//! sync and async submits share `POST /v1` and differ only by body literals. A step or cancel
//! counts only when it names a job of its model (by task id or kept value). Two models whose
//! submits are the same request cannot be told apart: the first served wins, which is right
//! only when their protocols are the same too.
//!
//! A match also reads back what the template was filled with: the params (for the output
//! count and the cost), the task id and kept values (to find the job) and the callback URL.

use serde_json::{Map, Value};

use super::{Shared, State};
use crate::model::{Method, ModelInfo};
use crate::template::{RequestTemplate, Segment, Slot, Template};

/// Which of a model's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// The submit.
    Submit,
    /// Step `i` (0: the status poll; the last: the result).
    Step(usize),
    /// The cancel.
    Cancel,
    /// An output file the mock handed out.
    File,
}

/// What a matched request carried in its slots.
#[derive(Debug, Clone, Default)]
pub(super) struct Captures {
    /// Params, as sent (strings sent for numbers are read back as numbers).
    pub(super) params: Map<String, Value>,
    /// The task id.
    pub(super) task_id: Option<String>,
    /// Kept values by name.
    pub(super) kept: Vec<(String, String)>,
    /// The callback URL.
    pub(super) callback_url: Option<String>,
}

/// A template that matched.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) model: &'static ModelInfo,
    pub(super) kind: RequestKind,
    /// Literal matches.
    pub(super) score: usize,
    pub(super) captures: Captures,
}

/// A received request, under its provider's base URL.
#[derive(Debug, Clone, Copy)]
pub(super) struct Incoming<'a> {
    pub(super) method: Method,
    /// Path and query (the key's query param removed).
    pub(super) target: &'a str,
    /// The headers.
    pub(super) headers: &'a http::HeaderMap,
    /// The JSON body, when there was one.
    pub(super) body: Option<&'a Value>,
}

/// Every request template of `model`, with its kind.
pub(super) fn templates(
    model: &'static ModelInfo,
) -> impl Iterator<Item = (RequestKind, &'static RequestTemplate<'static>)> {
    std::iter::once((RequestKind::Submit, &model.submit))
        .chain(
            model
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| (RequestKind::Step(i), &s.request)),
        )
        .chain(model.cancel.iter().map(|c| (RequestKind::Cancel, c)))
}

/// The kept value a whole-URL template starts with.
pub(super) fn whole_url_kept<'a>(t: &RequestTemplate<'a>) -> Option<&'a str> {
    match t.path.first() {
        Some(Segment::Slot(Slot::Kept(name))) if t.whole_url => Some(name),
        _ => None,
    }
}

/// Every template of `models` (path templates only) that `req` matches.
pub(super) fn candidates(models: &[&'static ModelInfo], req: Incoming<'_>) -> Vec<Candidate> {
    let mut out = Vec::new();
    for model in models {
        for (kind, t) in templates(model) {
            if t.whole_url {
                continue;
            }
            if let Some((score, captures)) = match_request(t, req, t.path, true) {
                out.push(Candidate {
                    model,
                    kind,
                    score,
                    captures,
                });
            }
        }
    }
    out
}

/// The templates of `model` that use kept value `name` as their whole URL and that `req`
/// matches, `req.target` being what follows the mock's URL for that value.
pub(super) fn whole_url_candidates(
    model: &'static ModelInfo,
    name: &str,
    req: Incoming<'_>,
) -> Vec<Candidate> {
    templates(model)
        .filter(|(_, t)| whole_url_kept(t) == Some(name))
        .filter_map(|(kind, t)| {
            let (score, captures) = match_request(t, req, &t.path[1..], false)?;
            Some(Candidate {
                model,
                kind,
                score,
                captures,
            })
        })
        .collect()
}

fn match_request(
    t: &RequestTemplate<'_>,
    req: Incoming<'_>,
    path: &[Segment<'_>],
    encoded: bool,
) -> Option<(usize, Captures)> {
    if t.method != req.method {
        return None;
    }
    let mut m = Captures::default();
    let mut score = match_text(path, req.target, encoded, &mut m)?;
    for (name, segments) in t.headers {
        let value = req.headers.get(*name)?.to_str().ok()?;
        score += match_text(segments, value, false, &mut m)?;
    }
    if let Some(body) = &t.body {
        score += match_value(body, req.body?, &mut m)?;
    }
    Some((score, m))
}

/// Literal matches of `t` in `v`, or `None` when a literal differs.
fn match_value(t: &Template<'_>, v: &Value, m: &mut Captures) -> Option<usize> {
    match *t {
        Template::Json(text) => {
            let literal: Value = serde_json::from_str(text).ok()?;
            (literal == *v).then_some(1)
        }
        Template::Str(s) => (v.as_str() == Some(s)).then_some(1),
        Template::Slot(slot) => {
            capture(slot, v, m);
            Some(0)
        }
        Template::Text(segments) => match_text(segments, v.as_str()?, false, m),
        Template::Object(members) => {
            let object = v.as_object()?;
            let mut score = 0;
            for (key, member) in members {
                match (object.get(*key), member) {
                    (Some(value), member) => score += match_value(member, value, m)?,
                    (None, Template::Slot(Slot::Param { .. })) => {}
                    (None, _) => return None,
                }
            }
            Some(score)
        }
        Template::Array(items) => {
            let values = v.as_array()?;
            if values.len() != items.len() {
                return None;
            }
            items
                .iter()
                .zip(values)
                .try_fold(0, |score, (t, v)| Some(score + match_value(t, v, m)?))
        }
    }
}

fn capture(slot: Slot<'_>, v: &Value, m: &mut Captures) {
    let text = || match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match slot {
        Slot::Param { name, as_string } => {
            let value = match v {
                Value::String(s) if as_string => read_back(s),
                other => other.clone(),
            };
            m.params.insert(name.to_owned(), value);
        }
        Slot::Uuid => {}
        Slot::CallbackUrl => m.callback_url = text(),
        Slot::TaskId => m.task_id = text(),
        Slot::Kept(name) => {
            if let Some(t) = text() {
                m.kept.push((name.to_owned(), t));
            }
        }
    }
}

/// A param sent as text, read back: `"10"` is 10, `"true"` is true, other text stays text.
fn read_back(s: &str) -> Value {
    match serde_json::from_str::<Value>(s) {
        Ok(v @ (Value::Number(_) | Value::Bool(_))) => v,
        _ => Value::from(s),
    }
}

/// Match `text` against `segments`; the number of literal segments, or `None`.
fn match_text(
    segments: &[Segment<'_>],
    text: &str,
    encoded: bool,
    m: &mut Captures,
) -> Option<usize> {
    let mut found = Vec::new();
    if !split(segments, text, encoded, &mut found) {
        return None;
    }
    for (slot, raw) in found {
        let value = if encoded {
            percent_decode(raw)
        } else {
            raw.to_owned()
        };
        capture(slot, &Value::from(value), m);
    }
    Some(
        segments
            .iter()
            .filter(|s| matches!(s, Segment::Text(t) if !t.is_empty()))
            .count(),
    )
}

/// Split `text` by `segments` into the slots' texts (backtracking over slot lengths).
fn split<'t, 's>(
    segments: &[Segment<'s>],
    text: &'t str,
    encoded: bool,
    found: &mut Vec<(Slot<'s>, &'t str)>,
) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        return text.is_empty();
    };
    match *first {
        Segment::Text(literal) => text
            .strip_prefix(literal)
            .is_some_and(|after| split(rest, after, encoded, found)),
        Segment::Slot(slot) => {
            let min = usize::from(slot != Slot::CallbackUrl);
            // In a path a slot ends at the first separator the engine would have encoded.
            let max = if encoded {
                text.find(['/', '?', '&', '#']).unwrap_or(text.len())
            } else {
                text.len()
            };
            for end in (min..=max).rev().filter(|&e| text.is_char_boundary(e)) {
                found.push((slot, &text[..end]));
                if split(rest, &text[end..], encoded, found) {
                    return true;
                }
                found.pop();
            }
            false
        }
    }
}

/// `%XX` decoded (invalid escapes kept as they are); `+` is kept, as the engine never sends it
/// for a space.
pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where a request goes.
pub(super) enum Route {
    /// A model's submit.
    Submit(Candidate),
    /// A step or cancel of a job.
    Job(Candidate, String),
    /// A step or cancel naming no job the mock knows.
    UnknownJob(Candidate),
    /// An output file.
    File(String),
}

impl Route {
    pub(super) fn kind(&self) -> RequestKind {
        match self {
            Route::Submit(c) | Route::Job(c, _) | Route::UnknownJob(c) => c.kind,
            Route::File(_) => RequestKind::File,
        }
    }

    pub(super) fn model(&self) -> Option<&'static ModelInfo> {
        match self {
            Route::Submit(c) | Route::Job(c, _) | Route::UnknownJob(c) => Some(c.model),
            Route::File(_) => None,
        }
    }
}

/// The job a step or cancel candidate names, if the mock knows it and it is the candidate
/// model's.
fn job_of(state: &State, c: &Candidate) -> Option<String> {
    let id = c
        .captures
        .task_id
        .clone()
        .filter(|id| state.jobs.contains_key(id))
        .or_else(|| {
            c.captures
                .kept
                .iter()
                .find_map(|(_, v)| state.kept.get(v).cloned())
        })?;
    (state.jobs.get(&id)?.model.id == c.model.id).then_some(id)
}

/// Route a request under `provider`'s base URL (`None`: outside `/p/`).
pub(super) fn route(shared: &Shared, provider: Option<&str>, req: Incoming<'_>) -> Option<Route> {
    if req.method == Method::Get
        && let Some(file) = req.target.strip_prefix("/_files/")
    {
        return Some(Route::File(file.to_owned()));
    }
    let state = shared.lock();
    if let Some(rest) = req.target.strip_prefix("/_jobs/") {
        let (job_id, rest) = rest.split_once('/')?;
        let job = state.jobs.get(job_id)?;
        if provider.is_some_and(|p| p != job.model.provider.id) {
            return None;
        }
        let name_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_end);
        let found = whole_url_candidates(
            job.model,
            name,
            Incoming {
                target: after,
                ..req
            },
        );
        // The first of the best, as below.
        let best = found
            .into_iter()
            .reduce(|best, c| if c.score > best.score { c } else { best })?;
        return Some(Route::Job(best, job_id.to_owned()));
    }
    let models = match provider {
        Some(p) => shared.by_provider.get(p)?.as_slice(),
        None => shared.models.as_slice(),
    };
    let mut best: Option<(usize, bool, Route)> = None;
    for c in candidates(models, req) {
        let (has_job, r) = match c.kind {
            RequestKind::Submit => (false, Route::Submit(c.clone())),
            _ => match job_of(&state, &c) {
                Some(id) => (true, Route::Job(c.clone(), id)),
                None => (false, Route::UnknownJob(c.clone())),
            },
        };
        let better = best
            .as_ref()
            .is_none_or(|(s, j, _)| (c.score, has_job) > (*s, *j));
        if better {
            best = Some((c.score, has_job, r));
        }
    }
    best.map(|(_, _, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn slots(segments: &[Segment<'_>], text: &str, encoded: bool) -> Option<Captures> {
        let mut m = Captures::default();
        match_text(segments, text, encoded, &mut m).map(|_| m)
    }

    #[test]
    fn paths_capture_slots_and_decode_them() {
        let kie = [
            Segment::Text("/api/v1/jobs/recordInfo?taskId="),
            Segment::Slot(Slot::TaskId),
        ];
        let m = slots(&kie, "/api/v1/jobs/recordInfo?taskId=t%2D1", true).unwrap();
        assert_eq!(m.task_id.as_deref(), Some("t-1"));
        assert!(slots(&kie, "/api/v1/jobs/recordInfo?taskId=", true).is_none());
        assert!(slots(&kie, "/api/v1/generate/record-info?taskId=t", true).is_none());

        let replicate = [
            Segment::Text("/v1/predictions/"),
            Segment::Slot(Slot::TaskId),
            Segment::Text("/cancel"),
        ];
        assert_eq!(
            slots(&replicate, "/v1/predictions/p1/cancel", true)
                .unwrap()
                .task_id
                .as_deref(),
            Some("p1")
        );
        assert!(slots(&replicate, "/v1/predictions/p1", true).is_none());
        // A slot does not swallow a path separator.
        assert!(slots(&replicate[..2], "/v1/predictions/p1/cancel", true).is_none());

        let fal = [
            Segment::Text("/fal-ai/flux?fal_webhook="),
            Segment::Slot(Slot::CallbackUrl),
        ];
        let m = slots(
            &fal,
            "/fal-ai/flux?fal_webhook=http%3A%2F%2Fh%2Fw%3Ftoken%3Dx",
            true,
        )
        .unwrap();
        assert_eq!(m.callback_url.as_deref(), Some("http://h/w?token=x"));
        let m = slots(&fal, "/fal-ai/flux?fal_webhook=", true).unwrap();
        assert_eq!(m.callback_url, None);
    }

    #[test]
    fn bodies_match_by_literals_and_read_params_back() {
        let sync = Template::Array(&[Template::Object(&[
            ("taskType", Template::Str("imageInference")),
            ("taskUUID", Template::Slot(Slot::Uuid)),
            ("numberResults", Template::param("n")),
            ("duration", Template::param_as_string("d")),
            ("seed", Template::param("seed")),
        ])]);
        let poll = Template::Array(&[Template::Object(&[
            ("taskType", Template::Str("getResponse")),
            ("taskUUID", Template::Slot(Slot::TaskId)),
        ])]);
        let body = json!([{"taskType": "imageInference", "taskUUID": "u", "numberResults": 2, "duration": "10"}]);
        let mut m = Captures::default();
        assert_eq!(match_value(&sync, &body, &mut m), Some(1));
        assert_eq!(m.params["n"], json!(2));
        assert_eq!(m.params["d"], json!(10));
        assert!(match_value(&poll, &body, &mut Captures::default()).is_none());
        let mut m = Captures::default();
        let body = json!([{"taskType": "getResponse", "taskUUID": "t9"}]);
        assert_eq!(match_value(&poll, &body, &mut m), Some(1));
        assert_eq!(m.task_id.as_deref(), Some("t9"));
        // A runtime slot is always rendered: its member is never absent.
        let kie = Template::Object(&[("callBackUrl", Template::Slot(Slot::CallbackUrl))]);
        assert!(match_value(&kie, &json!({}), &mut Captures::default()).is_none());
    }

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%20b%2fc%zz%4"), "a b/c%zz%4");
    }
}
