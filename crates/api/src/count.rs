//! The `/$count` segment of a collection (`GET …/definitions/$count`),
//! which Graph's SDKs call for their `.count` request builders: answered
//! as the collection's `@odata.count`, as plain text.
//!
//! It wraps the whole router, before routing: the request goes to the
//! collection itself with `$count=true&$top=1` (its `$filter` kept, page
//! and shape options dropped), so each collection's rights, filters and
//! errors apply unchanged; an error answer passes through as it is.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use crate::BODY_LIMIT;
use crate::error::ApiError;

const SEGMENTS: [&str; 2] = ["/$count", "/%24count"];
/// Options that shape a page, meaningless for a count.
const DROPPED: [&str; 5] = ["$top", "$skip", "$select", "$orderby", "$count"];

/// The collection's path and query for a `/$count` request.
fn collection_uri(uri: &Uri) -> Option<Uri> {
    let path = SEGMENTS.iter().find_map(|s| uri.path().strip_suffix(s))?;
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).ok()?;
    pairs.retain(|(k, _)| !DROPPED.iter().any(|d| k.eq_ignore_ascii_case(d)));
    pairs.push(("$count".into(), "true".into()));
    pairs.push(("$top".into(), "1".into()));
    let query = serde_urlencoded::to_string(&pairs).ok()?;
    format!("{path}?{query}").parse().ok()
}

/// See the module documentation.
pub(crate) async fn count_segment(mut request: Request, next: Next) -> Response {
    let Some(uri) = collection_uri(request.uri()) else {
        return next.run(request).await;
    };
    *request.uri_mut() = uri;
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let count = to_bytes(body, BODY_LIMIT)
        .await
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|json| json.get("@odata.count").and_then(Value::as_u64));
    let Some(count) = count else {
        // Not a collection: what `$count` means nowhere else.
        let error = ApiError::invalid(
            "invalidQueryOption",
            "The $count segment applies only to collections.",
        );
        return crate::envelope::reenvelope(parts, error);
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from(count.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_segment_asks_the_collection_for_its_count_keeping_its_filter() {
        let uri: Uri = "/v1.0/users/$count".parse().unwrap();
        assert_eq!(
            collection_uri(&uri).unwrap(),
            "/v1.0/users?%24count=true&%24top=1"
        );
        let uri: Uri = "/v1.0/x/%24count?$filter=status%20eq%20%27Completed%27&$top=5&$select=id"
            .parse()
            .unwrap();
        assert_eq!(
            collection_uri(&uri).unwrap(),
            "/v1.0/x?%24filter=status+eq+%27Completed%27&%24count=true&%24top=1"
        );
        assert_eq!(collection_uri(&"/v1.0/users".parse().unwrap()), None);
        assert_eq!(
            collection_uri(&"/v1.0/users/$counts".parse().unwrap()),
            None
        );
    }
}
