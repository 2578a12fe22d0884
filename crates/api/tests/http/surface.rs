//! The rest of Graph's access review operations: deleting a definition.

use axum::http::{Method, StatusCode};
use uuid::Uuid;

use crate::common::*;

async fn delete(app: &App, path: &str, token: &str) -> Answer {
    app.call(Method::DELETE, path, Some(token), None).await
}

#[tokio::test]
async fn deleting_a_definition_removes_it_and_all_below_it_and_is_audited() {
    let app = app();
    let gone = app.review(&admin(), 2).await;
    let kept = app.review(&admin(), 2).await;
    let definition = format!("{DEFINITIONS}/{}", gone.definition);

    let refused = delete(
        &app,
        &definition,
        &delegated("AccessReview.ReadWrite.All", &[]),
    )
    .await;
    assert_error(&refused, StatusCode::FORBIDDEN, "accessDenied", None);
    let reader = delegated("AccessReview.Read.All", &[GLOBAL_ADMIN]);
    assert_eq!(
        delete(&app, &definition, &reader).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&definition, &admin()).await.status,
        StatusCode::OK,
        "still there"
    );

    let deleted = delete(&app, &definition, &admin()).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.raw.is_empty());
    for path in [
        definition.clone(),
        gone.instance_path.clone(),
        gone.first_stage_path(),
        format!("{}/decisions", gone.instance_path),
    ] {
        let answer = app.get(&path, &admin()).await;
        assert_error(&answer, StatusCode::NOT_FOUND, "itemNotFound", None);
    }
    assert_eq!(
        app.get(&kept.first_stage_path(), &admin()).await.status,
        StatusCode::OK,
        "another review is untouched"
    );
    let listed = app.get(DEFINITIONS, &admin()).await;
    let ids: Vec<_> = listed.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [kept.definition.as_str()]);

    let again = delete(&app, &definition, &admin()).await;
    assert_error(&again, StatusCode::NOT_FOUND, "itemNotFound", None);
    let malformed = delete(&app, &format!("{DEFINITIONS}/nope"), &admin()).await;
    assert_error(
        &malformed,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidId"),
    );

    // The creator may delete their own review without a directory role.
    let creator_oid = Uuid::new_v4().to_string();
    let creator = delegated_as(
        &creator_oid,
        "AccessReview.ReadWrite.All",
        &[GOVERNANCE_ADMIN],
    );
    let own = app.review(&creator, 1).await;
    let creator_without_role = delegated_as(&creator_oid, "AccessReview.ReadWrite.All", &[]);
    let own_path = format!("{DEFINITIONS}/{}", own.definition);
    assert_eq!(
        delete(&app, &own_path, &creator_without_role).await.status,
        StatusCode::NO_CONTENT
    );

    let auditor = delegated("AuditLog.Read.All", &[GLOBAL_READER]);
    let audits = app
        .get(
            "/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20%27Delete%20access%20review%27",
            &auditor,
        )
        .await;
    let results: Vec<_> = audits.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["result"].as_str().unwrap(),
                r["operationType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("success", "Delete"),
            ("failure", "Delete"),
            ("failure", "Delete"),
            ("success", "Delete"),
            ("failure", "Delete"),
            ("failure", "Delete"),
        ],
        "newest first: the creator's delete, the malformed id, the second delete's 404, \
         the first delete, the two refusals"
    );
}
