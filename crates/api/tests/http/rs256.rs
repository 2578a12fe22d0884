//! RS256 tokens checked against a key set: from a file, and from a key
//! server over HTTP started here (rotation, a flood of forged key ids, an
//! unreachable server).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use access_reviews_api::{KeyFile, KeySet, KeyUrl, RefreshPolicy, TokenVerifier};
use access_reviews_test_support::keys::{TestKey, key_set};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

static A: LazyLock<TestKey> = LazyLock::new(|| TestKey::generate("key-a"));
static B: LazyLock<TestKey> = LazyLock::new(|| TestKey::generate("key-b"));

const TENANT: &str = "0a1b2c3d-0000-4000-8000-00000000000a";

fn v1_issuer() -> String {
    format!("https://sts.windows.net/{TENANT}/")
}

fn v2_issuer() -> String {
    format!("https://login.microsoftonline.com/{TENANT}/v2.0")
}

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Claims of an administrator's token, from the v2 issuer for Graph.
fn claims() -> Value {
    json!({
        "iss": v2_issuer(),
        "aud": "https://graph.microsoft.com",
        "exp": now() + 3600,
        "nbf": now() - 10,
        "scp": "AccessReview.ReadWrite.All",
        "oid": Uuid::new_v4().to_string(),
        "wids": [GLOBAL_ADMIN],
    })
}

fn sign_with(key: &TestKey, kid: Option<&str>, algorithm: Algorithm, claims: &Value) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    let encoding = EncodingKey::from_rsa_pem(key.private_pem.as_bytes()).unwrap();
    encode(&header, claims, &encoding).unwrap()
}

fn rs256(claims: &Value) -> String {
    sign_with(&A, Some("key-a"), Algorithm::RS256, claims)
}

/// Entra ID's issuers and Graph's two audience spellings.
fn verifier() -> TokenVerifier {
    TokenVerifier::new(
        &[v1_issuer(), v2_issuer()],
        &["https://graph.microsoft.com".into(), GRAPH_APP_ID.into()],
    )
}

/// A key set file holding `document`, removed on drop.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn holding(document: &Value) -> Self {
        let path = std::env::temp_dir().join(format!("jwks-{}.json", Uuid::new_v4()));
        std::fs::write(&path, document.to_string()).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn from_file(file: &TempFile) -> KeySet {
    KeySet::new(Box::new(KeyFile(file.0.clone())), RefreshPolicy::default())
}

async fn status_with(app: &App, token: &str) -> (StatusCode, Value) {
    let request = Request::get(DEFINITIONS)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let answer = app.send(request).await;
    (answer.status, answer.body)
}

async fn assert_refused(app: &App, token: &str, case: &str) {
    let (status, body) = status_with(app, token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}");
    assert_eq!(
        body["error"]["code"], "InvalidAuthenticationToken",
        "{case}"
    );
}

#[tokio::test]
async fn rs256_tokens_pass_the_same_checks_as_hs256_ones() {
    let hs_key = json!({"kty": "oct", "kid": "hs", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"});
    let mut document = key_set(&[&A]);
    document["keys"].as_array_mut().unwrap().push(hs_key);
    let file = TempFile::holding(&document);
    let app = with_tokens(
        verifier()
            .with_hs256(SECRET)
            .unwrap()
            .with_key_set(from_file(&file)),
    );

    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims();
        edit(&mut c);
        rs256(&c)
    };
    let unsigned = {
        let header = base64url(br#"{"alg":"none","typ":"JWT","kid":"key-a"}"#);
        format!("{header}.{}.", base64url(claims().to_string().as_bytes()))
    };
    let cases: Vec<(&str, String)> = vec![
        ("alg none", unsigned),
        (
            "signed with another key under key-a's kid",
            sign_with(&B, Some("key-a"), Algorithm::RS256, &claims()),
        ),
        (
            "unknown kid",
            sign_with(&B, Some("key-b"), Algorithm::RS256, &claims()),
        ),
        ("no kid", sign_with(&A, None, Algorithm::RS256, &claims())),
        (
            "the kid of the set's HS256 key",
            sign_with(&A, Some("hs"), Algorithm::RS256, &claims()),
        ),
        (
            "other algorithm (RS512) with the right key",
            sign_with(&A, Some("key-a"), Algorithm::RS512, &claims()),
        ),
        (
            "PS256 with the right key",
            sign_with(&A, Some("key-a"), Algorithm::PS256, &claims()),
        ),
        ("expired", edited(&|c| c["exp"] = (now() - 120).into())),
        (
            "no exp",
            edited(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        (
            "not yet valid",
            edited(&|c| c["nbf"] = (now() + 600).into()),
        ),
        (
            "another tenant's issuer",
            edited(&|c| {
                c["iss"] = "https://login.microsoftonline.com/other/v2.0".into();
            }),
        ),
        (
            "wrong audience",
            edited(&|c| c["aud"] = "api://other".into()),
        ),
        (
            "audience array without ours",
            edited(&|c| c["aud"] = json!(["api://a", "api://b"])),
        ),
        ("oid not a guid", edited(&|c| c["oid"] = "bob".into())),
        (
            "no oid",
            edited(&|c| {
                c.as_object_mut().unwrap().remove("oid");
            }),
        ),
        ("garbage", "not.a.jwt".into()),
    ];
    for (case, token) in &cases {
        assert_refused(&app, token, case).await;
    }

    for (case, token) in [
        ("v2 issuer, Graph's URL as audience", rs256(&claims())),
        (
            "v1 issuer, Graph's app id as audience",
            edited(&|c| {
                c["iss"] = v1_issuer().into();
                c["aud"] = GRAPH_APP_ID.into();
            }),
        ),
        (
            "expired 30 s ago",
            edited(&|c| c["exp"] = (now() - 30).into()),
        ),
        ("HS256 next to the key set", {
            let mut c = claims();
            c["iss"] = v1_issuer().into();
            sign(&c)
        }),
    ] {
        assert_eq!(status_with(&app, &token).await.0, StatusCode::OK, "{case}");
    }
}

#[tokio::test]
async fn with_only_a_key_set_hs256_tokens_are_refused() {
    let file = TempFile::holding(&key_set(&[&A]));
    let app = with_tokens(verifier().with_key_set(from_file(&file)));
    assert_eq!(status_with(&app, &rs256(&claims())).await.0, StatusCode::OK);
    let (status, body) = status_with(&app, &sign(&claims())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error"]["message"],
        "The token's algorithm is not accepted."
    );
}

/// A key server: serves whatever document the test sets, counting
/// requests; `None` answers 503.
#[derive(Clone, Default)]
struct KeyServer {
    document: Arc<Mutex<Option<String>>>,
    requests: Arc<AtomicUsize>,
}

impl KeyServer {
    async fn start(document: Option<Value>) -> (Self, String) {
        let server = Self::default();
        server.serve(document);
        let state = server.clone();
        let router = axum::Router::new().route(
            "/discovery/v2.0/keys",
            axum::routing::get(move || {
                let state = state.clone();
                async move {
                    state.requests.fetch_add(1, Ordering::SeqCst);
                    match state.document.lock().unwrap().clone() {
                        Some(text) => (StatusCode::OK, text),
                        None => (StatusCode::SERVICE_UNAVAILABLE, String::new()),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        (server, format!("http://{address}/discovery/v2.0/keys"))
    }

    fn serve(&self, document: Option<Value>) {
        *self.document.lock().unwrap() = document.map(|d| d.to_string());
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn over_http(url: &str, policy: RefreshPolicy) -> App {
    let keys = KeySet::new(Box::new(KeyUrl::new(url).unwrap()), policy);
    with_tokens(verifier().with_key_set(keys))
}

#[tokio::test]
async fn a_rotated_key_from_the_key_server_is_accepted_after_one_refresh() {
    let (server, url) = KeyServer::start(Some(key_set(&[&A]))).await;
    // Refreshes allowed at once, so that the rotation needs no waiting.
    let app = over_http(
        &url,
        RefreshPolicy {
            min_refresh: Duration::ZERO,
            ..RefreshPolicy::default()
        },
    );
    assert_eq!(status_with(&app, &rs256(&claims())).await.0, StatusCode::OK);
    assert_eq!(server.requests(), 1);

    server.serve(Some(key_set(&[&A, &B])));
    let signed_by_b = sign_with(&B, Some("key-b"), Algorithm::RS256, &claims());
    assert_eq!(status_with(&app, &signed_by_b).await.0, StatusCode::OK);
    assert_eq!(server.requests(), 2, "one refresh");
    assert_eq!(status_with(&app, &rs256(&claims())).await.0, StatusCode::OK);
    assert_eq!(status_with(&app, &signed_by_b).await.0, StatusCode::OK);
    assert_eq!(server.requests(), 2, "both keys cached");
}

#[tokio::test]
async fn a_flood_of_forged_kids_costs_the_key_server_one_request() {
    let (server, url) = KeyServer::start(Some(key_set(&[&A]))).await;
    let app = Arc::new(over_http(&url, RefreshPolicy::default()));
    assert_eq!(status_with(&app, &rs256(&claims())).await.0, StatusCode::OK);
    let forged: Vec<_> = (0..100)
        .map(|i| {
            let app = app.clone();
            let token = sign_with(
                &B,
                Some(&format!("forged-{i}")),
                Algorithm::RS256,
                &claims(),
            );
            tokio::spawn(async move { status_with(&app, &token).await.0 })
        })
        .collect();
    for answer in forged {
        assert_eq!(answer.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(server.requests(), 1, "no refresh within the minute");
    assert_eq!(status_with(&app, &rs256(&claims())).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_unreachable_or_broken_key_server_is_a_401_never_a_500() {
    // A port that was free a moment ago: connections are refused.
    let closed: SocketAddr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let app = over_http(&format!("http://{closed}/keys"), RefreshPolicy::default());
    let (status, body) = status_with(&app, &rs256(&claims())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error"]["message"],
        "The signing keys cannot be had right now; try again later."
    );

    let immediate = RefreshPolicy {
        min_refresh: Duration::ZERO,
        ..RefreshPolicy::default()
    };
    let (server, url) = KeyServer::start(None).await;
    let app = over_http(&url, immediate);
    for document in [
        None,
        Some(json!("not a key set")),
        Some(json!({"keys": []})),
    ] {
        server.serve(document.clone());
        assert_refused(&app, &rs256(&claims()), &format!("{document:?}")).await;
    }
    server.serve(Some(key_set(&[&A])));
    assert_eq!(
        status_with(&app, &rs256(&claims())).await.0,
        StatusCode::OK,
        "recovers once the server does"
    );
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
