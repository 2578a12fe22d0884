//! End to end: the real server on a free port, a real PostgreSQL in a
//! container, called over HTTP as a Graph client would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod lifecycle;
mod round_trips;
mod samples;

use std::collections::HashMap;
use std::process::Command;

use access_reviews_server::Application;
use access_reviews_server::config::{AuthConfig, ServeConfig};
use access_reviews_server::token::{self, Signer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

const DEFINITIONS: &str = "/v1.0/identityGovernance/accessReviews/definitions";
const GOVERNANCE_ADMIN: &str = "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

fn settings(database_url: &str) -> HashMap<&'static str, String> {
    HashMap::from([
        ("DATABASE_URL", database_url.to_owned()),
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("AUTH_ISSUER", "https://issuer.example.test".to_owned()),
        ("AUTH_AUDIENCE", "https://graph.example.test".to_owned()),
        (
            "AUTH_HS256_SECRET",
            "an-end-to-end-secret-of-32-bytes!".to_owned(),
        ),
    ])
}

/// What the tests' tokens say; signed HS256 with the configured secret.
struct TokenRequest {
    scp: Option<String>,
    roles: Vec<String>,
    oid: Uuid,
    wids: Vec<String>,
    name: Option<String>,
    ttl_seconds: i64,
}

fn mint(auth: &AuthConfig, request: &TokenRequest) -> jsonwebtoken::errors::Result<String> {
    let secret = auth.hs256_secret.as_ref().expect("an HS256 secret");
    token::mint(
        &Signer::Hs256(secret.expose().to_vec()),
        &token::TokenRequest {
            issuer: auth.issuers[0].clone(),
            audience: auth.audiences[0].clone(),
            scp: request.scp.clone(),
            roles: request.roles.clone(),
            oid: request.oid,
            wids: request.wids.clone(),
            name: request.name.clone(),
            ttl_seconds: request.ttl_seconds,
        },
    )
}

struct TestApp {
    base: String,
    client: reqwest::Client,
    auth: AuthConfig,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

async fn spawn_app() -> TestApp {
    let database_url = access_reviews_test_support::fresh_database().await;
    spawn_on(&database_url, &[]).await
}

/// A server on `database_url` with settings added to (or replacing) the
/// usual ones; several may share a database, as replicas do.
async fn spawn_on(database_url: &str, extra: &[(&'static str, &str)]) -> TestApp {
    let mut env = settings(database_url);
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let lookup = |name: &str| env.get(name).cloned();
    let config = ServeConfig::from_env(&lookup).unwrap();
    let app = Application::build(&config, true).await.unwrap();
    let address = app.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        rx.await.ok();
    }));
    TestApp {
        base: format!("http://{address}"),
        client: reqwest::Client::new(),
        auth: config.auth,
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl TestApp {
    fn admin(&self) -> String {
        mint(
            &self.auth,
            &TokenRequest {
                scp: Some("AccessReview.ReadWrite.All".into()),
                roles: vec![],
                oid: Uuid::new_v4(),
                wids: vec![GOVERNANCE_ADMIN.into()],
                name: Some("Admin".into()),
                ttl_seconds: 600,
            },
        )
        .unwrap()
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.admin())
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: Option<Value>) -> reqwest::Response {
        self.send_as(reqwest::Method::POST, path, &self.admin(), body)
            .await
    }

    async fn send_as(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// A delegated token for this user, with the given scopes and no role.
    fn token_of(&self, oid: &str, scp: &str) -> String {
        mint(
            &self.auth,
            &TokenRequest {
                scp: Some(scp.into()),
                roles: vec![],
                oid: Uuid::parse_str(oid).unwrap(),
                wids: vec![],
                name: None,
                ttl_seconds: 600,
            },
        )
        .unwrap()
    }

    fn directory_admin(&self) -> String {
        mint(
            &self.auth,
            &TokenRequest {
                scp: Some("Directory.ReadWrite.All".into()),
                roles: vec![],
                oid: Uuid::new_v4(),
                wids: vec![GLOBAL_ADMIN.into()],
                name: None,
                ttl_seconds: 600,
            },
        )
        .unwrap()
    }

    async fn create(&self, collection: &str, body: Value) -> String {
        let response = self
            .send_as(
                reqwest::Method::POST,
                &format!("/v1.0/{collection}"),
                &self.directory_admin(),
                Some(body),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    async fn user(&self, name: &str) -> String {
        self.create(
            "users",
            json!({"accountEnabled": true, "displayName": name, "mailNickname": name,
                   "userPrincipalName": format!("{name}@contoso.test"),
                   "passwordProfile": {"password": "Secret-1234"}}),
        )
        .await
    }

    async fn group(&self, name: &str) -> String {
        self.create(
            "groups",
            json!({"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true}),
        )
        .await
    }

    async fn reference(&self, method: reqwest::Method, path: &str, id: &str) {
        let body =
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")});
        let response = self
            .send_as(method, path, &self.directory_admin(), Some(body))
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    async fn stages(&self, instance_path: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("{instance_path}/stages")).await;
        assert_eq!(status, StatusCode::OK);
        body["value"].as_array().unwrap().clone()
    }

    async fn stop(self: &std::sync::Arc<Self>, stage_path: String) -> StatusCode {
        self.post(&format!("{stage_path}/stop"), None)
            .await
            .status()
    }

    /// Creates a three-stage review; returns its definition and instance paths.
    async fn three_stage_review(&self) -> (String, String) {
        let reviewer = self.user("reviewer").await;
        let stage = |id: &str, depends_on: &[&str]| {
            json!({"stageId": id, "dependsOn": depends_on, "durationInDays": 2,
                   "recommendationsEnabled": false,
                   "reviewers": [{"query": format!("/users/{reviewer}"), "queryType": "MicrosoftGraph"}]})
        };
        let group = self.group("finance").await;
        let body = json!({
            "displayName": "Quarterly finance review",
            "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                      "query": format!("/groups/{group}/transitiveMembers"),
                      "queryType": "MicrosoftGraph"},
            "stageSettings": [stage("1", &[]), stage("2", &["1"]), stage("3", &["2"])],
            "settings": {"instanceDurationInDays": 6}
        });
        let created = self.post(DEFINITIONS, Some(body)).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let location = created.headers()["location"].to_str().unwrap().to_owned();
        let definition: Value = created.json().await.unwrap();
        let definition_path = format!("{DEFINITIONS}/{}", definition["id"].as_str().unwrap());
        assert_eq!(location, format!("{}{definition_path}", self.base));
        let (_, instances) = self.get(&format!("{definition_path}/instances")).await;
        let instance = instances["value"][0]["id"].as_str().unwrap();
        let instance_path = format!("{definition_path}/instances/{instance}");
        (definition_path, instance_path)
    }
}

#[tokio::test]
async fn a_three_stage_review_is_stopped_stage_by_stage_until_it_completes() {
    let app = spawn_app().await;
    let (definition_path, instance_path) = app.three_stage_review().await;

    for round in 1..=3 {
        let stages = app.stages(&instance_path).await;
        assert_eq!(stages.len(), round, "stage {round} exists, no later one");
        let current = stages.last().unwrap();
        assert_eq!(current["status"], "InProgress");
        assert!(
            stages[..round - 1]
                .iter()
                .all(|s| s["status"] == "Completed")
        );
        let (_, instance) = app.get(&instance_path).await;
        assert_eq!(instance["status"], "InProgress");

        let stop = app
            .post(
                &format!(
                    "{instance_path}/stages/{}/stop",
                    current["id"].as_str().unwrap()
                ),
                None,
            )
            .await;
        assert_eq!(stop.status(), StatusCode::NO_CONTENT);
        assert!(stop.bytes().await.unwrap().is_empty());
    }

    let stages = app.stages(&instance_path).await;
    assert_eq!(stages.len(), 3);
    assert!(stages.iter().all(|s| s["status"] == "Completed"));
    let (_, instance) = app.get(&instance_path).await;
    assert_eq!(instance["status"], "Completed");
    assert_eq!(
        instance["endDateTime"], stages[2]["endDateTime"],
        "ends at the last stop"
    );
    let (_, definition) = app.get(&definition_path).await;
    assert_eq!(definition["status"], "Completed");

    let again = app
        .post(
            &format!(
                "{instance_path}/stages/{}/stop",
                stages[2]["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["innerError"]["code"], "stageNotInProgress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_32_concurrent_stops_one_gets_204_and_31_get_409() {
    let app = std::sync::Arc::new(spawn_app().await);
    let (_, instance_path) = app.three_stage_review().await;
    let first = app.stages(&instance_path).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stage_path = format!("{instance_path}/stages/{first}");

    let stops = (0..32).map(|_| {
        let app = app.clone();
        let stage_path = stage_path.clone();
        tokio::spawn(async move { app.stop(stage_path).await })
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(stops)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::NO_CONTENT)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        31,
        "{statuses:?}"
    );
    let stages = app.stages(&instance_path).await;
    assert_eq!(stages.len(), 2, "exactly one next stage");
    assert_eq!(stages[1]["status"], "InProgress");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    let (_, instance_path) = app.three_stage_review().await;
    let first = app.stages(&instance_path).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stop = format!("{instance_path}/stages/{first}/stop");
    assert_eq!(app.post(&stop, None).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.post(&stop, None).await.status(), StatusCode::CONFLICT);

    let response = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let route = "/v1.0/identityGovernance/accessReviews/definitions/{definition}/instances/{instance}/stages/{stage}/stop";
    for status in ["204", "409"] {
        let series = format!("route=\"{route}\",status=\"{status}\"");
        assert!(
            text.lines()
                .any(|l| l.starts_with("http_requests_total{") && l.contains(&series)),
            "no {series} in\n{text}"
        );
    }
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let response = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
        assert!(response.headers().contains_key("request-id"));
    }
}

#[tokio::test]
async fn shutdown_finishes_and_stops_listening() {
    let mut app = spawn_app().await;
    let (status, _) = app.get(DEFINITIONS).await;
    assert_eq!(status, StatusCode::OK);

    app.shutdown.take().unwrap().send(()).unwrap();
    app.server.take().unwrap().await.unwrap().unwrap();

    let refused = reqwest::Client::new()
        .get(format!("{}/healthz", app.base))
        .send()
        .await;
    assert!(refused.is_err(), "the port no longer answers");
}

/// The binary as an operator runs it: `migrate`, `token`, and a refusal to
/// start without configuration.
#[tokio::test]
async fn the_binary_migrates_mints_tokens_and_refuses_incomplete_configuration() {
    let binary = env!("CARGO_BIN_EXE_access-reviews");
    let database_url = access_reviews_test_support::fresh_database().await;
    let env = settings(&database_url);

    let migrate = Command::new(binary)
        .arg("migrate")
        .envs(&env)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );

    let token = Command::new(binary)
        .args([
            "token",
            "--scp",
            "AccessReview.Read.All",
            "--wids",
            GOVERNANCE_ADMIN,
        ])
        .envs(&env)
        .output()
        .unwrap();
    assert!(token.status.success());
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();

    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}{DEFINITIONS}", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "a minted token is accepted"
    );

    let refused = Command::new(binary)
        .arg("serve")
        .envs(env.iter().filter(|(k, _)| **k != "AUTH_ISSUER"))
        .env_remove("AUTH_ISSUER")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert_eq!(
        stderr.trim(),
        "error: configuration: AUTH_ISSUER is required but not set"
    );
}

/// The RS256 path without a tenant, as the README shows it: the binary
/// prints the key set of a private key and mints RS256 tokens with it; the
/// service reads the set from a file; a set that is not one stops it with
/// one line.
#[tokio::test]
async fn the_binary_mints_rs256_tokens_that_a_service_with_its_key_set_accepts() {
    let binary = env!("CARGO_BIN_EXE_access-reviews");
    let database_url = access_reviews_test_support::fresh_database().await;
    let dir = std::env::temp_dir().join(format!("rs256-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = access_reviews_test_support::keys::TestKey::generate("unused");
    let private_key = dir.join("key.pem");
    std::fs::write(&private_key, &key.private_pem).unwrap();
    let mut env = settings(&database_url);
    env.remove("AUTH_HS256_SECRET");
    let run = |args: &[&str], env: &HashMap<&str, String>| {
        let output = Command::new(binary)
            .args(args)
            .envs(env)
            .env_remove("AUTH_HS256_SECRET")
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let key_path = private_key.to_str().unwrap();
    let (ok, jwks, stderr) = run(&["token", "--private-key", key_path, "--print-jwks"], &env);
    assert!(ok, "{stderr}");
    let jwks: Value = serde_json::from_str(&jwks).unwrap();
    assert_eq!(jwks["keys"][0]["n"], key.jwk["n"]);
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(kid.len(), 43, "an RFC 7638 thumbprint: {kid}");
    let jwks_file = dir.join("jwks.json");
    std::fs::write(&jwks_file, jwks.to_string()).unwrap();

    let (ok, token, stderr) = run(
        &[
            "token",
            "--private-key",
            key_path,
            "--scp",
            "AccessReview.Read.All",
            "--wids",
            GOVERNANCE_ADMIN,
        ],
        &env,
    );
    assert!(ok, "{stderr}");
    let token = token.trim();
    let header: Value = {
        use base64::Engine as _;
        let first = token.split('.').next().unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(first)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], kid.as_str());

    let app = spawn_on(
        &database_url,
        &[("AUTH_JWKS_FILE", jwks_file.to_str().unwrap())],
    )
    .await;
    let get = |token: String| {
        let request = app
            .client
            .get(format!("{}{DEFINITIONS}", app.base))
            .bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(get(token.to_owned()).await, StatusCode::OK);
    assert_eq!(get(app.admin()).await, StatusCode::OK, "HS256 next to it");

    let not_a_set = dir.join("not-a-set.json");
    std::fs::write(&not_a_set, "<html>").unwrap();
    env.insert("AUTH_JWKS_FILE", not_a_set.to_str().unwrap().to_owned());
    let (ok, _, stderr) = run(&["serve"], &env);
    assert!(!ok);
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("error: AUTH_JWKS_FILE") && stderr.contains("is not a JSON Web Key Set"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The whole review with people: a group of four with an owner and a
/// manager; owners review stage 1, managers stage 2, a fixed auditor
/// stage 3; each stop moves exactly the items its rule lets through.
#[tokio::test]
async fn a_review_with_people_moves_exactly_the_right_items_through_three_stages() {
    use reqwest::Method;

    let app = &spawn_app().await;
    let team = app.group("team").await;
    let [ann, bob, cat, dan, olga, meg, aud] = [
        app.user("ann").await,
        app.user("bob").await,
        app.user("cat").await,
        app.user("dan").await,
        app.user("olga").await,
        app.user("meg").await,
        app.user("aud").await,
    ];
    for member in [&ann, &bob, &cat, &dan] {
        app.reference(
            Method::POST,
            &format!("/v1.0/groups/{team}/members/$ref"),
            member,
        )
        .await;
    }
    app.reference(
        Method::POST,
        &format!("/v1.0/groups/{team}/owners/$ref"),
        &olga,
    )
    .await;
    for report in [&ann, &bob] {
        app.reference(
            Method::PUT,
            &format!("/v1.0/users/{report}/manager/$ref"),
            &meg,
        )
        .await;
    }
    let scope = |query: String| json!({"query": query, "queryType": "MicrosoftGraph"});
    let body = json!({
        "displayName": "Team access, three stages",
        "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                  "query": format!("/groups/{team}/transitiveMembers"), "queryType": "MicrosoftGraph"},
        "stageSettings": [
            {"stageId": "1", "durationInDays": 1, "recommendationsEnabled": false,
             "decisionsThatWillMoveToNextStage": ["Approve", "NotReviewed"],
             "reviewers": [scope(format!("/groups/{team}/owners"))]},
            {"stageId": "2", "dependsOn": ["1"], "durationInDays": 1, "recommendationsEnabled": false,
             "decisionsThatWillMoveToNextStage": ["Approve"],
             "reviewers": [{"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"}]},
            {"stageId": "3", "dependsOn": ["2"], "durationInDays": 1, "recommendationsEnabled": false,
             "reviewers": [scope(format!("/users/{aud}"))]}
        ]
    });
    let created = app.post(DEFINITIONS, Some(body)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let definition: Value = created.json().await.unwrap();
    let definition_path = format!("{DEFINITIONS}/{}", definition["id"].as_str().unwrap());
    let (_, instances) = app.get(&format!("{definition_path}/instances")).await;
    let instance = format!(
        "{definition_path}/instances/{}",
        instances["value"][0]["id"].as_str().unwrap()
    );

    let items = app.get(&format!("{instance}/decisions")).await.1["value"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 4);
    let items = &items;
    let item_of = move |principal: &str| {
        items
            .iter()
            .find(|i| i["principal"]["id"] == principal)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let instance = &instance;
    let current_stage = move || async move {
        let stages = app.stages(instance).await;
        let current = stages.iter().find(|s| s["status"] == "InProgress").unwrap();
        format!("{instance}/stages/{}", current["id"].as_str().unwrap())
    };
    let decide = move |who: &str, stage: &str, principal: &str, decision: &str| {
        let token = app.token_of(who, "AccessReview.ReadWrite.All");
        let path = format!("{stage}/decisions/{}", item_of(principal));
        let body = json!({"decision": decision, "justification": "reviewed"});
        async move {
            app.send_as(Method::PATCH, &path, &token, Some(body))
                .await
                .status()
        }
    };
    let principals_in = |stage: String| async move {
        let (status, body) = app.get(&format!("{stage}/decisions")).await;
        assert_eq!(status, StatusCode::OK);
        let mut ids: Vec<String> = body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["principal"]["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<_>>()
    };

    // Stage 1: the owner decides; others may not.
    let stage1 = current_stage().await;
    assert_eq!(
        decide(&meg, &stage1, &ann, "Approve").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        decide(&ann, &stage1, &ann, "Approve").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        decide(&olga, &stage1, &ann, "Approve").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        decide(&olga, &stage1, &bob, "Approve").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        decide(&olga, &stage1, &cat, "Deny").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.post(&format!("{stage1}/stop"), None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        decide(&olga, &stage1, &dan, "Deny").await,
        StatusCode::CONFLICT,
        "the stopped stage takes no input"
    );

    // Stage 2: Approve and NotReviewed moved (ann, bob, dan); the managers decide.
    let stage2 = current_stage().await;
    assert_eq!(
        principals_in(stage2.clone()).await,
        sorted(vec![&ann, &bob, &dan])
    );
    assert_eq!(
        decide(&olga, &stage2, &ann, "Deny").await,
        StatusCode::FORBIDDEN,
        "owners no longer review"
    );
    assert_eq!(
        decide(&meg, &stage2, &cat, "Approve").await,
        StatusCode::NOT_FOUND,
        "cat stopped in stage 1"
    );
    assert_eq!(
        decide(&meg, &stage2, &dan, "Approve").await,
        StatusCode::FORBIDDEN,
        "not dan's manager"
    );
    assert_eq!(
        decide(&meg, &stage2, &ann, "Approve").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        decide(&meg, &stage2, &bob, "Deny").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.post(&format!("{stage2}/stop"), None).await.status(),
        StatusCode::NO_CONTENT
    );

    // Stage 3: only Approve moved (ann); the auditor decides.
    let stage3 = current_stage().await;
    assert_eq!(principals_in(stage3.clone()).await, vec![ann.clone()]);
    assert_eq!(
        decide(&meg, &stage3, &ann, "Approve").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        decide(&aud, &stage3, &bob, "Approve").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        decide(&aud, &stage3, &ann, "Deny").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.post(&format!("{stage3}/stop"), None).await.status(),
        StatusCode::NO_CONTENT
    );

    let (_, instance_now) = app.get(instance).await;
    assert_eq!(instance_now["status"], "Completed");
    let (_, all) = app.get(&format!("{instance}/decisions")).await;
    let latest: Vec<(String, String, String)> = all["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["principal"]["id"].as_str().unwrap().to_owned(),
                i["decision"].as_str().unwrap().to_owned(),
                i["reviewedBy"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let nobody = "00000000-0000-0000-0000-000000000000".to_owned();
    assert_eq!(
        latest,
        vec![
            (ann.clone(), "Deny".into(), aud.clone()),
            (bob.clone(), "Deny".into(), meg.clone()),
            (cat.clone(), "Deny".into(), olga.clone()),
            (dan.clone(), "NotReviewed".into(), nobody),
        ],
        "every item shows its latest decision from any stage"
    );
    assert_eq!(principals_in(stage1).await.len(), 4);
}

/// `access-reviews healthcheck`, as the compose file's health check runs
/// it: exit 0 against a ready service, 1 with one line when nothing
/// answers.
#[tokio::test]
async fn the_healthcheck_command_tells_whether_the_service_is_ready() {
    let binary = env!("CARGO_BIN_EXE_access-reviews");
    let app = spawn_app().await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let ready = tokio::task::spawn_blocking(move || {
        Command::new(binary)
            .arg("healthcheck")
            .env("LISTEN_ADDR", address)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        ready.status.success(),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );

    // A port that was just free: nothing listens there.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = free.local_addr().unwrap().to_string();
    drop(free);
    let down = tokio::task::spawn_blocking(move || {
        Command::new(binary)
            .arg("healthcheck")
            .env("LISTEN_ADDR", closed)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!down.status.success());
    let stderr = String::from_utf8(down.stderr).unwrap();
    assert!(
        stderr.trim().starts_with("error: cannot connect to"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1);
}

#[tokio::test]
async fn a_throttled_caller_gets_429_and_the_refusal_is_counted() {
    let database_url = access_reviews_test_support::fresh_database().await;
    let app = spawn_on(&database_url, &[("THROTTLE_REQUESTS_PER_10S", "2")]).await;
    let token = app.admin();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = app
            .send_as(reqwest::Method::GET, DEFINITIONS, &token, None)
            .await;
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(response.headers()["retry-after"], "5");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "TooManyRequests");
        }
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("http_requests_throttled_total ") && !l.ends_with(" 0")),
        "{text}"
    );
}

/// `$orderby`, `$count` and the `$filter` forms Graph documents, answered
/// by PostgreSQL: definitions by name and creation, the scope's
/// `contains`, decisions by review time and by recommendation and
/// `applyResult` joined with `and`.
#[tokio::test]
async fn lists_sort_count_and_filter_in_sql_as_graph_documents() {
    use reqwest::Method;

    let app = spawn_app().await;
    let reviewer = app.user("reviewer").await;
    let group = app.group("finance").await;
    for name in ["ann", "bob"] {
        let member = app.user(name).await;
        app.reference(
            Method::POST,
            &format!("/v1.0/groups/{group}/members/$ref"),
            &member,
        )
        .await;
    }
    let mut ids = Vec::new();
    for (name, relation) in [
        ("beta", "transitiveMembers"),
        ("Alpha", "members"),
        ("gamma", "transitiveMembers"),
    ] {
        let body = json!({
            "displayName": name,
            "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                      "query": format!("/groups/{group}/{relation}"), "queryType": "MicrosoftGraph"},
            "reviewers": [{"query": format!("/users/{reviewer}"), "queryType": "MicrosoftGraph"}],
            "settings": {"instanceDurationInDays": 3}
        });
        let created = app.post(DEFINITIONS, Some(body)).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let created: Value = created.json().await.unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let names = |body: &Value| -> Vec<String> {
        body["value"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|d| d["displayName"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, by_name) = app
        .get(&format!(
            "{DEFINITIONS}?$count=true&$orderby=displayName%20desc"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{by_name}");
    assert_eq!(names(&by_name), ["gamma", "beta", "Alpha"]);
    assert_eq!(by_name["@odata.count"], 3);
    let (_, by_creation) = app
        .get(&format!(
            "{DEFINITIONS}?$orderby=createdDateTime%20desc&$top=2"
        ))
        .await;
    assert_eq!(names(&by_creation), ["gamma", "Alpha"]);
    let (_, members) = app
        .get(&format!(
            "{DEFINITIONS}?$filter=contains(scope/microsoft.graph.accessReviewQueryScope/query,%20%27/members%27)"
        ))
        .await;
    assert_eq!(names(&members), ["Alpha"]);

    // Decisions of "beta": the reviewer approves Ann's item.
    let definition = format!("{DEFINITIONS}/{}", ids[0]);
    let (_, instances) = app.get(&format!("{definition}/instances")).await;
    let instance = format!(
        "{definition}/instances/{}",
        instances["value"][0]["id"].as_str().unwrap()
    );
    let (_, items) = app.get(&format!("{instance}/decisions")).await;
    let ann_item = items["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["principal"]["displayName"] == "ann")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let decided = app
        .send_as(
            Method::PATCH,
            &format!("{instance}/decisions/{ann_item}"),
            &app.token_of(&reviewer, "AccessReview.ReadWrite.All"),
            Some(json!({"decision": "Approve", "justification": "needed"})),
        )
        .await;
    assert_eq!(decided.status(), StatusCode::NO_CONTENT);
    let principals = |body: &Value| -> Vec<String> {
        body["value"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|d| d["principal"]["displayName"].as_str().unwrap().to_owned())
            .collect()
    };
    for (query, expected) in [
        ("$orderby=reviewedDateTime%20desc", vec!["ann", "bob"]),
        ("$orderby=reviewedDateTime", vec!["ann", "bob"]),
        (
            "$filter=recommendation%20eq%20%27NoInfoAvailable%27%20and%20applyResult%20eq%20%27New%27&$count=true",
            vec!["ann", "bob"],
        ),
        (
            "$filter=decision%20eq%20%27Approve%27%20and%20applyResult%20eq%20%27New%27",
            vec!["ann"],
        ),
        ("$filter=recommendation%20eq%20%27Deny%27", vec![]),
    ] {
        let (status, body) = app.get(&format!("{instance}/decisions?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        let mut found = principals(&body);
        if !query.starts_with("$orderby") {
            found.sort();
        }
        assert_eq!(found, expected, "{query}");
    }
    let (status, refused) = app
        .get(&format!("{instance}/decisions?$orderby=displayName"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"]["innerError"]["code"], "invalidQueryOption");
}

/// The documented properties the service keeps without acting on them
/// survive PostgreSQL: written with the definition, read back alike.
#[tokio::test]
async fn every_documented_property_survives_the_database() {
    let app = spawn_app().await;
    let reviewer = app.user("reviewer").await;
    let group = app.group("finance").await;
    let body = json!({
        "displayName": "Annotated",
        "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                  "query": format!("/groups/{group}/transitiveMembers"), "queryType": "MicrosoftGraph"},
        "instanceEnumerationScope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                                     "query": format!("/groups/{group}"), "queryType": "MicrosoftGraph"},
        "additionalNotificationRecipients": [{
            "notificationTemplateType": "CompletedAdditionalRecipients",
            "notificationRecipientScope": {
                "@odata.type": "#microsoft.graph.accessReviewNotificationRecipientQueryScope",
                "query": format!("/users/{reviewer}"), "queryType": "MicrosoftGraph"}
        }],
        "stageSettings": [{"stageId": "1", "durationInDays": 2, "recommendationsEnabled": true,
            "recommendationLookBackDuration": "P14D",
            "recommendationInsightSettings": [
                {"@odata.type": "#microsoft.graph.groupPeerOutlierRecommendationInsightSettings"}],
            "reviewers": [{"query": format!("/users/{reviewer}"), "queryType": "MicrosoftGraph"}]}],
        "settings": {
            "instanceDurationInDays": 2,
            "applyActions": [{"@odata.type": "#microsoft.graph.disableAndDeleteUserApplyAction"}],
            "recommendationLookBackDuration": "P30D",
            "recommendationInsightSettings": [
                {"@odata.type": "#microsoft.graph.userLastSignInRecommendationInsightSetting",
                 "recommendationLookBackDuration": "P30D", "signInScope": "application"}]
        }
    });
    let created = app.post(DEFINITIONS, Some(body)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let (_, read) = app
        .get(&format!(
            "{DEFINITIONS}/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    for property in [
        "instanceEnumerationScope",
        "additionalNotificationRecipients",
        "settings",
        "stageSettings",
    ] {
        assert_eq!(read[property], created[property], "{property}");
    }
    assert_eq!(
        read["settings"]["applyActions"][0]["@odata.type"],
        "#microsoft.graph.disableAndDeleteUserApplyAction"
    );
    assert_eq!(
        read["settings"]["recommendationInsightSettings"][0]["signInScope"],
        "application"
    );
    assert_eq!(
        read["stageSettings"][0]["recommendationLookBackDuration"],
        "P14D"
    );
    assert_eq!(
        read["instanceEnumerationScope"]["query"],
        format!("/groups/{group}")
    );
}
