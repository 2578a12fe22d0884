//! Operational routes, outside `/v1.0` and without authentication.

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;
use crate::error::ApiError;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// `GET /readyz`: the process can reach its store.
pub async fn readyz(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    if state.readiness.ready().await {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::unavailable())
    }
}
