//! The review in time, end to end: servers with the test clock on, moved
//! forward over HTTP; no sleeps, as moving the clock answers once every
//! transition due has committed.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;

const CLOCK: &str = "/testing/clock";

/// A server with the test clock on and no background scheduler: only the
/// clock's moves run passes, so each test sees exactly what they did.
async fn clocked_app() -> TestApp {
    let database_url = access_reviews_test_support::fresh_database().await;
    spawn_on(
        &database_url,
        &[("CLOCK_CONTROL", "enabled"), ("SCHEDULER", "disabled")],
    )
    .await
}

impl TestApp {
    async fn advance(&self, by: &str) -> Value {
        let response = self.post(CLOCK, Some(json!({"advanceBy": by}))).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn members_of(&self, group: &str) -> Vec<String> {
        let response = self
            .send_as(
                Method::GET,
                &format!("/v1.0/groups/{group}/members"),
                &self.directory_admin(),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        let mut ids: Vec<String> = body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    }

    /// A group with these users as members; returns its id and theirs.
    async fn team(&self, names: &[&str]) -> (String, Vec<String>) {
        let group = self.group("team").await;
        let mut members = Vec::new();
        for name in names {
            let id = self.user(name).await;
            self.reference(
                Method::POST,
                &format!("/v1.0/groups/{group}/members/$ref"),
                &id,
            )
            .await;
            members.push(id);
        }
        (group, members)
    }

    /// Creates a definition; returns its path.
    async fn define(&self, body: Value) -> String {
        let created = self.post(DEFINITIONS, Some(body)).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let definition: Value = created.json().await.unwrap();
        format!("{DEFINITIONS}/{}", definition["id"].as_str().unwrap())
    }

    async fn instances(&self, definition_path: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("{definition_path}/instances")).await;
        assert_eq!(status, StatusCode::OK);
        body["value"].as_array().unwrap().clone()
    }

    /// Records the principal's own decision on its item (self-review).
    async fn decide_own(&self, instance_path: &str, who: &str, decision: &str) {
        let token = self.token_of(who, "AccessReview.ReadWrite.All");
        let body = json!({"decision": decision, "justification": "my own access"});
        let response = self
            .send_as(
                Method::POST,
                &format!("{instance_path}/batchRecordDecisions"),
                &token,
                Some(body),
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
}

fn scope(group: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.accessReviewQueryScope",
           "query": format!("/groups/{group}/transitiveMembers"), "queryType": "MicrosoftGraph"})
}

#[tokio::test]
async fn a_three_stage_review_nobody_stops_runs_to_completed_as_the_clock_passes() {
    let app = clocked_app().await;
    let (team, people) = app.team(&["ann", "bob", "cat"]).await;
    let self_review = |id: &str, days: u32, moving: Value| {
        json!({"stageId": id, "durationInDays": days, "recommendationsEnabled": false,
               "decisionsThatWillMoveToNextStage": moving, "reviewers": []})
    };
    let mut stages = vec![
        self_review("1", 1, json!(["Approve", "NotReviewed"])),
        self_review("2", 2, json!(["Approve"])),
        self_review("3", 3, Value::Null),
    ];
    stages[1]["dependsOn"] = json!(["1"]);
    stages[2]["dependsOn"] = json!(["2"]);
    let definition = app
        .define(
            json!({"displayName": "Nobody stops this", "scope": scope(&team),
                       "stageSettings": stages}),
        )
        .await;
    let instance = format!(
        "{definition}/instances/{}",
        app.instances(&definition).await[0]["id"].as_str().unwrap()
    );
    // Stage 1: ann approves, bob denies, cat does nothing.
    app.decide_own(&instance, &people[0], "Approve").await;
    app.decide_own(&instance, &people[1], "Deny").await;

    let now = app.advance("P1DT1H").await;
    assert!(chrono::DateTime::parse_from_rfc3339(now["now"].as_str().unwrap()).is_ok());
    let stages = app.stages(&instance).await;
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0]["status"], "Completed");
    assert_eq!(stages[1]["startDateTime"], stages[0]["endDateTime"]);
    let (_, moved) = app
        .get(&format!(
            "{instance}/stages/{}/decisions",
            stages[1]["id"].as_str().unwrap()
        ))
        .await;
    let mut moved: Vec<&str> = moved["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["principal"]["id"].as_str().unwrap())
        .collect();
    moved.sort();
    let mut expected = vec![people[0].as_str(), people[2].as_str()];
    expected.sort();
    assert_eq!(moved, expected, "Approve and NotReviewed moved on");

    // One jump over the rest: stages 2 and 3 end one after the other.
    app.advance("P10D").await;
    let stages = app.stages(&instance).await;
    assert_eq!(stages.len(), 3);
    assert!(stages.iter().all(|s| s["status"] == "Completed"));
    let (_, instance_now) = app.get(&instance).await;
    assert_eq!(instance_now["status"], "Completed");
    assert_eq!(instance_now["endDateTime"], stages[2]["endDateTime"]);
    let (_, definition_now) = app.get(&definition).await;
    assert_eq!(definition_now["status"], "Completed");
}

#[tokio::test]
async fn a_review_denying_by_default_removes_the_unreviewed_members_when_it_ends() {
    let app = clocked_app().await;
    let (team, people) = app.team(&["ann", "bob", "cat"]).await;
    let definition = app
        .define(json!({
            "displayName": "Deny unless confirmed",
            "scope": scope(&team),
            "settings": {"instanceDurationInDays": 3, "defaultDecisionEnabled": true,
                         "defaultDecision": "Deny", "autoApplyDecisionsEnabled": true}
        }))
        .await;
    let instance = format!(
        "{definition}/instances/{}",
        app.instances(&definition).await[0]["id"].as_str().unwrap()
    );
    app.decide_own(&instance, &people[0], "Approve").await;

    app.advance("P2D").await;
    assert_eq!(app.members_of(&team).await.len(), 3, "not over yet");
    app.advance("P2D").await;

    assert_eq!(app.members_of(&team).await, vec![people[0].clone()]);
    let (_, items) = app.get(&format!("{instance}/decisions")).await;
    for item in items["value"].as_array().unwrap() {
        assert_eq!(item["applyResult"], "AppliedSuccessfully", "{item}");
        assert_eq!(item["appliedBy"]["displayName"], "Access Reviews");
        assert!(item["appliedDateTime"].is_string());
        if item["principal"]["id"] != people[0].as_str() {
            assert_eq!(item["decision"], "Deny");
            assert_eq!(
                item["reviewedBy"]["id"],
                "00000000-0000-0000-0000-000000000000"
            );
        }
    }
    let again = app.post(&format!("{instance}/applyDecisions"), None).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.members_of(&team).await, vec![people[0].clone()]);
}

#[tokio::test]
async fn a_weekly_review_of_three_occurrences_gives_three_instances_then_completes() {
    let app = clocked_app().await;
    let (team, _) = app.team(&["ann"]).await;
    let (_, clock) = app.get(CLOCK).await;
    let today = &clock["now"].as_str().unwrap()[..10];
    let definition = app
        .define(json!({
            "displayName": "Weekly, three times",
            "scope": scope(&team),
            "settings": {"instanceDurationInDays": 2, "recurrence": {
                "pattern": {"type": "weekly", "interval": 1},
                "range": {"type": "numbered", "numberOfOccurrences": 3, "startDate": today}}}
        }))
        .await;
    assert_eq!(app.instances(&definition).await.len(), 1);
    for _ in 0..5 {
        app.advance("P7D").await;
    }
    let instances = app.instances(&definition).await;
    assert_eq!(instances.len(), 3);
    assert!(instances.iter().all(|i| i["status"] == "Completed"));
    let (_, definition_now) = app.get(&definition).await;
    assert_eq!(definition_now["status"], "Completed");
}

#[tokio::test]
async fn a_definition_starting_in_ten_days_has_no_instance_until_the_clock_passes_its_start() {
    let app = clocked_app().await;
    let (team, _) = app.team(&["ann"]).await;
    let (_, clock) = app.get(CLOCK).await;
    let now = chrono::DateTime::parse_from_rfc3339(clock["now"].as_str().unwrap()).unwrap();
    let start = (now + chrono::Duration::days(10)).date_naive();
    let definition = app
        .define(json!({
            "displayName": "Later",
            "scope": scope(&team),
            "settings": {"recurrence": {"range": {"type": "noEnd", "startDate": format!("{start}T08:00:00Z")}}}
        }))
        .await;
    let (_, created) = app.get(&definition).await;
    assert_eq!(created["status"], "NotStarted");
    assert!(app.instances(&definition).await.is_empty());
    app.advance("P9D").await;
    assert!(app.instances(&definition).await.is_empty());
    app.advance("P1D").await;
    let instances = app.instances(&definition).await;
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0]["startDateTime"], format!("{start}T00:00:00Z"));
    let (_, items) = app
        .get(&format!(
            "{definition}/instances/{}/decisions",
            instances[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(items["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn instance_stop_and_apply_refuse_the_wrong_state_with_409() {
    let app = clocked_app().await;
    let (team, people) = app.team(&["ann", "bob"]).await;
    let definition = app
        .define(json!({"displayName": "Stopped early", "scope": scope(&team)}))
        .await;
    let instance = format!(
        "{definition}/instances/{}",
        app.instances(&definition).await[0]["id"].as_str().unwrap()
    );
    app.decide_own(&instance, &people[1], "Deny").await;
    let code = |response: reqwest::Response| async move {
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        (status, body["error"]["innerError"]["code"].clone())
    };

    let early = app.post(&format!("{instance}/applyDecisions"), None).await;
    assert_eq!(
        code(early).await,
        (StatusCode::CONFLICT, json!("instanceNotCompleted"))
    );
    let stop = app.post(&format!("{instance}/stop"), None).await;
    assert_eq!(stop.status(), StatusCode::NO_CONTENT);
    let again = app.post(&format!("{instance}/stop"), None).await;
    assert_eq!(
        code(again).await,
        (StatusCode::CONFLICT, json!("instanceNotInProgress"))
    );
    let late = app
        .send_as(
            Method::POST,
            &format!("{instance}/batchRecordDecisions"),
            &app.token_of(&people[0], "AccessReview.ReadWrite.All"),
            Some(json!({"decision": "Approve", "justification": "too late"})),
        )
        .await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(app.members_of(&team).await.len(), 2, "nothing applied yet");
    let apply = app.post(&format!("{instance}/applyDecisions"), None).await;
    assert_eq!(apply.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.members_of(&team).await, vec![people[0].clone()]);
}

/// A replica as an operator runs it: the `access-reviews serve` binary,
/// stopped when dropped.
struct Replica {
    child: std::process::Child,
    app: TestApp,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary on a free port; ready once its `listening` log line
/// names the address (the socket is bound by then).
async fn replica(database_url: &str, extra: &[(&'static str, &str)]) -> Replica {
    use std::io::BufRead;

    let mut env = settings(database_url);
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    env.insert("LOG_FORMAT", "json".into());
    env.insert("RUST_LOG", "info".into());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_access-reviews"))
        .arg("serve")
        .envs(&env)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    // Reads the log to its end, so the pipe never fills.
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if entry["fields"]["message"] == "listening" {
                let _ = address_tx.send(entry["fields"]["address"].as_str().unwrap().to_owned());
            }
        }
    });
    let address = tokio::task::spawn_blocking(move || {
        address_rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the replica logs its address")
    })
    .await
    .unwrap();
    let lookup = |name: &str| env.get(name).cloned();
    Replica {
        child,
        app: TestApp {
            base: format!("http://{address}"),
            client: reqwest::Client::new(),
            auth: AuthConfig::from_env(&lookup).unwrap(),
            shutdown: None,
            server: None,
        },
    }
}

/// Two server processes with their schedulers on, over one database: the
/// clock is moved past 50 stage ends through both at once while both
/// background schedulers run; each stage ends exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_database_end_each_of_50_due_stages_exactly_once() {
    let database_url = access_reviews_test_support::fresh_database().await;
    let settings = [
        ("CLOCK_CONTROL", "enabled"),
        ("SCHEDULER", "enabled"),
        ("SCHEDULER_INTERVAL_SECONDS", "1"),
    ];
    let first = replica(&database_url, &settings).await;
    let second = replica(&database_url, &settings).await;
    let (one, two) = (&first.app, &second.app);
    let (team, _) = one.team(&["ann"]).await;
    let stage = |id: &str, depends: Value| {
        json!({"stageId": id, "dependsOn": depends, "durationInDays": 1,
               "recommendationsEnabled": false, "reviewers": []})
    };
    for n in 0..50 {
        let replica = if n % 2 == 0 { one } else { two };
        replica
            .define(
                json!({"displayName": format!("Review {n}"), "scope": scope(&team),
                           "stageSettings": [stage("1", json!([])), stage("2", json!(["1"]))]}),
            )
            .await;
    }

    let (a, b) = tokio::join!(one.advance("PT25H"), two.advance("PT1S"));
    assert!(a["now"].is_string() && b["now"].is_string());
    // Both moves have answered: everything due at the later time has
    // committed, whichever replica's pass (or background scheduler) did it.
    let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT count(*) FROM access_review_stages WHERE stage_key = '1' AND status = 'Completed'").await,
        50
    );
    assert_eq!(
        count("SELECT count(*) FROM access_review_stages WHERE stage_key = '2' AND status = 'InProgress'").await,
        50
    );
    assert_eq!(
        count("SELECT count(*) FROM access_review_audit WHERE action = 'stageStopped'").await,
        50
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM (SELECT stage_id FROM access_review_audit \
             GROUP BY stage_id HAVING count(*) > 1) twice"
        )
        .await,
        0
    );
    pool.close().await;
}
