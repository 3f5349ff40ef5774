//! `/healthz` (the process answers) and `/readyz` (it can serve generations).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use runtime::keys::KeyRequest;
use runtime::model::{Mode, ModelInfo, Signature};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// Readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    /// `ok` or `unreachable`.
    pub store: String,
    /// The secret names the enabled models need that are not configured (names, never values).
    pub missing_secrets: Vec<String>,
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "Alive.", body = Health))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// The secrets `m` needs: its API key, and for a webhook model its provider's signing secret.
fn missing_for(state: &AppState, m: &ModelInfo, missing: &mut BTreeSet<String>) {
    let has = |scope: &str, name: &str| {
        state
            .keys
            .resolve(&KeyRequest {
                provider: m.provider.id,
                model: m.id,
                scope,
                secret_name: name,
            })
            .is_ok()
    };
    if !has(m.key_scope, m.secret_name) {
        missing.insert(m.secret_name.to_owned());
    }
    if m.mode != Mode::Webhook {
        return;
    }
    let Some(rule) = m.provider.webhook else {
        return;
    };
    let Some(name) = rule.secret_name else {
        return;
    };
    let present = match rule.signature {
        Signature::StandardWebhooks | Signature::KieHmac => has("webhook_signing", name),
        // fal's public keys: a JWKS document (or `<NAME>_FILE`, a path to one), read through
        // the key resolver as the engine reads it, and parsed.
        Signature::FalEd25519 => runtime::webhook::Jwks::from_config(name, &mut |n| {
            state.keys.resolve(&KeyRequest {
                provider: m.provider.id,
                model: m.id,
                scope: "webhook_signing",
                secret_name: n,
            })
        })
        .is_ok(),
        Signature::UrlToken | Signature::None => true,
    };
    if !present {
        missing.insert(name.to_owned());
    }
}

/// The store answers and every secret the enabled models need is configured.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready.", body = Readiness),
        (status = 503, description = "Not ready: the store does not answer, or secrets are missing (named).", body = Readiness),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let store_ok = state.store.ready().await.is_ok();
    let mut missing = BTreeSet::new();
    for m in state.engine.models().filter(|m| m.enabled) {
        missing_for(&state, m, &mut missing);
    }
    let ready = store_ok && missing.is_empty();
    if !ready {
        tracing::warn!(event = "not_ready", store_ok, missing = ?missing, "not ready");
    }
    (
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(Readiness {
            status: if ready { "ready" } else { "not_ready" }.to_owned(),
            store: if store_ok { "ok" } else { "unreachable" }.to_owned(),
            missing_secrets: missing.into_iter().collect(),
        }),
    )
}
