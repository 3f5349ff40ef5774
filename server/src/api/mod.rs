//! The routes, one file per resource, and what they share: reading a JSON body, and the
//! errors a generation can be refused with.

pub mod generations;
pub mod health;
pub mod models;
pub mod webhooks;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use runtime::RunError;
use serde_json::Value;

use crate::error::{ApiError, ViolationView};
use crate::state::AppState;

/// A body refused for its size (counted and logged).
pub(crate) fn too_large(state: &AppState, limit: usize, path: &str) -> ApiError {
    state.stats.body_too_large();
    tracing::warn!(
        event = "body_too_large",
        path,
        limit,
        "request body over the limit refused"
    );
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is larger than this route's limit of {limit} bytes"),
    )
}

/// The body's bytes, or the error for a body that could not be read whole.
pub(crate) fn body_bytes(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
    path: &str,
) -> Result<Bytes, ApiError> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(state, limit, path)
        } else {
            ApiError::bad_request("unreadable_body", "the request body could not be read")
        }
    })
}

/// A JSON body: `Content-Type`, when given, must be JSON; the bytes must parse.
pub(crate) fn json_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    path: &str,
) -> Result<Value, ApiError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let mime = ct
            .to_str()
            .ok()
            .and_then(|s| s.split(';').next())
            .map(|s| s.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON, with Content-Type: application/json",
            )
            .field("Content-Type"));
        }
    }
    let bytes = body_bytes(state, body, state.limits.api_body, path)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "malformed_json",
            "the body is empty: send a JSON object",
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!(
                "the body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })
}

/// The answer to a generation the engine refused to start.
pub(crate) fn start_error(state: &AppState, e: RunError) -> ApiError {
    match e {
        RunError::Validation(v) => {
            let violations: Vec<ViolationView> =
                v.0.iter()
                    .map(|x| ViolationView {
                        param: x.param.clone(),
                        code: serde_json::to_value(x.code)
                            .ok()
                            .and_then(|c| c.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        message: x.message.clone(),
                    })
                    .collect();
            ApiError::unprocessable("invalid_params", v.to_string())
                .field("params")
                .violations(violations)
        }
        RunError::UnknownModel(id) => ApiError::unprocessable(
            "unknown_model",
            format!("unknown model `{id}`: GET /v1/models lists the models"),
        )
        .field("model"),
        RunError::Disabled(id) => ApiError::conflict(
            "model_disabled",
            format!("model `{id}` is disabled: it was rolled back and is not run"),
        )
        .field("model"),
        RunError::Cost(c) => ApiError::unprocessable(
            "unpriceable_params",
            format!("these params cannot be priced: {c}"),
        )
        .field("params"),
        RunError::InsufficientCredits { needed, available } => ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "insufficient_credits",
            format!("this generation costs {needed} credits; {available} are available"),
        ),
        RunError::MissingKey { .. } => {
            tracing::error!(event = "generation_refused", reason = %e, "provider key missing");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "provider_unavailable",
                "this model cannot run now: its provider key is not configured",
            )
        }
        RunError::ProviderUnavailable {
            provider,
            retry_after,
        } => {
            let secs = retry_after.as_secs().max(1);
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "provider_unavailable",
                format!(
                    "{provider} is failing and its circuit breaker is open: try again in {secs}s"
                ),
            )
            .header(header::RETRY_AFTER, HeaderValue::from(secs))
        }
        other => ApiError::internal(state.scrub(&other.to_string())),
    }
}
