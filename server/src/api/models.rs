//! `/v1/models` (the enabled registry) and `/v1/account` (the caller's credits).

use axum::Json;
use axum::extract::State;
use runtime::cost::Credits;

use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::views::{AccountView, ModelView};

/// The models that can be run, by id. A disabled (rolled back) model is not listed.
#[utoipa::path(
    get,
    path = "/v1/models",
    tag = "models",
    responses(
        (status = 200, description = "The enabled models.", body = Vec<ModelView>),
        (status = 401, description = "Missing or wrong bearer token.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_models(State(state): State<AppState>, _user: User) -> Json<Vec<ModelView>> {
    let mut models: Vec<_> = state.engine.models().filter(|m| m.enabled).collect();
    models.sort_by_key(|m| m.id);
    Json(models.into_iter().map(ModelView::of).collect())
}

/// The caller's credits.
#[utoipa::path(
    get,
    path = "/v1/account",
    tag = "account",
    responses(
        (status = 200, description = "Balance and what is available to new generations.", body = AccountView),
        (status = 401, description = "Missing or wrong bearer token.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn account(
    State(state): State<AppState>,
    User(user): User,
) -> Result<Json<AccountView>, ApiError> {
    let balance = state
        .store
        .balance(&user)
        .await
        .map_err(ApiError::internal)?;
    let available = state
        .store
        .available(&user)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(AccountView {
        user_id: user,
        balance: balance.unwrap_or(Credits::ZERO).to_string(),
        available: available.unwrap_or(Credits::ZERO).to_string(),
    }))
}
