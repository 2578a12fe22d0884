//! Access reviews over HTTP: every status, header and error body a client
//! can see.

use access_reviews_domain::testing::Outage;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

// ------------------------------------------------------------ happy path

#[tokio::test]
async fn creating_a_definition_answers_201_with_graphs_shape_and_a_location() {
    let app = app();
    let answer = app.post(DEFINITIONS, &admin(), definition_body(2)).await;

    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let id = answer.body["id"].as_str().unwrap();
    assert_eq!(
        answer.headers.get(header::LOCATION).unwrap(),
        &format!("http://reviews.example.test{DEFINITIONS}/{id}")
    );
    let body = &answer.body;
    assert_eq!(
        body["@odata.context"],
        "http://reviews.example.test/v1.0/$metadata#identityGovernance/accessReviews/definitions/$entity"
    );
    assert_eq!(body["displayName"], "Group multi-stage access review");
    assert_eq!(body["status"], "InProgress");
    assert_eq!(body["createdDateTime"], "2026-11-02T09:00:00Z");
    assert_eq!(body["createdBy"]["displayName"], "Ada Lovelace");
    assert_eq!(body["createdBy"]["userPrincipalName"], "ada@example.test");
    assert_eq!(
        body["scope"]["@odata.type"],
        "#microsoft.graph.accessReviewQueryScope"
    );
    assert_eq!(
        body["stageSettings"],
        json!([
            {"stageId": "1", "dependsOn": [], "durationInDays": 2, "recommendationsEnabled": false,
             "decisionsThatWillMoveToNextStage": ["NotReviewed", "Approve"],
             "reviewers": [{"query": "/users/398164b1-5196-49dd-ada2-364b49f99b27", "queryType": "MicrosoftGraph", "queryRoot": null}],
             "fallbackReviewers": [],
             "recommendationLookBackDuration": null, "recommendationInsightSettings": []},
            {"stageId": "2", "dependsOn": ["1"], "durationInDays": 3, "recommendationsEnabled": true,
             "decisionsThatWillMoveToNextStage": null,
             "reviewers": [{"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"}],
             "fallbackReviewers": [],
             "recommendationLookBackDuration": null, "recommendationInsightSettings": []}
        ])
    );
    assert_eq!(body["settings"]["mailNotificationsEnabled"], true);
    assert_eq!(body["settings"]["instanceDurationInDays"], 4);
    assert_eq!(
        body["settings"]["recurrence"],
        json!({"pattern": {"type": "weekly", "interval": 1, "month": 0, "dayOfMonth": 0,
                           "daysOfWeek": [], "firstDayOfWeek": "sunday", "index": "first"},
               "range": {"type": "noEnd", "numberOfOccurrences": 0, "recurrenceTimeZone": null,
                         "startDate": "2026-11-02", "endDate": "9999-12-31"}})
    );

    let read = app.get(&format!("{DEFINITIONS}/{id}"), &admin()).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, answer.body, "GET shows what POST returned");
}

#[tokio::test]
async fn a_new_review_has_one_instance_and_only_its_first_stage() {
    let app = app();
    let review = app.review(&admin(), 3).await;

    let instance = app.get(&review.instance_path, &admin()).await;
    assert_eq!(instance.status, StatusCode::OK);
    assert_eq!(instance.body["status"], "InProgress");
    assert_eq!(instance.body["startDateTime"], "2026-11-02T09:00:00Z");
    assert_eq!(
        instance.body["endDateTime"], "2026-11-08T09:00:00Z",
        "2 + 3 + 1 days"
    );
    assert!(
        instance.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with(&format!(
                "definitions('{}')/instances/$entity",
                review.definition
            ))
    );

    let stages = app
        .get(&format!("{}/stages", review.instance_path), &admin())
        .await;
    assert_eq!(stages.status, StatusCode::OK);
    let value = stages.body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["status"], "InProgress");
    assert_eq!(value[0]["startDateTime"], "2026-11-02T09:00:00Z");
    assert_eq!(value[0]["endDateTime"], "2026-11-04T09:00:00Z");
    assert!(stages.body.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn stopping_a_stage_answers_204_with_no_body_and_the_next_get_shows_the_change() {
    let app = app();
    let review = app.review(&admin(), 2).await;

    let answer = app.stop(&review.first_stage_path(), &admin()).await;

    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(answer.raw.is_empty());
    assert!(answer.headers.get(header::CONTENT_TYPE).is_none());
    let stage = app.get(&review.first_stage_path(), &admin()).await;
    assert_eq!(stage.body["status"], "Completed");
    let in_progress = app
        .get(
            &format!(
                "{}/stages?$filter=status%20eq%20'InProgress'",
                review.instance_path
            ),
            &admin(),
        )
        .await;
    let value = in_progress.body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert_ne!(value[0]["id"], stage.body["id"]);
    assert_eq!(app.repo.audit().len(), 1);
}

#[tokio::test]
async fn stopping_the_last_stage_completes_the_instance() {
    let app = app();
    let review = app.review(&admin(), 1).await;
    assert_eq!(
        app.stop(&review.first_stage_path(), &admin()).await.status,
        StatusCode::NO_CONTENT
    );
    let instance = app.get(&review.instance_path, &admin()).await;
    assert_eq!(instance.body["status"], "Completed");
}

#[tokio::test]
async fn stop_accepts_an_empty_json_body_as_graph_clients_send_it() {
    let app = app();
    let review = app.review(&admin(), 2).await;
    let answer = app
        .call(
            Method::POST,
            &format!("{}/stop", review.first_stage_path()),
            Some(&admin()),
            Some(json!({})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
}

// ---------------------------------------------------------------- errors

#[tokio::test]
async fn a_second_stop_is_409_not_allowed_stage_not_in_progress() {
    let app = app();
    let review = app.review(&admin(), 2).await;
    app.stop(&review.first_stage_path(), &admin()).await;

    let answer = app.stop(&review.first_stage_path(), &admin()).await;

    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        error_of(&answer),
        json!({
            "code": "notAllowed",
            "message": "The access review stage is Completed; only a stage that is InProgress can be stopped.",
            "innerError": {"code": "stageNotInProgress"}
        })
    );
    assert_eq!(app.repo.audit().len(), 1, "nothing more was written");
}

#[tokio::test]
async fn a_path_id_that_is_not_a_guid_is_400_invalid_id() {
    let app = app();
    let review = app.review(&admin(), 1).await;
    let cases = [
        (
            format!(
                "{DEFINITIONS}/not-a-guid/instances/{}/stages/{}/stop",
                Uuid::new_v4(),
                Uuid::new_v4()
            ),
            "The access review definition id 'not-a-guid' is not a valid GUID.",
        ),
        (
            format!("{}/stages/123/stop", review.instance_path),
            "The access review stage id '123' is not a valid GUID.",
        ),
    ];
    for (path, message) in cases {
        let answer = app.call(Method::POST, &path, Some(&admin()), None).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            error_of(&answer),
            json!({"code": "invalidRequest", "message": message, "innerError": {"code": "invalidId"}})
        );
    }
    let answer = app
        .get(&format!("{DEFINITIONS}/xyz/instances"), &admin())
        .await;
    assert_error(
        &answer,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidId"),
    );
}

#[tokio::test]
async fn unknown_objects_and_objects_under_the_wrong_parent_are_404() {
    let app = app();
    let review = app.review(&admin(), 1).await;
    let other = app.review(&admin(), 1).await;
    let stage = review.first_stage.clone().unwrap();

    let unknown_stage = review.stage_path(&Uuid::new_v4().to_string());
    let stage_of_other_instance = other.stage_path(&stage);
    let instance_of_other_definition = format!(
        "{DEFINITIONS}/{}/instances/{}",
        other.definition,
        review.instance_path.rsplit('/').next().unwrap()
    );
    for path in [
        format!("{unknown_stage}/stop"),
        format!("{stage_of_other_instance}/stop"),
        format!("{instance_of_other_definition}/stages/{stage}/stop"),
        format!(
            "{DEFINITIONS}/{}/instances/{}/stages/{stage}/stop",
            Uuid::new_v4(),
            Uuid::new_v4()
        ),
    ] {
        let answer = app.call(Method::POST, &path, Some(&admin()), None).await;
        assert_error(&answer, StatusCode::NOT_FOUND, "itemNotFound", None);
    }
    for path in [
        unknown_stage,
        format!("{DEFINITIONS}/{}", Uuid::new_v4()),
        instance_of_other_definition,
    ] {
        let answer = app.get(&path, &admin()).await;
        assert_error(&answer, StatusCode::NOT_FOUND, "itemNotFound", None);
    }
    // A path Graph has no resource for is Graph's 400, not a 404.
    let answer = app.get("/v1.0/nowhere", &admin()).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "BadRequest", None);
    assert!(app.repo.audit().is_empty());
}

#[tokio::test]
async fn an_unsupported_method_is_405_with_allow() {
    let app = app();
    let review = app.review(&admin(), 1).await;
    let stop = format!("{}/stop", review.first_stage_path());

    for (method, path, allow) in [
        (Method::GET, stop.clone(), "POST"),
        (Method::DELETE, stop, "POST"),
        (Method::PUT, review.first_stage_path(), "GET,HEAD,PATCH"),
        (Method::PUT, DEFINITIONS.to_owned(), "GET,HEAD,POST"),
    ] {
        let answer = app.call(method.clone(), &path, Some(&admin()), None).await;
        assert_error(
            &answer,
            StatusCode::METHOD_NOT_ALLOWED,
            "methodNotAllowed",
            None,
        );
        assert_eq!(
            answer.headers.get(header::ALLOW).unwrap(),
            allow,
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn a_body_over_1_mib_is_413_and_nothing_is_created() {
    let app = app();
    let mut body = definition_body(1);
    body["descriptionForAdmins"] = "x".repeat(1024 * 1024).into();
    let answer = app.post(DEFINITIONS, &admin(), body).await;
    assert_error(
        &answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "requestTooLarge",
        None,
    );
    let list = app.get(DEFINITIONS, &admin()).await;
    assert_eq!(list.body["value"], json!([]));
}

#[tokio::test]
async fn an_unreachable_store_is_503_with_retry_after() {
    let app = app();
    app.repo.fail(Outage::Unavailable);
    let answer = app.get(DEFINITIONS, &admin()).await;
    assert_error(
        &answer,
        StatusCode::SERVICE_UNAVAILABLE,
        "serviceNotAvailable",
        None,
    );
    assert!(answer.headers.get(header::RETRY_AFTER).is_some());
}

#[tokio::test]
async fn a_broken_store_is_500_without_internal_detail() {
    let app = app();
    app.repo.fail(Outage::Broken);
    let answer = app.post(DEFINITIONS, &admin(), definition_body(1)).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        error_of(&answer),
        json!({"code": "generalException", "message": "An unexpected error occurred.", "innerError": {}})
    );
    assert!(!String::from_utf8_lossy(&answer.raw).contains("secret_internal_table"));
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_the_client_request_id() {
    let app = app();
    let request = Request::get(DEFINITIONS)
        .header(header::AUTHORIZATION, format!("Bearer {}", admin()))
        .header("client-request-id", "7d1d5c1e-0000-4000-8000-00000000abcd")
        .body(Body::empty())
        .unwrap();
    let ok = app.send(request).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(Uuid::parse_str(ok.headers["request-id"].to_str().unwrap()).is_ok());
    assert_eq!(
        ok.headers["client-request-id"],
        "7d1d5c1e-0000-4000-8000-00000000abcd"
    );

    let request = Request::get(format!("{DEFINITIONS}/{}", Uuid::new_v4()))
        .header(header::AUTHORIZATION, format!("Bearer {}", admin()))
        .header("client-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    let missing = app.send(request).await;
    assert_eq!(
        missing.body["error"]["innerError"]["client-request-id"],
        "abc-123"
    );
    assert_eq!(missing.headers["client-request-id"], "abc-123");
    assert_ne!(missing.headers["request-id"], ok.headers["request-id"]);
}

// ------------------------------------------------------------ validation

#[tokio::test]
async fn each_validation_rule_is_a_400_naming_the_field_and_writes_nothing() {
    let app = app();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut body = definition_body(3);
        edit(&mut body);
        body
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("displayName");
            }),
            "missingProperty",
            "'displayName'",
        ),
        (
            with(&|b| b["displayName"] = "   ".into()),
            "invalidProperty",
            "'displayName'",
        ),
        (
            with(&|b| b["displayName"] = 42.into()),
            "invalidProperty",
            "'displayName'",
        ),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("scope");
            }),
            "missingProperty",
            "'scope'",
        ),
        (
            with(&|b| {
                b["scope"].as_object_mut().unwrap().remove("query");
            }),
            "missingProperty",
            "'scope.query'",
        ),
        (
            with(&|b| {
                b["scope"]["@odata.type"] =
                    "#microsoft.graph.principalResourceMembershipsScope".into()
            }),
            "invalidProperty",
            "'scope.@odata.type'",
        ),
        (
            with(&|b| {
                b["stageSettings"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"stageId": "4", "dependsOn": ["3"], "durationInDays": 1}))
            }),
            "invalidProperty",
            "'stageSettings'",
        ),
        (
            with(&|b| b["stageSettings"][2]["stageId"] = "2".into()),
            "invalidProperty",
            "'stageSettings[2].stageId'",
        ),
        (
            with(&|b| b["stageSettings"][0]["dependsOn"] = json!(["2"])),
            "invalidProperty",
            "'stageSettings[0].dependsOn'",
        ),
        (
            with(&|b| b["stageSettings"][2]["dependsOn"] = json!(["1"])),
            "invalidProperty",
            "'stageSettings[2].dependsOn'",
        ),
        (
            with(&|b| {
                b["stageSettings"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("dependsOn");
            }),
            "invalidProperty",
            "'stageSettings[1].dependsOn'",
        ),
        (
            with(&|b| {
                b["stageSettings"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("stageId");
            }),
            "missingProperty",
            "'stageSettings[1].stageId'",
        ),
        (
            with(&|b| b["stageSettings"][1]["durationInDays"] = 0.into()),
            "invalidProperty",
            "'stageSettings[1].durationInDays'",
        ),
        (
            with(&|b| {
                b["stageSettings"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("durationInDays");
            }),
            "missingProperty",
            "'stageSettings[1].durationInDays'",
        ),
        (
            with(&|b| b["stageSettings"][1]["durationInDays"] = "two".into()),
            "invalidProperty",
            "'stageSettings[1].durationInDays'",
        ),
        (
            with(&|b| {
                b["stageSettings"][0]["decisionsThatWillMoveToNextStage"] =
                    json!(["Approve", "DontKnow"])
            }),
            "invalidProperty",
            "'stageSettings[0].decisionsThatWillMoveToNextStage'",
        ),
        (
            with(&|b| b["settings"]["instanceDurationInDays"] = 0.into()),
            "invalidProperty",
            "'settings.instanceDurationInDays'",
        ),
        (
            with(&|b| b["settings"]["recurrence"]["range"]["startDate"] = "2-11-2026".into()),
            "invalidProperty",
            "'settings.recurrence.range.startDate'",
        ),
        (
            with(&|b| b["settings"]["defaultDecision"] = "Maybe".into()),
            "invalidProperty",
            "'settings.defaultDecision'",
        ),
        (
            with(&|b| b["settings"]["recurrence"]["pattern"]["type"] = "daily".into()),
            "invalidProperty",
            "'settings.recurrence.pattern.type'",
        ),
        (
            with(&|b| b["settings"]["recurrence"]["pattern"]["interval"] = 0.into()),
            "invalidProperty",
            "'settings.recurrence.pattern.interval'",
        ),
        (
            with(&|b| b["settings"]["recurrence"]["pattern"]["dayOfMonth"] = 32.into()),
            "invalidProperty",
            "'settings.recurrence.pattern.dayOfMonth'",
        ),
        (
            with(&|b| b["settings"]["recurrence"]["range"]["type"] = "forever".into()),
            "invalidProperty",
            "'settings.recurrence.range.type'",
        ),
        (
            with(&|b| {
                b["settings"]["recurrence"]["range"]["type"] = "numbered".into();
                b["settings"]["recurrence"]["range"]["numberOfOccurrences"] = 0.into();
            }),
            "invalidProperty",
            "'settings.recurrence.range.numberOfOccurrences'",
        ),
        (
            with(&|b| {
                b["settings"]["recurrence"]["range"]["type"] = "endDate".into();
                b["settings"]["recurrence"]["range"]["endDate"] = "2026-11-01".into();
            }),
            "invalidProperty",
            "'settings.recurrence.range.endDate'",
        ),
        (
            with(&|b| b["settings"]["recurrence"]["range"]["type"] = "endDate".into()),
            "missingProperty",
            "'settings.recurrence.range.endDate'",
        ),
        (
            with(&|b| b["stageSettings"][1]["durationInDays"] = 6.into()),
            "invalidProperty",
            "'stageSettings'",
        ),
        (json!([1, 2]), "invalidJson", "JSON object"),
    ];
    for (body, inner, mention) in cases {
        let answer = app.post(DEFINITIONS, &admin(), body.clone()).await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some(inner),
        );
        let message = answer.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(mention),
            "{message} should mention {mention}; body {body}"
        );
    }

    let request = Request::post(DEFINITIONS)
        .header(header::AUTHORIZATION, format!("Bearer {}", admin()))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"displayName\": "))
        .unwrap();
    let answer = app.send(request).await;
    assert_error(
        &answer,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidJson"),
    );

    assert_eq!(
        app.get(DEFINITIONS, &admin()).await.body["value"],
        json!([]),
        "nothing was written"
    );
}

#[tokio::test]
async fn unknown_graph_properties_are_accepted_and_ignored() {
    let app = app();
    let mut body = definition_body(1);
    body["instanceEnumerationScope"] = json!(null);
    body["settings"]["applyActions"] = json!([]);
    body["stageSettings"][0]["recommendationInsightSettings"] = json!([]);
    assert_eq!(
        app.post(DEFINITIONS, &admin(), body).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn query_options_filter_page_and_select_or_are_refused() {
    let app = app();
    for _ in 0..3 {
        app.review(&admin(), 1).await;
    }

    let first = app
        .get(&format!("{DEFINITIONS}?$top=2&$select=id,status"), &admin())
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let value = first.body["value"].as_array().unwrap();
    assert_eq!(value.len(), 2);
    assert_eq!(
        value[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "status"]
    );
    let next = first.body["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with(
        "http://reviews.example.test/v1.0/identityGovernance/accessReviews/definitions?"
    ));
    let next_path = next.trim_start_matches("http://reviews.example.test");
    let second = app.get(next_path, &admin()).await;
    assert_eq!(second.body["value"].as_array().unwrap().len(), 1);
    assert!(second.body.get("@odata.nextLink").is_none());
    assert_eq!(
        second.body["value"][0].as_object().unwrap().len(),
        2,
        "$select carried over"
    );

    let completed = app
        .get(
            &format!("{DEFINITIONS}?$filter=status%20eq%20'Completed'"),
            &admin(),
        )
        .await;
    assert_eq!(completed.body["value"], json!([]));

    for bad in [
        "$top=0",
        "$top=1000",
        "$skip=-3",
        "$filter=status eq 'Done'",
        "$filter=displayName eq 'x'",
        "$orderby=status",
        "$select=nope",
        "$expand=instances",
        "$count=maybe",
    ] {
        let answer = app
            .get(
                &format!("{DEFINITIONS}?{}", bad.replace(' ', "%20")),
                &admin(),
            )
            .await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some("invalidQueryOption"),
        );
    }
    let single = app
        .get(
            &format!("{DEFINITIONS}/{}?$top=1", Uuid::new_v4()),
            &admin(),
        )
        .await;
    assert_error(
        &single,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidQueryOption"),
    );
}

// ------------------------------------------------------ authentication

#[tokio::test]
async fn requests_without_a_valid_token_are_401_with_www_authenticate() {
    let app = app();
    let signed = |edit: &dyn Fn(&mut Value)| {
        let mut claims = base_claims();
        claims["scp"] = "AccessReview.ReadWrite.All".into();
        claims["oid"] = Uuid::new_v4().to_string().into();
        claims["wids"] = json!([GLOBAL_ADMIN]);
        edit(&mut claims);
        sign(&claims)
    };
    let unsigned = {
        use base64_free::encode_url;
        let header = encode_url(br#"{"alg":"none","typ":"JWT"}"#);
        let mut claims = base_claims();
        claims["scp"] = "AccessReview.ReadWrite.All".into();
        claims["oid"] = Uuid::new_v4().to_string().into();
        format!("{header}.{}.", encode_url(claims.to_string().as_bytes()))
    };
    let wrong_key = encode(
        &Header::default(),
        &{
            let mut c = base_claims();
            c["scp"] = "AccessReview.ReadWrite.All".into();
            c["oid"] = Uuid::new_v4().to_string().into();
            c
        },
        &EncodingKey::from_secret(b"another-secret").unwrap(),
    )
    .unwrap();
    let hs512 = encode(
        &Header::new(jsonwebtoken::Algorithm::HS512),
        &{
            let mut c = base_claims();
            c["scp"] = "AccessReview.ReadWrite.All".into();
            c["oid"] = Uuid::new_v4().to_string().into();
            c
        },
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap();

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("not bearer", Some("Basic dXNlcjpwYXNz".to_owned())),
        ("empty bearer", Some("Bearer ".to_owned())),
        ("garbage", Some("Bearer not.a.jwt".to_owned())),
        ("alg none", Some(format!("Bearer {unsigned}"))),
        ("wrong key", Some(format!("Bearer {wrong_key}"))),
        ("other algorithm", Some(format!("Bearer {hs512}"))),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                signed(&|c| c["exp"] = (now() - 120).into())
            )),
        ),
        (
            "no exp",
            Some(format!(
                "Bearer {}",
                signed(&|c| {
                    c.as_object_mut().unwrap().remove("exp");
                })
            )),
        ),
        (
            "not yet valid",
            Some(format!(
                "Bearer {}",
                signed(&|c| c["nbf"] = (now() + 600).into())
            )),
        ),
        (
            "wrong issuer",
            Some(format!(
                "Bearer {}",
                signed(&|c| c["iss"] = "https://evil.example".into())
            )),
        ),
        (
            "wrong audience",
            Some(format!(
                "Bearer {}",
                signed(&|c| c["aud"] = "api://other".into())
            )),
        ),
        (
            "audience array without ours",
            Some(format!(
                "Bearer {}",
                signed(&|c| c["aud"] = json!(["api://a", "api://b"]))
            )),
        ),
        (
            "oid not a guid",
            Some(format!("Bearer {}", signed(&|c| c["oid"] = "bob".into()))),
        ),
        (
            "no oid",
            Some(format!(
                "Bearer {}",
                signed(&|c| {
                    c.as_object_mut().unwrap().remove("oid");
                })
            )),
        ),
    ];
    for (case, authorization) in cases {
        let mut request = Request::get(DEFINITIONS);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let answer = app.send(request.body(Body::empty()).unwrap()).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(answer.headers[header::WWW_AUTHENTICATE], "Bearer", "{case}");
        assert_eq!(
            error_of(&answer)["code"],
            "InvalidAuthenticationToken",
            "{case}"
        );
    }

    // Within the 60 s leeway, and with our audience among several: accepted.
    for (case, token) in [
        (
            "expired 30 s ago",
            signed(&|c| c["exp"] = (now() - 30).into()),
        ),
        ("valid in 30 s", signed(&|c| c["nbf"] = (now() + 30).into())),
        (
            "audience array",
            signed(&|c| c["aud"] = json!(["api://a", AUDIENCE])),
        ),
    ] {
        assert_eq!(
            app.get(DEFINITIONS, &token).await.status,
            StatusCode::OK,
            "{case}"
        );
    }
}

/// Just enough base64url to forge an unsigned token.
mod base64_free {
    pub fn encode_url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

// --------------------------------------------------------- permissions

#[tokio::test]
async fn permission_rules_for_stopping_a_stage() {
    let app = app();
    let creator_oid = Uuid::new_v4().to_string();
    let creator_token = delegated_as(&creator_oid, "AccessReview.ReadWrite.All", &[GLOBAL_ADMIN]);
    let review = app.review(&creator_token, 3).await;
    let current_stage = || async {
        let stages = app
            .get(
                &format!(
                    "{}/stages?$filter=status eq 'InProgress'",
                    review.instance_path
                )
                .replace(' ', "%20"),
                &admin(),
            )
            .await;
        review.stage_path(stages.body["value"][0]["id"].as_str().unwrap())
    };

    let refused = [
        (
            "delegated without the scope",
            delegated("User.Read", &[GLOBAL_ADMIN]),
        ),
        (
            "read scope on a write",
            delegated("AccessReview.Read.All", &[GLOBAL_ADMIN]),
        ),
        (
            "write scope, read-only role, not creator",
            delegated(
                "AccessReview.ReadWrite.All",
                &[GLOBAL_READER, SECURITY_ADMIN],
            ),
        ),
        (
            "write scope, unrelated role, not creator",
            delegated("AccessReview.ReadWrite.All", &[GROUPS_ADMIN]),
        ),
        (
            "write scope, no role, not creator",
            delegated("AccessReview.ReadWrite.All", &[]),
        ),
        (
            "creator with only the read scope",
            delegated_as(&creator_oid, "AccessReview.Read.All", &[]),
        ),
        (
            "application without the role",
            application(&["AccessReview.Read.All"]),
        ),
        ("application with no roles", application(&[])),
    ];
    let stage = current_stage().await;
    for (case, token) in &refused {
        let answer = app.stop(&stage, token).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{case}");
        assert_error(&answer, StatusCode::FORBIDDEN, "accessDenied", None);
    }
    assert!(app.repo.audit().is_empty(), "refused stops write nothing");

    let allowed = [
        (
            "creator without a role",
            delegated_as(&creator_oid, "AccessReview.ReadWrite.All", &[]),
        ),
        (
            "application with the role",
            application(&["AccessReview.ReadWrite.All"]),
        ),
        (
            "write role",
            delegated("AccessReview.ReadWrite.All", &[GOVERNANCE_ADMIN]),
        ),
    ];
    for (case, token) in &allowed {
        let stage = current_stage().await;
        assert_eq!(
            app.stop(&stage, token).await.status,
            StatusCode::NO_CONTENT,
            "{case}"
        );
    }
}

#[tokio::test]
async fn the_scope_is_checked_before_anything_is_looked_up() {
    let app = app();
    let nowhere = format!(
        "{DEFINITIONS}/{}/instances/{}/stages/{}/stop",
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4()
    );
    let answer = app
        .stop(
            nowhere.trim_end_matches("/stop"),
            &delegated("AccessReview.Read.All", &[GLOBAL_ADMIN]),
        )
        .await;
    assert_error(&answer, StatusCode::FORBIDDEN, "accessDenied", None);
    let answer = app
        .get(
            &format!("{DEFINITIONS}/{}", Uuid::new_v4()),
            &delegated("Directory.Read.All", &[GLOBAL_ADMIN]),
        )
        .await;
    assert_error(&answer, StatusCode::FORBIDDEN, "accessDenied", None);
    // With the permission, the same missing object is a 404.
    let answer = app.stop(nowhere.trim_end_matches("/stop"), &admin()).await;
    assert_error(&answer, StatusCode::NOT_FOUND, "itemNotFound", None);
}

#[tokio::test]
async fn permission_rules_for_creating_and_reading() {
    let app = app();
    for (case, token) in [
        (
            "read scope",
            delegated("AccessReview.Read.All", &[GLOBAL_ADMIN]),
        ),
        (
            "reader role",
            delegated("AccessReview.ReadWrite.All", &[GLOBAL_READER]),
        ),
        ("no role", delegated("AccessReview.ReadWrite.All", &[])),
        (
            "application with read role",
            application(&["AccessReview.Read.All"]),
        ),
    ] {
        let answer = app.post(DEFINITIONS, &token, definition_body(1)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{case}");
    }
    assert_eq!(
        app.post(
            DEFINITIONS,
            &application(&["AccessReview.ReadWrite.All"]),
            definition_body(1)
        )
        .await
        .status,
        StatusCode::CREATED
    );

    let creator_oid = Uuid::new_v4().to_string();
    let review = app
        .review(
            &delegated_as(
                &creator_oid,
                "AccessReview.ReadWrite.All",
                &[GOVERNANCE_ADMIN],
            ),
            1,
        )
        .await;
    let definition_path = format!("{DEFINITIONS}/{}", review.definition);
    for (case, token, status) in [
        (
            "reader role",
            delegated("AccessReview.Read.All", &[GLOBAL_READER]),
            StatusCode::OK,
        ),
        (
            "creator without role",
            delegated_as(&creator_oid, "AccessReview.Read.All", &[]),
            StatusCode::OK,
        ),
        (
            "application with read role",
            application(&["AccessReview.Read.All"]),
            StatusCode::OK,
        ),
        (
            "stranger without role",
            delegated("AccessReview.Read.All", &[]),
            StatusCode::FORBIDDEN,
        ),
        (
            "application without role",
            application(&[]),
            StatusCode::FORBIDDEN,
        ),
    ] {
        for path in [
            &definition_path,
            &review.instance_path,
            &review.first_stage_path(),
        ] {
            assert_eq!(app.get(path, &token).await.status, status, "{case} {path}");
        }
    }
    // A stranger's list holds only what it created: nothing.
    let list = app
        .get(DEFINITIONS, &delegated("AccessReview.Read.All", &[]))
        .await;
    assert_eq!(list.body["value"], json!([]));
}

#[tokio::test]
async fn every_error_situation_has_its_exact_graph_body() {
    let app = app();
    let review = app.review(&admin(), 1).await;
    let unknown_stage = Uuid::new_v4();
    let no_token = app.call(Method::GET, DEFINITIONS, None, None).await;
    let no_scope = app.get(DEFINITIONS, &delegated("User.Read", &[])).await;
    let no_role = app
        .stop(
            &review.first_stage_path(),
            &delegated("AccessReview.ReadWrite.All", &[]),
        )
        .await;
    let missing = app
        .stop(&review.stage_path(&unknown_stage.to_string()), &admin())
        .await;
    let method = app
        .call(Method::DELETE, DEFINITIONS, Some(&admin()), None)
        .await;
    let mut big = definition_body(1);
    big["descriptionForAdmins"] = "x".repeat(1024 * 1024).into();
    let too_large = app.post(DEFINITIONS, &admin(), big).await;
    let cases = [
        (
            no_token,
            StatusCode::UNAUTHORIZED,
            json!({"code": "InvalidAuthenticationToken",
            "message": "The Authorization header is missing.", "innerError": {}}),
        ),
        (
            no_scope,
            StatusCode::FORBIDDEN,
            json!({"code": "accessDenied",
            "message": "The token lacks a scope this operation needs: one of AccessReview.Read.All, AccessReview.ReadWrite.All.",
            "innerError": {}}),
        ),
        (
            no_role,
            StatusCode::FORBIDDEN,
            json!({"code": "accessDenied",
            "message": "Stopping a stage needs a directory role that may manage access reviews, or being the review's creator.",
            "innerError": {}}),
        ),
        (
            missing,
            StatusCode::NOT_FOUND,
            json!({"code": "itemNotFound",
            "message": format!("The access review stage {unknown_stage} was not found under that instance."),
            "innerError": {}}),
        ),
        (
            method,
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"code": "methodNotAllowed",
            "message": "The HTTP method is not supported on this resource.", "innerError": {}}),
        ),
        (
            too_large,
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"code": "requestTooLarge",
            "message": "The request body exceeds the limit of 1 MiB.", "innerError": {}}),
        ),
    ];
    for (answer, status, body) in cases {
        assert_eq!(answer.status, status);
        assert_eq!(error_of(&answer), body);
    }
    app.repo.fail(Outage::Unavailable);
    let unavailable = app.get(DEFINITIONS, &admin()).await;
    assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        error_of(&unavailable),
        json!({"code": "serviceNotAvailable", "message": "The service is temporarily unavailable. Retry later.", "innerError": {}})
    );
    assert_eq!(unavailable.headers[header::RETRY_AFTER], "5");
}

/// The OpenAPI document names only routes that exist: each of its
/// operations reaches a handler (a 401 for want of a token under `/v1.0`,
/// never a 404 or 405).
#[tokio::test]
async fn every_documented_operation_is_routed_and_the_document_is_served() {
    let app = app();
    let operations = access_reviews_api::openapi::operations();
    assert!(operations.len() > 30);
    for operation in &operations {
        let path: String = operation
            .path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    Uuid::new_v4().to_string()
                } else {
                    segment.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(operation.method.to_uppercase().as_bytes()).unwrap();
        let answer = app.call(method.clone(), &path, None, None).await;
        if operation.secured {
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        } else {
            assert!(
                answer.status.is_success(),
                "{method} {path}: {}",
                answer.status
            );
        }
    }

    let document = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(document.body["openapi"], "3.1.0");
    let stop = "/v1.0/identityGovernance/accessReviews/definitions/{definition}/instances/{instance}/stages/{stage}/stop";
    assert_eq!(
        document.body["paths"][stop]["post"]["operationId"],
        "stopStage"
    );
    assert!(document.body["paths"][stop]["post"]["responses"]["204"].is_object());

    let metrics = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert_eq!(
        metrics.headers[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(String::from_utf8(metrics.raw).unwrap(), METRICS_TEXT);
}

/// The document's schemas are the wire types': every `$ref` resolves, and
/// the properties of each object a client reads are exactly those of its
/// schema.
#[tokio::test]
async fn the_document_s_schemas_are_the_answers_shapes() {
    let app = app();
    let document = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .body;
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    assert!(refs.len() > 20);
    for r in &refs {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(schemas.contains_key(name), "{r} does not resolve");
    }
    let review = app.review(&admin(), 2).await;
    let definition = app
        .get(&format!("{DEFINITIONS}/{}", review.definition), &admin())
        .await
        .body;
    let instance = app.get(&review.instance_path, &admin()).await.body;
    let stage = app.get(&review.first_stage_path(), &admin()).await.body;
    for (body, schema) in [
        (definition, "accessReviewScheduleDefinition"),
        (instance, "accessReviewInstance"),
        (stage, "accessReviewStage"),
    ] {
        let mut keys: Vec<&String> = body
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !k.starts_with("@odata.context"))
            .collect();
        keys.sort();
        let mut properties: Vec<&String> = schemas[schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{schema}: {}", schemas[schema]))
            .keys()
            .collect();
        properties.sort();
        assert_eq!(keys, properties, "{schema}");
    }
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(r)) => refs.push(r.clone()),
                    _ => collect_refs(inner, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}
