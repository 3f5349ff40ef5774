//! The one error shape every answer of the API uses:
//! `{"error": {"code": "...", "message": "...", "field"?: "...", "violations"?: [...]}}`.
//!
//! [`ApiError`] is what handlers return. [`json_errors`] is a middleware that gives the same
//! shape to the error answers the handlers never see: axum's own (no route, method not
//! allowed), tower-http's (body over the limit, timeout) and a caught panic, whose bodies are
//! a library's plain text.

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// An error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code to match on (`invalid_params`, `unauthorized`, ...).
    pub code: String,
    /// A message for people.
    pub message: String,
    /// The request field at fault (`model`, `params`, `limit`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem with the params, with the codes and messages of the TypeScript
    /// `validateParams`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violations: Option<Vec<ViolationView>>,
}

/// One problem with one param.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ViolationView {
    /// The param (`image_urls[2]` for an array item; empty for the params object itself).
    pub param: String,
    /// Stable code: `required`, `unknown_param`, `type`, `enum`, `min_length`, `max_length`,
    /// `min_items`, `max_items`, `min`, `max`, `step`, `url`.
    pub code: String,
    /// Message for people.
    pub message: String,
}

/// An error a handler answers with (boxed: it travels in every handler's `Result`).
#[derive(Debug, Clone)]
pub struct ApiError(Box<Inner>);

#[derive(Debug, Clone)]
struct Inner {
    status: StatusCode,
    detail: ErrorDetail,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError(Box::new(Inner {
            status,
            detail: ErrorDetail {
                code: code.to_owned(),
                message: message.into(),
                field: None,
                violations: None,
            },
            headers: Vec::new(),
        }))
    }

    /// Name the request field at fault.
    pub fn field(mut self, field: &str) -> Self {
        self.0.detail.field = Some(field.to_owned());
        self
    }

    /// Attach the params' violations.
    pub fn violations(mut self, v: Vec<ViolationView>) -> Self {
        self.0.detail.violations = Some(v);
        self
    }

    /// Add a header to the answer.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.push((name, value));
        self
    }

    /// 400 with `code`.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422 with `code`.
    pub fn unprocessable(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409 with `code`.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 500 `internal`: the cause is logged, never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(event = "internal_error", error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; the failure is logged",
        )
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The code.
    pub fn code(&self) -> &str {
        &self.0.detail.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Inner {
            status,
            detail,
            headers,
        } = *self.0;
        let mut r = (status, Json(ErrorBody { error: detail })).into_response();
        for (k, v) in headers {
            r.headers_mut().append(k, v);
        }
        r
    }
}

fn is_json(r: &Response) -> bool {
    r.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Give every error answer that is not already JSON the error shape (see the module docs), and
/// log and count bodies refused for their size.
pub async fn json_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status();
    if status.as_u16() < 400 || is_json(&response) {
        return response;
    }
    let webhook = path.starts_with("/v1/webhooks/");
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            let limit = if webhook {
                state.limits.webhook_body
            } else {
                state.limits.api_body
            };
            state.stats.body_too_large();
            tracing::warn!(event = "body_too_large", %method, path, limit, "request body over the limit refused");
            ApiError::new(
                status,
                "body_too_large",
                format!("the request body is larger than this route's limit of {limit} bytes"),
            )
        }
        StatusCode::NOT_FOUND => ApiError::not_found(format!("no route {method} {path}")),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            "method_not_allowed",
            format!("{method} is not allowed on {path}"),
        ),
        StatusCode::REQUEST_TIMEOUT => ApiError::new(
            status,
            "timeout",
            format!(
                "the request took longer than {} s",
                state.limits.request_timeout.as_secs()
            ),
        ),
        StatusCode::INTERNAL_SERVER_ERROR => ApiError::internal(format!("{method} {path}")),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            "unsupported_media_type",
            "send the body as JSON, with Content-Type: application/json",
        ),
        s if s.is_client_error() => {
            ApiError::new(s, "bad_request", "the request could not be read")
        }
        s => ApiError::new(s, "error", s.canonical_reason().unwrap_or("error")),
    };
    let (mut parts, _) = response.into_parts();
    let fresh = error.into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let (_, body) = fresh.into_parts();
    Response::from_parts(parts, Body::new(body))
}
