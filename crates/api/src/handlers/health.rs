//! Operational routes, outside `/v1.0` and without authentication.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

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

/// `GET /metrics`: Prometheus' text exposition format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// `GET /openapi.json`: the API's description.
pub async fn openapi() -> Json<Value> {
    // Built once: the table does not change while the process runs.
    static DOCUMENT: std::sync::LazyLock<Value> =
        std::sync::LazyLock::new(crate::openapi::document);
    Json(DOCUMENT.clone())
}
