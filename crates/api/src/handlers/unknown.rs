//! Paths no route has. Under `/v1.0` Graph answers `400 BadRequest`
//! naming the first segment it cannot resolve (`Resource not found for the
//! segment 'foo'.`); a `404` is kept for an object id that does not exist,
//! which the handlers answer. Elsewhere a path is simply not found.

use axum::http::Uri;

use crate::error::ApiError;
use crate::openapi::operations;

/// Every unmatched request.
pub async fn unknown_path(uri: Uri) -> ApiError {
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    if segments.first() != Some(&"v1.0") {
        return ApiError::not_found("The requested resource does not exist.");
    }
    // How far the path follows some route: the segment after that is the
    // one Graph names.
    let known = operations()
        .iter()
        .map(|operation| {
            operation
                .path
                .trim_matches('/')
                .split('/')
                .zip(&segments)
                .take_while(|(template, segment)| template.starts_with('{') || template == *segment)
                .count()
        })
        .max()
        .unwrap_or(1);
    match segments.get(known) {
        Some(segment) => ApiError::unknown_segment(segment),
        // Every segment follows a route that exists only longer.
        None => ApiError::unknown_segment(segments.last().copied().unwrap_or_default()),
    }
}
