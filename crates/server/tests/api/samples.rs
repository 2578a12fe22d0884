//! Graph's own multi-stage sample, end to end: created as its page sends
//! it (its ids standing for objects of this directory), listed and counted
//! as an SDK asks, found by its reviewer, decided, and read back from the
//! review history's CSV.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{DEFINITIONS, TestApp, spawn_app};

const HISTORY: &str = "/v1.0/identityGovernance/accessReviews/historyDefinitions";

fn sample(name: &str) -> String {
    let path = format!(
        "{}/../api/tests/fixtures/graph/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn json_of(app: &TestApp, method: Method, path: &str, token: &str) -> (StatusCode, Value) {
    let response = app.send_as(method, path, token, None).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn graph_s_multi_stage_sample_is_listed_found_decided_and_reported() {
    let app = &spawn_app().await;
    let [reviewer, ann, bob, meg, fred] = [
        app.user("rita").await,
        app.user("ann").await,
        app.user("bob").await,
        app.user("meg").await,
        app.user("fred").await,
    ];
    let team = app.group("team").await;
    let fallback = app.group("fallback").await;
    for (group, member) in [(&team, &ann), (&team, &bob), (&fallback, &fred)] {
        app.reference(
            Method::POST,
            &format!("/v1.0/groups/{group}/members/$ref"),
            member,
        )
        .await;
    }
    for report in [&ann, &bob] {
        app.reference(
            Method::PUT,
            &format!("/v1.0/users/{report}/manager/$ref"),
            &meg,
        )
        .await;
    }
    // The page's group, reviewer and fallback group are this directory's.
    let body = sample("create-definition-4.request.json")
        .replace("02f3bafb-448c-487c-88c2-5fd65ce49a41", &team)
        .replace("398164b1-5196-49dd-ada2-364b49f99b27", &reviewer)
        .replace("072ac5f4-3f13-4088-ab30-0a276f3e6322", &fallback);
    let created = app
        .client
        .post(format!("{}{DEFINITIONS}", app.base))
        .bearer_auth(app.admin())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let definition: Value = created.json().await.unwrap();
    assert_eq!(definition["displayName"], "Group Multi-stage Access Review");
    let definition_path = format!("{DEFINITIONS}/{}", definition["id"].as_str().unwrap());
    let other = app
        .post(
            DEFINITIONS,
            Some(json!({
                "displayName": "Another review",
                "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                          "query": format!("/groups/{team}/transitiveMembers"),
                          "queryType": "MicrosoftGraph"},
                "reviewers": [{"query": format!("/users/{meg}"), "queryType": "MicrosoftGraph"}],
                "settings": {"instanceDurationInDays": 3}
            })),
        )
        .await;
    assert_eq!(other.status(), StatusCode::CREATED);

    // Listed as the SDKs ask: counted, by name, last first.
    let (status, listed) = app
        .get(&format!(
            "{DEFINITIONS}?$count=true&$orderby=displayName%20desc"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["@odata.count"], 2);
    let names: Vec<_> = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Group Multi-stage Access Review", "Another review"]);

    // Its first stage's reviewer finds it, and only it.
    let rita = app.token_of(&reviewer, "AccessReview.ReadWrite.All");
    let mine = "filterByCurrentUser(on='reviewer')";
    let (status, definitions) =
        json_of(app, Method::GET, &format!("{DEFINITIONS}/{mine}"), &rita).await;
    assert_eq!(status, StatusCode::OK, "{definitions}");
    assert_eq!(definitions["value"].as_array().unwrap().len(), 1);
    assert_eq!(definitions["value"][0]["id"], definition["id"]);
    let (status, instances) = json_of(
        app,
        Method::GET,
        &format!("{definition_path}/instances/{mine}"),
        &rita,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{instances}");
    let instances = instances["value"].as_array().unwrap();
    assert_eq!(instances.len(), 1);
    let instance_path = format!(
        "{definition_path}/instances/{}",
        instances[0]["id"].as_str().unwrap()
    );
    let (_, bob_sees) = json_of(
        app,
        Method::GET,
        &format!("{definition_path}/instances/{mine}"),
        &app.token_of(&bob, "AccessReview.ReadWrite.All"),
    )
    .await;
    assert_eq!(bob_sees["value"].as_array().unwrap().len(), 0);

    // Rita keeps Ann and removes Bob.
    let (_, items) = json_of(
        app,
        Method::GET,
        &format!("{instance_path}/decisions/{mine}"),
        &rita,
    )
    .await;
    let items = items["value"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    for item in &items {
        let principal = item["principal"]["id"].as_str().unwrap();
        let (decision, why) = if principal == ann {
            ("Approve", "still on the team")
        } else {
            ("Deny", "moved on")
        };
        let answer = app
            .send_as(
                Method::PATCH,
                &format!("{instance_path}/decisions/{}", item["id"].as_str().unwrap()),
                &rita,
                Some(json!({"decision": decision, "justification": why})),
            )
            .await;
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    }

    // The review history's report holds both decisions, and the other
    // review's two undecided items.
    let history = app
        .post(
            HISTORY,
            Some(json!({
                "displayName": "Team reviews",
                "reviewHistoryPeriodStartDateTime": "2020-01-01T00:00:00Z",
                "reviewHistoryPeriodEndDateTime": "2100-01-01T00:00:00Z",
                "scopes": [{"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                            "queryType": "MicrosoftGraph",
                            "query": format!("/identityGovernance/accessReviews/definitions?$filter=contains(scope/query, '{team}')")}]
            })),
        )
        .await;
    assert_eq!(history.status(), StatusCode::CREATED);
    let history: Value = history.json().await.unwrap();
    let history_path = format!("{HISTORY}/{}", history["id"].as_str().unwrap());
    let (_, runs) = app.get(&format!("{history_path}/instances")).await;
    let run = runs["value"][0]["id"].as_str().unwrap();
    let link = app
        .post(
            &format!("{history_path}/instances/{run}/generateDownloadUri"),
            None,
        )
        .await;
    assert_eq!(link.status(), StatusCode::OK);
    let link: Value = link.json().await.unwrap();
    let uri = link["downloadUri"].as_str().unwrap();
    assert!(uri.starts_with(&app.base), "{uri}");
    // No token: the link is the secret.
    let report = app.client.get(uri).send().await.unwrap();
    assert_eq!(report.status(), StatusCode::OK);
    let text = report.text().await.unwrap();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 4, "{text}");
    let row_of = |review: &str, principal: &str| {
        rows.iter()
            .find(|r| r[column("ReviewName")] == review && r[column("PrincipalId")] == principal)
            .unwrap_or_else(|| panic!("{review} {principal}: {text}"))
    };
    let ann_row = row_of("Group Multi-stage Access Review", &ann);
    assert_eq!(ann_row[column("ReviewResult")], "Approve");
    assert_eq!(ann_row[column("Justification")], "still on the team");
    assert_eq!(ann_row[column("ReviewerId")], reviewer);
    assert_eq!(ann_row[column("ReviewerName")], "rita");
    assert_eq!(
        ann_row[column("AccessReviewSeriesId")],
        definition["id"].as_str().unwrap(),
        "the sample recurs weekly"
    );
    let bob_row = row_of("Group Multi-stage Access Review", &bob);
    assert_eq!(bob_row[column("ReviewResult")], "Deny");
    assert_eq!(bob_row[column("Justification")], "moved on");
    for member in [&ann, &bob] {
        let row = row_of("Another review", member);
        assert_eq!(row[column("ReviewResult")], "Not reviewed");
        assert_eq!(row[column("ReviewerId")], "");
        assert_eq!(
            row[column("AccessReviewSeriesId")],
            "00000000-0000-0000-0000-000000000000",
            "a one-time review has no series"
        );
    }
}
