//! End to end: the real server on a free port, a real PostgreSQL in a
//! container, called over HTTP as a Graph client would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::process::Command;

use access_reviews_server::Application;
use access_reviews_server::config::{AuthConfig, ServeConfig};
use access_reviews_server::token::{TokenRequest, mint};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

const DEFINITIONS: &str = "/v1.0/identityGovernance/accessReviews/definitions";
const GOVERNANCE_ADMIN: &str = "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e";

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

struct TestApp {
    base: String,
    client: reqwest::Client,
    auth: AuthConfig,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

async fn spawn_app() -> TestApp {
    let database_url = access_reviews_test_support::fresh_database().await;
    let env = settings(&database_url);
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
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.admin());
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
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
        let stage = |id: &str, depends_on: &[&str]| {
            json!({"stageId": id, "dependsOn": depends_on, "durationInDays": 2,
                   "recommendationsEnabled": false,
                   "reviewers": [{"query": "/users/398164b1-5196-49dd-ada2-364b49f99b27", "queryType": "MicrosoftGraph"}]})
        };
        let body = json!({
            "displayName": "Quarterly finance review",
            "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                      "query": "/groups/02f3bafb-448c-487c-88c2-5fd65ce49a41/transitiveMembers",
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
