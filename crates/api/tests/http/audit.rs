//! The audit log: every access review write recorded with its outcome,
//! read back as Graph's `directoryAudits`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

const AUDITS: &str = "/v1.0/auditLogs/directoryAudits";
const SECURITY_READER: &str = "5d6b6bb7-de71-4623-b4af-96380a352509";
const REPORTS_READER: &str = "4a5d8f65-41da-4de4-8968-e035b65339cf";

fn auditor() -> String {
    delegated("AuditLog.Read.All", &[REPORTS_READER])
}

async fn audits(app: &App, query: &str) -> Vec<Value> {
    let answer = app.get(&format!("{AUDITS}{query}"), &auditor()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["value"].as_array().unwrap().clone()
}

async fn stop_with_correlation(app: &App, stage_path: &str, token: &str, id: Uuid) -> Answer {
    let request = Request::post(format!("{stage_path}/stop"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("client-request-id", id.to_string())
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn a_stop_its_refusals_and_the_creation_are_recorded_as_graph_shows_them() {
    let app = app();
    let admin_oid = Uuid::new_v4().to_string();
    let admin = delegated_as(
        &admin_oid,
        "AccessReview.ReadWrite.All",
        &[GOVERNANCE_ADMIN],
    );
    let review = app.review(&admin, 2).await;
    let stage = review.first_stage_path();
    let stage_id = review.first_stage.clone().unwrap();
    let instance_id = review.instance_path.rsplit('/').next().unwrap().to_owned();

    let correlation = Uuid::new_v4();
    let stopped = stop_with_correlation(&app, &stage, &admin, correlation).await;
    assert_eq!(stopped.status, StatusCode::NO_CONTENT);
    let again = stop_with_correlation(&app, &stage, &admin, Uuid::new_v4()).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let no_role = delegated("AccessReview.ReadWrite.All", &[]);
    let forbidden = app.stop(&stage, &no_role).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    // Reads and unauthenticated writes leave no record.
    assert_eq!(app.get(&stage, &admin).await.status, StatusCode::OK);
    let anonymous = app
        .call(Method::POST, &format!("{stage}/stop"), None, None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let records = audits(&app, "").await;
    let activities: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r["activityDisplayName"].as_str().unwrap(),
                r["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        activities,
        [
            ("Stop access review stage", "failure"),
            ("Stop access review stage", "failure"),
            ("Stop access review stage", "success"),
            ("Create access review", "success"),
        ],
        "newest first"
    );

    let success = &records[2];
    let id = success["id"].as_str().unwrap();
    assert_eq!(
        success,
        &json!({
            "id": id,
            "category": "Policy",
            "correlationId": correlation.to_string(),
            "result": "success",
            "resultReason": "",
            "activityDisplayName": "Stop access review stage",
            "activityDateTime": success["activityDateTime"],
            "loggedByService": "Access Reviews",
            "operationType": "Update",
            "initiatedBy": {
                "user": {
                    "id": admin_oid,
                    "displayName": "Ada Lovelace",
                    "userPrincipalName": "ada@example.test",
                    "ipAddress": null
                },
                "app": null
            },
            "targetResources": [
                {"id": review.definition, "displayName": null, "type": "accessReviewScheduleDefinition",
                 "userPrincipalName": null, "groupType": null, "modifiedProperties": []},
                {"id": instance_id, "displayName": null, "type": "accessReviewInstance",
                 "userPrincipalName": null, "groupType": null, "modifiedProperties": []},
                {"id": stage_id, "displayName": null, "type": "accessReviewStage",
                 "userPrincipalName": null, "groupType": null, "modifiedProperties": []}
            ],
            "additionalDetails": [{"key": "httpStatus", "value": "204"}]
        })
    );
    assert!(success["activityDateTime"].as_str().unwrap().ends_with('Z'));

    let conflict = &records[1];
    assert_eq!(
        conflict["resultReason"],
        error_of(&again)["message"],
        "the reason is what the caller was told"
    );
    assert_eq!(conflict["additionalDetails"][0]["value"], "409");
    let refused = &records[0];
    assert_eq!(refused["resultReason"], error_of(&forbidden)["message"]);
    assert_eq!(
        refused["correlationId"],
        forbidden.headers["request-id"].to_str().unwrap(),
        "without a client-request-id, the request-id"
    );

    let created = &records[3];
    assert_eq!(created["operationType"], "Add");
    assert_eq!(
        created["targetResources"][0]["id"],
        review.definition.as_str()
    );

    let one = app.get(&format!("{AUDITS}/{id}"), &auditor()).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(
        one.body["@odata.context"],
        "http://reviews.example.test/v1.0/$metadata#auditLogs/directoryAudits/$entity"
    );
    let mut without_context = one.body.clone();
    without_context
        .as_object_mut()
        .unwrap()
        .remove("@odata.context");
    assert_eq!(&without_context, success);
}

#[tokio::test]
async fn an_application_s_writes_name_the_app_and_refused_decisions_are_recorded() {
    let app = app();
    let service = application(&["AccessReview.ReadWrite.All"]);
    let review = app.review(&service, 1).await;
    let reviewer = delegated_as(STAGE_ONE_REVIEWER, "AccessReview.ReadWrite.All", &[]);
    let batch = app
        .post(
            &format!("{}/batchRecordDecisions", review.first_stage_path()),
            &reviewer,
            json!({"decision": "Approve", "justification": "still needed"}),
        )
        .await;
    // The scope group has no members: the reviewer reviews nothing, and the
    // refused batch is recorded as a failure.
    assert_eq!(batch.status, StatusCode::FORBIDDEN, "{}", batch.body);

    let records = audits(&app, "").await;
    let creation = records.last().unwrap();
    assert_eq!(creation["initiatedBy"]["user"], Value::Null);
    assert!(creation["initiatedBy"]["app"]["servicePrincipalId"].is_string());
    let decision = &records[0];
    assert_eq!(
        decision["activityDisplayName"],
        "Record access review decisions"
    );
    assert_eq!(decision["category"], "UserManagement");
    assert_eq!(decision["result"], "failure");
    assert_eq!(decision["resultReason"], error_of(&batch)["message"]);
    assert_eq!(decision["initiatedBy"]["user"]["id"], STAGE_ONE_REVIEWER);
}

#[tokio::test]
async fn the_log_filters_pages_and_orders_as_graph_documents() {
    let app = app();
    let first = app.review(&admin(), 1).await;
    let second = app.review(&admin(), 1).await;
    assert_eq!(
        app.stop(&first.first_stage_path(), &admin()).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.stop(&second.first_stage_path(), &admin()).await.status,
        StatusCode::NO_CONTENT
    );

    let encode = |f: &str| f.replace(' ', "%20").replace('\'', "%27");
    let filtered = |filter: &str| {
        let query = format!("?$filter={}", encode(filter));
        let app = &app;
        async move { audits(app, &query).await }
    };
    assert_eq!(
        filtered("activityDisplayName eq 'Stop access review stage'")
            .await
            .len(),
        2
    );
    assert_eq!(filtered("category eq 'Policy'").await.len(), 4);
    assert_eq!(
        filtered("loggedByService eq 'Access Reviews'").await.len(),
        4
    );
    assert_eq!(
        filtered("loggedByService eq 'Core Directory'").await.len(),
        0
    );
    let about_first = filtered(&format!(
        "targetResources/any(t: t/id eq '{}')",
        first.definition
    ))
    .await;
    assert_eq!(about_first.len(), 2);
    assert_eq!(
        filtered(&format!(
            "targetResources/any(x:x/id eq '{}') and activityDisplayName eq 'Create access review'",
            second.definition
        ))
        .await
        .len(),
        1
    );
    assert_eq!(
        filtered("activityDateTime ge 2000-01-01T00:00:00Z")
            .await
            .len(),
        4
    );
    assert_eq!(
        filtered("activityDateTime le 2000-01-01T00:00:00Z")
            .await
            .len(),
        0
    );

    let newest = audits(&app, "").await;
    let oldest = audits(&app, "?$orderby=activityDateTime%20asc").await;
    let ids = |v: &[Value]| v.iter().map(|r| r["id"].clone()).collect::<Vec<_>>();
    let mut reversed = ids(&oldest);
    reversed.reverse();
    assert_eq!(ids(&newest), reversed);

    let page = app.get(&format!("{AUDITS}?$top=3"), &auditor()).await;
    assert_eq!(page.body["value"].as_array().unwrap().len(), 3);
    let next = page.body["@odata.nextLink"].as_str().unwrap();
    let next = next.strip_prefix("http://reviews.example.test").unwrap();
    let rest = app.get(next, &auditor()).await;
    assert_eq!(rest.body["value"].as_array().unwrap().len(), 1);
    assert!(rest.body.get("@odata.nextLink").is_none());

    for (query, needle) in [
        ("?$filter=result%20eq%20%27failure%27", "is not supported"),
        (
            "?$filter=activityDateTime%20ge%20yesterday",
            "not a date and time",
        ),
        (
            "?$filter=targetResources/any(t:%20t/id%20eq%20%27nope%27)",
            "not a GUID",
        ),
        (
            "?$orderby=category",
            "$orderby supports only activityDateTime",
        ),
        ("?$select=id", "not supported here"),
        ("?$top=0", "$top"),
    ] {
        let answer = app.get(&format!("{AUDITS}{query}"), &auditor()).await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some("invalidQueryOption"),
        );
        assert!(
            error_of(&answer)["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{query}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn reading_the_log_needs_the_permission_and_a_role_and_nothing_changes_it() {
    let app = app();
    app.review(&admin(), 1).await;
    for (case, token, status) in [
        ("reports reader", auditor(), StatusCode::OK),
        (
            "security reader",
            delegated("AuditLog.Read.All", &[SECURITY_READER]),
            StatusCode::OK,
        ),
        (
            "global reader",
            delegated("AuditLog.Read.All", &[GLOBAL_READER]),
            StatusCode::OK,
        ),
        (
            "application",
            application(&["AuditLog.Read.All"]),
            StatusCode::OK,
        ),
        (
            "no role",
            delegated("AuditLog.Read.All", &[]),
            StatusCode::FORBIDDEN,
        ),
        (
            "governance admin without a role that reads logs",
            delegated("AuditLog.Read.All", &[GOVERNANCE_ADMIN]),
            StatusCode::FORBIDDEN,
        ),
        (
            "no AuditLog.Read.All",
            delegated(
                "AccessReview.ReadWrite.All Directory.Read.All",
                &[GLOBAL_ADMIN],
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            "application without the role",
            application(&["AccessReview.Read.All"]),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let answer = app.get(AUDITS, &token).await;
        assert_eq!(answer.status, status, "{case}: {}", answer.body);
    }
    let records = audits(&app, "").await;
    let id = records[0]["id"].as_str().unwrap();
    for method in [Method::PATCH, Method::PUT, Method::DELETE] {
        let answer = app
            .call(
                method.clone(),
                &format!("{AUDITS}/{id}"),
                Some(&admin()),
                Some(json!({})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
    assert_eq!(audits(&app, "").await, records, "unchanged");
    let missing = app
        .get(&format!("{AUDITS}/{}", Uuid::new_v4()), &auditor())
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "itemNotFound", None);
    let malformed = app.get(&format!("{AUDITS}/nope"), &auditor()).await;
    assert_error(
        &malformed,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidId"),
    );
}
