//! The request's envelope: request ids, one log line, Graph's error body
//! and the request metrics (`http_requests_total`,
//! `http_request_duration_seconds`, by method, route template and status).
//!
//! tower-http's layers give every request a `request-id` (a fresh GUID,
//! unless a proxy in front set one), put it on the response and log the
//! request in a span that carries it ([`layers`]). [`envelope`] echoes the
//! client's `client-request-id`, and gives every error response, whoever
//! produced it (a handler, axum's router for 405, the body limit for 413),
//! Graph's error body, which carries both ids.

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use chrono::{SecondsFormat, Utc};
use serde_json::json;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::{ApiError, GraphError};

const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// Wraps `router` in the envelope: the request id set first, the span and
/// its log line around everything else, the id put on the response, and
/// [`envelope`] innermost.
pub fn layers(router: Router) -> Router {
    router
        .layer(middleware::from_fn(envelope))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id(request),
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// The id [`SetRequestIdLayer`] gave the request.
fn request_id(request: &Request) -> &str {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
}

/// See the module documentation.
pub async fn envelope(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // The route's template, not the path: ids would make every series new.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().to_string();
    let request_id = request_id(&request).to_owned();
    let client_request_id = request.headers().get(&CLIENT_REQUEST_ID).cloned();

    let response = next.run(request).await;
    let mut response = into_graph_error(response, &request_id, client_request_id.as_ref());

    if let Some(value) = client_request_id {
        response.headers_mut().insert(CLIENT_REQUEST_ID, value);
    }
    let status = response.status().as_u16();
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
    .record(started.elapsed().as_secs_f64());
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

/// `error` as Graph's error body, for a layer outside the envelope that
/// turns an answer (`parts`, whose ids it keeps) into an error.
pub(crate) fn reenvelope(parts: axum::http::response::Parts, error: ApiError) -> Response {
    use axum::response::IntoResponse as _;
    let request_id = parts
        .headers
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let client_request_id = parts.headers.get(&CLIENT_REQUEST_ID).cloned();
    let mut response = into_graph_error(
        error.into_response(),
        &request_id,
        client_request_id.as_ref(),
    );
    for name in [REQUEST_ID, CLIENT_REQUEST_ID] {
        if let Some(value) = parts.headers.get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}
