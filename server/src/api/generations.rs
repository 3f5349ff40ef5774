//! `/v1/generations`: create (with `Prefer: wait` and `Idempotency-Key`), read, list, cancel.
//!
//! A create checks the body's shape here, then hands `model` and `params` to
//! [`runtime::Engine::start`], which validates the params (the codes and messages of the
//! TypeScript `validateParams`), prices them, holds the credits and records the generation as
//! pending, in one store transaction. The provider call then runs in the background
//! (`Engine::finish`), and the answer is the generation as it stands:
//!
//! - without `Prefer: wait`: `201 Created` at once (status `pending`);
//! - with `Prefer: wait=N` (N capped at 60): the request is held up to N seconds; a generation
//!   that finished by then (completed or failed) is answered `200 OK`, one still running
//!   `201 Created`, exactly as without the preference. Both carry `Preference-Applied:
//!   wait=N`. 201 and not 202 because the answer is the same whether or not the client waited:
//!   a resource was created, at `Location`, and its `status` says it is not finished.

use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use runtime::RunError;
use runtime::engine::CancelAck;
use runtime::store::{Claim, GenerationQuery, Replay, Status, now_ms};
use serde_json::{Map, Value};

use super::{json_body, start_error};
use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::views::{CreateGeneration, GenerationPage, GenerationView};

/// The longest `Prefer: wait` honoured, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

/// The `wait=N` of the `Prefer` headers, if any (RFC 7240: comma-separated preferences,
/// parameters after `;`).
fn prefer_wait(headers: &HeaderMap) -> Option<u64> {
    for value in headers.get_all("prefer") {
        let Ok(value) = value.to_str() else { continue };
        for pref in value.split(',') {
            let pref = pref.split(';').next().unwrap_or("").trim();
            if let Some((name, n)) = pref.split_once('=')
                && name.trim().eq_ignore_ascii_case("wait")
                && let Ok(n) = n.trim().trim_matches('"').parse::<u64>()
            {
                return Some(n);
            }
        }
    }
    None
}

/// The `Idempotency-Key`, if given: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID, say)",
        )
        .field("Idempotency-Key")
    };
    let s = v.to_str().map_err(|_| bad())?.trim();
    if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(s.to_owned()))
}

/// `model` and `params` from a create body, each checked for its type.
fn create_request(body: Value) -> Result<(String, Value), ApiError> {
    let Value::Object(mut map) = body else {
        return Err(ApiError::unprocessable(
            "invalid_body",
            "the body must be a JSON object: {\"model\": \"...\", \"params\": {...}}",
        ));
    };
    if let Some(unknown) = map.keys().find(|k| *k != "model" && *k != "params") {
        return Err(ApiError::unprocessable(
            "unknown_field",
            format!("unknown field `{unknown}`: a create takes `model` and `params`"),
        )
        .field(unknown));
    }
    let model = match map.remove("model") {
        Some(Value::String(s)) => s,
        None | Some(Value::Null) => {
            return Err(ApiError::unprocessable(
                "missing_field",
                "`model` is required: a model id from GET /v1/models",
            )
            .field("model"));
        }
        Some(_) => {
            return Err(
                ApiError::unprocessable("invalid_type", "`model` must be a string").field("model"),
            );
        }
    };
    let params = match map.remove("params") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(p @ Value::Object(_)) => p,
        Some(_) => {
            return Err(
                ApiError::unprocessable("invalid_type", "`params` must be a JSON object")
                    .field("params"),
            );
        }
    };
    Ok((model, params))
}

/// `v` with its object keys sorted at every depth, as compact text: two bodies with the same
/// content have the same text whatever their key order.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A digest of a create request: its model and params.
fn fingerprint(model: &str, params: &Value) -> String {
    let mut text = String::new();
    canonical(
        &serde_json::json!({ "model": model, "params": params }),
        &mut text,
    );
    crate::auth::sha256_hex(text.as_bytes())
}

/// An answer from its parts (a fresh one, or a replay).
fn answer(replay: &Replay, replayed: bool) -> Response {
    let mut r = Response::new(Body::from(replay.body.clone()));
    *r.status_mut() = StatusCode::from_u16(replay.status).unwrap_or(StatusCode::OK);
    let h = r.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (k, v) in &replay.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.insert(k, v);
        }
    }
    if replayed {
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

/// The answer for generation `id` as it stands now: 200 OK when `finished` (a `Prefer: wait`
/// saw its run end) and it is completed or failed, 201 Created otherwise.
async fn current(state: &AppState, id: &str, finished: bool, wait: Option<u64>) -> Replay {
    let (status, body) = match state.store.get(id).await {
        Ok(Some(g)) => {
            let status = if finished && g.status.is_terminal() {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            let body = serde_json::to_string(&GenerationView::of(state, &g)).unwrap_or_default();
            (status, body)
        }
        Ok(None) | Err(_) => (
            StatusCode::CREATED,
            serde_json::json!({ "id": id }).to_string(),
        ),
    };
    let mut headers = vec![("location".to_owned(), format!("/v1/generations/{id}"))];
    if let Some(n) = wait {
        headers.push(("preference-applied".to_owned(), format!("wait={n}")));
    }
    Replay {
        status: status.as_u16(),
        headers,
        body,
    }
}

/// A claimed `Idempotency-Key`: answered when the request answers; released when it ends
/// before a generation existed; and, should the request be dropped after starting one (the
/// client went away during a wait), answered with the generation as it then stands.
struct KeyGuard {
    state: AppState,
    user: String,
    key: String,
    generation: Option<String>,
    done: bool,
}

impl KeyGuard {
    async fn started(&mut self, id: &str) {
        self.generation = Some(id.to_owned());
        if let Err(e) = self
            .state
            .idempotency
            .key_started(&self.user, &self.key, id)
            .await
        {
            tracing::error!(event = "store_error", error = %e, "could not record the idempotency key's generation");
        }
    }

    async fn answered(mut self, replay: &Replay) {
        self.done = true;
        if let Err(e) = self
            .state
            .idempotency
            .key_answered(&self.user, &self.key, replay)
            .await
        {
            tracing::error!(event = "store_error", error = %e, "could not record the idempotent answer");
        }
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Dropped without an answer (the client went away): settle the key in the background.
        let (state, user, key) = (self.state.clone(), self.user.clone(), self.key.clone());
        let generation = self.generation.take();
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            let result = match &generation {
                Some(id) => {
                    let replay = current(&state, id, false, None).await;
                    state.idempotency.key_answered(&user, &key, &replay).await
                }
                None => state.idempotency.release_key(&user, &key).await,
            };
            if let Err(e) = result {
                tracing::error!(event = "store_error", error = %e, "could not settle the idempotency key");
            }
        });
    }
}

/// Claim `key`, or answer from its record: a replay, 422 for other params, 409 in flight.
async fn claim(
    state: &AppState,
    user: &str,
    key: &str,
    print: &str,
) -> Result<Result<KeyGuard, Response>, ApiError> {
    let guard = || KeyGuard {
        state: state.clone(),
        user: user.to_owned(),
        key: key.to_owned(),
        generation: None,
        done: false,
    };
    // Twice at most: a record abandoned in flight (its process died) is freed, then claimed.
    for _ in 0..2 {
        let record = match state
            .idempotency
            .claim_key(user, key, print)
            .await
            .map_err(ApiError::internal)?
        {
            Claim::Claimed => return Ok(Ok(guard())),
            Claim::Existing(r) => r,
        };
        if record.fingerprint != print {
            return Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was used with other params: use a new key for a new request",
            )
            .field("Idempotency-Key"));
        }
        if let Some(replay) = &record.response {
            return Ok(Err(answer(replay, true)));
        }
        // In flight. A request cannot run longer than the request timeout (it is then dropped,
        // and its guard settles the key), so a record older than twice that was left by a
        // process that died.
        let abandoned_ms = 2 * state.limits.request_timeout.as_millis() as i64;
        if now_ms() - record.updated_at < abandoned_ms {
            return Err(ApiError::conflict(
                "idempotency_key_in_flight",
                "a request with this Idempotency-Key is still being processed: retry later",
            )
            .field("Idempotency-Key"));
        }
        match &record.generation_id {
            Some(id) => {
                let replay = current(state, id, false, None).await;
                state
                    .idempotency
                    .key_answered(user, key, &replay)
                    .await
                    .map_err(ApiError::internal)?;
                return Ok(Err(answer(&replay, true)));
            }
            None => state
                .idempotency
                .release_key(user, key)
                .await
                .map_err(ApiError::internal)?,
        }
    }
    Err(ApiError::conflict(
        "idempotency_key_in_flight",
        "a request with this Idempotency-Key is still being processed: retry later",
    )
    .field("Idempotency-Key"))
}

/// Start a generation.
#[utoipa::path(
    post,
    path = "/v1/generations",
    tag = "generations",
    request_body = CreateGeneration,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key with the same body answers the first answer again (status and body, `Idempotent-Replayed: true`), with no second generation or charge. Kept 24 h, per user."),
        ("Prefer" = Option<String>, Header, description = "`wait=N`: hold the request up to N seconds (at most 60) for the generation to finish."),
    ),
    responses(
        (status = 200, description = "Finished within `Prefer: wait` (completed or failed).", body = GenerationView),
        (status = 201, description = "Created; the provider call runs in the background (also after a `Prefer: wait` that ran out).", body = GenerationView),
        (status = 400, description = "Malformed JSON or a bad Idempotency-Key.", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token.", body = ErrorBody),
        (status = 402, description = "Not enough credits.", body = ErrorBody),
        (status = 409, description = "The model is disabled (rolled back), or a request with this Idempotency-Key is in flight.", body = ErrorBody),
        (status = 413, description = "Body over the limit.", body = ErrorBody),
        (status = 415, description = "Body not JSON.", body = ErrorBody),
        (status = 422, description = "A field or the params are wrong (every violation listed), an unknown model, or an Idempotency-Key reused with other params.", body = ErrorBody),
        (status = 503, description = "The model's provider key is not configured.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    User(user): User,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let max_wait = MAX_WAIT_SECS.min(
        state
            .limits
            .request_timeout
            .as_secs()
            .saturating_sub(5)
            .max(1),
    );
    let wait = prefer_wait(&headers).map(|n| n.min(max_wait));
    let key = idempotency_key(&headers)?;
    let (model, params) = create_request(json_body(&state, &headers, body, "/v1/generations")?)?;
    let mut guard = match &key {
        Some(key) => match claim(&state, &user, key, &fingerprint(&model, &params)).await? {
            Ok(guard) => Some(guard),
            Err(replay) => return Ok(replay),
        },
        None => None,
    };

    let started = state
        .engine
        .start(&user, &model, &params)
        .await
        .map_err(|e| start_error(&state, e))?;
    let id = started.generation_id().to_owned();
    if let Some(g) = guard.as_mut() {
        g.started(&id).await;
    }
    tracing::debug!(event = "generation_accepted", generation_id = %id, model = %model, user_id = %user, cost = %started.cost(), "generation started");
    // Without a wait the answer is the generation as recorded (pending), read before the
    // provider call starts, so it does not depend on how far the call got; with a wait, it is
    // the generation as it stands when the wait ends.
    let replay = match wait {
        None => {
            let replay = current(&state, &id, false, None).await;
            run_in_background(&state, started);
            replay
        }
        Some(n) => {
            let task = run_in_background(&state, started);
            let finished = tokio::time::timeout(Duration::from_secs(n), task)
                .await
                .is_ok();
            current(&state, &id, finished, wait).await
        }
    };
    if let Some(g) = guard {
        g.answered(&replay).await;
    }
    Ok(answer(&replay, false))
}

/// Runs a started generation to its end on its own task, counted as background work so a
/// shutdown waits for it.
fn run_in_background(
    state: &AppState,
    started: runtime::engine::Started,
) -> tokio::task::JoinHandle<Result<runtime::RunOutput, runtime::RunError>> {
    let engine = state.engine.clone();
    let running = state.background.enter();
    tokio::spawn(async move {
        let _running = running;
        engine.finish(started).await
    })
}

/// A generation of the caller's.
#[utoipa::path(
    get,
    path = "/v1/generations/{id}",
    tag = "generations",
    params(("id" = String, Path, description = "Generation id")),
    responses(
        (status = 200, description = "The generation.", body = GenerationView),
        (status = 401, description = "Missing or wrong bearer token.", body = ErrorBody),
        (status = 404, description = "No generation of the caller's has this id.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<String>,
) -> Result<Json<GenerationView>, ApiError> {
    let g = own(&state, &user, &id).await?;
    Ok(Json(GenerationView::of(&state, &g)))
}

/// Generation `id` when it is `user`'s; another user's is as unknown as a missing one.
async fn own(
    state: &AppState,
    user: &str,
    id: &str,
) -> Result<runtime::store::Generation, ApiError> {
    match state.store.get(id).await.map_err(ApiError::internal)? {
        Some(g) if g.user_id == user => Ok(g),
        _ => Err(ApiError::not_found(format!("no generation `{id}`"))),
    }
}

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

fn encode_cursor(created_at: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{created_at}:{id}"))
}

fn decode_cursor(c: &str) -> Option<(i64, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    let (t, id) = text.split_once(':')?;
    Some((t.parse().ok()?, id.to_owned()))
}

/// The caller's generations, newest first.
#[utoipa::path(
    get,
    path = "/v1/generations",
    tag = "generations",
    params(
        ("status" = Option<String>, Query, description = "Only `pending`, `processing`, `completed` or `failed` ones."),
        ("model" = Option<String>, Query, description = "Only this model's."),
        ("limit" = Option<u32>, Query, description = "At most this many (1 to 100; default 20)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the page before."),
    ),
    responses(
        (status = 200, description = "A page, newest first.", body = GenerationPage),
        (status = 400, description = "A query parameter is wrong (named in `field`).", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    User(user): User,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<GenerationPage>, ApiError> {
    let Query(pairs) = query.map_err(|_| {
        ApiError::bad_request("invalid_query", "the query string could not be read")
    })?;
    let mut status = None;
    let mut model = None;
    let mut limit = DEFAULT_LIMIT;
    let mut after = None;
    for (k, v) in &pairs {
        let bad = |msg: &str| ApiError::bad_request("invalid_query", msg).field(k);
        match k.as_str() {
            "status" => {
                status = Some(Status::from_name(v).ok_or_else(|| {
                    bad("`status` must be pending, processing, completed or failed")
                })?)
            }
            "model" => model = Some(v.clone()),
            "limit" => {
                limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| bad("`limit` must be a whole number from 1 to 100"))?
            }
            "cursor" => {
                after = Some(
                    decode_cursor(v)
                        .ok_or_else(|| bad("`cursor` is not a cursor this API gave"))?,
                )
            }
            other => {
                return Err(bad(&format!(
                    "unknown query parameter `{other}`: status, model, limit and cursor are known"
                )));
            }
        }
    }
    let q = GenerationQuery {
        user_id: &user,
        status,
        model_id: model.as_deref(),
        after: after.as_ref().map(|(t, id)| (*t, id.as_str())),
        limit: limit + 1,
    };
    let mut rows = state
        .store
        .list_for_user(&q)
        .await
        .map_err(ApiError::internal)?;
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|g| encode_cursor(g.created_at, &g.id))
    } else {
        None
    };
    Ok(Json(GenerationPage {
        data: rows.iter().map(|g| GenerationView::of(&state, g)).collect(),
        next_cursor,
    }))
}

/// Cancel a running generation: the provider is asked to stop, then the generation is
/// recorded as failed (`cancelled`) and its credits refunded.
#[utoipa::path(
    post,
    path = "/v1/generations/{id}/cancel",
    tag = "generations",
    params(("id" = String, Path, description = "Generation id")),
    responses(
        (status = 200, description = "Cancelled: failed with kind `cancelled`, refunded.", body = GenerationView),
        (status = 401, description = "Missing or wrong bearer token.", body = ErrorBody),
        (status = 404, description = "No generation of the caller's has this id.", body = ErrorBody),
        (status = 409, description = "The model has no cancel request (`not_cancellable`), or the generation has finished (`already_finished`).", body = ErrorBody),
        (status = 502, description = "The provider refused the cancel; the generation goes on.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn cancel(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let g = own(&state, &user, &id).await?;
    let cancellable = state
        .engine
        .model(&g.model_id)
        .is_some_and(|m| m.cancel.is_some());
    if !cancellable {
        return Err(ApiError::conflict(
            "not_cancellable",
            format!(
                "model `{}` has no cancel request: its generations run to the end",
                g.model_id
            ),
        ));
    }
    let finished = || {
        ApiError::conflict(
            "already_finished",
            format!("generation `{id}` has already finished: nothing to cancel"),
        )
    };
    if g.status.is_terminal() {
        return Err(finished());
    }
    match state.engine.cancel(&id).await {
        Ok(CancelAck::Cancelled) => {
            let g = own(&state, &user, &id).await?;
            Ok(Json(GenerationView::of(&state, &g)).into_response())
        }
        Ok(CancelAck::AlreadyFinished) => Err(finished()),
        Err(RunError::Provider {
            message, status, ..
        }) => {
            let http = status.map(|s| format!("HTTP {s}"));
            let said = if http.as_deref() == Some(message.as_str()) {
                message
            } else {
                match http {
                    Some(h) => format!("{h}: {}", state.scrub(&message)),
                    None => state.scrub(&message),
                }
            };
            Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "cancel_refused",
                format!("the provider refused the cancel ({said}); the generation goes on"),
            ))
        }
        Err(e @ (RunError::Transport { .. } | RunError::Timeout(_))) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "cancel_failed",
            format!(
                "the cancel did not reach the provider ({}); the generation goes on",
                e.kind()
            ),
        )),
        Err(e) => Err(ApiError::internal(state.scrub(&e.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_wait_is_read_among_other_preferences() {
        let mut h = HeaderMap::new();
        assert_eq!(prefer_wait(&h), None);
        h.insert("prefer", HeaderValue::from_static("respond-async, wait=10"));
        assert_eq!(prefer_wait(&h), Some(10));
        h.insert("prefer", HeaderValue::from_static("WAIT = \"5\"; x=y"));
        assert_eq!(prefer_wait(&h), Some(5));
        h.insert("prefer", HeaderValue::from_static("wait=soon"));
        assert_eq!(prefer_wait(&h), None);
    }

    #[test]
    fn fingerprints_ignore_key_order_but_not_values() {
        let a = fingerprint(
            "m",
            &serde_json::json!({"a": 1, "b": {"x": [1, 2], "y": "z"}}),
        );
        let b = fingerprint(
            "m",
            &serde_json::json!({"b": {"y": "z", "x": [1, 2]}, "a": 1}),
        );
        assert_eq!(a, b);
        assert_ne!(a, fingerprint("m", &serde_json::json!({"a": 2})));
        assert_ne!(
            a,
            fingerprint(
                "n",
                &serde_json::json!({"a": 1, "b": {"x": [1, 2], "y": "z"}})
            )
        );
    }

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let c = encode_cursor(1_700_000_000_123, "0f8e-id");
        assert_eq!(
            decode_cursor(&c),
            Some((1_700_000_000_123, "0f8e-id".to_owned()))
        );
        assert_eq!(decode_cursor("!!"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("nope")), None);
    }
}
