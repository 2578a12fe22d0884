//! How many statements each request sends to PostgreSQL, counted by the
//! database itself (`pg_stat_statements`, every top-level statement,
//! `BEGIN` and `COMMIT` included): one per read, two per stop of a
//! two-stage review with fixed reviewers.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use crate::{DEFINITIONS, TestApp, spawn_on};

/// Counts the statements the service sends to its database.
struct Counter {
    conn: PgConnection,
}

impl Counter {
    async fn new(database_url: &str) -> Self {
        let mut conn = PgConnection::connect(database_url).await.unwrap();
        sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .execute(&mut conn)
            .await
            .unwrap();
        Self { conn }
    }

    async fn reset(&mut self) {
        sqlx::query(
            "SELECT pg_stat_statements_reset(0, \
             (SELECT oid FROM pg_database WHERE datname = current_database()), 0)",
        )
        .execute(&mut self.conn)
        .await
        .unwrap();
    }

    /// Statements this database ran since the reset, other than this
    /// counter's own.
    async fn statements(&mut self) -> i64 {
        sqlx::query_scalar(
            "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements \
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND query NOT LIKE '%pg_stat_statements%'",
        )
        .fetch_one(&mut self.conn)
        .await
        .unwrap()
    }

    /// Makes the service's sessions count planning too, of the top-level
    /// statements only (`top`) or also of those inside functions (`all`).
    async fn track_planning(&mut self, track: &str) {
        let database: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&mut self.conn)
            .await
            .unwrap();
        for setting in [
            "pg_stat_statements.track_planning = on".to_owned(),
            format!("pg_stat_statements.track = '{track}'"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE \"{database}\" SET {setting}"
            )))
            .execute(&mut self.conn)
            .await
            .unwrap();
        }
    }

    /// Executions and plannings, since the reset, of the statements whose
    /// text is `LIKE` `pattern` (`toplevel`: sent by a client, else run
    /// inside a function).
    async fn plans(&mut self, pattern: &str, toplevel: bool) -> (i64, i64) {
        sqlx::query_as(
            "SELECT coalesce(sum(calls), 0)::bigint, coalesce(sum(plans), 0)::bigint \
             FROM pg_stat_statements \
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND query LIKE $1 AND toplevel = $2 AND query NOT LIKE '%pg_stat_statements%'",
        )
        .bind(pattern)
        .bind(toplevel)
        .fetch_one(&mut self.conn)
        .await
        .unwrap()
    }

    /// The audit records of the successful stops of `stage`.
    async fn stop_records(&mut self, stage: &str) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM directory_audits WHERE activity = 'Stop access review stage' \
             AND result = 'success' AND target_ids @> ARRAY[$1::uuid]",
        )
        .bind(stage)
        .fetch_one(&mut self.conn)
        .await
        .unwrap()
    }

    /// The statements `request` made the service send, and its status.
    async fn count<F: std::future::Future<Output = StatusCode>>(
        &mut self,
        request: F,
    ) -> (i64, StatusCode) {
        self.reset().await;
        let status = request.await;
        (self.statements().await, status)
    }
}

/// The service's connections to `database_url`.
async fn connections(database_url: &str) -> i64 {
    let mut conn = PgConnection::connect(database_url).await.unwrap();
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    // Less the counter's own.
    n - 1
}

async fn get(app: &TestApp, path: String) -> StatusCode {
    app.get(&path).await.0
}

/// A two-stage review of a group of two, reviewed by a fixed user.
struct Review {
    reviewer: String,
    group: String,
    definition: String,
    instance: String,
    stage: String,
    item: String,
}

async fn review(app: &TestApp) -> Review {
    let reviewer = app.user("reviewer").await;
    let group = app.group("finance").await;
    for name in ["ann", "bob"] {
        let member = app.user(name).await;
        app.reference(
            reqwest::Method::POST,
            &format!("/v1.0/groups/{group}/members/$ref"),
            &member,
        )
        .await;
    }
    let stage = |id: &str, depends_on: &[&str]| {
        json!({"stageId": id, "dependsOn": depends_on, "durationInDays": 2,
               "recommendationsEnabled": false,
               "reviewers": [{"query": format!("/users/{reviewer}"), "queryType": "MicrosoftGraph"}]})
    };
    let body = json!({
        "displayName": "Two stages",
        "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                  "query": format!("/groups/{group}/transitiveMembers"), "queryType": "MicrosoftGraph"},
        "stageSettings": [stage("1", &[]), stage("2", &["1"])],
        "settings": {"instanceDurationInDays": 4}
    });
    let created = app.post(DEFINITIONS, Some(body)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let definition: Value = created.json().await.unwrap();
    let definition = format!("{DEFINITIONS}/{}", definition["id"].as_str().unwrap());
    let (_, instances) = app.get(&format!("{definition}/instances")).await;
    let instance = format!(
        "{definition}/instances/{}",
        instances["value"][0]["id"].as_str().unwrap()
    );
    let stage = format!(
        "{instance}/stages/{}",
        app.stages(&instance).await[0]["id"].as_str().unwrap()
    );
    let (_, items) = app.get(&format!("{instance}/decisions")).await;
    let item = items["value"][0]["id"].as_str().unwrap().to_owned();
    Review {
        reviewer,
        group,
        definition,
        instance,
        stage,
        item,
    }
}

#[tokio::test]
async fn a_read_is_one_statement_and_a_stop_two() {
    let database_url = access_reviews_test_support::fresh_database().await;
    // No scheduler: its passes would be counted too.
    let app = spawn_on(&database_url, &[("SCHEDULER", "disabled")]).await;
    let mut counter = Counter::new(&database_url).await;
    let Review {
        reviewer,
        group,
        definition,
        instance,
        stage,
        item,
    } = review(&app).await;

    let reads = [
        DEFINITIONS.to_owned(),
        definition.clone(),
        format!("{definition}/instances"),
        instance.clone(),
        format!("{instance}/stages"),
        stage.clone(),
        format!("{instance}/decisions"),
        format!("{instance}/decisions/{item}"),
        format!("{stage}/decisions"),
        format!("{stage}/decisions/{item}"),
        format!("{stage}/decisions?$filter=decision eq 'NotReviewed'"),
    ];
    for path in reads {
        // Twice: the first use of a pooled connection prepares statements.
        for _ in 0..2 {
            let (statements, status) = counter.count(get(&app, path.clone())).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(statements, 1, "GET {path}");
        }
    }

    // The reviewer's own: filterByCurrentUser, and the rights of a caller
    // without a read role (it may read because it reviews).
    let token = app.token_of(&reviewer, "AccessReview.ReadWrite.All");
    let mine = "filterByCurrentUser(on='reviewer')";
    let as_reviewer = [
        format!("{DEFINITIONS}/{mine}"),
        format!("{definition}/instances/{mine}"),
        format!("{instance}/stages/{mine}"),
        format!("{instance}/decisions/{mine}"),
        format!("{stage}/decisions/{mine}"),
        instance.clone(),
        stage.clone(),
        format!("{stage}/decisions/{item}"),
    ];
    for path in as_reviewer {
        let request = async {
            app.send_as(reqwest::Method::GET, &path, &token, None)
                .await
                .status()
        };
        let (statements, status) = counter.count(request).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(statements, 1, "GET {path} as the reviewer");
    }

    // `$count=true` adds one counting statement, and counts in SQL what
    // the list selects, past the page too.
    for (path, expected) in [
        (DEFINITIONS.to_owned(), 1),
        (format!("{definition}/instances"), 1),
        (format!("{instance}/stages"), 1),
        (format!("{instance}/decisions"), 2),
        (
            format!("{stage}/decisions?$filter=decision eq 'NotReviewed'"),
            2,
        ),
        ("/v1.0/users".to_owned(), 3),
        ("/v1.0/groups".to_owned(), 1),
        (format!("/v1.0/groups/{group}/members"), 2),
    ] {
        let join = if path.contains('?') { '&' } else { '?' };
        let counted = format!("{path}{join}$count=true&$top=1");
        let token = app.directory_admin();
        let admin = app.admin();
        let token = if path.starts_with("/v1.0/users") || path.starts_with("/v1.0/groups") {
            token
        } else {
            admin
        };
        let _ = app
            .send_as(reqwest::Method::GET, &counted, &token, None)
            .await;
        let request = async {
            let response = app
                .send_as(reqwest::Method::GET, &counted, &token, None)
                .await;
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["@odata.count"], expected, "{counted}: {body}");
            status
        };
        let (statements, status) = counter.count(request).await;
        assert_eq!(status, StatusCode::OK, "{counted}");
        let plain = format!("{path}{join}$top=1");
        let (uncounted, _) = counter
            .count(async {
                app.send_as(reqwest::Method::GET, &plain, &token, None)
                    .await
                    .status()
            })
            .await;
        assert_eq!(
            statements,
            uncounted + 1,
            "GET {counted}: one statement more"
        );
        let past_the_end = format!("{counted}&$skip=5");
        let response = app
            .send_as(reqwest::Method::GET, &past_the_end, &token, None)
            .await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["@odata.count"], expected, "{past_the_end}: {body}");
        let segment = app
            .send_as(
                reqwest::Method::GET,
                &format!(
                    "{}/$count{}",
                    path.split('?').next().unwrap(),
                    path.find('?').map_or("", |at| &path[at..])
                ),
                &token,
                None,
            )
            .await;
        assert_eq!(
            segment.text().await.unwrap(),
            expected.to_string(),
            "{path}/$count"
        );
    }

    let (statements, status) = counter
        .count(async { app.post(&format!("{stage}/stop"), None).await.status() })
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        statements, 2,
        "a stop reads once and writes once, its audit record with the write"
    );
    assert_eq!(
        counter
            .stop_records(stage.rsplit('/').next().unwrap())
            .await,
        1,
        "the stop's record was written"
    );
    // The stop did all it should: the second stage runs, with the items.
    let stages = app.stages(&instance).await;
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[1]["status"], "InProgress");
    let (_, moved) = app
        .get(&format!(
            "{instance}/stages/{}/decisions",
            stages[1]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(moved["value"].as_array().unwrap().len(), 2);
}

/// A read by id runs a statement PostgreSQL prepared once per connection:
/// were it planned at every execution (as a parameter that decides the
/// plan makes it), planning would cost several times the read itself.
#[tokio::test]
async fn a_read_by_id_is_not_planned_at_every_request() {
    let database_url = access_reviews_test_support::fresh_database().await;
    let mut counter = Counter::new(&database_url).await;
    counter.track_planning("top").await;
    let app = spawn_on(&database_url, &[("SCHEDULER", "disabled")]).await;
    let Review {
        reviewer,
        instance,
        stage,
        item,
        definition,
        ..
    } = review(&app).await;
    let as_reviewer = app.token_of(&reviewer, "AccessReview.ReadWrite.All");
    let admin = app.admin();
    let connections = || connections(&database_url);
    // PostgreSQL plans a prepared statement up to six times on a
    // connection before it keeps a plan; the pool's idle connections take
    // turns, so each may plan it that often (twice, to allow one
    // invalidation).
    let requests = 24 * connections().await;
    for (path, token) in [
        (definition.clone(), &admin),
        (instance.clone(), &admin),
        (stage.clone(), &admin),
        (format!("{instance}/decisions/{item}"), &admin),
        (format!("{stage}/decisions/{item}"), &admin),
        (instance.clone(), &as_reviewer),
        (format!("{stage}/decisions/{item}"), &as_reviewer),
    ] {
        counter.reset().await;
        for _ in 0..requests {
            let response = app.send_as(reqwest::Method::GET, &path, token, None).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
        let (calls, plans) = counter.plans("%", true).await;
        assert_eq!(calls, requests, "GET {path}: one statement each");
        let connections = connections().await;
        assert!(
            plans <= 12 * connections && plans <= requests / 2,
            "GET {path}: planned {plans} times in {calls} executions on {connections} connections"
        );
    }
}
