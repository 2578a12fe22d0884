//! Reviewers, decisions and the carry-over, over the in-memory fakes.

use crate::actor::{Actor, DirectoryRole};
use crate::decision::{Decision, ReviewerRules};
use crate::definition::{MoveDecision, QueryScope};
use crate::directory::Relation;
use crate::ids::PrincipalId;
use crate::ports::{DecisionQuery, DecisionRepository, Phase, StartedReview};
use crate::status::ReviewStatus;
use crate::use_cases::tests::{World, admin, app, spec, user_with_id, world};
use crate::use_cases::*;

pub(super) fn scope(query: String) -> QueryScope {
    QueryScope {
        odata_type: None,
        query,
        query_type: Some("MicrosoftGraph".into()),
        query_root: None,
    }
}

fn manager_scope() -> QueryScope {
    QueryScope {
        query_root: Some("decisions".into()),
        ..scope("./manager".into())
    }
}

pub(super) async fn user(w: &World, name: &str) -> PrincipalId {
    w.directory
        .create_user(
            &admin_with(DirectoryRole::GlobalAdministrator),
            NewUser {
                display_name: name.into(),
                user_principal_name: format!("{name}@example.test"),
                mail: None,
                mail_nickname: name.into(),
                account_enabled: true,
            },
        )
        .await
        .unwrap()
        .id
}

fn admin_with(role: DirectoryRole) -> Actor {
    user_with_id(PrincipalId::new_random(), vec![role])
}

pub(super) fn person(id: PrincipalId) -> Actor {
    Actor::User {
        id,
        display_name: None,
        user_principal_name: None,
        roles: vec![],
    }
}

pub(super) async fn member(w: &World, group: PrincipalId, who: PrincipalId) {
    w.directory
        .add(
            &admin_with(DirectoryRole::GlobalAdministrator),
            group,
            Relation::Members,
            who,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Four members, a manager for two of them, an owner of the group, a fixed
/// third-stage reviewer.
struct People {
    members: Vec<PrincipalId>,
    manager: PrincipalId,
    owner: PrincipalId,
    auditor: PrincipalId,
}

async fn people(w: &World) -> People {
    let global = admin_with(DirectoryRole::GlobalAdministrator);
    let mut members = Vec::new();
    for name in ["ann", "bob", "cat", "dan"] {
        let id = user(w, name).await;
        member(w, w.group, id).await;
        members.push(id);
    }
    let manager = user(w, "meg").await;
    let owner = user(w, "olga").await;
    let auditor = user(w, "aud").await;
    w.directory
        .add(&global, w.group, Relation::Owners, owner)
        .await
        .unwrap();
    for report in &members[..2] {
        w.directory
            .set_manager(&global, *report, manager)
            .await
            .unwrap();
    }
    People {
        members,
        manager,
        owner,
        auditor,
    }
}

/// Stage 1: owners, moves Approve and NotReviewed. Stage 2: managers, with
/// the auditor as fallback, moves Approve. Stage 3: the auditor.
async fn three_stage(w: &World, p: &People) -> StartedReview {
    let mut spec = spec(3);
    let stages = spec.stage_plan.stages().to_vec();
    let mut stages = stages;
    stages[0].reviewers = vec![scope(format!("/groups/{}/owners", w.group))];
    stages[0].decisions_that_will_move_to_next_stage =
        Some(vec![MoveDecision::Approve, MoveDecision::NotReviewed]);
    stages[1].reviewers = vec![manager_scope()];
    stages[1].fallback_reviewers = vec![scope(format!("/users/{}", p.auditor))];
    stages[1].decisions_that_will_move_to_next_stage = Some(vec![MoveDecision::Approve]);
    stages[2].reviewers = vec![scope(format!("/users/{}", p.auditor))];
    spec.stage_plan = crate::definition::StagePlan::new(stages).unwrap();
    w.create
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap()
}

fn review(decision: Decision) -> NewReview {
    NewReview {
        decision,
        justification: Some("checked".into()),
    }
}

async fn decide(
    w: &World,
    r: &StartedReview,
    who: PrincipalId,
    principal: PrincipalId,
    decision: Decision,
) -> Result<(), DecisionError> {
    let item = r
        .items
        .iter()
        .find(|i| i.principal.id == principal)
        .unwrap()
        .id;
    w.decisions
        .record(
            &person(who),
            r.definition.id,
            r.instance.id,
            DecisionTarget::Current,
            item,
            review(decision),
        )
        .await
}

async fn stop_current(w: &World, r: &StartedReview) {
    let stages = w.stop_stages(r).await;
    let current = stages
        .iter()
        .find(|s| s.status() == ReviewStatus::InProgress)
        .unwrap();
    w.stop
        .execute(&admin(), r.definition.id, r.instance.id, current.id)
        .await
        .unwrap();
}

impl World {
    async fn stop_stages(&self, r: &StartedReview) -> Vec<crate::stage::Stage> {
        self.read
            .stages(
                &admin(),
                r.definition.id,
                r.instance.id,
                crate::query::ListQuery::default(),
                false,
            )
            .await
            .unwrap()
            .items
    }

    async fn principals_in_current_stage(&self, r: &StartedReview) -> Vec<PrincipalId> {
        let stages = self.stop_stages(r).await;
        let current = stages.last().unwrap();
        self.repo
            .phase_items(Phase::Stage(current.id))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.item.principal.id)
            .collect()
    }
}

#[tokio::test]
async fn the_scope_gives_one_item_per_member_with_graphs_initial_values() {
    let w = world();
    let p = people(&w).await;
    let r = three_stage(&w, &p).await;
    assert_eq!(
        r.items.iter().map(|i| i.principal.id).collect::<Vec<_>>(),
        p.members
    );
    for item in &r.items {
        assert_eq!(item.decision(), Decision::NotReviewed);
        assert_eq!(item.instance_id, r.instance.id);
        assert_eq!(item.resource.id, w.group);
        assert_eq!(item.resource.display_name, "Finance");
        assert_eq!(
            item.recommendation,
            crate::decision::Recommendation::NoInfoAvailable
        );
    }
    // A later membership change does not touch the running instance.
    let late = user(&w, "late").await;
    member(&w, w.group, late).await;
    assert_eq!(w.principals_in_current_stage(&r).await.len(), 4);
}

#[tokio::test]
async fn nested_groups_are_resolved_for_transitive_members_only() {
    let w = world();
    let p = people(&w).await;
    let nested = w
        .directory
        .create_group(
            &admin_with(DirectoryRole::GroupsAdministrator),
            NewGroup {
                display_name: "Nested".into(),
                description: None,
                mail_nickname: "nested".into(),
                mail_enabled: false,
                security_enabled: true,
            },
        )
        .await
        .unwrap()
        .id;
    let deep = user(&w, "deep").await;
    member(&w, nested, deep).await;
    member(&w, w.group, nested).await;
    member(&w, nested, w.group).await; // a cycle is harmless

    let transitive = w
        .create
        .execute(&admin(), spec(1))
        .await
        .unwrap()
        .started()
        .unwrap();
    assert_eq!(transitive.items.len(), p.members.len() + 1);

    let mut direct = spec(1);
    direct.scope = scope(format!("/groups/{}/members/microsoft.graph.user", w.group));
    let direct = w
        .create
        .execute(&admin(), direct)
        .await
        .unwrap()
        .started()
        .unwrap();
    assert_eq!(direct.items.len(), p.members.len());
}

#[tokio::test]
async fn each_reviewer_query_form_resolves() {
    let w = world();
    let p = people(&w).await;
    let cases = [
        (
            vec![scope(format!("/users/{}", p.auditor))],
            vec![],
            ReviewerRules {
                fixed: vec![p.auditor],
                ..Default::default()
            },
        ),
        (
            vec![scope(format!("/groups/{}/owners", w.group))],
            vec![],
            ReviewerRules {
                fixed: vec![p.owner],
                ..Default::default()
            },
        ),
        (
            vec![scope(format!("/groups/{}/transitiveMembers", w.group))],
            vec![],
            ReviewerRules {
                fixed: p.members.clone(),
                ..Default::default()
            },
        ),
        (
            vec![manager_scope()],
            vec![scope(format!("/users/{}", p.auditor))],
            ReviewerRules {
                by_manager: true,
                fallback: vec![p.auditor],
                ..Default::default()
            },
        ),
        (
            vec![],
            vec![],
            ReviewerRules {
                self_review: true,
                ..Default::default()
            },
        ),
    ];
    for (reviewers, fallback, expected) in cases {
        let mut spec = spec(0);
        spec.reviewers = reviewers;
        spec.fallback_reviewers = fallback;
        let r = w
            .create
            .execute(&admin(), spec)
            .await
            .unwrap()
            .started()
            .unwrap();
        assert_eq!(r.first_reviewers, expected);
        assert_eq!(
            w.repo.rules(Phase::Instance(r.instance.id)).await.unwrap(),
            Some(expected)
        );
    }
}

#[tokio::test]
async fn unresolvable_scopes_and_reviewers_are_refused_at_creation() {
    let w = world();
    let missing_group = PrincipalId::new_random();
    let mut bad_scope = spec(1);
    bad_scope.scope = scope("/users".into());
    assert!(matches!(
        w.create.execute(&admin(), bad_scope).await,
        Err(CreateDefinitionError::ScopeNotSupported)
    ));
    let mut unknown_group = spec(1);
    unknown_group.scope = scope(format!("/groups/{missing_group}/members"));
    assert!(matches!(
        w.create.execute(&admin(), unknown_group).await,
        Err(CreateDefinitionError::ScopeGroupNotFound(g)) if g == missing_group
    ));

    let mut stages = spec(2).stage_plan.stages().to_vec();
    stages[1].fallback_reviewers = vec![scope(format!("/users/{}", PrincipalId::new_random()))];
    let mut unknown_reviewer = spec(2);
    unknown_reviewer.stage_plan = crate::definition::StagePlan::new(stages.clone()).unwrap();
    assert!(matches!(
        w.create.execute(&admin(), unknown_reviewer).await,
        Err(CreateDefinitionError::ReviewerNotFound(ReviewerField {
            stage: Some(1),
            fallback: true,
            index: 0
        }))
    ));
    stages[1].fallback_reviewers = vec![];
    stages[1].reviewers = vec![scope("/me".into())];
    let mut unsupported = spec(2);
    unsupported.stage_plan = crate::definition::StagePlan::new(stages).unwrap();
    assert!(matches!(
        w.create.execute(&admin(), unsupported).await,
        Err(CreateDefinitionError::ReviewerNotSupported(ReviewerField {
            stage: Some(1),
            fallback: false,
            index: 0
        }))
    ));
}

#[tokio::test]
async fn only_the_items_reviewers_may_decide_and_applications_never() {
    let w = world();
    let p = people(&w).await;
    let r = three_stage(&w, &p).await;
    let ann = p.members[0];

    for outsider in [p.manager, p.auditor, ann] {
        assert!(matches!(
            decide(&w, &r, outsider, ann, Decision::Approve).await,
            Err(DecisionError::Forbidden)
        ));
    }
    let item = r.items[0].id;
    assert!(matches!(
        w.decisions
            .record(
                &app(),
                r.definition.id,
                r.instance.id,
                DecisionTarget::Current,
                item,
                review(Decision::Approve)
            )
            .await,
        Err(DecisionError::ApplicationCannotDecide)
    ));
    decide(&w, &r, p.owner, ann, Decision::Approve)
        .await
        .unwrap();
    let item = w
        .decisions
        .get(&admin(), r.definition.id, r.instance.id, None, item)
        .await
        .unwrap();
    let latest = item.latest.unwrap();
    assert_eq!(latest.decision, Decision::Approve);
    assert_eq!(latest.reviewed_by.id, p.owner);
    assert_eq!(latest.reviewed_by.display_name, "olga");
    assert_eq!(latest.reviewed_date_time, w.clock_now());
}

impl World {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

#[tokio::test]
async fn a_justification_is_required_to_approve_when_the_review_says_so() {
    let w = world();
    let p = people(&w).await;
    let mut spec = spec(0);
    spec.settings.justification_required_on_approval = true;
    spec.reviewers = vec![scope(format!("/users/{}", p.auditor))];
    let r = w
        .create
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap();
    let item = r.items[0].id;
    let auditor = person(p.auditor);
    let record = |decision, justification: Option<&str>| {
        w.decisions.record(
            &auditor,
            r.definition.id,
            r.instance.id,
            DecisionTarget::Current,
            item,
            NewReview {
                decision,
                justification: justification.map(str::to_owned),
            },
        )
    };
    assert!(matches!(
        record(Decision::Approve, None).await,
        Err(DecisionError::JustificationRequired)
    ));
    assert!(matches!(
        record(Decision::Approve, Some("  ")).await,
        Err(DecisionError::JustificationRequired)
    ));
    record(Decision::Deny, None).await.unwrap();
    record(Decision::Approve, Some("still needed"))
        .await
        .unwrap();
    assert_eq!(
        w.repo.history().len(),
        2,
        "refused decisions leave no history"
    );
}

#[tokio::test]
async fn the_stop_carries_exactly_the_items_the_rule_lets_through() {
    let w = world();
    let p = people(&w).await;
    let r = three_stage(&w, &p).await;
    let [ann, bob, cat, dan] = p.members[..] else {
        unreachable!()
    };

    // Stage 1 (owner; moves Approve and NotReviewed).
    decide(&w, &r, p.owner, ann, Decision::Approve)
        .await
        .unwrap();
    decide(&w, &r, p.owner, bob, Decision::Approve)
        .await
        .unwrap();
    decide(&w, &r, p.owner, cat, Decision::Deny).await.unwrap();
    // dan stays NotReviewed.
    stop_current(&w, &r).await;
    assert_eq!(w.principals_in_current_stage(&r).await, vec![ann, bob, dan]);

    // Stage 2 (managers of ann and bob; the auditor falls back for dan).
    assert!(matches!(
        decide(&w, &r, p.owner, ann, Decision::Deny).await,
        Err(DecisionError::Forbidden)
    ));
    assert!(matches!(
        decide(&w, &r, p.manager, dan, Decision::Approve).await,
        Err(DecisionError::Forbidden)
    ));
    assert!(matches!(
        decide(&w, &r, p.auditor, ann, Decision::Approve).await,
        Err(DecisionError::Forbidden)
    ));
    assert!(
        matches!(
            decide(&w, &r, p.manager, cat, Decision::Approve).await,
            Err(DecisionError::NotFound(_))
        ),
        "cat did not enter stage 2"
    );
    decide(&w, &r, p.manager, ann, Decision::Approve)
        .await
        .unwrap();
    decide(&w, &r, p.manager, bob, Decision::DontKnow)
        .await
        .unwrap();
    decide(&w, &r, p.auditor, dan, Decision::Approve)
        .await
        .unwrap();
    stop_current(&w, &r).await;
    assert_eq!(w.principals_in_current_stage(&r).await, vec![ann, dan]);

    // Stage 3 (auditor).
    decide(&w, &r, p.auditor, dan, Decision::Deny)
        .await
        .unwrap();
    stop_current(&w, &r).await;

    let instance = w
        .read
        .instance(&admin(), r.definition.id, r.instance.id)
        .await
        .unwrap();
    assert_eq!(instance.status(), ReviewStatus::Completed);
    // Every item shows its latest decision, from whichever stage.
    let items = w
        .decisions
        .list(
            &admin(),
            r.definition.id,
            r.instance.id,
            None,
            DecisionQuery::default(),
            false,
        )
        .await
        .unwrap()
        .items;
    let latest: Vec<_> = items
        .iter()
        .map(|i| (i.principal.id, i.decision()))
        .collect();
    assert_eq!(
        latest,
        vec![
            (ann, Decision::Approve),
            (bob, Decision::DontKnow),
            (cat, Decision::Deny),
            (dan, Decision::Deny)
        ]
    );
    // The completed stage takes no more decisions.
    assert!(matches!(
        decide(&w, &r, p.auditor, dan, Decision::Approve).await,
        Err(DecisionError::NotInProgress(_))
    ));
}

#[tokio::test]
async fn a_stopped_stage_takes_no_decisions_and_a_stage_without_moving_items_still_starts() {
    let w = world();
    let p = people(&w).await;
    let r = three_stage(&w, &p).await;
    let first = r.first_stage.clone().unwrap().id;
    for member in &p.members {
        decide(&w, &r, p.owner, *member, Decision::Deny)
            .await
            .unwrap();
    }
    stop_current(&w, &r).await;
    assert!(w.principals_in_current_stage(&r).await.is_empty());
    assert_eq!(
        w.stop_stages(&r).await.len(),
        2,
        "stage 2 exists with no items"
    );

    let item = r.items[0].id;
    let result = w
        .decisions
        .record(
            &person(p.owner),
            r.definition.id,
            r.instance.id,
            DecisionTarget::Stage(first),
            item,
            review(Decision::Approve),
        )
        .await;
    assert!(
        matches!(result, Err(DecisionError::NotInProgress(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn batch_records_only_the_callers_items_and_reset_clears_the_latest_decisions() {
    let w = world();
    let p = people(&w).await;
    let r = three_stage(&w, &p).await;
    stop_current(&w, &r).await; // everyone moves on NotReviewed

    w.decisions
        .record_batch(
            &person(p.manager),
            r.definition.id,
            r.instance.id,
            DecisionTarget::Current,
            review(Decision::Approve),
            None,
            None,
        )
        .await
        .unwrap();
    async fn approved(w: &World, r: &StartedReview) -> Vec<PrincipalId> {
        w.decisions
            .list(
                &admin(),
                r.definition.id,
                r.instance.id,
                None,
                DecisionQuery {
                    decision: Some(Decision::Approve),
                    ..Default::default()
                },
                false,
            )
            .await
            .unwrap()
            .items
            .iter()
            .map(|i| i.principal.id)
            .collect()
    }
    assert_eq!(
        approved(&w, &r).await,
        p.members[..2].to_vec(),
        "only the manager's reports"
    );

    w.decisions
        .record_batch(
            &person(p.auditor),
            r.definition.id,
            r.instance.id,
            DecisionTarget::Current,
            review(Decision::Approve),
            Some(p.members[3]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        approved(&w, &r).await,
        vec![p.members[0], p.members[1], p.members[3]]
    );

    let reader = user_with_id(PrincipalId::new_random(), vec![DirectoryRole::GlobalReader]);
    assert!(matches!(
        w.decisions
            .reset(&reader, r.definition.id, r.instance.id)
            .await,
        Err(DecisionError::Forbidden)
    ));
    w.decisions
        .reset(&admin(), r.definition.id, r.instance.id)
        .await
        .unwrap();
    assert!(approved(&w, &r).await.is_empty());
    assert_eq!(w.repo.history().len(), 3, "the history stays");
}

#[tokio::test]
async fn reviewers_see_their_own_items_and_may_read_the_review() {
    let w = world();
    let p = people(&w).await;
    let r = three_stage(&w, &p).await;
    stop_current(&w, &r).await;

    let mine = |who| {
        let r = &r;
        let w = &w;
        async move {
            w.decisions
                .list(
                    &person(who),
                    r.definition.id,
                    r.instance.id,
                    None,
                    DecisionQuery::default(),
                    true,
                )
                .await
                .map(|page| {
                    page.items
                        .iter()
                        .map(|i| i.principal.id)
                        .collect::<Vec<_>>()
                })
        }
    };
    assert_eq!(mine(p.manager).await.unwrap(), p.members[..2].to_vec());
    assert_eq!(
        mine(p.auditor).await.unwrap(),
        p.members[2..].to_vec(),
        "fallback for those without a manager"
    );
    assert_eq!(
        mine(p.owner).await.unwrap(),
        p.members.clone(),
        "stage 1 items"
    );
    assert!(matches!(
        mine(p.members[0]).await,
        Err(DecisionError::Forbidden)
    ));

    let stages = w
        .read
        .stages(
            &person(p.manager),
            r.definition.id,
            r.instance.id,
            crate::query::ListQuery::default(),
            true,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(stages.len(), 1);
    assert_eq!(stages[0].key.as_str(), "2");
    assert!(
        w.read
            .definition(&person(p.manager), r.definition.id)
            .await
            .is_ok()
    );
    assert!(
        w.read
            .definition(&person(p.members[0]), r.definition.id)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn directory_writes_need_the_matching_directory_role() {
    let w = world();
    let new_user = |upn: &str| NewUser {
        display_name: "x".into(),
        user_principal_name: upn.into(),
        mail: None,
        mail_nickname: "x".into(),
        account_enabled: true,
    };
    let group = || NewGroup {
        display_name: "g".into(),
        description: None,
        mail_nickname: "g".into(),
        mail_enabled: false,
        security_enabled: true,
    };
    for role in [
        DirectoryRole::GlobalAdministrator,
        DirectoryRole::UserAdministrator,
    ] {
        assert!(
            w.directory
                .create_user(&admin_with(role), new_user(&format!("{role:?}@t")))
                .await
                .is_ok()
        );
    }
    for role in [
        DirectoryRole::GroupsAdministrator,
        DirectoryRole::IdentityGovernanceAdministrator,
    ] {
        assert!(matches!(
            w.directory
                .create_user(&admin_with(role), new_user("n@t"))
                .await,
            Err(DirectoryError::Forbidden)
        ));
    }
    for role in [
        DirectoryRole::GlobalAdministrator,
        DirectoryRole::GroupsAdministrator,
    ] {
        assert!(
            w.directory
                .create_group(&admin_with(role), group())
                .await
                .is_ok()
        );
    }
    assert!(matches!(
        w.directory
            .create_group(&admin_with(DirectoryRole::UserAdministrator), group())
            .await,
        Err(DirectoryError::Forbidden)
    ));
    assert!(w.directory.create_group(&app(), group()).await.is_ok());
    assert!(matches!(
        w.directory.create_user(&admin(), new_user("dup@t")).await,
        Err(DirectoryError::Forbidden)
    ));
    let global = admin_with(DirectoryRole::GlobalAdministrator);
    w.directory
        .create_user(&global, new_user("dup@t"))
        .await
        .unwrap();
    assert!(matches!(
        w.directory.create_user(&global, new_user("DUP@t")).await,
        Err(DirectoryError::DuplicateUserPrincipalName)
    ));
    assert!(matches!(
        w.directory
            .create_user(&global, new_user("no-at-sign"))
            .await,
        Err(DirectoryError::MalformedUserPrincipalName)
    ));

    let someone = user(&w, "someone").await;
    member(&w, w.group, someone).await;
    assert!(matches!(
        w.directory
            .add(&global, w.group, Relation::Members, someone)
            .await,
        Err(DirectoryError::AlreadyRelated(Relation::Members))
    ));
    assert!(matches!(
        w.directory
            .add(
                &global,
                w.group,
                Relation::Members,
                PrincipalId::new_random()
            )
            .await,
        Err(DirectoryError::NotFound(_))
    ));
    w.directory
        .remove_member(&global, w.group, someone)
        .await
        .unwrap();
    assert!(matches!(
        w.directory.remove_member(&global, w.group, someone).await,
        Err(DirectoryError::NotFound(_))
    ));
}
