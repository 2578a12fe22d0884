//! The outermost middleware: request ids, Graph's error body, one log line
//! and the request metrics (`http_requests_total`,
//! `http_request_duration_seconds`, by method, route template and status).
//!
//! Every response gets a `request-id` (a fresh GUID) and echoes the
//! client's `client-request-id`. Every error response, whoever produced
//! it (a handler, axum's router for 405, the body limit for 413), leaves
//! here with Graph's error body, which carries those ids.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{SecondsFormat, Utc};
use serde_json::json;
use tracing::Instrument;
use uuid::Uuid;

use crate::error::{ApiError, GraphError};

const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// See the module documentation.
pub async fn envelope(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // The route's template, not the path: ids would make every series new.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().to_string();
    let request_id = Uuid::new_v4().to_string();
    let client_request_id = request.headers().get(&CLIENT_REQUEST_ID).cloned();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    );

    let response = next.run(request).instrument(span.clone()).await;
    let mut response = into_graph_error(response, &request_id, client_request_id.as_ref());

    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, value);
    }
    if let Some(value) = client_request_id {
        headers.insert(CLIENT_REQUEST_ID, value);
    }
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(status, elapsed_ms = elapsed.as_millis() as u64, "answered");
    });
    metrics::counter!(
        "http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(elapsed.as_secs_f64());
    response
}

/// Writes Graph's error body into an error response; leaves any other
/// response alone.
fn into_graph_error(
    mut response: Response,
    request_id: &str,
    client_request_id: Option<&HeaderValue>,
) -> Response {
    let status = response.status();
    let error = match response.extensions_mut().remove::<GraphError>() {
        Some(error) => error,
        None if status.is_client_error() || status.is_server_error() => {
            ApiError::for_status(status).graph_error().clone()
        }
        None => return response,
    };

    let mut inner = serde_json::Map::new();
    if let Some(code) = error.inner_code {
        inner.insert("code".into(), code.into());
    }
    inner.insert(
        "date".into(),
        Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true).into(),
    );
    inner.insert("request-id".into(), request_id.into());
    inner.insert(
        "client-request-id".into(),
        client_request_id
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .into(),
    );
    let body = json!({
        "error": {
            "code": error.code,
            "message": error.message,
            "innerError": inner,
        }
    });

    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body.to_string()))
}
