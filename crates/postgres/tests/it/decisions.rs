//! The directory, decision items, the carry-over and decisions racing a
//! stop, against a real PostgreSQL.

use std::sync::Arc;
use std::time::Instant;

use access_reviews_domain::actor::Actor;
use access_reviews_domain::decision::{Decision, Identity, MoveRule, Review, ReviewerRules};
use access_reviews_domain::definition::{MoveDecision, QueryScope, StagePlan};
use access_reviews_domain::directory::{DirectoryObject, Group, Relation, User};
use access_reviews_domain::ids::{DecisionItemId, PrincipalId};
use access_reviews_domain::ports::{
    Added, DecisionQuery, DecisionRepository, DirectoryRepository, Phase, RecordOutcome,
    StartedReview,
};
use access_reviews_domain::queries::MembershipQuery;
use access_reviews_domain::query::PageRequest;
use access_reviews_domain::status::ReviewStatus;
use access_reviews_domain::use_cases::{DecisionError, DecisionTarget, NewReview};
use tokio::sync::Barrier;

use crate::repository::{Db, GROUP, admin, scope, spec};

pub(crate) fn group_id() -> PrincipalId {
    PrincipalId::from_uuid(GROUP)
}

pub(crate) async fn user(db: &Db, name: &str) -> PrincipalId {
    let user = User {
        id: PrincipalId::new_random(),
        display_name: name.into(),
        user_principal_name: format!("{name}@example.test"),
        mail: None,
        mail_nickname: name.into(),
        account_enabled: true,
    };
    assert_eq!(db.repo.create_user(&user).await.unwrap(), Added::Added);
    user.id
}

pub(crate) async fn group(db: &Db, name: &str) -> PrincipalId {
    let id = PrincipalId::new_random();
    db.repo
        .create_group(&Group {
            id,
            display_name: name.into(),
            description: None,
            mail_nickname: name.into(),
            mail_enabled: false,
            security_enabled: true,
        })
        .await
        .unwrap();
    id
}

pub(crate) async fn members(db: &Db, count: usize) -> Vec<PrincipalId> {
    let mut ids = Vec::new();
    for n in 0..count {
        let id = user(db, &format!("member{n}")).await;
        db.repo
            .add(group_id(), Relation::Members, id)
            .await
            .unwrap();
        ids.push(id);
    }
    ids
}

pub(crate) fn person(id: PrincipalId) -> Actor {
    Actor::User {
        id,
        display_name: None,
        user_principal_name: None,
        roles: vec![],
    }
}

fn ids(objects: Vec<DirectoryObject>) -> Vec<PrincipalId> {
    objects.into_iter().map(|o| o.id()).collect()
}

#[tokio::test]
async fn the_directory_round_trips_and_nested_groups_resolve_without_looping() {
    let db = Db::new().await;
    let [a, b] = [user(&db, "a").await, user(&db, "b").await];
    let again = User {
        id: PrincipalId::new_random(),
        display_name: "A again".into(),
        user_principal_name: "A@EXAMPLE.TEST".into(),
        mail: None,
        mail_nickname: "a2".into(),
        account_enabled: true,
    };
    assert_eq!(
        db.repo.create_user(&again).await.unwrap(),
        Added::AlreadyPresent
    );
    assert!(db.repo.user(again.id).await.unwrap().is_none());

    let nested = group(&db, "nested").await;
    let g = group_id();
    db.repo.add(g, Relation::Members, a).await.unwrap();
    db.repo.add(g, Relation::Members, nested).await.unwrap();
    db.repo.add(nested, Relation::Members, b).await.unwrap();
    db.repo.add(nested, Relation::Members, g).await.unwrap(); // a cycle
    db.repo.add(nested, Relation::Members, a).await.unwrap(); // a twice, via two paths
    assert_eq!(
        db.repo.add(g, Relation::Members, a).await.unwrap(),
        Added::AlreadyPresent
    );
    db.repo.add(g, Relation::Owners, b).await.unwrap();

    let page = PageRequest::default();
    assert_eq!(
        ids(db
            .repo
            .related(g, Relation::Members, page)
            .await
            .unwrap()
            .items),
        vec![a, nested]
    );
    assert_eq!(
        ids(db
            .repo
            .related(g, Relation::Owners, page)
            .await
            .unwrap()
            .items),
        vec![b]
    );
    assert_eq!(
        ids(db.repo.transitive_members(g, page).await.unwrap().items),
        vec![a, nested, b]
    );
    let first = db
        .repo
        .transitive_members(g, PageRequest::new(Some(2), 0).unwrap())
        .await
        .unwrap();
    assert!(first.has_more);
    assert_eq!(first.items.len(), 2);
    let repo = &db.repo;
    let users = |transitive| async move {
        repo.member_users(MembershipQuery {
            group: g,
            transitive,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect::<Vec<_>>()
    };
    assert_eq!(users(true).await, vec![a, b]);
    assert_eq!(users(false).await, vec![a]);
    assert_eq!(db.repo.owner_users(g).await.unwrap()[0].id, b);

    db.repo.set_manager(a, b).await.unwrap();
    assert_eq!(db.repo.manager(a).await.unwrap().map(|m| m.id), Some(b));
    assert_eq!(db.repo.manager(b).await.unwrap(), None);

    assert!(db.repo.remove_member(g, a).await.unwrap());
    assert!(!db.repo.remove_member(g, a).await.unwrap());
    assert_eq!(users(false).await, Vec::<PrincipalId>::new());
}

fn reviewer(id: PrincipalId) -> Identity {
    Identity {
        id,
        display_name: "Reviewer".into(),
        user_principal_name: "reviewer@example.test".into(),
    }
}

pub(crate) fn decided(
    by: PrincipalId,
    decision: Decision,
    at: chrono::DateTime<chrono::Utc>,
) -> Review {
    Review {
        decision,
        justification: Some("because".into()),
        reviewed_by: reviewer(by),
        reviewed_date_time: at,
    }
}

/// The items the reads list for `query`: of the instance, or of a stage.
pub(crate) async fn listed(
    db: &Db,
    review: &StartedReview,
    stage: Option<access_reviews_domain::ids::StageId>,
    query: DecisionQuery,
) -> Vec<access_reviews_domain::decision::DecisionItem> {
    let (page, _) = access_reviews_domain::ports::ReviewReads::items(
        &*db.repo,
        review.definition.id,
        review.instance.id,
        stage,
        query,
        None,
    )
    .await
    .unwrap()
    .unwrap();
    page.items
}

/// A two-stage review whose first stage moves what `moving` says.
pub(crate) async fn two_stage(
    db: &Db,
    moving: Option<Vec<MoveDecision>>,
    by: PrincipalId,
) -> StartedReview {
    let mut spec = spec(2);
    let mut stages = spec.stage_plan.stages().to_vec();
    stages[0].decisions_that_will_move_to_next_stage = moving;
    stages[0].reviewers = vec![scope(&format!("/users/{by}"))];
    spec.stage_plan = StagePlan::new(stages).unwrap();
    spec.settings.recurrence = None;
    db.create()
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap()
}

#[tokio::test]
async fn the_carry_over_sql_moves_exactly_what_the_domain_rule_moves() {
    let db = Db::new().await;
    let by = user(&db, "reviewer").await;
    members(&db, 10).await;
    // (decision recorded, recommendation) per item, covering every case.
    let setup: [(Option<Decision>, &str); 10] = [
        (None, "NoInfoAvailable"),
        (Some(Decision::Approve), "NoInfoAvailable"),
        (Some(Decision::Deny), "NoInfoAvailable"),
        (Some(Decision::NotReviewed), "NoInfoAvailable"),
        (Some(Decision::DontKnow), "NoInfoAvailable"),
        (Some(Decision::Approve), "Approve"),
        (Some(Decision::Deny), "Deny"),
        (Some(Decision::Approve), "Deny"),
        (None, "Approve"),
        (Some(Decision::DontKnow), "Approve"),
    ];
    let values = [
        MoveDecision::Approve,
        MoveDecision::Deny,
        MoveDecision::Recommendation,
        MoveDecision::NotReviewed,
    ];
    let mut rules = vec![None];
    rules.extend((0u8..16).map(|mask| {
        Some(
            (0..4)
                .filter(|b| mask & (1 << b) != 0)
                .map(|b| values[b])
                .collect::<Vec<_>>(),
        )
    }));

    for moving in rules {
        let review = two_stage(&db, moving.clone(), by).await;
        let first = Phase::Stage(review.first_stage.as_ref().unwrap().id);
        for (item, (decision, recommendation)) in review.items.iter().zip(setup) {
            sqlx::query("UPDATE decision_items SET recommendation = $2 WHERE id = $1")
                .bind(item.id.as_uuid())
                .bind(recommendation)
                .execute(&db.pool)
                .await
                .unwrap();
            if let Some(decision) = decision {
                let outcome = db
                    .repo
                    .record(first, &[item.id], &decided(by, decision, db.clock.now()))
                    .await
                    .unwrap();
                assert_eq!(outcome, RecordOutcome::Recorded);
            }
        }
        let (expected, moved) = stop_first_stage(&db, &review, &MoveRule(moving.clone())).await;
        assert_eq!(moved, expected, "rule {moving:?}");
    }
}

fn first_stage_id(review: &StartedReview) -> access_reviews_domain::ids::StageId {
    review.first_stage.as_ref().unwrap().id
}

/// The items of `phase`, in order.
async fn item_ids(db: &Db, phase: Phase) -> Vec<DecisionItemId> {
    db.repo
        .phase_items(phase)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.item.id)
        .collect()
}

/// Stops `review`'s first stage: the items `rule` moves on, judged on the
/// stage's items just before, and the items the next stage got.
async fn stop_first_stage(
    db: &Db,
    review: &StartedReview,
    rule: &MoveRule,
) -> (Vec<DecisionItemId>, Vec<DecisionItemId>) {
    let first = first_stage_id(review);
    let expected = db
        .repo
        .phase_items(Phase::Stage(first))
        .await
        .unwrap()
        .iter()
        .filter(|e| rule.moves(e.item.decision(), e.item.recommendation))
        .map(|e| e.item.id)
        .collect();
    let transition = db
        .stop()
        .execute(&admin(), review.definition.id, review.instance.id, first)
        .await
        .unwrap();
    let next = Phase::Stage(transition.started.unwrap().id);
    (expected, item_ids(db, next).await)
}

#[tokio::test]
async fn the_reviewer_filter_sql_agrees_with_the_domain_rule() {
    let db = Db::new().await;
    let people = members(&db, 4).await;
    let manager = user(&db, "manager").await;
    let fallback = user(&db, "fallback").await;
    let owner = user(&db, "owner").await;
    db.repo
        .add(group_id(), Relation::Owners, owner)
        .await
        .unwrap();
    db.repo.set_manager(people[0], manager).await.unwrap();
    db.repo.set_manager(people[1], manager).await.unwrap();
    let empty = group(&db, "empty").await;

    let manager_scope = QueryScope {
        query_root: Some("decisions".into()),
        ..scope("./manager")
    };
    let cases: Vec<(Vec<QueryScope>, Vec<QueryScope>)> = vec![
        (vec![], vec![]),
        (
            vec![scope(&format!("/groups/{GROUP}/owners"))],
            vec![scope(&format!("/users/{fallback}"))],
        ),
        (
            vec![manager_scope],
            vec![scope(&format!("/users/{fallback}"))],
        ),
        (
            vec![scope(&format!("/groups/{empty}/transitiveMembers"))],
            vec![scope(&format!("/users/{fallback}"))],
        ),
        (vec![scope(&format!("/groups/{GROUP}/members"))], vec![]),
    ];
    let mut candidates = people.clone();
    candidates.extend([manager, fallback, owner]);
    for (reviewers, fallback_reviewers) in cases {
        let mut spec = spec(0);
        spec.reviewers = reviewers;
        spec.fallback_reviewers = fallback_reviewers;
        let review = db
            .create()
            .execute(&admin(), spec)
            .await
            .unwrap()
            .started()
            .unwrap();
        let phase = Phase::Instance(review.instance.id);
        let rules: ReviewerRules = db.repo.rules(phase).await.unwrap().unwrap();
        let sorted = |mut r: ReviewerRules| {
            r.fixed.sort();
            r.fallback.sort();
            r
        };
        assert_eq!(
            sorted(rules.clone()),
            sorted(review.first_reviewers.clone())
        );
        let entries = db.repo.phase_items(phase).await.unwrap();
        for who in &candidates {
            let expected: Vec<_> = entries
                .iter()
                .filter(|e| rules.reviews(*who, e.item.principal.id, e.manager))
                .map(|e| e.item.id)
                .collect();
            // The instance's whole list; its one phase is the instance's.
            let query = DecisionQuery {
                reviewer: Some(*who),
                ..Default::default()
            };
            let listed: Vec<_> = listed(&db, &review, None, query)
                .await
                .into_iter()
                .map(|i| i.id)
                .collect();
            assert_eq!(listed, expected, "{rules:?} {who}");
            // The same rule decides whom the reads count as a reviewer.
            let (_, access) = access_reviews_domain::ports::ReviewReads::instance(
                &*db.repo,
                review.definition.id,
                review.instance.id,
                Some(*who),
            )
            .await
            .unwrap()
            .unwrap();
            assert_eq!(access.reviews, !expected.is_empty());
        }
    }
}

#[tokio::test]
async fn decisions_and_their_history_are_stored_and_reset_clears_only_the_latest() {
    let db = Db::new().await;
    let by = user(&db, "reviewer").await;
    members(&db, 3).await;
    let review = two_stage(&db, None, by).await;
    let phase = Phase::Stage(first_stage_id(&review));
    let ids: Vec<_> = review.items.iter().map(|i| i.id).collect();

    db.repo
        .record(
            phase,
            &ids[..2],
            &decided(by, Decision::Deny, db.clock.now()),
        )
        .await
        .unwrap();
    db.repo
        .record(
            phase,
            &ids[..1],
            &decided(by, Decision::Approve, db.clock.now()),
        )
        .await
        .unwrap();

    let item = db
        .repo
        .item(review.instance.id, ids[0])
        .await
        .unwrap()
        .unwrap();
    let latest = item.latest.unwrap();
    assert_eq!(latest.decision, Decision::Approve);
    assert_eq!(latest.reviewed_by, reviewer(by));
    assert_eq!(latest.reviewed_date_time, db.clock.now());
    assert_eq!(db.count("SELECT count(*) FROM decision_history").await, 3);
    let denied = DecisionQuery {
        decision: Some(Decision::Deny),
        ..Default::default()
    };
    let page = listed(&db, &review, None, denied).await;
    assert_eq!(page.iter().map(|i| i.id).collect::<Vec<_>>(), vec![ids[1]]);
    let not_reviewed = DecisionQuery {
        decision: Some(Decision::NotReviewed),
        ..Default::default()
    };
    let stage = Some(first_stage_id(&review));
    assert_eq!(listed(&db, &review, stage, not_reviewed).await.len(), 1);

    assert_eq!(
        db.repo.reset(review.instance.id).await.unwrap(),
        RecordOutcome::Recorded
    );
    assert!(
        db.repo
            .item(review.instance.id, ids[0])
            .await
            .unwrap()
            .unwrap()
            .latest
            .is_none()
    );
    assert_eq!(
        db.count("SELECT count(*) FROM decision_history").await,
        3,
        "the history stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_racing_a_stop_are_either_counted_or_refused_never_lost() {
    let db = Db::new().await;
    let by = user(&db, "reviewer").await;
    members(&db, 24).await;
    let review = two_stage(&db, Some(vec![MoveDecision::Approve]), by).await;
    let decisions = Arc::new(db.decisions());
    let stop = Arc::new(db.stop());
    let barrier = Arc::new(Barrier::new(25));

    let patches: Vec<_> = review
        .items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let (decisions, barrier) = (decisions.clone(), barrier.clone());
            let (d, i, item) = (review.definition.id, review.instance.id, item.id);
            // The stage's own decision URL, as a reviewer's client holds it.
            let stage = DecisionTarget::Stage(first_stage_id(&review));
            let decision = if n % 2 == 0 {
                Decision::Approve
            } else {
                Decision::Deny
            };
            tokio::spawn(async move {
                barrier.wait().await;
                let result = decisions
                    .record(
                        &person(by),
                        d,
                        i,
                        stage,
                        item,
                        NewReview {
                            decision,
                            justification: Some("race".into()),
                        },
                    )
                    .await;
                (item, decision, result)
            })
        })
        .collect();
    let stopper = {
        let (stop, barrier) = (stop.clone(), barrier.clone());
        let (d, i, s) = (
            review.definition.id,
            review.instance.id,
            first_stage_id(&review),
        );
        tokio::spawn(async move {
            barrier.wait().await;
            stop.execute(&admin(), d, i, s).await
        })
    };
    let transition = stopper.await.unwrap().unwrap();
    let in_next = item_ids(&db, Phase::Stage(transition.started.unwrap().id)).await;

    let mut accepted = 0;
    for patch in patches {
        let (item, decision, result) = patch.await.unwrap();
        let stored = db
            .repo
            .item(review.instance.id, item)
            .await
            .unwrap()
            .unwrap();
        match result {
            Ok(()) => {
                accepted += 1;
                assert_eq!(stored.decision(), decision, "an accepted decision is kept");
                assert_eq!(
                    in_next.contains(&item),
                    decision == Decision::Approve,
                    "and counted by the stop"
                );
            }
            Err(DecisionError::NotInProgress(_)) => {
                assert!(
                    stored.latest.is_none(),
                    "a refused decision leaves no trace"
                );
                assert!(
                    !in_next.contains(&item),
                    "NotReviewed does not move under [Approve]"
                );
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        db.count("SELECT count(*) FROM decision_history").await,
        accepted
    );
    println!(
        "decisions racing a stop: {accepted} of 24 committed before it, {} refused",
        24 - accepted
    );
}

/// Bulk-loads `count` members of the group, every tenth managed by
/// `manager` (who is not a member).
async fn bulk_members(db: &Db, count: i64, manager: PrincipalId) {
    sqlx::query(
        "INSERT INTO directory_users (id, display_name, user_principal_name, mail_nickname, account_enabled) \
         SELECT gen_random_uuid(), 'user ' || n, 'user' || n || '@example.test', 'user' || n, true \
         FROM generate_series(1, $1) AS n",
    )
    .bind(count)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE directory_users SET manager_id = $1 WHERE seq % 10 = 0 AND id <> $1")
        .bind(manager.as_uuid())
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO group_members (group_id, member_id, member_kind) \
         SELECT $1, id, 'user' FROM directory_users WHERE id <> $2 ORDER BY seq",
    )
    .bind(GROUP)
    .bind(manager.as_uuid())
    .execute(&db.pool)
    .await
    .unwrap();
}

/// A stage of more than 1,000 items has its carry-over planned for its
/// size (other settings for that statement): it still moves what the rule
/// moves, and the settings are back as they were for what follows it in
/// the transaction.
#[tokio::test]
async fn a_carry_over_of_more_than_1000_items_moves_what_the_rule_moves_and_restores_the_settings()
{
    const ITEMS: i64 = 1_500;
    let db = Db::new().await;
    let by = user(&db, "reviewer").await;
    bulk_members(&db, ITEMS, by).await;
    let moving = vec![MoveDecision::Deny, MoveDecision::Recommendation];
    let review = two_stage(&db, Some(moving.clone()), by).await;
    let first = Phase::Stage(first_stage_id(&review));
    let at = db.clock.now();
    for (n, decision) in [Decision::Approve, Decision::Deny, Decision::DontKnow]
        .into_iter()
        .enumerate()
    {
        let items: Vec<_> = review
            .items
            .iter()
            .skip(n)
            .step_by(4)
            .map(|i| i.id)
            .collect();
        let outcome = db
            .repo
            .record(first, &items, &decided(by, decision, at))
            .await
            .unwrap();
        assert_eq!(outcome, RecordOutcome::Recorded);
    }
    sqlx::query(
        "UPDATE decision_items SET recommendation = 'Approve' WHERE principal_id IN \
                 (SELECT id FROM directory_users WHERE seq % 3 = 0)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let (expected, moved) = stop_first_stage(&db, &review, &MoveRule(Some(moving))).await;
    assert!(
        expected.len() > 300 && expected.len() < 1_000,
        "{}",
        expected.len()
    );
    assert_eq!(moved, expected);

    // The function itself, in a transaction of the test's: what it set for
    // the large statement is undone before it returns.
    let mut tx = db.pool.begin().await.unwrap();
    let settings =
        "SELECT current_setting('plan_cache_mode') || ' ' || current_setting('work_mem')";
    let outside: String = sqlx::query_scalar(settings)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let scratch = uuid::Uuid::new_v4();
    sqlx::query("SELECT ar_carry_over($1, $2, true, '{}', false, 'NotReviewed')")
        .bind(scratch)
        .bind(first_stage_id(&review).as_uuid())
        .execute(&mut *tx)
        .await
        .unwrap();
    let copied: i64 = sqlx::query_scalar("SELECT count(*) FROM phase_items WHERE phase_id = $1")
        .bind(scratch)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(copied, ITEMS);
    let after: String = sqlx::query_scalar(settings)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(after, outside);
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn a_stop_of_a_stage_with_100_000_items_is_a_handful_of_statements() {
    const ITEMS: i64 = 100_000;
    let db = Db::new().await;
    let by = user(&db, "reviewer").await;
    bulk_members(&db, ITEMS, by).await;

    let created = Instant::now();
    let review = two_stage(&db, None, by).await;
    let created = created.elapsed();
    assert_eq!(review.items.len(), ITEMS as usize);

    let stopped = Instant::now();
    let transition = db
        .stop()
        .execute(
            &admin(),
            review.definition.id,
            review.instance.id,
            first_stage_id(&review),
        )
        .await
        .unwrap();
    let stopped = stopped.elapsed();

    let next = transition.started.unwrap().id.as_uuid();
    let moved: i64 = sqlx::query_scalar("SELECT count(*) FROM phase_items WHERE phase_id = $1")
        .bind(next)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(moved, ITEMS);
    let with_manager: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM phase_items WHERE phase_id = $1 AND manager_id IS NOT NULL",
    )
    .bind(next)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(with_manager, ITEMS / 10);
    assert_eq!(transition.stopped.status(), ReviewStatus::Completed);
    println!(
        "100,000 decision items: creating the review took {} ms, stopping its first stage took {} ms",
        created.as_millis(),
        stopped.as_millis()
    );
}

#[tokio::test]
async fn a_stop_whose_carry_over_fails_leaves_the_stage_items_and_decisions_as_they_were() {
    let db = Db::new().await;
    let by = user(&db, "reviewer").await;
    members(&db, 3).await;
    let review = two_stage(&db, None, by).await;
    let first = review.first_stage.clone().unwrap();
    db.repo
        .record(
            Phase::Stage(first.id),
            &[review.items[0].id],
            &decided(by, Decision::Approve, db.clock.now()),
        )
        .await
        .unwrap();
    let stages = db.stages(review.instance.id).await;
    let mut transition = access_reviews_domain::stop::StopTransition::plan(
        &review.definition,
        &review.instance,
        &stages,
        first.id,
        &admin(),
        db.clock.now(),
        ReviewerRules::default(),
    )
    .unwrap();
    // Sabotage the carry-over itself: the next stage's phase reuses the
    // first stage's id, which breaks the phase key after the stage update
    // and the next stage's insert have run.
    transition.carry_over.as_mut().unwrap().to = first.id;

    let result =
        access_reviews_domain::ports::StageRepository::commit_stop(&*db.repo, &transition).await;

    assert!(result.is_err(), "{result:?}");
    assert_eq!(
        db.stages(review.instance.id).await,
        stages,
        "no stage changed or was created"
    );
    assert_eq!(db.count("SELECT count(*) FROM review_phases").await, 1);
    assert_eq!(db.count("SELECT count(*) FROM phase_items").await, 3);
    assert_eq!(
        db.count("SELECT count(*) FROM access_review_audit").await,
        0
    );
    let item = db
        .repo
        .item(review.instance.id, review.items[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        item.decision(),
        Decision::Approve,
        "decisions are untouched"
    );
}
