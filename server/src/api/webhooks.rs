//! `POST /v1/webhooks/{provider}/{generation_id}`: provider deliveries, verified by the
//! engine (the provider's signature scheme, or the callback URL's `?token=`). No bearer token:
//! the signature is the authentication.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use runtime::engine::WebhookAck;
use runtime::webhook::{WebhookError, WebhookRequest};
use serde::Serialize;
use utoipa::ToSchema;

use super::body_bytes;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A delivery taken.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookTaken {
    /// `delivered` (to the waiting run), `applied` (to the store), `already_finished`,
    /// `ignored` or `duplicate`.
    pub status: String,
}

fn refusal(e: &WebhookError) -> ApiError {
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", m);
    match e {
        WebhookError::MissingHeader(h) => unauthorized(&format!("missing header {h}")),
        WebhookError::BadSignature => unauthorized("the signature does not verify"),
        WebhookError::Stale => unauthorized("the signature's timestamp is outside the tolerance"),
        WebhookError::UnknownGeneration => ApiError::not_found("no such generation"),
        WebhookError::NotSupported => ApiError::not_found("this provider sends no webhooks"),
        WebhookError::Mismatch => ApiError::bad_request(
            "delivery_mismatch",
            "the delivery names another provider or task than the generation's",
        ),
        WebhookError::Malformed(_) => ApiError::bad_request(
            "malformed_delivery",
            "the delivery is not a task this model can read",
        ),
        WebhookError::MissingSecret(_) | WebhookError::BadSecret | WebhookError::BadKeys(_) => {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "webhook_unverifiable",
                "this provider's webhook verification is not configured on the server",
            )
        }
    }
}

/// Take a provider's delivery for a generation.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{provider}/{generation_id}",
    tag = "webhooks",
    params(
        ("provider" = String, Path, description = "Provider id"),
        ("generation_id" = String, Path, description = "Generation id"),
        ("token" = Option<String>, Query, description = "The per-generation token of the callback URL"),
    ),
    request_body(content = Object, description = "The provider's delivery, as it sent it (signatures cover the bytes)."),
    responses(
        (status = 200, description = "Taken (duplicates and late deliveries too: they change nothing).", body = WebhookTaken),
        (status = 400, description = "Not a delivery for this generation.", body = ErrorBody),
        (status = 401, description = "The signature or token does not verify (logged and counted).", body = ErrorBody),
        (status = 404, description = "Unknown generation.", body = ErrorBody),
        (status = 413, description = "Body over the limit (logged).", body = ErrorBody),
    )
)]
pub async fn receive(
    State(state): State<AppState>,
    Path((provider, generation_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<WebhookTaken>, ApiError> {
    let path = format!("/v1/webhooks/{provider}/{generation_id}");
    let body = body_bytes(&state, body, state.limits.webhook_body, &path)?;
    let req = WebhookRequest {
        headers,
        body,
        query_token: runtime::listener::query_param(query.as_deref(), "token"),
    };
    match state
        .engine
        .handle_webhook(&provider, &generation_id, &req)
        .await
    {
        Ok(ack) => Ok(Json(WebhookTaken {
            status: match ack {
                WebhookAck::Delivered => "delivered",
                WebhookAck::Applied => "applied",
                WebhookAck::AlreadyFinished => "already_finished",
                WebhookAck::Ignored => "ignored",
                WebhookAck::Duplicate => "duplicate",
            }
            .to_owned(),
        })),
        Err(e) => {
            let refused = refusal(&e);
            let forged = refused.status() == StatusCode::UNAUTHORIZED;
            let total = state.stats.webhook_rejected(forged);
            tracing::warn!(
                event = "webhook_refused",
                provider,
                generation_id,
                status = refused.status().as_u16(),
                forged,
                refused_total = total,
                error = %e,
                "webhook delivery refused"
            );
            Err(refused)
        }
    }
}
