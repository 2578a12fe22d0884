//! The review in time against a real PostgreSQL: schedulers racing each
//! other and a person's stop, the end of an instance with its default
//! decisions, applying decisions to the directory, the shared test clock.

use std::time::Instant;

use access_reviews_domain::actor::Actor;
use access_reviews_domain::actor::SYSTEM_NAME;
use access_reviews_domain::decision::ApplyResult;
use access_reviews_domain::decision::{Decision, DecisionItem};
use access_reviews_domain::definition::DefaultDecision;
use access_reviews_domain::definition::{NewDefinition, Recurrence, StagePlan};
use access_reviews_domain::directory::{Group, Relation, User};
use access_reviews_domain::ids::PrincipalId;
use access_reviews_domain::ports::{
    Claim, Clock, ClockControl, DecisionQuery, DefinitionRepository, DirectoryRepository,
    ReviewReads, StartedReview,
};
use access_reviews_domain::query::PageRequest;
use access_reviews_domain::schedule::{Pattern, PatternKind, Range, RangeKind};
use access_reviews_domain::use_cases::{DecisionTarget, NewReview, PassReport};
use access_reviews_postgres::PgTestClock;
use chrono::Duration;

use crate::repository::{Db, GROUP, admin, spec};

fn group_id() -> PrincipalId {
    PrincipalId::from_uuid(GROUP)
}

pub(crate) async fn user(db: &Db, name: &str) -> PrincipalId {
    let id = PrincipalId::new_random();
    db.repo
        .create_user(&User {
            id,
            display_name: name.into(),
            user_principal_name: format!("{name}@example.test"),
            mail: None,
            mail_nickname: name.into(),
            account_enabled: true,
        })
        .await
        .unwrap();
    id
}

pub(crate) async fn member_of(db: &Db, group: PrincipalId, name: &str) -> PrincipalId {
    let id = user(db, name).await;
    db.repo.add(group, Relation::Members, id).await.unwrap();
    id
}

fn person(id: PrincipalId) -> Actor {
    Actor::User {
        id,
        display_name: None,
        user_principal_name: None,
        roles: vec![],
    }
}

/// A review whose one stage (or instance) the members review themselves.
fn self_review(stages: usize) -> NewDefinition {
    let mut spec = spec(stages);
    let mut plan = spec.stage_plan.stages().to_vec();
    for stage in &mut plan {
        stage.reviewers.clear();
    }
    spec.stage_plan = StagePlan::new(plan).unwrap();
    spec.settings.recurrence = None;
    spec.settings.justification_required_on_approval = false;
    spec
}

async fn decide(db: &Db, review: &StartedReview, who: PrincipalId, decision: Decision) {
    db.decisions()
        .record_batch(
            &person(who),
            review.definition.id,
            review.instance.id,
            DecisionTarget::Current,
            NewReview {
                decision,
                justification: None,
            },
            None,
            None,
        )
        .await
        .unwrap();
}

pub(crate) async fn items_of(db: &Db, review: &StartedReview) -> Vec<DecisionItem> {
    let all = DecisionQuery {
        page: PageRequest::new(Some(999), 0).unwrap(),
        ..DecisionQuery::default()
    };
    crate::decisions::listed(db, review, None, all).await
}

fn item_of(items: &[DecisionItem], who: PrincipalId) -> &DecisionItem {
    items.iter().find(|i| i.principal.id == who).unwrap()
}

async fn direct_members(db: &Db, group: PrincipalId) -> Vec<PrincipalId> {
    let mut ids: Vec<_> = db
        .repo
        .related(group, Relation::Members, PageRequest::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|o| o.id())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<PrincipalId>) -> Vec<PrincipalId> {
    ids.sort();
    ids
}

#[tokio::test]
async fn two_schedulers_claiming_200_due_stages_end_each_exactly_once() {
    let db = Db::new().await;
    for _ in 0..200 {
        db.create()
            .execute(&admin(), spec(3))
            .await
            .unwrap()
            .started()
            .unwrap();
    }
    // Stages last one, two and three days. Each round makes one stage of
    // every review due; two schedulers race for them, first sharing the
    // work through leases, then both taking all of it.
    for (round, claim, advance) in [
        (1, Claim::Lease, Duration::hours(36)),
        (2, Claim::All, Duration::days(2)),
    ] {
        db.clock.advance(advance);
        let (one, two) = (db.lifecycle(), db.lifecycle());
        let started = Instant::now();
        let (a, b) = tokio::join!(one.run_due(claim), two.run_due(claim));
        let elapsed = started.elapsed();
        let (a, b) = (a.unwrap(), b.unwrap());

        assert_eq!(a.stages_ended + b.stages_ended, 200, "{a:?} {b:?}");
        assert_eq!(
            db.count("SELECT count(*) FROM access_review_audit WHERE action = 'stageStopped'")
                .await,
            200 * round
        );
        assert_eq!(
            db.count("SELECT count(*) FROM access_review_stages WHERE status = 'InProgress'")
                .await,
            200,
            "one stage in progress per review"
        );
        assert_eq!(
            db.count("SELECT count(*) FROM access_review_stages").await,
            200 * (round + 1)
        );
        println!(
            "two schedulers ({claim:?}), 200 due stages: {:.0} ms, {} + {} ended, {} + {} lost races",
            elapsed.as_secs_f64() * 1000.0,
            a.stages_ended,
            b.stages_ended,
            a.lost_races,
            b.lost_races
        );
        assert_eq!(
            db.lifecycle().run_due(Claim::All).await.unwrap(),
            PassReport::default()
        );
    }
}

#[tokio::test]
async fn a_scheduler_pass_over_1000_due_stages() {
    let db = Db::new().await;
    for _ in 0..1000 {
        db.create()
            .execute(&admin(), spec(2))
            .await
            .unwrap()
            .started()
            .unwrap();
    }
    db.clock.advance(Duration::hours(36));
    let started = Instant::now();
    let report = db.lifecycle().run_due(Claim::All).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(report.stages_ended, 1000);
    println!(
        "one scheduler pass over 1,000 due stages: {:.2} s",
        elapsed.as_secs_f64()
    );
}

#[tokio::test]
async fn a_person_stopping_a_due_stage_while_the_scheduler_ends_it_makes_one_transition() {
    let db = Db::new().await;
    let mut reviews = Vec::new();
    for _ in 0..20 {
        reviews.push(
            db.create()
                .execute(&admin(), spec(2))
                .await
                .unwrap()
                .started()
                .unwrap(),
        );
    }
    db.clock.advance(Duration::hours(36));

    let stop = db.stop();
    let people = async {
        let mut won = 0;
        for review in &reviews {
            let stage = review.first_stage.as_ref().unwrap().id;
            if stop
                .execute(&admin(), review.definition.id, review.instance.id, stage)
                .await
                .is_ok()
            {
                won += 1;
            }
        }
        won
    };
    let lifecycle = db.lifecycle();
    let (by_people, by_scheduler) = tokio::join!(people, lifecycle.run_due(Claim::Lease));
    let by_scheduler = by_scheduler.unwrap();

    assert_eq!(by_people + by_scheduler.stages_ended, 20);
    assert_eq!(
        db.count("SELECT count(*) FROM access_review_audit WHERE action = 'stageStopped'")
            .await,
        20
    );
    assert_eq!(
        db.count("SELECT count(*) FROM access_review_stages WHERE stage_key = '2'")
            .await,
        20
    );
}

#[tokio::test]
async fn applying_removes_exactly_the_denied_direct_memberships_once() {
    let db = Db::new().await;
    let group = group_id();
    let nested = PrincipalId::new_random();
    db.repo
        .create_group(&Group {
            id: nested,
            display_name: "nested".into(),
            description: None,
            mail_nickname: "nested".into(),
            mail_enabled: false,
            security_enabled: true,
        })
        .await
        .unwrap();
    db.repo.add(group, Relation::Members, nested).await.unwrap();
    let denied = member_of(&db, group, "denied").await;
    let approved = member_of(&db, group, "approved").await;
    let silent = member_of(&db, group, "silent").await;
    let through_nested = member_of(&db, nested, "through-nested").await;
    let gone = member_of(&db, group, "gone").await;
    let bystander = member_of(&db, nested, "bystander").await;
    let review = db
        .create()
        .execute(&admin(), self_review(0))
        .await
        .unwrap()
        .started()
        .unwrap();
    decide(&db, &review, denied, Decision::Deny).await;
    decide(&db, &review, approved, Decision::Approve).await;
    decide(&db, &review, through_nested, Decision::Deny).await;
    decide(&db, &review, gone, Decision::Deny).await;
    decide(&db, &review, bystander, Decision::DontKnow).await;
    db.repo.remove_member(group, gone).await.unwrap();

    let lifecycle = db.lifecycle();
    lifecycle
        .stop_instance(&admin(), review.definition.id, review.instance.id)
        .await
        .unwrap();
    assert!(
        items_of(&db, &review)
            .await
            .iter()
            .all(|i| i.applied.is_none()),
        "without auto-apply the end applies nothing"
    );
    let applied = lifecycle
        .apply_decisions(&admin(), review.definition.id, review.instance.id)
        .await
        .unwrap();
    assert_eq!(applied, 6);

    assert_eq!(
        direct_members(&db, group).await,
        sorted(vec![nested, approved, silent])
    );
    assert_eq!(
        direct_members(&db, nested).await,
        sorted(vec![through_nested, bystander])
    );
    let items = items_of(&db, &review).await;
    for (who, result) in [
        (denied, ApplyResult::AppliedSuccessfully),
        (approved, ApplyResult::AppliedSuccessfully),
        (silent, ApplyResult::AppliedSuccessfully),
        (through_nested, ApplyResult::ApplyNotSupported),
        (gone, ApplyResult::AppliedSuccessfullyButObjectNotFound),
        (bystander, ApplyResult::AppliedSuccessfully),
    ] {
        let item = item_of(&items, who);
        let applied = item.applied.as_ref().unwrap();
        assert_eq!(applied.result, result, "{}", item.principal.display_name);
        assert_eq!(applied.at, db.clock.now());
    }

    let again = lifecycle
        .apply_decisions(&admin(), review.definition.id, review.instance.id)
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(
        direct_members(&db, group).await,
        sorted(vec![nested, approved, silent])
    );
    assert_eq!(
        db.count("SELECT count(*) FROM access_review_audit WHERE action = 'decisionsApplied'")
            .await,
        2
    );
}

#[tokio::test]
async fn a_stage_ending_on_schedule_records_the_default_decision_and_applies_it() {
    let db = Db::new().await;
    let group = group_id();
    let approved = member_of(&db, group, "approved").await;
    let silent = member_of(&db, group, "silent").await;
    let mut spec = self_review(1);
    spec.settings.default_decision_enabled = true;
    spec.settings.default_decision = Some(DefaultDecision::Deny);
    spec.settings.auto_apply_decisions_enabled = true;
    let review = db
        .create()
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap();
    decide(&db, &review, approved, Decision::Approve).await;

    db.clock.advance(Duration::days(2));
    let report = db.lifecycle().run_due(Claim::All).await.unwrap();
    assert_eq!(report.stages_ended, 1);

    assert_eq!(direct_members(&db, group).await, vec![approved]);
    let items = items_of(&db, &review).await;
    let silent_item = item_of(&items, silent);
    let latest = silent_item.latest.as_ref().unwrap();
    assert_eq!(latest.decision, Decision::Deny);
    assert_eq!(latest.reviewed_by.display_name, SYSTEM_NAME);
    assert_eq!(latest.reviewed_by.id.as_uuid(), uuid::Uuid::nil());
    let end = review.first_stage.as_ref().unwrap().end_date_time;
    assert_eq!(latest.reviewed_date_time, end);
    assert_eq!(
        silent_item.applied.as_ref().map(|a| a.result),
        Some(ApplyResult::AppliedSuccessfully)
    );
    assert_eq!(
        item_of(&items, approved).decision(),
        Decision::Approve,
        "a decision made stays"
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM decision_history \
             WHERE reviewed_by_id = '00000000-0000-0000-0000-000000000000'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn every_replica_reads_the_same_test_clock_and_it_never_goes_back() {
    let db = Db::new().await;
    let (one, two) = (
        PgTestClock::new(db.pool.clone()),
        PgTestClock::new(db.pool.clone()),
    );
    let before = Clock::now(&two).await.unwrap();
    let moved = one.advance(Duration::days(3)).await.unwrap();
    let seen = Clock::now(&two).await.unwrap();
    assert!(moved >= before + Duration::days(3));
    assert!(seen >= moved && seen - moved < Duration::minutes(1));
    assert!(
        one.advance(Duration::days(-30)).await.is_err(),
        "the store refuses a clock before real time"
    );
    assert!(Clock::now(&two).await.unwrap() >= seen);
}

#[tokio::test]
async fn two_schedulers_racing_for_due_starts_start_one_instance_per_period() {
    let db = Db::new().await;
    member_of(&db, group_id(), "ann").await;
    let start = db.clock.now().date_naive() + Duration::days(2);
    let mut definitions = Vec::new();
    for _ in 0..20 {
        let mut spec = self_review(1);
        spec.settings.recurrence = Some(
            Recurrence::new(
                Some(Pattern {
                    kind: PatternKind::Weekly,
                    interval: 1,
                    day_of_month: None,
                }),
                Range {
                    kind: RangeKind::Numbered,
                    start_date: Some(start),
                    end_date: None,
                    number_of_occurrences: Some(2),
                    recurrence_time_zone: None,
                },
            )
            .unwrap(),
        );
        let created = db.create().execute(&admin(), spec).await.unwrap();
        assert!(created.clone().started().is_none());
        definitions.push(created.definition().id);
    }
    assert_eq!(
        db.count("SELECT count(*) FROM access_review_definitions WHERE status = 'NotStarted'")
            .await,
        20
    );

    for (round, claim) in [(1, Claim::All), (2, Claim::Lease)] {
        db.clock.advance(Duration::days(7));
        let (one, two) = (db.lifecycle(), db.lifecycle());
        let (a, b) = tokio::join!(one.run_due(claim), two.run_due(claim));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.instances_started + b.instances_started, 20, "{a:?} {b:?}");
        assert_eq!(
            db.count("SELECT count(*) FROM access_review_instances")
                .await,
            20 * round
        );
        assert_eq!(
            db.count("SELECT count(*) FROM access_review_stages").await,
            20 * round,
            "each instance started with its first stage"
        );
        assert_eq!(
            db.count("SELECT count(*) FROM decision_items").await,
            20 * round,
            "the scope was resolved at each start"
        );
        assert_eq!(
            db.count(
                "SELECT count(*) FROM access_review_audit WHERE action = 'instanceStarted' \
                 AND actor_id = '00000000-0000-0000-0000-000000000000'"
            )
            .await,
            20 * round
        );
    }
    // The second of two occurrences ends the recurrence: its instance's
    // end completes the definition.
    assert_eq!(
        db.count("SELECT count(*) FROM access_review_definitions WHERE next_instance_at IS NULL")
            .await,
        20
    );
    db.clock.advance(Duration::days(7));
    db.lifecycle().run_due(Claim::All).await.unwrap();
    assert_eq!(
        db.count("SELECT count(*) FROM access_review_definitions WHERE status = 'Completed'")
            .await,
        20
    );
}

#[tokio::test]
async fn a_reviewer_is_found_in_any_instance_of_a_definition_and_only_of_it() {
    let db = Db::new().await;
    let reviewer = member_of(&db, group_id(), "ann").await;
    let stranger = user(&db, "bob").await;
    let reviewed = db
        .create()
        .execute(&admin(), self_review(1))
        .await
        .unwrap()
        .started()
        .unwrap();
    let lookup = |definition| {
        let repo = db.repo.clone();
        async move {
            let reviews = |who| {
                let repo = repo.clone();
                async move {
                    ReviewReads::definition(&*repo, definition, Some(who))
                        .await
                        .unwrap()
                        .is_ok_and(|(_, access)| access.reviews)
                }
            };
            (reviews(reviewer).await, reviews(stranger).await)
        }
    };
    assert_eq!(lookup(reviewed.definition.id).await, (true, false));
    assert_eq!(
        lookup(access_reviews_domain::ids::DefinitionId::new_random()).await,
        (false, false)
    );

    // The same rule lists what each reviews.
    db.create().execute(&admin(), spec(1)).await.unwrap();
    use access_reviews_domain::query::ListQuery;
    let query = ListQuery::default();
    let definitions = |who| {
        let repo = db.repo.clone();
        async move {
            DefinitionRepository::list_reviewed_by(&*repo, who, ListQuery::default())
                .await
                .unwrap()
                .items
                .iter()
                .map(|d| d.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(definitions(reviewer).await, [reviewed.definition.id]);
    assert!(definitions(stranger).await.is_empty());
    let (instances, _) = ReviewReads::instances(
        &*db.repo,
        reviewed.definition.id,
        query,
        Some(reviewer),
        None,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        instances.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        [reviewed.instance.id]
    );
}

/// `contactedReviewers` in SQL against the domain's rule: managers, the
/// fallback for an item without one, then the members themselves, then a
/// fixed reviewer, each since the start of the first stage they review in.
#[tokio::test]
async fn contacted_reviewers_follow_the_reviewer_rules_of_every_stage() {
    use access_reviews_domain::ports::ReviewReads as _;

    let db = Db::new().await;
    let group = group_id();
    let meg = user(&db, "meg").await;
    let olga = user(&db, "olga").await;
    let auditor = user(&db, "auditor").await;
    let ann = member_of(&db, group, "ann").await;
    member_of(&db, group, "bob").await;
    db.repo.set_manager(ann, meg).await.unwrap();

    let mut spec = spec(3);
    let mut plan = spec.stage_plan.stages().to_vec();
    plan[0].fallback_reviewers = vec![crate::repository::scope(&format!("/users/{olga}"))];
    plan[1].reviewers.clear();
    plan[2].reviewers = vec![crate::repository::scope(&format!("/users/{auditor}"))];
    spec.stage_plan = StagePlan::new(plan).unwrap();
    let review = db
        .create()
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap();
    let contacted = || async {
        let mut found: Vec<_> = db
            .repo
            .contacted_reviewers(review.instance.id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.display_name.unwrap(), r.since))
            .collect();
        found.sort();
        found
    };
    let t0 = review.first_stage.as_ref().unwrap().start_date_time;
    assert_eq!(contacted().await, [("meg".into(), t0), ("olga".into(), t0)]);

    let mut starts = vec![t0];
    for _ in 0..2 {
        db.clock.advance(Duration::hours(12));
        let running = db
            .stages(review.instance.id)
            .await
            .into_iter()
            .find(|s| s.status() == access_reviews_domain::status::ReviewStatus::InProgress)
            .unwrap();
        db.stop()
            .execute(
                &admin(),
                review.definition.id,
                review.instance.id,
                running.id,
            )
            .await
            .unwrap();
        starts.push(
            db.stages(review.instance.id)
                .await
                .last()
                .unwrap()
                .start_date_time,
        );
    }
    let (t1, t2) = (starts[1], starts[2]);
    assert!(t0 < t1 && t1 < t2);
    assert_eq!(
        contacted().await,
        [
            ("ann".into(), t1),
            ("auditor".into(), t2),
            ("bob".into(), t1),
            ("meg".into(), t0),
            ("olga".into(), t0),
        ]
    );
}

/// `PATCH …/stages/{id}` in PostgreSQL: the stage's scopes and its phase's
/// rules change together, the reads' reviewer rule follows at once, and a
/// stage that has ended refuses.
#[tokio::test]
async fn a_stage_s_new_reviewers_are_who_reviews_it_from_then_on() {
    use access_reviews_domain::ports::{DecisionQuery, ReviewReads as _};
    use access_reviews_domain::use_cases::LifecycleError;

    let db = Db::new().await;
    let group = group_id();
    let meg = user(&db, "meg").await;
    let olga = user(&db, "olga").await;
    let pat = user(&db, "pat").await;
    let ann = member_of(&db, group, "ann").await;
    member_of(&db, group, "bob").await;
    db.repo.set_manager(ann, meg).await.unwrap();
    let review = db
        .create()
        .execute(&admin(), spec(2))
        .await
        .unwrap()
        .started()
        .unwrap();
    let stage = review.first_stage.as_ref().unwrap().id;
    let reviewed_by = |who: PrincipalId| {
        let repo = db.repo.clone();
        let review = &review;
        async move {
            let (page, _) = repo
                .items(
                    review.definition.id,
                    review.instance.id,
                    Some(stage),
                    DecisionQuery {
                        reviewer: Some(who),
                        ..DecisionQuery::default()
                    },
                    None,
                )
                .await
                .unwrap()
                .unwrap();
            page.items.len()
        }
    };
    assert_eq!((reviewed_by(meg).await, reviewed_by(olga).await), (1, 0));

    let scope = |id: PrincipalId| crate::repository::scope(&format!("/users/{id}"));
    let updated = db
        .lifecycle()
        .update_stage_reviewers(
            &admin(),
            review.definition.id,
            review.instance.id,
            stage,
            Some(vec![scope(olga)]),
            Some(vec![scope(pat)]),
        )
        .await
        .unwrap();
    assert_eq!(updated.reviewers, [scope(olga)]);
    let stored = db.stages(review.instance.id).await;
    assert_eq!(stored[0].reviewers, [scope(olga)]);
    assert_eq!(stored[0].fallback_reviewers, [scope(pat)]);
    assert_eq!(
        (
            reviewed_by(meg).await,
            reviewed_by(olga).await,
            reviewed_by(pat).await
        ),
        (0, 2, 0),
        "the fixed reviewer reviews every item; the fallback nobody's"
    );
    let contacted: Vec<_> = db
        .repo
        .contacted_reviewers(review.instance.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(contacted, [olga]);

    // Once the stage has ended, it refuses, and nothing changes.
    db.stop()
        .execute(&admin(), review.definition.id, review.instance.id, stage)
        .await
        .unwrap();
    let refused = db
        .lifecycle()
        .update_stage_reviewers(
            &admin(),
            review.definition.id,
            review.instance.id,
            stage,
            Some(vec![scope(meg)]),
            None,
        )
        .await;
    assert!(
        matches!(refused, Err(LifecycleError::StageNotInProgress(_))),
        "{refused:?}"
    );
    assert_eq!(
        db.stages(review.instance.id).await[0].reviewers,
        [scope(olga)]
    );
}

/// `PUT …/instances/{id}` in PostgreSQL: an instance without stages takes
/// its new reviewers for its items at once; its scopes are stored.
#[tokio::test]
async fn an_instance_without_stages_takes_its_new_reviewers_at_once() {
    use access_reviews_domain::ports::{DecisionQuery, ReviewReads as _};

    let db = Db::new().await;
    let group = group_id();
    let olga = user(&db, "olga").await;
    let ann = member_of(&db, group, "ann").await;
    let mut spec = spec(0);
    spec.settings.recurrence = None;
    let review = db
        .create()
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap();
    let reviewed_by = |who: PrincipalId| {
        let repo = db.repo.clone();
        let review = &review;
        async move {
            let (page, _) = repo
                .items(
                    review.definition.id,
                    review.instance.id,
                    None,
                    DecisionQuery {
                        reviewer: Some(who),
                        ..DecisionQuery::default()
                    },
                    None,
                )
                .await
                .unwrap()
                .unwrap();
            page.items.len()
        }
    };
    assert_eq!(
        (reviewed_by(ann).await, reviewed_by(olga).await),
        (1, 0),
        "a self-review"
    );
    let scope = crate::repository::scope(&format!("/users/{olga}"));
    let updated = db
        .lifecycle()
        .update_instance_reviewers(
            &admin(),
            review.definition.id,
            review.instance.id,
            Some(vec![scope.clone()]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(updated.reviewers, std::slice::from_ref(&scope));
    assert_eq!((reviewed_by(ann).await, reviewed_by(olga).await), (0, 1));
    let (stored, _) = db
        .repo
        .instance(review.definition.id, review.instance.id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.reviewers, [scope]);
}

/// `acceptRecommendations` in SQL: undecided items with a recommendation
/// take it, with their history; decided ones and those without one stay.
#[tokio::test]
async fn accepted_recommendations_are_decisions_with_their_history() {
    let db = Db::new().await;
    let group = group_id();
    let reviewer = user(&db, "reviewer").await;
    let ann = member_of(&db, group, "ann").await;
    let bob = member_of(&db, group, "bob").await;
    let cat = member_of(&db, group, "cat").await;
    let mut spec = spec(1);
    let mut plan = spec.stage_plan.stages().to_vec();
    plan[0].reviewers = vec![crate::repository::scope(&format!("/users/{reviewer}"))];
    spec.stage_plan = StagePlan::new(plan).unwrap();
    spec.settings.justification_required_on_approval = true;
    let review = db
        .create()
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap();
    for (who, recommendation) in [(ann, "Approve"), (bob, "Deny")] {
        sqlx::query("UPDATE decision_items SET recommendation = $2 WHERE principal_id = $1")
            .bind(who.as_uuid())
            .bind(recommendation)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    decide(&db, &review, reviewer, Decision::DontKnow).await;
    // Bob's item back to undecided; Ann's too; Cat keeps DontKnow.
    sqlx::query(
        "UPDATE decision_items SET decision = NULL, justification = NULL, reviewed_by_id = NULL, \
         reviewed_by_display_name = NULL, reviewed_by_user_principal_name = NULL, \
         reviewed_date_time = NULL WHERE principal_id = ANY($1)",
    )
    .bind(vec![ann.as_uuid(), bob.as_uuid()])
    .execute(&db.pool)
    .await
    .unwrap();

    db.decisions()
        .accept_recommendations(&person(reviewer), review.definition.id, review.instance.id)
        .await
        .unwrap();
    let items = items_of(&db, &review).await;
    assert_eq!(item_of(&items, ann).decision(), Decision::Approve);
    assert_eq!(item_of(&items, bob).decision(), Decision::Deny);
    assert_eq!(
        item_of(&items, cat).decision(),
        Decision::DontKnow,
        "decided already"
    );
    assert_eq!(
        item_of(&items, ann).latest.as_ref().unwrap().reviewed_by.id,
        reviewer
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM decision_history \
             WHERE justification = 'Accepted the recommendation.'"
        )
        .await,
        2
    );
}
