//! The review in time over HTTP: the test clock, instance and definition
//! actions, applying decisions, scheduled starts.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

const CLOCK: &str = "/testing/clock";

fn reader() -> String {
    delegated("AccessReview.Read.All", &[GLOBAL_READER])
}

async fn action(app: &App, path: &str, token: &str) -> Answer {
    app.call(Method::POST, path, Some(token), None).await
}

#[tokio::test]
async fn the_test_clock_answers_its_time_and_moves_forward_only() {
    let app = app();
    let now = app.get(CLOCK, &admin()).await;
    assert_eq!(now.status, StatusCode::OK);
    assert_eq!(now.body, json!({"now": "2026-11-02T09:00:00Z"}));

    let moved = app
        .post(CLOCK, &admin(), json!({"advanceBy": "P3DT1H30M"}))
        .await;
    assert_eq!(moved.status, StatusCode::OK);
    assert_eq!(moved.body, json!({"now": "2026-11-05T10:30:00Z"}));
    assert_eq!(app.get(CLOCK, &admin()).await.body, moved.body);

    for (body, inner) in [
        (json!({"advanceBy": "PT0S"}), "clockNotForward"),
        (json!({"advanceBy": "-P1D"}), "invalidProperty"),
        (json!({"advanceBy": "P1M"}), "invalidProperty"),
        (json!({"advanceBy": 3}), "invalidProperty"),
        (json!({}), "missingProperty"),
    ] {
        let refused = app.post(CLOCK, &admin(), body.clone()).await;
        assert_error(
            &refused,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some(inner),
        );
    }
    assert_eq!(app.get(CLOCK, &admin()).await.body, moved.body);
}

#[tokio::test]
async fn the_test_clock_needs_a_token_that_may_write_access_reviews() {
    let app = app();
    let none = app.call(Method::GET, CLOCK, None, None).await;
    assert_error(
        &none,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        None,
    );
    for token in [
        reader(),
        delegated("AccessReview.ReadWrite.All", &[GLOBAL_READER]),
    ] {
        let refused = app.post(CLOCK, &token, json!({"advanceBy": "P1D"})).await;
        assert_error(&refused, StatusCode::FORBIDDEN, "accessDenied", None);
    }
    assert_eq!(
        app.get(CLOCK, &admin()).await.body["now"],
        "2026-11-02T09:00:00Z"
    );
}

#[tokio::test]
async fn without_the_clock_control_the_clock_routes_are_404() {
    let app = app_with(false);
    assert_error(
        &app.get(CLOCK, &admin()).await,
        StatusCode::NOT_FOUND,
        "itemNotFound",
        None,
    );
    assert_error(
        &app.post(CLOCK, &admin(), json!({"advanceBy": "P1D"})).await,
        StatusCode::NOT_FOUND,
        "itemNotFound",
        None,
    );
}

#[tokio::test]
async fn moving_the_clock_past_a_stage_end_completes_it_before_answering() {
    let app = app();
    let review = app.review(&admin(), 2).await;
    app.post(CLOCK, &admin(), json!({"advanceBy": "P2D"})).await;

    let stages = app
        .get(&format!("{}/stages", review.instance_path), &admin())
        .await;
    let value = stages.body["value"].as_array().unwrap();
    assert_eq!(value.len(), 2);
    assert_eq!(value[0]["status"], "Completed");
    assert_eq!(value[0]["endDateTime"], "2026-11-04T09:00:00Z");
    assert_eq!(value[1]["status"], "InProgress");
    assert_eq!(value[1]["startDateTime"], "2026-11-04T09:00:00Z");
}

#[tokio::test]
async fn an_instance_stops_once_and_its_decisions_apply_once_it_is_completed() {
    let app = app();
    let review = app.review(&admin(), 2).await;
    let path = &review.instance_path;

    let early = action(&app, &format!("{path}/applyDecisions"), &admin()).await;
    assert_error(
        &early,
        StatusCode::CONFLICT,
        "notAllowed",
        Some("instanceNotCompleted"),
    );
    let remind = action(&app, &format!("{path}/sendReminder"), &admin()).await;
    assert_eq!(remind.status, StatusCode::NO_CONTENT);

    let stop = action(&app, &format!("{path}/stop"), &admin()).await;
    assert_eq!(stop.status, StatusCode::NO_CONTENT);
    assert!(stop.raw.is_empty());
    let instance = app.get(path, &admin()).await;
    assert_eq!(instance.body["status"], "Completed");
    let stages = app.get(&format!("{path}/stages"), &admin()).await;
    assert_eq!(stages.body["value"].as_array().unwrap().len(), 1);
    assert_eq!(stages.body["value"][0]["status"], "Completed");

    let again = action(&app, &format!("{path}/stop"), &admin()).await;
    assert_error(
        &again,
        StatusCode::CONFLICT,
        "notAllowed",
        Some("instanceNotInProgress"),
    );
    let remind = action(&app, &format!("{path}/sendReminder"), &admin()).await;
    assert_error(
        &remind,
        StatusCode::CONFLICT,
        "notAllowed",
        Some("instanceNotInProgress"),
    );
    for _ in 0..2 {
        let apply = action(&app, &format!("{path}/applyDecisions"), &admin()).await;
        assert_eq!(apply.status, StatusCode::NO_CONTENT);
    }
}

#[tokio::test]
async fn instance_and_definition_actions_check_rights_and_ids_like_a_stop() {
    let app = app();
    let review = app.review(&admin(), 1).await;
    let path = &review.instance_path;
    for verb in ["stop", "applyDecisions", "sendReminder"] {
        let refused = action(&app, &format!("{path}/{verb}"), &reader()).await;
        assert_error(&refused, StatusCode::FORBIDDEN, "accessDenied", None);
        let unknown = format!(
            "{DEFINITIONS}/{}/instances/6a1f5d0e-0000-4000-8000-000000000000/{verb}",
            review.definition
        );
        assert_error(
            &action(&app, &unknown, &admin()).await,
            StatusCode::NOT_FOUND,
            "itemNotFound",
            None,
        );
        let malformed = format!("{DEFINITIONS}/{}/instances/nope/{verb}", review.definition);
        assert_error(
            &action(&app, &malformed, &admin()).await,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some("invalidId"),
        );
    }
    let definition = format!("{DEFINITIONS}/{}/stop", review.definition);
    assert_error(
        &action(&app, &definition, &reader()).await,
        StatusCode::FORBIDDEN,
        "accessDenied",
        None,
    );
    assert_eq!(
        action(&app, &definition, &admin()).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(path, &admin()).await.body["status"],
        "Completed",
        "the definition's stop ends its instance"
    );
    assert_error(
        &action(&app, &definition, &admin()).await,
        StatusCode::CONFLICT,
        "notAllowed",
        Some("definitionNotInProgress"),
    );
}

#[tokio::test]
async fn a_start_date_in_the_future_creates_a_not_started_definition_without_instances() {
    let app = app();
    let mut body = definition_body(1);
    body["settings"]["recurrence"]["range"]["startDate"] = "2026-11-12T12:02:30.667Z".into();
    let created = app.post(DEFINITIONS, &admin(), body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["status"], "NotStarted");
    assert_eq!(
        created.body["settings"]["recurrence"]["range"]["startDate"], "2026-11-12",
        "a date-time is read as its day"
    );
    let id = created.body["id"].as_str().unwrap();
    let instances = format!("{DEFINITIONS}/{id}/instances");
    assert_eq!(app.get(&instances, &admin()).await.body["value"], json!([]));

    app.post(CLOCK, &admin(), json!({"advanceBy": "P9D"})).await;
    assert_eq!(app.get(&instances, &admin()).await.body["value"], json!([]));
    app.post(CLOCK, &admin(), json!({"advanceBy": "P1D"})).await;
    let started = app.get(&instances, &admin()).await;
    let value: &Vec<Value> = started.body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["startDateTime"], "2026-11-12T00:00:00Z");
    assert_eq!(value[0]["status"], "InProgress");
    assert_eq!(
        app.get(&format!("{DEFINITIONS}/{id}"), &admin()).await.body["status"],
        "InProgress"
    );
}

/// The typed paths parse ids after the permission is checked: a token
/// without the permission learns nothing, not even that an id is
/// malformed; with it, a malformed id is a 400 naming the kind of object.
#[tokio::test]
async fn the_permission_is_checked_before_any_id_is_parsed() {
    let app = app();
    let malformed = format!("{DEFINITIONS}/nope/instances/nope/stages/nope");
    let no_scope = delegated("User.Read.All", &[GLOBAL_ADMIN]);
    for (method, path) in [
        (Method::GET, malformed.clone()),
        (Method::POST, format!("{malformed}/stop")),
        (Method::GET, format!("{malformed}/decisions/nope")),
        (Method::POST, format!("{DEFINITIONS}/nope/stop")),
    ] {
        let refused = app.call(method.clone(), &path, Some(&no_scope), None).await;
        assert_error(&refused, StatusCode::FORBIDDEN, "accessDenied", None);
        let malformed = app.call(method, &path, Some(&admin()), None).await;
        assert_error(
            &malformed,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some("invalidId"),
        );
        assert!(
            malformed.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("access review definition id 'nope'"),
            "{}",
            malformed.body
        );
    }
}

/// Graph's answer to a path it has no resource for: 400 `BadRequest` naming
/// the first segment it cannot resolve; 404 stays for ids that exist not.
#[tokio::test]
async fn unknown_segments_are_named_as_graph_names_them() {
    let app = app();
    let review = app.review(&admin(), 1).await;
    for (path, segment) in [
        (
            format!("{DEFINITIONS}/{}/instancez", review.definition),
            "instancez",
        ),
        (format!("{}/stagez", review.instance_path), "stagez"),
        (format!("{}/stop/now", review.first_stage_path()), "now"),
        (
            "/v1.0/identityGovernance/accessReviewz".to_owned(),
            "accessReviewz",
        ),
        ("/v1.0/me".to_owned(), "me"),
    ] {
        let answer = app.get(&path, &admin()).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "BadRequest", None);
        assert_eq!(
            answer.body["error"]["message"],
            format!("Resource not found for the segment '{segment}'."),
            "{path}"
        );
    }
    let elsewhere = app.get("/nothing/here", &admin()).await;
    assert_error(&elsewhere, StatusCode::NOT_FOUND, "itemNotFound", None);
}
