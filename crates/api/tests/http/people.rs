//! The directory, decision items and decisions over HTTP.

use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

const USERS: &str = "/v1.0/users";
const GROUPS: &str = "/v1.0/groups";
const USER_ADMIN: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";

fn directory_admin() -> String {
    delegated("Directory.ReadWrite.All", &[GLOBAL_ADMIN])
}

fn user_body(name: &str) -> Value {
    json!({
        "accountEnabled": true,
        "displayName": name,
        "mailNickname": name,
        "userPrincipalName": format!("{name}@contoso.test"),
        "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}
    })
}

fn group_body(name: &str) -> Value {
    json!({"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true})
}

fn reference(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

impl App {
    pub(crate) async fn user(&self, name: &str) -> String {
        let answer = self.post(USERS, &directory_admin(), user_body(name)).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body["id"].as_str().unwrap().to_owned()
    }

    async fn group(&self, name: &str) -> String {
        let answer = self
            .post(GROUPS, &directory_admin(), group_body(name))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body["id"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn relate(&self, group: &str, relation: &str, id: &str) -> Answer {
        self.post(
            &format!("{GROUPS}/{group}/{relation}/$ref"),
            &directory_admin(),
            reference(id),
        )
        .await
    }

    pub(crate) async fn put(&self, uri: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PUT, uri, Some(token), Some(body)).await
    }

    async fn patch(&self, uri: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PATCH, uri, Some(token), Some(body)).await
    }
}

fn ids(answer: &Answer) -> Vec<String> {
    answer.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn users_and_groups_are_created_read_and_related_as_in_graph() {
    let app = app();
    let created = app
        .post(USERS, &directory_admin(), user_body("adele"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let adele = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.headers[header::LOCATION],
        format!("http://reviews.example.test{USERS}/{adele}")
    );
    assert_eq!(
        created.body,
        json!({
            "@odata.context": "http://reviews.example.test/v1.0/$metadata#users/$entity",
            "id": adele, "displayName": "adele", "userPrincipalName": "adele@contoso.test",
            "mail": null, "mailNickname": "adele", "accountEnabled": true
        })
    );
    assert!(
        !String::from_utf8_lossy(&created.raw).contains("xWwvJ"),
        "the password is never returned"
    );
    assert_eq!(
        app.get(&format!("{USERS}/{adele}"), &directory_admin())
            .await
            .body,
        created.body
    );

    let duplicate = app
        .post(USERS, &directory_admin(), user_body("ADELE"))
        .await;
    assert_error(
        &duplicate,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("objectConflict"),
    );
    for field in [
        "accountEnabled",
        "displayName",
        "mailNickname",
        "userPrincipalName",
        "passwordProfile",
    ] {
        let mut body = user_body("x");
        body.as_object_mut().unwrap().remove(field);
        let answer = app.post(USERS, &directory_admin(), body).await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some("missingProperty"),
        );
        assert!(
            answer.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field)
        );
    }
    for field in [
        "displayName",
        "mailEnabled",
        "mailNickname",
        "securityEnabled",
    ] {
        let mut body = group_body("g");
        body.as_object_mut().unwrap().remove(field);
        let answer = app.post(GROUPS, &directory_admin(), body).await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some("missingProperty"),
        );
        assert!(
            answer.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field)
        );
    }

    let (bob, owner) = (app.user("bob").await, app.user("olga").await);
    let (team, nested) = (app.group("team").await, app.group("nested").await);
    assert_eq!(
        app.get(&format!("{GROUPS}/{team}"), &directory_admin())
            .await
            .body["securityEnabled"],
        true
    );
    for (group, relation, id) in [
        (&team, "members", &adele),
        (&team, "members", &nested),
        (&nested, "members", &bob),
        (&nested, "members", &team),
        (&team, "owners", &owner),
    ] {
        assert_eq!(
            app.relate(group, relation, id).await.status,
            StatusCode::NO_CONTENT
        );
    }
    let again = app.relate(&team, "members", &adele).await;
    assert_error(
        &again,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("objectConflict"),
    );
    let unknown = app
        .relate(&team, "members", &Uuid::new_v4().to_string())
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "itemNotFound", None);
    let unknown_group = app
        .relate(&Uuid::new_v4().to_string(), "members", &adele)
        .await;
    assert_error(&unknown_group, StatusCode::NOT_FOUND, "itemNotFound", None);
    let group_owner = app.relate(&team, "owners", &nested).await;
    assert_error(
        &group_owner,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidProperty"),
    );
    let malformed = app
        .post(
            &format!("{GROUPS}/{team}/members/$ref"),
            &directory_admin(),
            json!({"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/nope"}),
        )
        .await;
    assert_error(
        &malformed,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidProperty"),
    );

    let members = app
        .get(&format!("{GROUPS}/{team}/members"), &directory_admin())
        .await;
    assert_eq!(ids(&members), vec![adele.clone(), nested.clone()]);
    assert_eq!(
        members.body["value"][0]["@odata.type"],
        "#microsoft.graph.user"
    );
    assert_eq!(
        members.body["value"][1]["@odata.type"],
        "#microsoft.graph.group"
    );
    assert_eq!(
        members.body["@odata.context"],
        "http://reviews.example.test/v1.0/$metadata#directoryObjects"
    );
    let transitive = app
        .get(
            &format!("{GROUPS}/{team}/transitiveMembers"),
            &directory_admin(),
        )
        .await;
    assert_eq!(
        ids(&transitive),
        vec![adele.clone(), nested.clone(), bob.clone()],
        "nested resolved, cycle harmless"
    );
    assert_eq!(
        ids(&app
            .get(&format!("{GROUPS}/{team}/owners"), &directory_admin())
            .await),
        vec![owner.clone()]
    );

    let removed = app
        .call(
            Method::DELETE,
            &format!("{GROUPS}/{team}/members/{adele}/$ref"),
            Some(&directory_admin()),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let gone = app
        .call(
            Method::DELETE,
            &format!("{GROUPS}/{team}/members/{adele}/$ref"),
            Some(&directory_admin()),
            None,
        )
        .await;
    assert_error(&gone, StatusCode::NOT_FOUND, "itemNotFound", None);

    let no_manager = app
        .get(&format!("{USERS}/{bob}/manager"), &directory_admin())
        .await;
    assert_error(&no_manager, StatusCode::NOT_FOUND, "itemNotFound", None);
    let set = app
        .put(
            &format!("{USERS}/{bob}/manager/$ref"),
            &directory_admin(),
            reference(&owner),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT);
    let manager = app
        .get(&format!("{USERS}/{bob}/manager"), &directory_admin())
        .await;
    assert_eq!(manager.body["id"], owner.as_str());
    assert_eq!(manager.body["@odata.type"], "#microsoft.graph.user");
    let own = app
        .put(
            &format!("{USERS}/{bob}/manager/$ref"),
            &directory_admin(),
            reference(&bob),
        )
        .await;
    assert_error(
        &own,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidProperty"),
    );

    let page = app
        .get(&format!("{USERS}?$top=2"), &directory_admin())
        .await;
    assert_eq!(page.body["value"].as_array().unwrap().len(), 2);
    assert!(page.body["@odata.nextLink"].as_str().is_some());
    let filtered = app
        .get(
            &format!("{USERS}?$filter=status%20eq%20'x'"),
            &directory_admin(),
        )
        .await;
    assert_error(
        &filtered,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidQueryOption"),
    );
}

#[tokio::test]
async fn directory_permissions_follow_graph() {
    let app = app();
    let group = app.group("g").await;
    let user = app.user("u").await;
    let cases: Vec<(&str, String, StatusCode, StatusCode)> = vec![
        // (case, token, POST /users, POST /groups)
        (
            "read scope only",
            delegated("Directory.Read.All", &[GLOBAL_ADMIN]),
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
        (
            "write scope, no role",
            delegated("Directory.ReadWrite.All", &[]),
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
        (
            "User Administrator",
            delegated("Directory.ReadWrite.All", &[USER_ADMIN]),
            StatusCode::CREATED,
            StatusCode::FORBIDDEN,
        ),
        (
            "Groups Administrator",
            delegated("Directory.ReadWrite.All", &[GROUPS_ADMIN]),
            StatusCode::FORBIDDEN,
            StatusCode::CREATED,
        ),
        (
            "user scope only",
            delegated("User.ReadWrite.All", &[GLOBAL_ADMIN]),
            StatusCode::CREATED,
            StatusCode::FORBIDDEN,
        ),
        (
            "group scope only",
            delegated("Group.ReadWrite.All", &[GLOBAL_ADMIN]),
            StatusCode::FORBIDDEN,
            StatusCode::CREATED,
        ),
        (
            "application, both roles",
            application(&["User.ReadWrite.All", "Group.ReadWrite.All"]),
            StatusCode::CREATED,
            StatusCode::CREATED,
        ),
        (
            "application, no role",
            application(&[]),
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
    ];
    for (n, (case, token, users, groups)) in cases.into_iter().enumerate() {
        let answer = app
            .post(USERS, &token, user_body(&format!("user{n}")))
            .await;
        assert_eq!(answer.status, users, "{case}: {}", answer.body);
        let answer = app.post(GROUPS, &token, group_body("x")).await;
        assert_eq!(answer.status, groups, "{case}: {}", answer.body);
        if groups == StatusCode::FORBIDDEN {
            assert_eq!(
                app.post(
                    &format!("{GROUPS}/{group}/members/$ref"),
                    &token,
                    reference(&user)
                )
                .await
                .status,
                StatusCode::FORBIDDEN,
                "{case}"
            );
        }
    }
    // Reads need only the scope.
    for token in [
        delegated("Directory.Read.All", &[]),
        delegated("User.Read.All", &[]),
        application(&["Directory.Read.All"]),
    ] {
        assert_eq!(
            app.get(&format!("{USERS}/{user}"), &token).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        app.get(
            &format!("{GROUPS}/{group}/members"),
            &delegated("Group.Read.All", &[])
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(
            &format!("{GROUPS}/{group}"),
            &delegated("User.Read.All", &[])
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(USERS, &delegated("AccessReview.Read.All", &[GLOBAL_ADMIN]))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

/// The directory and a one-stage review of `team`'s members by its owner.
struct Setup {
    owner: String,
    members: Vec<String>,
    review: Review,
}

async fn owner_review(app: &App, body_edit: impl Fn(&mut Value)) -> Setup {
    let team = app.group("team").await;
    let owner = app.user("olga").await;
    app.relate(&team, "owners", &owner).await;
    let mut members = Vec::new();
    for name in ["ann", "bob", "cat"] {
        let id = app.user(name).await;
        app.relate(&team, "members", &id).await;
        members.push(id);
    }
    let mut body = json!({
        "displayName": "Team review",
        "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                  "query": format!("/groups/{team}/transitiveMembers"), "queryType": "MicrosoftGraph"},
        "stageSettings": [
            {"stageId": "1", "durationInDays": 1, "recommendationsEnabled": false,
             "reviewers": [{"query": format!("/groups/{team}/owners"), "queryType": "MicrosoftGraph"}]},
            {"stageId": "2", "dependsOn": ["1"], "durationInDays": 1, "recommendationsEnabled": false,
             "reviewers": [{"query": format!("/users/{owner}"), "queryType": "MicrosoftGraph"}]}
        ]
    });
    body_edit(&mut body);
    let created = app.post(DEFINITIONS, &admin(), body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let definition = created.body["id"].as_str().unwrap().to_owned();
    let instances = app
        .get(&format!("{DEFINITIONS}/{definition}/instances"), &admin())
        .await;
    let instance_path = format!(
        "{DEFINITIONS}/{definition}/instances/{}",
        instances.body["value"][0]["id"].as_str().unwrap()
    );
    let stages = app.get(&format!("{instance_path}/stages"), &admin()).await;
    let first_stage = stages.body["value"][0]["id"].as_str().map(str::to_owned);
    Setup {
        owner,
        members,
        review: Review {
            definition,
            instance_path,
            first_stage,
        },
    }
}

impl Setup {
    fn reviewer(&self) -> String {
        delegated_as(&self.owner, "AccessReview.ReadWrite.All", &[])
    }

    async fn items(&self, app: &App) -> Vec<Value> {
        let answer = app
            .get(
                &format!("{}/decisions", self.review.instance_path),
                &admin(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.body["value"].as_array().unwrap().clone()
    }

    async fn item_of(&self, app: &App, member: usize) -> String {
        let principal = &self.members[member];
        self.items(app)
            .await
            .into_iter()
            .find(|i| i["principal"]["id"] == principal.as_str())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

#[tokio::test]
async fn decision_items_have_graphs_shape_and_initial_values() {
    let app = app();
    let setup = owner_review(&app, |_| {}).await;
    let items = setup.items(&app).await;
    assert_eq!(items.len(), 3);
    let ann = items
        .iter()
        .find(|i| i["principal"]["id"] == setup.members[0].as_str())
        .unwrap();
    let instance = setup.review.instance_path.rsplit('/').next().unwrap();
    let mut expected = json!({
        "accessReviewId": instance,
        "reviewedDateTime": null,
        "decision": "NotReviewed",
        "justification": null,
        "appliedDateTime": null,
        "applyResult": "New",
        "recommendation": "NoInfoAvailable",
        "principalLink": format!("http://reviews.example.test/v1.0/users/{}", setup.members[0]),
        "principal": {"@odata.type": "#microsoft.graph.userIdentity", "id": setup.members[0],
                      "displayName": "ann", "userPrincipalName": "ann@contoso.test"},
        "reviewedBy": {"id": "00000000-0000-0000-0000-000000000000", "displayName": "", "userPrincipalName": ""},
        "appliedBy": {"id": "00000000-0000-0000-0000-000000000000", "displayName": "", "userPrincipalName": ""},
    });
    let mut actual = ann.clone();
    for key in ["id", "resourceLink", "resource"] {
        assert!(
            actual.as_object_mut().unwrap().remove(key).is_some(),
            "{key}"
        );
    }
    expected.as_object_mut().unwrap().sort_keys();
    actual.as_object_mut().unwrap().sort_keys();
    assert_eq!(actual, expected);
    assert_eq!(ann["resource"]["type"], "group");
    assert_eq!(ann["resource"]["displayName"], "team");

    let one = app
        .get(
            &format!(
                "{}/decisions/{}",
                setup.review.instance_path,
                ann["id"].as_str().unwrap()
            ),
            &admin(),
        )
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(
        one.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/decisions/$entity")
    );
    let stage_items = app
        .get(
            &format!("{}/decisions?$top=2", setup.review.first_stage_path()),
            &admin(),
        )
        .await;
    assert_eq!(stage_items.body["value"].as_array().unwrap().len(), 2);
    assert!(stage_items.body["@odata.nextLink"].as_str().is_some());
}

#[tokio::test]
async fn who_may_and_may_not_record_a_decision() {
    let app = app();
    let setup = owner_review(&app, |b| {
        b["settings"] = json!({"justificationRequiredOnApproval": true})
    })
    .await;
    let ann = setup.item_of(&app, 0).await;
    let current = format!("{}/decisions/{ann}", setup.review.instance_path);
    let in_stage = format!("{}/decisions/{ann}", setup.review.first_stage_path());
    let approve = json!({"decision": "Approve", "justification": "Still on the team"});

    let refused = [
        (
            "a member reviewing herself",
            delegated_as(&setup.members[0], "AccessReview.ReadWrite.All", &[]),
            StatusCode::FORBIDDEN,
        ),
        (
            "an administrator who is not a reviewer",
            admin(),
            StatusCode::FORBIDDEN,
        ),
        (
            "an application",
            application(&["AccessReview.ReadWrite.All"]),
            StatusCode::FORBIDDEN,
        ),
        (
            "the reviewer with the read scope",
            delegated_as(&setup.owner, "AccessReview.Read.All", &[]),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (case, token, status) in refused {
        let answer = app.patch(&current, &token, approve.clone()).await;
        assert_eq!(answer.status, status, "{case}: {}", answer.body);
        assert_error(&answer, status, "accessDenied", None);
    }
    let not_reviewer = app.patch(&current, &admin(), approve.clone()).await;
    assert_eq!(
        error_of(&not_reviewer),
        json!({"code": "accessDenied",
               "message": "Only a reviewer of the item in that stage may record its decision; reading needs a directory role, being the review's creator, or being one of its reviewers; resetting needs a role that may manage access reviews, or being the review's creator.",
               "innerError": {}})
    );
    let application_token = app
        .patch(
            &current,
            &application(&["AccessReview.ReadWrite.All"]),
            approve.clone(),
        )
        .await;
    assert_eq!(
        error_of(&application_token),
        json!({"code": "accessDenied",
               "message": "Decisions are recorded by signed-in reviewers; application tokens cannot record them.",
               "innerError": {}})
    );

    let bad = [
        (
            json!({"decision": "Maybe"}),
            "invalidProperty",
            "'decision'",
        ),
        (
            json!({"justification": "x"}),
            "missingProperty",
            "'decision'",
        ),
        (
            json!({"decision": "Approve"}),
            "justificationRequired",
            "'justification'",
        ),
        (json!({"decision": 3}), "invalidProperty", "'decision'"),
    ];
    let justification = app
        .patch(&in_stage, &setup.reviewer(), json!({"decision": "Approve"}))
        .await;
    assert_eq!(
        error_of(&justification),
        json!({"code": "invalidRequest",
               "message": "The property 'justification' is required to approve in this access review.",
               "innerError": {"code": "justificationRequired"}})
    );
    for (body, inner, mention) in bad {
        let answer = app.patch(&in_stage, &setup.reviewer(), body).await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some(inner),
        );
        assert!(
            answer.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(mention)
        );
    }
    let not_guid = app
        .patch(
            &format!("{}/decisions/nope", setup.review.instance_path),
            &setup.reviewer(),
            approve.clone(),
        )
        .await;
    assert_error(
        &not_guid,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidId"),
    );
    let unknown = app
        .patch(
            &format!(
                "{}/decisions/{}",
                setup.review.instance_path,
                Uuid::new_v4()
            ),
            &setup.reviewer(),
            approve.clone(),
        )
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "itemNotFound", None);
    assert!(app.repo.history().is_empty(), "nothing was recorded");

    let ok = app
        .patch(&in_stage, &setup.reviewer(), approve.clone())
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    assert!(ok.raw.is_empty());
    let item = app.get(&current, &admin()).await;
    assert_eq!(item.body["decision"], "Approve");
    assert_eq!(item.body["justification"], "Still on the team");
    assert_eq!(item.body["reviewedBy"]["id"], setup.owner.as_str());
    assert_eq!(item.body["reviewedBy"]["displayName"], "olga");
    assert_eq!(
        item.body["reviewedBy"]["userPrincipalName"],
        "olga@contoso.test"
    );
    assert_eq!(item.body["reviewedDateTime"], "2026-11-02T09:00:00Z");

    // Once the stage is stopped, its reviewers can no longer decide.
    assert_eq!(
        app.stop(&setup.review.first_stage_path(), &admin())
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let late = app
        .patch(&in_stage, &setup.reviewer(), json!({"decision": "Deny"}))
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(
        error_of(&late),
        json!({"code": "notAllowed",
               "message": "The access review stage is Completed; its reviewers can no longer record decisions.",
               "innerError": {"code": "stageNotInProgress"}})
    );
    // The item moved on (no rule: all move) and is decided in stage 2.
    let current_ok = app
        .patch(&current, &setup.reviewer(), json!({"decision": "Deny"}))
        .await;
    assert_eq!(current_ok.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&current, &admin()).await.body["decision"],
        "Deny",
        "the latest from any stage"
    );
}

#[tokio::test]
async fn filter_by_current_user_batch_and_reset() {
    let app = app();
    let setup = owner_review(&app, |_| {}).await;
    let instance = &setup.review.instance_path;
    let stranger = delegated("AccessReview.Read.All", &[]);

    let mine = app
        .get(
            &format!("{instance}/decisions/filterByCurrentUser(on='reviewer')"),
            &setup.reviewer(),
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["value"].as_array().unwrap().len(), 3);
    assert!(
        mine.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#Collection(accessReviewInstanceDecisionItem)")
    );
    let encoded = app
        .get(
            &format!(
                "{}/decisions/filterByCurrentUser(on=%27reviewer%27)",
                setup.review.first_stage_path()
            ),
            &setup.reviewer(),
        )
        .await;
    assert_eq!(encoded.body["value"].as_array().unwrap().len(), 3);
    let stages = app
        .get(
            &format!("{instance}/stages/filterByCurrentUser(on='reviewer')"),
            &setup.reviewer(),
        )
        .await;
    assert_eq!(stages.body["value"].as_array().unwrap().len(), 1);
    let theirs = app
        .get(
            &format!("{instance}/decisions/filterByCurrentUser(on='reviewer')"),
            &stranger,
        )
        .await;
    assert_error(&theirs, StatusCode::FORBIDDEN, "accessDenied", None);
    // A reviewer may read the review it reviews.
    let reviewer_reads = app
        .get(
            &setup.review.first_stage_path(),
            &delegated_as(&setup.owner, "AccessReview.Read.All", &[]),
        )
        .await;
    assert_eq!(reviewer_reads.status, StatusCode::OK);

    let batch = app
        .post(
            &format!("{instance}/batchRecordDecisions"),
            &setup.reviewer(),
            json!({"decision": "Deny", "justification": "left", "principalId": setup.members[1]}),
        )
        .await;
    assert_eq!(batch.status, StatusCode::NO_CONTENT, "{}", batch.body);
    let batch_all = app
        .post(
            &format!("{}/batchRecordDecisions", setup.review.first_stage_path()),
            &setup.reviewer(),
            json!({"decision": "Approve"}),
        )
        .await;
    assert_eq!(batch_all.status, StatusCode::NO_CONTENT);
    let approved = app
        .get(
            &format!("{instance}/decisions?$filter=decision%20eq%20'Approve'"),
            &admin(),
        )
        .await;
    assert_eq!(
        approved.body["value"].as_array().unwrap().len(),
        3,
        "the second batch covered all three"
    );
    let bad_batch = app
        .post(
            &format!("{instance}/batchRecordDecisions"),
            &setup.reviewer(),
            json!({"decision": "Approve", "principalId": "x"}),
        )
        .await;
    assert_error(
        &bad_batch,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidProperty"),
    );
    let not_a_reviewer = app
        .post(
            &format!("{instance}/batchRecordDecisions"),
            &stranger,
            json!({"decision": "Approve"}),
        )
        .await;
    assert_error(&not_a_reviewer, StatusCode::FORBIDDEN, "accessDenied", None);
    // Graph allows applications to record decisions in a batch: on every
    // item, as the application.
    let app_batch = app
        .post(
            &format!("{instance}/batchRecordDecisions"),
            &application(&["AccessReview.ReadWrite.All"]),
            json!({"decision": "Deny", "justification": "by policy", "principalId": setup.members[2]}),
        )
        .await;
    assert_eq!(
        app_batch.status,
        StatusCode::NO_CONTENT,
        "{}",
        app_batch.body
    );
    let denied = app
        .get(
            &format!("{instance}/decisions?$filter=decision%20eq%20'Deny'"),
            &admin(),
        )
        .await;
    let denied = denied.body["value"].as_array().unwrap();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["principal"]["id"], setup.members[2].as_str());
    assert_eq!(denied[0]["justification"], "by policy");
    let app_read_only = app
        .post(
            &format!("{instance}/batchRecordDecisions"),
            &application(&["AccessReview.Read.All"]),
            json!({"decision": "Deny"}),
        )
        .await;
    assert_error(&app_read_only, StatusCode::FORBIDDEN, "accessDenied", None);

    let not_allowed = app
        .post(
            &format!("{instance}/resetDecisions"),
            &setup.reviewer(),
            json!({}),
        )
        .await;
    assert_error(&not_allowed, StatusCode::FORBIDDEN, "accessDenied", None);
    let reset = app
        .post(&format!("{instance}/resetDecisions"), &admin(), json!({}))
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    let not_reviewed = app
        .get(
            &format!("{instance}/decisions?$filter=decision%20eq%20'NotReviewed'"),
            &admin(),
        )
        .await;
    assert_eq!(not_reviewed.body["value"].as_array().unwrap().len(), 3);
    let bad_filter = app
        .get(
            &format!("{instance}/decisions?$filter=status%20eq%20'InProgress'"),
            &admin(),
        )
        .await;
    assert_error(
        &bad_filter,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidQueryOption"),
    );
}

#[tokio::test]
async fn a_scope_or_reviewer_the_service_cannot_resolve_is_a_400_naming_it() {
    let app = app();
    let team = app.group("team").await;
    let cases = [
        (
            json!({"query": format!("/groups/{}/members", Uuid::new_v4()), "queryType": "MicrosoftGraph"}),
            None,
            "'scope.query'",
        ),
        (
            json!({"query": "/users", "queryType": "MicrosoftGraph"}),
            None,
            "'scope.query'",
        ),
        (
            json!({"query": format!("/groups/{team}/members"), "queryType": "MicrosoftGraph"}),
            Some(json!([{"query": "/me/directReports", "queryType": "MicrosoftGraph"}])),
            "'stageSettings[0].reviewers[0].query'",
        ),
        (
            json!({"query": format!("/groups/{team}/members"), "queryType": "MicrosoftGraph"}),
            Some(
                json!([{"query": format!("/users/{}", Uuid::new_v4()), "queryType": "MicrosoftGraph"}]),
            ),
            "'stageSettings[0].reviewers[0].query'",
        ),
    ];
    for (scope, reviewers, mention) in cases {
        let mut body = definition_body(1);
        body["scope"] = scope;
        if let Some(reviewers) = reviewers {
            body["stageSettings"][0]["reviewers"] = reviewers;
        }
        let answer = app.post(DEFINITIONS, &admin(), body).await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some("invalidProperty"),
        );
        let message = answer.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(mention), "{message}");
    }
    assert_eq!(
        app.get(DEFINITIONS, &admin()).await.body["value"],
        json!([])
    );
}

/// `filterByCurrentUser(on='reviewer')` on definitions and on a
/// definition's instances, in both spellings clients send: the reviewer
/// finds the review, anyone else an empty list; the function is no id.
#[tokio::test]
async fn definitions_and_instances_filtered_by_the_current_reviewer() {
    let app = app();
    let setup = owner_review(&app, |_| {}).await;
    let other = app.post(DEFINITIONS, &admin(), definition_body(1)).await;
    assert_eq!(other.status, StatusCode::CREATED);
    let reviewer = delegated_as(&setup.owner, "AccessReview.Read.All", &[]);
    let stranger = delegated_as(&Uuid::new_v4().to_string(), "AccessReview.Read.All", &[]);
    for function in [
        "filterByCurrentUser(on='reviewer')",
        "filterByCurrentUser(on=%27reviewer%27)",
    ] {
        let mine = app
            .get(&format!("{DEFINITIONS}/{function}"), &reviewer)
            .await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
        let ids: Vec<&str> = mine.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [setup.review.definition.as_str()]);
        assert!(
            mine.body["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("$metadata#Collection(accessReviewScheduleDefinition)")
        );
        let none = app
            .get(&format!("{DEFINITIONS}/{function}"), &stranger)
            .await;
        assert_eq!(none.body["value"], json!([]));

        let instances = format!(
            "{DEFINITIONS}/{}/instances/{function}",
            setup.review.definition
        );
        let mine = app.get(&instances, &reviewer).await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
        assert_eq!(mine.body["value"].as_array().unwrap().len(), 1);
        assert!(
            setup
                .review
                .instance_path
                .ends_with(mine.body["value"][0]["id"].as_str().unwrap())
        );
        assert_eq!(
            app.get(&instances, &stranger).await.body["value"],
            json!([])
        );
    }
    let unknown = app
        .get(
            &format!(
                "{DEFINITIONS}/{}/instances/filterByCurrentUser(on='reviewer')",
                Uuid::new_v4()
            ),
            &reviewer,
        )
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "itemNotFound", None);
}

/// A reference names an object of this directory: by Graph's URL or this
/// service's own; any other host is a 400, and nothing is added.
#[tokio::test]
async fn references_to_other_hosts_are_refused() {
    let app = app();
    let team = app.group("team").await;
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    for evil in [
        format!("https://evil.example/v1.0/directoryObjects/{ann}"),
        format!("https://graph.microsoft.com.evil.example/v1.0/directoryObjects/{ann}"),
        format!("https://graph.microsoft.com/beta/directoryObjects/{ann}"),
        format!("https://graph.microsoft.com/v1.0/directoryObjects/{ann}/extra"),
        ann.clone(),
    ] {
        let refused = app
            .post(
                &format!("{GROUPS}/{team}/members/$ref"),
                &directory_admin(),
                json!({"@odata.id": evil}),
            )
            .await;
        assert_error(
            &refused,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some("invalidProperty"),
        );
        assert!(
            refused.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("'@odata.id'")
        );
    }
    let own = app
        .post(
            &format!("{GROUPS}/{team}/members/$ref"),
            &directory_admin(),
            json!({"@odata.id": format!("http://reviews.example.test/v1.0/users/{bob}")}),
        )
        .await;
    assert_eq!(own.status, StatusCode::NO_CONTENT, "{}", own.body);
    let graph = app
        .post(
            &format!("{GROUPS}/{team}/members/$ref"),
            &directory_admin(),
            json!({"@odata.id": format!("HTTPS://GRAPH.MICROSOFT.COM/v1.0/directoryObjects/{ann}")}),
        )
        .await;
    assert_eq!(graph.status, StatusCode::NO_CONTENT, "{}", graph.body);
    let members = app
        .get(&format!("{GROUPS}/{team}/members"), &directory_admin())
        .await;
    assert_eq!(members.body["value"].as_array().unwrap().len(), 2);
}

/// PostgreSQL text cannot hold NUL: every stored string is checked at the
/// boundary, a 400 naming the field, and nothing is written.
#[tokio::test]
async fn a_nul_character_in_any_stored_string_is_a_400_naming_the_field() {
    let app = app();
    let mut review = definition_body(1);
    review["displayName"] = "Q3\u{0}".into();
    let mut stage = definition_body(1);
    stage["stageSettings"][0]["stageId"] = "1\u{0}".into();
    let mut user = user_body("nul");
    user["displayName"] = "A\u{0}B".into();
    for (uri, token, body, field) in [
        (DEFINITIONS, admin(), review, "'displayName'"),
        (DEFINITIONS, admin(), stage, "'stageSettings[0].stageId'"),
        (USERS, directory_admin(), user, "'displayName'"),
    ] {
        let refused = app.post(uri, &token, body).await;
        assert_error(
            &refused,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some("invalidProperty"),
        );
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{message}");
    }
    assert_eq!(
        app.get(DEFINITIONS, &admin()).await.body["value"],
        json!([])
    );
}

/// Every stored string has a documented maximum (README): one character
/// more is a 400 naming the field, the maximum itself is accepted.
#[tokio::test]
async fn strings_longer_than_their_documented_maximum_are_a_400_naming_the_field() {
    let app = app();
    let long = |n: usize| "x".repeat(n);
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut body = definition_body(1);
        edit(&mut body);
        body
    };
    for (body, field, max) in [
        (
            with(&|b| b["displayName"] = long(257).into()),
            "'displayName'",
            256,
        ),
        (
            with(&|b| b["descriptionForAdmins"] = long(257).into()),
            "'descriptionForAdmins'",
            256,
        ),
        (
            with(&|b| b["stageSettings"][0]["stageId"] = long(65).into()),
            "'stageSettings[0].stageId'",
            64,
        ),
        (
            with(&|b| b["scope"]["query"] = long(1025).into()),
            "'scope.query'",
            1024,
        ),
    ] {
        let refused = app.post(DEFINITIONS, &admin(), body).await;
        assert_error(
            &refused,
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            Some("invalidProperty"),
        );
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{message}");
        assert!(
            message.contains(&format!("at most {max} characters")),
            "{message}"
        );
    }
    assert_eq!(
        app.get(DEFINITIONS, &admin()).await.body["value"],
        json!([])
    );

    let at_limit = with(&|b| {
        b["displayName"] = "é".repeat(256).into();
        b["descriptionForReviewers"] = long(256).into();
    });
    let created = app.post(DEFINITIONS, &admin(), at_limit).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    let mut user = user_body("long");
    user["displayName"] = long(257).into();
    let refused = app.post(USERS, &directory_admin(), user).await;
    assert_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidProperty"),
    );
}

const HISTORY: &str = "/v1.0/identityGovernance/accessReviews/historyDefinitions";

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    // The service's CSV quotes no field of this test's data.
    text.split("\r\n")
        .filter(|line| !line.is_empty())
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn review_history_is_created_as_graph_s_sample_and_downloads_as_csv_until_its_link_expires() {
    use crate::surface::{assert_subset, fixture, send_raw};
    let app = app();
    let setup = owner_review(&app, |_| {}).await;
    let ann = setup.item_of(&app, 0).await;
    let decided = app
        .call(
            Method::PATCH,
            &format!("{}/decisions/{ann}", setup.review.instance_path),
            Some(&setup.reviewer()),
            Some(json!({"decision": "Deny", "justification": "left the team"})),
        )
        .await;
    assert_eq!(decided.status, StatusCode::NO_CONTENT, "{}", decided.body);

    // Graph's sample, byte for byte: every property as its page shows but
    // the generated ones; its status is that of a report still being
    // collected, this service's are collected when created.
    let request = fixture("create-history-definition.request.json");
    let sample = send_raw(&app, Method::POST, HISTORY, request).await;
    assert_eq!(sample.status, StatusCode::CREATED, "{}", sample.body);
    let mut documented: Value =
        serde_json::from_slice(&fixture("create-history-definition.response.json")).unwrap();
    for generated in [
        "@odata.type",
        "id",
        "createdDateTime",
        "createdBy",
        "status",
    ] {
        documented.as_object_mut().unwrap().remove(generated);
    }
    assert_subset(&documented, &sample.body, "");
    assert_eq!(sample.body["status"], "done");
    let sample_id = sample.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sample.headers[axum::http::header::LOCATION],
        format!("http://reviews.example.test{HISTORY}/{sample_id}").as_str()
    );

    // One of this month's group reviews, denials and approvals only.
    let created = app
        .post(
            HISTORY,
            &admin(),
            json!({
                "displayName": "This month",
                "decisions": ["deny", "approve"],
                "reviewHistoryPeriodStartDateTime": "2026-11-01T00:00:00Z",
                "reviewHistoryPeriodEndDateTime": "2026-11-30T23:59:59Z",
                "scopes": [{"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                            "queryType": "MicrosoftGraph",
                            "query": "/identityGovernance/accessReviews/definitions?$filter=contains(scope/query, '/groups')"}]
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let listed = app.get(&format!("{HISTORY}?$count=true"), &admin()).await;
    assert_eq!(listed.body["@odata.count"], 2, "{}", listed.body);
    let counted = app.get(&format!("{HISTORY}/$count"), &admin()).await;
    assert_eq!(counted.raw, b"2");
    let counted = app
        .get(&format!("{HISTORY}/{sample_id}/instances/$count"), &admin())
        .await;
    assert_eq!(counted.raw, b"1");
    let malformed = app
        .get(&format!("{HISTORY}/not-a-guid/instances"), &admin())
        .await;
    assert_error(
        &malformed,
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        Some("invalidId"),
    );
    let read = app.get(&format!("{HISTORY}/{id}"), &admin()).await;
    assert_eq!(read.body["displayName"], "This month");
    let instances = app
        .get(&format!("{HISTORY}/{id}/instances"), &admin())
        .await;
    let instance = &instances.body["value"][0];
    assert_eq!(instance["status"], "done", "{}", instances.body);
    assert_eq!(instance["downloadUri"], Value::Null);
    let instance_id = instance["id"].as_str().unwrap().to_owned();

    let generated = app
        .call(
            Method::POST,
            &format!("{HISTORY}/{id}/instances/{instance_id}/generateDownloadUri"),
            Some(&admin()),
            None,
        )
        .await;
    assert_eq!(generated.status, StatusCode::OK, "{}", generated.body);
    let uri = generated.body["downloadUri"].as_str().unwrap().to_owned();
    let path = uri
        .strip_prefix("http://reviews.example.test")
        .unwrap()
        .to_owned();
    assert!(
        path.starts_with("/historyReports/") && path.ends_with(".csv"),
        "{uri}"
    );
    let listed_link = app
        .get(&format!("{HISTORY}/{id}/instances"), &admin())
        .await;
    assert_eq!(listed_link.body["value"][0]["downloadUri"], uri.as_str());

    // No token needed: the link is the secret.
    let report = app.call(Method::GET, &path, None, None).await;
    assert_eq!(report.status, StatusCode::OK);
    assert_eq!(
        report.headers[axum::http::header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let rows = csv_rows(std::str::from_utf8(&report.raw).unwrap());
    assert_eq!(rows[0], access_reviews_api::wire::history::CSV_COLUMNS);
    let column = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    assert_eq!(rows.len(), 2, "only the denial: nobody approved");
    let row = &rows[1];
    assert_eq!(row[column("PrincipalId")], setup.members[0]);
    assert_eq!(row[column("PrincipalName")], "ann");
    assert_eq!(row[column("ReviewResult")], "Deny");
    assert_eq!(row[column("Justification")], "left the team");
    assert_eq!(row[column("ReviewerId")], setup.owner);
    assert_eq!(row[column("ReviewName")], "Team review");
    assert_eq!(row[column("ReviewStatus")], "InProgress");
    assert_eq!(row[column("AccessRecommendation")], "No Info");
    assert_eq!(row[column("SubmissionResult")], "Not applied");
    assert_eq!(
        row[column("AccessReviewId")],
        setup.review.instance_path.rsplit('/').next().unwrap()
    );
    // Graph's sample covers 2021: none of this service's reviews.
    let sample_instance = app
        .get(&format!("{HISTORY}/{sample_id}/instances"), &admin())
        .await;
    let sample_instance = sample_instance.body["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sample_link = app
        .call(
            Method::POST,
            &format!("{HISTORY}/{sample_id}/instances/{sample_instance}/generateDownloadUri"),
            Some(&admin()),
            None,
        )
        .await;
    let sample_path = sample_link.body["downloadUri"].as_str().unwrap()
        ["http://reviews.example.test".len()..]
        .to_owned();
    let empty = app.call(Method::GET, &sample_path, None, None).await;
    assert_eq!(csv_rows(std::str::from_utf8(&empty.raw).unwrap()).len(), 1);

    // A day later the link is gone.
    app.post("/testing/clock", &admin(), json!({"advanceBy": "P1D"}))
        .await;
    let expired = app.call(Method::GET, &path, None, None).await;
    assert_error(&expired, StatusCode::NOT_FOUND, "itemNotFound", None);
    let instances = app
        .get(&format!("{HISTORY}/{id}/instances"), &admin())
        .await;
    assert_eq!(
        instances.body["value"][0]["downloadUri"],
        Value::Null,
        "an expired link is no longer shown"
    );
    let forged = app
        .call(
            Method::GET,
            &format!("/historyReports/{}.csv", "0".repeat(64)),
            None,
            None,
        )
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);

    // Bad bodies name their property; a member without a role may not.
    for (edit, message) in [
        (
            json!({"scopes": null}),
            "The property 'scopes' is required.",
        ),
        (
            json!({"scopes": [{"query": "/groups"}]}),
            "The property 'scopes[0].query' is invalid: use /identityGovernance/accessReviews/definitions, optionally with ?$filter=contains(scope/query, '{object}').",
        ),
        (
            json!({"decisions": ["maybe"]}),
            "The property 'decisions[0]' is invalid: use approve, deny, dontKnow, notReviewed or notNotified.",
        ),
        (
            json!({"reviewHistoryPeriodEndDateTime": "2020-01-01T00:00:00Z"}),
            "The property 'reviewHistoryPeriodEndDateTime' is invalid: it lies before reviewHistoryPeriodStartDateTime.",
        ),
    ] {
        let mut body: Value =
            serde_json::from_slice(&fixture("create-history-definition.request.json")).unwrap();
        for (k, v) in edit.as_object().unwrap() {
            body[k] = v.clone();
        }
        let refused = app.post(HISTORY, &admin(), body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(error_of(&refused)["code"], "invalidRequest");
        assert_eq!(error_of(&refused)["message"], message);
    }
    let member = delegated_as(&setup.members[1], "AccessReview.ReadWrite.All", &[]);
    let refused = send_raw_as(&app, &member).await;
    assert_eq!(refused, StatusCode::FORBIDDEN);
    let listed = app.get(&format!("{HISTORY}?$count=true"), &admin()).await;
    assert_eq!(
        listed.body["@odata.count"], 2,
        "nothing refused was written"
    );
}

async fn send_raw_as(app: &App, token: &str) -> StatusCode {
    let body: Value = serde_json::from_slice(&crate::surface::fixture(
        "create-history-definition.request.json",
    ))
    .unwrap();
    app.post(HISTORY, token, body).await.status
}

/// Sends `body` as it is, with the caller's token.
async fn send_bytes(app: &App, method: Method, uri: &str, token: &str, body: Vec<u8>) -> Answer {
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "reviews.example.test")
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if !body.is_empty() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    app.send(request.body(axum::body::Body::from(body)).unwrap())
        .await
}

#[tokio::test]
async fn graph_s_action_samples_are_answered_as_its_pages_show() {
    use crate::surface::fixture;

    // The marketing group of the batch sample's resourceId.
    let marketing = "a5c51e59-3fcd-4a37-87a1-835c0c21488a";
    let app = app();
    app.group_with_id(marketing, "Marketing Group").await;
    let owner = app.user("olga").await;
    app.relate(marketing, "owners", &owner).await;
    let mut members = Vec::new();
    for name in ["ann", "bob"] {
        let id = app.user(name).await;
        app.relate(marketing, "members", &id).await;
        members.push(id);
    }
    let created = app
        .post(
            DEFINITIONS,
            &admin(),
            json!({
                "displayName": "Marketing review",
                "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                          "query": format!("/groups/{marketing}/transitiveMembers"),
                          "queryType": "MicrosoftGraph"},
                "stageSettings": [
                    {"stageId": "1", "durationInDays": 1, "recommendationsEnabled": false,
                     "reviewers": [{"query": format!("/groups/{marketing}/owners"), "queryType": "MicrosoftGraph"}]},
                    {"stageId": "2", "dependsOn": ["1"], "durationInDays": 1, "recommendationsEnabled": false,
                     "reviewers": [{"query": format!("/users/{owner}"), "queryType": "MicrosoftGraph"}]}
                ],
                "settings": {"justificationRequiredOnApproval": true,
                             "recurrence": {"pattern": {"type": "weekly", "interval": 1},
                                            "range": {"type": "noEnd", "startDate": "2026-11-02"}}}
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let definition = format!("{DEFINITIONS}/{}", created.body["id"].as_str().unwrap());
    let instances = app.get(&format!("{definition}/instances"), &admin()).await;
    let instance = format!(
        "{definition}/instances/{}",
        instances.body["value"][0]["id"].as_str().unwrap()
    );
    let stages = app.get(&format!("{instance}/stages"), &admin()).await;
    let stage = format!(
        "{instance}/stages/{}",
        stages.body["value"][0]["id"].as_str().unwrap()
    );
    let items = app.get(&format!("{stage}/decisions"), &admin()).await;
    let ann_item = items.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["principal"]["id"] == members[0].as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reviewer = delegated_as(&owner, "AccessReview.ReadWrite.All", &[]);
    let decisions = |path: String| {
        let app = &app;
        async move {
            let answer = app.get(&path, &admin()).await;
            answer.body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i["decision"].as_str().unwrap().to_owned(),
                        i["justification"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };

    // Recording a decision on a stage, the page's body byte for byte.
    let recorded = send_bytes(
        &app,
        Method::PATCH,
        &format!("{stage}/decisions/{ann_item}"),
        &reviewer,
        fixture("record-decision.request.json"),
    )
    .await;
    assert_eq!(recorded.status, StatusCode::NO_CONTENT, "{}", recorded.body);
    let item = app
        .get(&format!("{stage}/decisions/{ann_item}"), &admin())
        .await;
    assert_eq!(item.body["decision"], "Approve");
    assert_eq!(
        item.body["justification"],
        "This person is still on my team"
    );

    // The batch: every item of the marketing group approved.
    let batch = send_bytes(
        &app,
        Method::POST,
        &format!("{instance}/batchRecordDecisions"),
        &reviewer,
        fixture("batch-record-decisions.request.json"),
    )
    .await;
    assert_eq!(batch.status, StatusCode::NO_CONTENT, "{}", batch.body);
    let sent: Value =
        serde_json::from_slice(&fixture("batch-record-decisions.request.json")).unwrap();
    let all = decisions(format!("{instance}/decisions")).await;
    assert_eq!(all.len(), 2);
    assert!(
        all.iter()
            .all(|(d, j)| d == "Approve" && j == sent["justification"].as_str().unwrap()),
        "{all:?}"
    );

    // Resetting is the review's managers' to do, not its reviewers'.
    let refused = send_bytes(
        &app,
        Method::POST,
        &format!("{instance}/resetDecisions"),
        &reviewer,
        Vec::new(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        error_of(&refused)["message"]
            .as_str()
            .unwrap()
            .contains("resetting needs a role that may manage access reviews"),
        "{}",
        refused.body
    );

    // The actions without a body, as their pages send them.
    for (path, token) in [
        (format!("{instance}/resetDecisions"), &admin()),
        (format!("{instance}/acceptRecommendations"), &reviewer),
        (format!("{instance}/sendReminder"), &admin()),
        (format!("{stage}/stop"), &admin()),
        (format!("{instance}/stop"), &admin()),
        (format!("{instance}/applyDecisions"), &admin()),
        (format!("{definition}/stop"), &admin()),
    ] {
        let answer = send_bytes(&app, Method::POST, &path, token, Vec::new()).await;
        assert_eq!(
            answer.status,
            StatusCode::NO_CONTENT,
            "{path}: {}",
            answer.body
        );
        assert!(answer.raw.is_empty(), "{path}");
        if path.ends_with("/resetDecisions") {
            let reset = decisions(format!("{instance}/decisions")).await;
            assert!(reset.iter().all(|(d, _)| d == "NotReviewed"), "{reset:?}");
        }
    }
    let read = app.get(&definition, &admin()).await;
    assert_eq!(read.body["status"], "Completed");
    let instance_read = app.get(&instance, &admin()).await;
    assert_eq!(instance_read.body["status"], "Completed");
}
