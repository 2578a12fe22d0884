//! Throttling: a bucket per caller; over it a 429 with Retry-After and
//! Graph's body; probes never throttled.

use axum::http::{Method, StatusCode, header};
use serde_json::json;
use uuid::Uuid;

use crate::common::{
    DEFINITIONS, GOVERNANCE_ADMIN, assert_error, base_claims, delegated, sign, throttled,
};

#[tokio::test]
async fn a_caller_over_its_limit_gets_429_with_retry_after_and_others_do_not() {
    let app = throttled(3);
    let ann = delegated("AccessReview.Read.All", &[GOVERNANCE_ADMIN]);
    for _ in 0..3 {
        assert_eq!(app.get(DEFINITIONS, &ann).await.status, StatusCode::OK);
    }
    let refused = app.get(DEFINITIONS, &ann).await;
    assert_error(
        &refused,
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        None,
    );
    // 3 per 10 s: a token every 3.33 s, so come back in 4.
    assert_eq!(refused.headers[header::RETRY_AFTER], "4");

    // Someone else is not slowed by ann.
    let bob = delegated("AccessReview.Read.All", &[GOVERNANCE_ADMIN]);
    assert_eq!(app.get(DEFINITIONS, &bob).await.status, StatusCode::OK);

    // Probes take no token and are never throttled.
    for path in ["/healthz", "/readyz", "/metrics"] {
        for _ in 0..5 {
            let answer = app.call(Method::GET, path, None, None).await;
            assert!(answer.status.is_success(), "{path}: {}", answer.status);
        }
    }
}

#[tokio::test]
async fn an_application_is_counted_by_its_app_id_not_by_each_token() {
    let app = throttled(2);
    let app_id = Uuid::new_v4().to_string();
    // Two tokens of one application (v1's appid, v2's azp), each with an
    // oid of its own: one bucket.
    let token = |claim: &str| {
        let mut claims = base_claims();
        claims["roles"] = json!(["AccessReview.Read.All"]);
        claims["oid"] = Uuid::new_v4().to_string().into();
        claims[claim] = app_id.clone().into();
        sign(&claims)
    };
    assert_eq!(
        app.get(DEFINITIONS, &token("appid")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(DEFINITIONS, &token("azp")).await.status,
        StatusCode::OK
    );
    let refused = app.get(DEFINITIONS, &token("appid")).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
}
