//! The harness: the router over in-memory fakes, tokens, requests.

use std::sync::Arc;

use access_reviews_api::{AppState, MetricsExporter, Readiness, TokenVerifier, UseCases, router};
use access_reviews_domain::directory::{Group, User};
use access_reviews_domain::ids::PrincipalId;
use access_reviews_domain::ports::DirectoryRepository;
use access_reviews_domain::testing::{FixedClock, InMemoryRepository, block_on};
use access_reviews_domain::use_cases::Ports;
use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

pub const SECRET: &[u8] = b"test-secret-of-a-reasonable-length";
pub const ISSUER: &str = "https://login.example.test/tenant/v2.0";
pub const AUDIENCE: &str = "https://graph.example.test";
pub const DEFINITIONS: &str = "/v1.0/identityGovernance/accessReviews/definitions";

pub const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const GOVERNANCE_ADMIN: &str = "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e";
pub const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
pub const SECURITY_ADMIN: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";
pub const GROUPS_ADMIN: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";

struct Ready;

#[async_trait]
impl Readiness for Ready {
    async fn ready(&self) -> bool {
        true
    }
}

/// Stands in for the server's Prometheus recorder.
struct FixedMetrics;

/// What [`FixedMetrics`] renders.
pub const METRICS_TEXT: &str = "# TYPE http_requests_total counter\nhttp_requests_total 1\n";

impl MetricsExporter for FixedMetrics {
    fn render(&self) -> String {
        METRICS_TEXT.to_owned()
    }
}

pub struct App {
    pub router: Router,
    pub repo: InMemoryRepository,
}

/// The group `definition_body`'s scope names; it exists, with no members.
pub const SCOPE_GROUP: &str = "02f3bafb-448c-487c-88c2-5fd65ce49a41";
/// The user `definition_body` names as stage 1 reviewer; it exists.
pub const STAGE_ONE_REVIEWER: &str = "398164b1-5196-49dd-ada2-364b49f99b27";

pub fn app() -> App {
    app_with(true)
}

/// The router with the test clock's control on or off.
pub fn app_with(clock_control: bool) -> App {
    build(clock_control, None)
}

/// The router with each caller throttled to `per_10s` requests.
pub fn throttled(per_10s: u32) -> App {
    build(false, std::num::NonZeroU32::new(per_10s))
}

/// The router with these token checks.
pub fn with_tokens(tokens: TokenVerifier) -> App {
    build_with(false, None, tokens)
}

fn build(clock_control: bool, throttle: Option<std::num::NonZeroU32>) -> App {
    let tokens = TokenVerifier::hs256(SECRET, ISSUER, AUDIENCE).unwrap();
    build_with(clock_control, throttle, tokens)
}

fn build_with(
    clock_control: bool,
    throttle: Option<std::num::NonZeroU32>,
    tokens: TokenVerifier,
) -> App {
    let repo = InMemoryRepository::new();
    let clock = Arc::new(FixedClock::new());
    let mut ports = Ports::from_repository(Arc::new(repo.clone()), clock.clone());
    if clock_control {
        ports = ports.with_clock_control(clock);
    }
    let state = AppState::new(
        Arc::new(UseCases::new(&ports)),
        tokens,
        Arc::new(Ready),
        Arc::new(FixedMetrics),
    );
    let state = match throttle {
        Some(per_10s) => state.with_throttle(access_reviews_api::Throttle::new(per_10s)),
        None => state,
    };
    let group = Group {
        id: PrincipalId::from_uuid(Uuid::parse_str(SCOPE_GROUP).unwrap()),
        display_name: "Finance".into(),
        description: None,
        mail_nickname: "finance".into(),
        mail_enabled: false,
        security_enabled: true,
    };
    block_on(repo.create_group(&group)).unwrap();
    let reviewer = User {
        id: PrincipalId::from_uuid(Uuid::parse_str(STAGE_ONE_REVIEWER).unwrap()),
        display_name: "Stage one reviewer".into(),
        user_principal_name: "reviewer@example.test".into(),
        mail: None,
        mail_nickname: "reviewer".into(),
        account_enabled: true,
    };
    block_on(repo.create_user(&reviewer)).unwrap();
    App {
        router: router(state),
        repo,
    }
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn sign(claims: &Value) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap()
}

pub fn base_claims() -> Value {
    json!({ "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 3600, "nbf": now() - 10 })
}

/// A delegated token for a fresh user with these scopes and role ids.
pub fn delegated(scp: &str, wids: &[&str]) -> String {
    delegated_as(&Uuid::new_v4().to_string(), scp, wids)
}

pub fn delegated_as(oid: &str, scp: &str, wids: &[&str]) -> String {
    let mut claims = base_claims();
    claims["scp"] = scp.into();
    claims["oid"] = oid.into();
    claims["wids"] = json!(wids);
    claims["name"] = "Ada Lovelace".into();
    claims["preferred_username"] = "ada@example.test".into();
    sign(&claims)
}

pub fn application(roles: &[&str]) -> String {
    let mut claims = base_claims();
    claims["roles"] = json!(roles);
    claims["oid"] = Uuid::new_v4().to_string().into();
    sign(&claims)
}

pub fn admin() -> String {
    delegated("AccessReview.ReadWrite.All", &[GOVERNANCE_ADMIN])
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl App {
    /// A group with the id a Graph sample names, straight into the
    /// directory (Graph's API gives new objects ids of its own).
    pub async fn group_with_id(&self, id: &str, name: &str) {
        use access_reviews_domain::ports::DirectoryRepository as _;
        self.repo
            .create_group(&access_reviews_domain::directory::Group {
                id: access_reviews_domain::ids::PrincipalId::from_uuid(
                    Uuid::parse_str(id).unwrap(),
                ),
                display_name: name.into(),
                description: None,
                mail_nickname: name.to_lowercase().replace(' ', "-"),
                mail_enabled: false,
                security_enabled: true,
            })
            .await
            .unwrap();
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let raw = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            raw,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "reviews.example.test");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    pub async fn get(&self, uri: &str, token: &str) -> Answer {
        self.call(Method::GET, uri, Some(token), None).await
    }

    pub async fn post(&self, uri: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, uri, Some(token), Some(body)).await
    }

    pub async fn stop(&self, stage_path: &str, token: &str) -> Answer {
        self.call(
            Method::POST,
            &format!("{stage_path}/stop"),
            Some(token),
            None,
        )
        .await
    }

    /// Creates a review and returns the path of its instance and the ids.
    pub async fn review(&self, token: &str, stages: usize) -> Review {
        let created = self.post(DEFINITIONS, token, definition_body(stages)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let definition = created.body["id"].as_str().unwrap().to_owned();
        let instances = self
            .get(&format!("{DEFINITIONS}/{definition}/instances"), &admin())
            .await;
        let instance = instances.body["value"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let instance_path = format!("{DEFINITIONS}/{definition}/instances/{instance}");
        let stages = self.get(&format!("{instance_path}/stages"), &admin()).await;
        let first_stage = stages.body["value"][0]["id"].as_str().map(str::to_owned);
        Review {
            definition,
            instance_path,
            first_stage,
        }
    }
}

pub struct Review {
    pub definition: String,
    pub instance_path: String,
    pub first_stage: Option<String>,
}

impl Review {
    pub fn stage_path(&self, id: &str) -> String {
        format!("{}/stages/{id}", self.instance_path)
    }

    pub fn first_stage_path(&self) -> String {
        self.stage_path(self.first_stage.as_deref().unwrap())
    }
}

pub fn definition_body(stages: usize) -> Value {
    let all = [
        json!({"stageId": "1", "durationInDays": 2, "recommendationsEnabled": false,
               "decisionsThatWillMoveToNextStage": ["NotReviewed", "Approve"],
               "reviewers": [{"query": "/users/398164b1-5196-49dd-ada2-364b49f99b27", "queryType": "MicrosoftGraph"}]}),
        json!({"stageId": "2", "dependsOn": ["1"], "durationInDays": 3, "recommendationsEnabled": true,
               "reviewers": [{"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"}]}),
        json!({"stageId": "3", "dependsOn": ["2"], "durationInDays": 1, "recommendationsEnabled": false}),
    ];
    json!({
        "displayName": "Group multi-stage access review",
        "descriptionForAdmins": "New scheduled access review",
        "scope": {
            "@odata.type": "#microsoft.graph.accessReviewQueryScope",
            "query": "/groups/02f3bafb-448c-487c-88c2-5fd65ce49a41/transitiveMembers",
            "queryType": "MicrosoftGraph"
        },
        "stageSettings": all[..stages],
        "settings": {
            "mailNotificationsEnabled": true,
            "justificationRequiredOnApproval": true,
            "instanceDurationInDays": 4,
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1},
                "range": {"type": "noEnd", "startDate": "2026-11-02"}
            }
        }
    })
}

/// The error body minus its per-request parts, which are checked apart.
pub fn error_of(answer: &Answer) -> Value {
    let mut error = answer.body["error"].clone();
    let inner = error["innerError"].as_object_mut().expect("innerError");
    let request_id = inner.remove("request-id").expect("request-id");
    assert_eq!(
        Some(request_id.as_str().unwrap()),
        answer
            .headers
            .get("request-id")
            .and_then(|v| v.to_str().ok())
    );
    let date = inner.remove("date").expect("date");
    assert!(date.as_str().unwrap().ends_with('Z'), "{date}");
    inner
        .remove("client-request-id")
        .expect("client-request-id");
    assert_eq!(
        answer.headers.get(header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    error
}

pub fn assert_error(answer: &Answer, status: StatusCode, code: &str, inner: Option<&str>) {
    assert_eq!(answer.status, status, "{}", answer.body);
    let error = error_of(answer);
    assert_eq!(error["code"], code, "{error}");
    assert_eq!(
        error["innerError"].get("code").and_then(Value::as_str),
        inner,
        "{error}"
    );
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
}
