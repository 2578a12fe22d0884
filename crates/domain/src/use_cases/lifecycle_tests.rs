//! The review in time over the in-memory fakes: scheduled ends, the end
//! of an instance, applying decisions, the instance and definition actions.

use chrono::Duration;

use crate::actor::SYSTEM_NAME;
use crate::decision::ApplyResult;
use crate::decision::{Decision, DecisionItem};
use crate::definition::DefaultDecision;
use crate::definition::{DurationInDays, MoveDecision};
use crate::directory::Relation;
use crate::ids::PrincipalId;
use crate::ports::{Claim, DecisionQuery, ReviewReads, StartedReview};
use crate::ports::{DecisionRepository, DirectoryRepository};
use crate::query::{ListQuery, PageRequest};
use crate::stage::Stage;
use crate::status::ReviewStatus;
use crate::use_cases::decision_tests::{member, person, scope, user};
use crate::use_cases::tests::{World, admin, spec, world};
use crate::use_cases::*;

async fn stages(w: &World, r: &StartedReview) -> Vec<Stage> {
    w.read
        .stages(
            &admin(),
            r.definition.id,
            r.instance.id,
            ListQuery::default(),
            false,
        )
        .await
        .unwrap()
        .items
}

async fn items(w: &World, r: &StartedReview) -> Vec<DecisionItem> {
    let all = DecisionQuery {
        page: PageRequest::new(Some(999), 0).unwrap(),
        ..DecisionQuery::default()
    };
    let (page, _) = ReviewReads::items(&w.repo, r.definition.id, r.instance.id, None, all, None)
        .await
        .unwrap()
        .unwrap();
    page.items
}

async fn state(w: &World, r: &StartedReview) -> (ReviewStatus, ReviewStatus) {
    let definition = w.read.definition(&admin(), r.definition.id).await.unwrap();
    let instance = w
        .read
        .instance(&admin(), r.definition.id, r.instance.id)
        .await
        .unwrap();
    (definition.status, instance.status())
}

/// Three members of the scope group; returns them.
async fn members(w: &World) -> Vec<PrincipalId> {
    let mut ids = Vec::new();
    for name in ["ann", "bob", "cat"] {
        let id = user(w, name).await;
        member(w, w.group, id).await;
        ids.push(id);
    }
    ids
}

async fn direct_members(w: &World) -> Vec<PrincipalId> {
    w.repo
        .related(w.group, Relation::Members, PageRequest::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|o| o.id())
        .collect()
}

#[tokio::test]
async fn a_three_stage_review_that_nobody_stops_ends_each_stage_on_schedule() {
    let w = world();
    let review = w
        .create
        .execute(&admin(), spec(3))
        .await
        .unwrap()
        .started()
        .unwrap();
    let start = review.instance.start_date_time;

    w.clock.advance(Duration::days(1));
    assert_eq!(
        w.lifecycle.run_due(Claim::All).await.unwrap(),
        PassReport::default()
    );
    assert_eq!(stages(&w, &review).await.len(), 1, "nothing is due yet");

    // Stages of 2, 3 and 4 days: all three are over after 9 days, and one
    // pass ends each in turn, at its scheduled end.
    w.clock.advance(Duration::days(30));
    let report = w.lifecycle.run_due(Claim::All).await.unwrap();
    assert_eq!(report.stages_ended, 3);

    let stages = stages(&w, &review).await;
    let windows: Vec<_> = stages
        .iter()
        .map(|s| {
            (
                s.status(),
                s.start_date_time - start,
                s.end_date_time - start,
            )
        })
        .collect();
    assert_eq!(
        windows,
        [
            (ReviewStatus::Completed, Duration::zero(), Duration::days(2)),
            (
                ReviewStatus::Completed,
                Duration::days(2),
                Duration::days(5)
            ),
            (
                ReviewStatus::Completed,
                Duration::days(5),
                Duration::days(9)
            ),
        ]
    );
    assert_eq!(
        state(&w, &review).await,
        (ReviewStatus::Completed, ReviewStatus::Completed)
    );
    let system = w.repo.audit();
    assert_eq!(system.len(), 3);
    assert!(system.iter().all(|a| a.actor.as_uuid().is_nil()));
    assert_eq!(
        w.lifecycle.run_due(Claim::All).await.unwrap(),
        PassReport::default(),
        "a second pass finds nothing"
    );
}

#[tokio::test]
async fn items_follow_their_decisions_into_stages_created_on_schedule() {
    let w = world();
    let people = members(&w).await;
    let mut spec = spec(2);
    let mut plan = spec.stage_plan.stages().to_vec();
    plan[0].decisions_that_will_move_to_next_stage = Some(vec![MoveDecision::Approve]);
    spec.stage_plan = crate::definition::StagePlan::new(plan).unwrap();
    let review = w
        .create
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap();
    // Self-review: ann approves her own access, bob denies his.
    for (who, decision) in [(people[0], Decision::Approve), (people[1], Decision::Deny)] {
        w.decisions
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

    w.clock.advance(Duration::days(3));
    w.lifecycle.run_due(Claim::All).await.unwrap();

    let second = stages(&w, &review).await[1].clone();
    let moved = w
        .repo
        .phase_items(crate::ports::Phase::Stage(second.id))
        .await
        .unwrap();
    let moved: Vec<_> = moved.iter().map(|e| e.item.principal.id).collect();
    assert_eq!(moved, [people[0]]);
}

#[tokio::test]
async fn a_single_stage_review_ends_after_its_duration_with_the_default_decision_applied() {
    let w = world();
    let people = members(&w).await;
    let mut spec = spec(0);
    spec.settings.instance_duration_in_days = DurationInDays::new(3).unwrap();
    spec.settings.default_decision_enabled = true;
    spec.settings.default_decision = Some(DefaultDecision::Deny);
    spec.settings.auto_apply_decisions_enabled = true;
    let review = w
        .create
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap();
    // ann approves herself; bob and cat do nothing.
    w.decisions
        .record_batch(
            &person(people[0]),
            review.definition.id,
            review.instance.id,
            DecisionTarget::Current,
            NewReview {
                decision: Decision::Approve,
                justification: None,
            },
            None,
            None,
        )
        .await
        .unwrap();

    w.clock.advance(Duration::days(2));
    w.lifecycle.run_due(Claim::All).await.unwrap();
    assert_eq!(direct_members(&w).await.len(), 3, "not over yet");

    w.clock.advance(Duration::days(2));
    let report = w.lifecycle.run_due(Claim::All).await.unwrap();
    assert_eq!(report.instances_ended, 1);
    assert_eq!(
        state(&w, &review).await,
        (ReviewStatus::Completed, ReviewStatus::Completed)
    );
    assert_eq!(direct_members(&w).await, [people[0]]);
    for item in items(&w, &review).await {
        let latest = item.latest.clone().unwrap();
        let applied = item.applied.clone().unwrap();
        assert_eq!(applied.result, ApplyResult::AppliedSuccessfully);
        assert_eq!(applied.by.display_name, SYSTEM_NAME);
        assert_eq!(applied.at, review.instance.end_date_time);
        if item.principal.id == people[0] {
            assert_eq!(latest.decision, Decision::Approve);
        } else {
            assert_eq!(latest.decision, Decision::Deny);
            assert_eq!(latest.reviewed_by.display_name, SYSTEM_NAME);
            assert!(latest.justification.unwrap().contains("by default"));
        }
    }
}

#[tokio::test]
async fn a_recommendation_default_leaves_items_without_one_unreviewed() {
    let w = world();
    members(&w).await;
    let mut spec = spec(0);
    spec.settings.default_decision_enabled = true;
    spec.settings.default_decision = Some(DefaultDecision::Recommendation);
    let review = w
        .create
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap();
    w.lifecycle
        .stop_instance(&admin(), review.definition.id, review.instance.id)
        .await
        .unwrap();
    for item in items(&w, &review).await {
        assert_eq!(item.decision(), Decision::NotReviewed);
        assert_eq!(item.applied, None, "without auto-apply nothing is applied");
    }
}

#[tokio::test]
async fn stopping_an_instance_ends_its_stage_without_a_next_one_and_only_once() {
    let w = world();
    let review = w
        .create
        .execute(&admin(), spec(3))
        .await
        .unwrap()
        .started()
        .unwrap();

    let early = w
        .lifecycle
        .apply_decisions(&admin(), review.definition.id, review.instance.id)
        .await;
    assert!(matches!(
        early,
        Err(LifecycleError::InstanceNotCompleted(
            ReviewStatus::InProgress
        ))
    ));

    w.clock.advance(Duration::hours(1));
    w.lifecycle
        .stop_instance(&admin(), review.definition.id, review.instance.id)
        .await
        .unwrap();
    let stages = stages(&w, &review).await;
    assert_eq!(stages.len(), 1);
    assert_eq!(stages[0].status(), ReviewStatus::Completed);
    assert_eq!(stages[0].end_date_time, w.clock.now());
    assert_eq!(
        state(&w, &review).await,
        (ReviewStatus::Completed, ReviewStatus::Completed)
    );

    let again = w
        .lifecycle
        .stop_instance(&admin(), review.definition.id, review.instance.id)
        .await;
    assert!(matches!(
        again,
        Err(LifecycleError::InstanceNotInProgress(
            ReviewStatus::Completed
        ))
    ));
    let remind = w
        .lifecycle
        .send_reminder(&admin(), review.definition.id, review.instance.id)
        .await;
    assert!(matches!(
        remind,
        Err(LifecycleError::InstanceNotInProgress(
            ReviewStatus::Completed
        ))
    ));
    let decided = w
        .decisions
        .record_batch(
            &admin(),
            review.definition.id,
            review.instance.id,
            DecisionTarget::Current,
            NewReview {
                decision: Decision::Approve,
                justification: None,
            },
            None,
            None,
        )
        .await;
    assert!(decided.is_err(), "reviewers can no longer decide");
}

#[tokio::test]
async fn applying_twice_applies_nothing_the_second_time() {
    let w = world();
    let people = members(&w).await;
    let review = w
        .create
        .execute(&admin(), spec(0))
        .await
        .unwrap()
        .started()
        .unwrap();
    w.decisions
        .record_batch(
            &person(people[1]),
            review.definition.id,
            review.instance.id,
            DecisionTarget::Current,
            NewReview {
                decision: Decision::Deny,
                justification: None,
            },
            None,
            None,
        )
        .await
        .unwrap();
    w.lifecycle
        .stop_instance(&admin(), review.definition.id, review.instance.id)
        .await
        .unwrap();

    let first = w
        .lifecycle
        .apply_decisions(&admin(), review.definition.id, review.instance.id)
        .await
        .unwrap();
    let second = w
        .lifecycle
        .apply_decisions(&admin(), review.definition.id, review.instance.id)
        .await
        .unwrap();
    assert_eq!((first, second), (3, 0));
    assert_eq!(direct_members(&w).await, [people[0], people[2]]);
}

#[tokio::test]
async fn stopping_a_definition_ends_its_instance_and_a_second_stop_is_refused() {
    let w = world();
    let review = w
        .create
        .execute(&admin(), spec(2))
        .await
        .unwrap()
        .started()
        .unwrap();
    w.lifecycle
        .stop_definition(&admin(), review.definition.id)
        .await
        .unwrap();
    assert_eq!(
        state(&w, &review).await,
        (ReviewStatus::Completed, ReviewStatus::Completed)
    );
    assert!(matches!(
        w.lifecycle
            .stop_definition(&admin(), review.definition.id)
            .await,
        Err(LifecycleError::DefinitionNotInProgress)
    ));
}

#[tokio::test]
async fn lifecycle_actions_need_a_write_role_and_check_the_path_first() {
    let w = world();
    let review = w
        .create
        .execute(&admin(), spec(0))
        .await
        .unwrap()
        .started()
        .unwrap();
    let stranger = person(PrincipalId::new_random());
    assert!(matches!(
        w.lifecycle
            .stop_instance(&stranger, review.definition.id, review.instance.id)
            .await,
        Err(LifecycleError::Forbidden)
    ));
    assert!(matches!(
        w.lifecycle
            .stop_instance(
                &stranger,
                review.definition.id,
                crate::ids::InstanceId::new_random()
            )
            .await,
        Err(LifecycleError::NotFound(Missing::Instance(_)))
    ));
    assert!(matches!(
        w.lifecycle
            .advance_clock(&stranger, Duration::days(1))
            .await,
        Err(LifecycleError::Forbidden)
    ));
}

#[tokio::test]
async fn the_test_clock_moves_only_forward_and_runs_what_falls_due() {
    let w = world();
    let review = w
        .create
        .execute(&admin(), spec(1))
        .await
        .unwrap()
        .started()
        .unwrap();
    let before = w.lifecycle.clock(&admin()).await.unwrap();
    for backwards in [Duration::zero(), Duration::seconds(-1)] {
        assert!(matches!(
            w.lifecycle.advance_clock(&admin(), backwards).await,
            Err(LifecycleError::ClockNotForward)
        ));
    }
    let now = w
        .lifecycle
        .advance_clock(&admin(), Duration::days(3))
        .await
        .unwrap();
    assert_eq!(now, before + Duration::days(3));
    assert_eq!(
        state(&w, &review).await,
        (ReviewStatus::Completed, ReviewStatus::Completed),
        "the answer comes after the due transitions"
    );
}

#[tokio::test]
async fn without_the_clock_control_the_test_clock_does_not_exist() {
    let w = world();
    let ports = Ports::from_repository(
        std::sync::Arc::new(w.repo.clone()),
        std::sync::Arc::new(w.clock.clone()),
    );
    let lifecycle = Lifecycle::new(&ports);
    assert!(matches!(
        lifecycle.clock(&admin()).await,
        Err(LifecycleError::ClockControlDisabled)
    ));
    assert!(matches!(
        lifecycle.advance_clock(&admin(), Duration::days(1)).await,
        Err(LifecycleError::ClockControlDisabled)
    ));
}

#[tokio::test]
async fn on_schedule_a_next_stage_whose_reviewers_are_gone_still_starts() {
    let w = world();
    let mut spec = spec(2);
    let mut plan = spec.stage_plan.stages().to_vec();
    let gone = user(&w, "gone").await;
    plan[1].reviewers = vec![scope(format!("/users/{gone}"))];
    spec.stage_plan = crate::definition::StagePlan::new(plan).unwrap();
    let review = w
        .create
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap();
    w.repo.forget_user(gone);

    w.clock.advance(Duration::days(2));
    let report = w.lifecycle.run_due(Claim::All).await.unwrap();
    assert_eq!(report.stages_ended, 1);
    let stages = stages(&w, &review).await;
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[1].status(), ReviewStatus::InProgress);
}

fn weekly_numbered(start: chrono::NaiveDate, occurrences: u32) -> crate::definition::Recurrence {
    use crate::schedule::{Pattern, PatternKind, Range, RangeKind};
    crate::definition::Recurrence::new(
        Some(Pattern {
            kind: PatternKind::Weekly,
            interval: 1,
            day_of_month: None,
        }),
        Range {
            kind: RangeKind::Numbered,
            start_date: Some(start),
            end_date: None,
            number_of_occurrences: Some(occurrences),
            recurrence_time_zone: None,
        },
    )
    .unwrap()
}

async fn instances(
    w: &World,
    definition: crate::ids::DefinitionId,
) -> Vec<crate::instance::Instance> {
    w.read
        .instances(&admin(), definition, ListQuery::default(), false)
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn a_weekly_review_of_three_occurrences_runs_three_instances_then_completes() {
    let w = world();
    let mut spec = spec(0);
    spec.settings.instance_duration_in_days = DurationInDays::new(3).unwrap();
    spec.settings.recurrence = Some(weekly_numbered(w.clock.now().date_naive(), 3));
    let created = w.create.execute(&admin(), spec).await.unwrap();
    let definition = created.definition().id;
    assert_eq!(instances(&w, definition).await.len(), 1);

    for week in 1..=5 {
        w.clock.advance(Duration::days(7));
        w.lifecycle.run_due(Claim::All).await.unwrap();
        let expected = week.min(2) + 1;
        assert_eq!(
            instances(&w, definition).await.len(),
            expected,
            "week {week}"
        );
    }
    let all = instances(&w, definition).await;
    assert!(all.iter().all(|i| i.status() == ReviewStatus::Completed));
    // Each later instance starts at midnight of its week's start day.
    let start = all[0].start_date_time.date_naive();
    for (n, instance) in all.iter().enumerate().skip(1) {
        assert_eq!(
            instance.start_date_time,
            (start + Duration::days(7 * n as i64))
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
        );
        assert_eq!(
            instance.end_date_time - instance.start_date_time,
            Duration::days(3)
        );
    }
    let definition = w.read.definition(&admin(), definition).await.unwrap();
    assert_eq!(definition.status, ReviewStatus::Completed);
    assert_eq!(definition.schedule.next_start, None);
}

#[tokio::test]
async fn a_definition_starting_in_ten_days_has_no_instance_until_then_and_resolves_its_scope_then()
{
    let w = world();
    let early = members(&w).await;
    let mut spec = spec(2);
    let start = w.clock.now().date_naive() + Duration::days(10);
    spec.settings.recurrence = Some(weekly_numbered(start, 1));
    let created = w.create.execute(&admin(), spec).await.unwrap();
    let definition = created.definition().id;
    assert_eq!(created.definition().status, ReviewStatus::NotStarted);

    w.clock.advance(Duration::days(9));
    w.lifecycle.run_due(Claim::All).await.unwrap();
    assert!(instances(&w, definition).await.is_empty());

    let late = user(&w, "late").await;
    member(&w, w.group, late).await;
    w.clock.advance(Duration::days(1));
    let report = w.lifecycle.run_due(Claim::All).await.unwrap();
    assert_eq!(report.instances_started, 1);
    let instances = instances(&w, definition).await;
    assert_eq!(instances.len(), 1);
    assert_eq!(
        instances[0].start_date_time,
        start.and_hms_opt(0, 0, 0).unwrap().and_utc()
    );
    let review = StartedReview {
        definition: w.read.definition(&admin(), definition).await.unwrap(),
        instance: instances[0].clone(),
        first_stage: None,
        items: vec![],
        first_reviewers: Default::default(),
    };
    assert_eq!(state(&w, &review).await.0, ReviewStatus::InProgress);
    let mut people: Vec<_> = items(&w, &review)
        .await
        .iter()
        .map(|i| i.principal.id)
        .collect();
    people.sort();
    let mut expected = early;
    expected.push(late);
    expected.sort();
    assert_eq!(people, expected, "the scope is resolved at the start");
    let stages = stages(&w, &review).await;
    assert_eq!(stages.len(), 1, "its first stage started with it");
}

#[tokio::test]
async fn stopping_a_definition_before_its_start_ends_it_without_any_instance() {
    let w = world();
    let mut spec = spec(1);
    spec.settings.recurrence = Some(weekly_numbered(
        w.clock.now().date_naive() + Duration::days(3),
        2,
    ));
    let definition = w
        .create
        .execute(&admin(), spec)
        .await
        .unwrap()
        .definition()
        .id;
    w.lifecycle
        .stop_definition(&admin(), definition)
        .await
        .unwrap();
    w.clock.advance(Duration::days(30));
    w.lifecycle.run_due(Claim::All).await.unwrap();
    assert!(instances(&w, definition).await.is_empty());
    let definition = w.read.definition(&admin(), definition).await.unwrap();
    assert_eq!(definition.status, ReviewStatus::Completed);
}

#[tokio::test]
async fn a_reviewer_only_in_the_101st_instance_may_read_the_definition() {
    let w = world();
    let mut spec = spec(0);
    spec.settings.recurrence = Some(crate::use_cases::tests::weekly(w.clock.now().date_naive()));
    let definition = w
        .create
        .execute(&admin(), spec)
        .await
        .unwrap()
        .definition()
        .id;
    for _ in 0..99 {
        w.clock.advance(Duration::days(7));
        w.lifecycle.run_due(Claim::All).await.unwrap();
    }
    let late = user(&w, "late").await;
    assert!(matches!(
        w.read.definition(&person(late), definition).await,
        Err(ReadError::Forbidden)
    ));
    member(&w, w.group, late).await;
    w.clock.advance(Duration::days(7));
    w.lifecycle.run_due(Claim::All).await.unwrap();

    let all = w
        .read
        .instances(
            &admin(),
            definition,
            ListQuery {
                status: None,
                page: PageRequest::new(Some(999), 0).unwrap(),
                ..ListQuery::default()
            },
            false,
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 101);
    assert!(
        w.read.definition(&person(late), definition).await.is_ok(),
        "a reviewer of its 101st instance reads the definition"
    );
}

#[tokio::test]
async fn a_batch_from_someone_who_reviews_nothing_is_refused_and_applications_decide_all() {
    let w = world();
    let people = members(&w).await;
    let review = w
        .create
        .execute(&admin(), spec(0))
        .await
        .unwrap()
        .started()
        .unwrap();
    let batch = |actor: crate::actor::Actor| {
        let w = &w;
        let review = &review;
        async move {
            w.decisions
                .record_batch(
                    &actor,
                    review.definition.id,
                    review.instance.id,
                    DecisionTarget::Current,
                    NewReview {
                        decision: Decision::Deny,
                        justification: Some("batch".into()),
                    },
                    None,
                    None,
                )
                .await
        }
    };
    assert!(matches!(
        batch(person(PrincipalId::new_random())).await,
        Err(DecisionError::Forbidden)
    ));
    assert!(items(&w, &review).await.iter().all(|i| i.latest.is_none()));
    batch(crate::use_cases::tests::app()).await.unwrap();
    let decided = items(&w, &review).await;
    assert_eq!(decided.len(), people.len());
    assert!(decided.iter().all(|i| i.decision() == Decision::Deny));
}

#[tokio::test]
async fn created_by_shows_the_creators_names_from_the_directory_when_known() {
    let w = world();
    let ada = user(&w, "ada").await;
    let known = crate::actor::Actor::User {
        id: ada,
        display_name: Some("name in the token".into()),
        user_principal_name: None,
        roles: vec![crate::actor::DirectoryRole::GlobalAdministrator],
    };
    let created = w.create.execute(&known, spec(0)).await.unwrap();
    let by = &created.definition().created_by;
    assert_eq!(by.display_name.as_deref(), Some("ada"));
    assert_eq!(by.user_principal_name.as_deref(), Some("ada@example.test"));

    let stranger = crate::use_cases::tests::user_with_id(
        PrincipalId::new_random(),
        vec![crate::actor::DirectoryRole::GlobalAdministrator],
    );
    let created = w.create.execute(&stranger, spec(0)).await.unwrap();
    assert_eq!(
        created.definition().created_by,
        stranger.as_creator(),
        "else the token's names"
    );
}

#[tokio::test]
async fn an_update_applies_to_later_instances_while_the_running_one_keeps_its_settings() {
    let w = world();
    let mut first = spec(2);
    first.settings.recurrence = Some(weekly_numbered(w.clock.now().date_naive(), 2));
    let review = w
        .create
        .execute(&admin(), first.clone())
        .await
        .unwrap()
        .started()
        .unwrap();
    let id = review.definition.id;

    let mut changed = first.clone();
    changed.display_name = crate::definition::DisplayName::parse("Renamed".into()).unwrap();
    changed.settings.justification_required_on_approval = true;
    let mut plan = first.stage_plan.stages().to_vec();
    plan[1].duration_in_days = DurationInDays::new(1).unwrap();
    changed.stage_plan = crate::definition::StagePlan::new(plan).unwrap();
    w.clock.advance(Duration::hours(1));
    let updated = w
        .create
        .update(&admin(), id, changed.clone(), true)
        .await
        .unwrap();
    assert_eq!(updated.spec, changed);
    assert_eq!(updated.last_modified_date_time, w.clock.now());
    let stored = w.read.definition(&admin(), id).await.unwrap();
    assert_eq!(stored.spec.display_name.as_str(), "Renamed");

    // The running instance's next stage still lasts its 3 days.
    let stage = &stages(&w, &review).await[0];
    let stopped = w
        .stop
        .execute(&admin(), id, review.instance.id, stage.id)
        .await
        .unwrap();
    let next = stopped.started.unwrap();
    assert_eq!(next.end_date_time - next.start_date_time, Duration::days(3));

    // The next week's instance runs the new plan: 2 + 1 days.
    w.clock.advance(Duration::days(7));
    w.lifecycle.run_due(Claim::All).await.unwrap();
    let all = instances(&w, id).await;
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[1].end_date_time - all[1].start_date_time,
        Duration::days(3),
        "an instance as long as the new stages' total"
    );
}

#[tokio::test]
async fn an_update_may_not_change_scope_recurrence_or_group_reviewers_and_needs_write_rights() {
    let w = world();
    let mut first = spec(0);
    first.settings.recurrence = Some(weekly_numbered(w.clock.now().date_naive(), 2));
    let created = w.create.execute(&admin(), first.clone()).await.unwrap();
    let id = created.definition().id;

    let mut scope = first.clone();
    scope.scope.query = "/groups/0e3c5b8a-0000-4000-8000-000000000002/members".into();
    let mut recurrence = first.clone();
    recurrence.settings.recurrence = Some(weekly_numbered(w.clock.now().date_naive(), 5));
    let mut reviewers = first.clone();
    reviewers.reviewers = vec![scope_of(&format!("/groups/{}/owners", w.group))];
    let cases = [
        (scope, CreateDefinitionError::Fixed(FixedProperty::Scope)),
        (
            recurrence,
            CreateDefinitionError::Fixed(FixedProperty::Recurrence),
        ),
        (
            reviewers,
            CreateDefinitionError::ReviewersNotIndividualUsers,
        ),
    ];
    for (spec, expected) in cases {
        let error = w.create.update(&admin(), id, spec, true).await.unwrap_err();
        assert_eq!(format!("{error:?}"), format!("{expected:?}"));
    }

    let reader = crate::use_cases::tests::user_with_id(
        PrincipalId::new_random(),
        vec![crate::actor::DirectoryRole::GlobalReader],
    );
    assert!(matches!(
        w.create.update(&reader, id, first.clone(), true).await,
        Err(CreateDefinitionError::Forbidden)
    ));
    let unknown = crate::ids::DefinitionId::new_random();
    assert!(matches!(
        w.create.update(&admin(), unknown, first.clone(), true).await,
        Err(CreateDefinitionError::NotFound(Missing::Definition(d))) if d == unknown
    ));
    // Individual users may replace individual users, and leaving out the
    // start date keeps the one the series has.
    let ann = user(&w, "ann").await;
    let mut users = first.clone();
    users.reviewers = vec![scope_of(&format!("/users/{ann}"))];
    if let Some(r) = &mut users.settings.recurrence {
        r.range.start_date = None;
    }
    w.create.update(&admin(), id, users, true).await.unwrap();
    let stored = w.read.definition(&admin(), id).await.unwrap();
    assert_eq!(stored.spec.reviewers.len(), 1);
    assert_eq!(stored.spec.settings.recurrence, first.settings.recurrence);
}

fn scope_of(query: &str) -> crate::definition::QueryScope {
    crate::definition::QueryScope {
        odata_type: None,
        query: query.into(),
        query_type: Some("MicrosoftGraph".into()),
        query_root: None,
    }
}

fn history_spec(
    contains: &str,
    decisions: &[crate::history::HistoryDecision],
) -> crate::history::NewHistoryDefinition {
    use crate::history::{HistoryScope, NewHistoryDefinition};
    NewHistoryDefinition {
        display_name: crate::definition::DisplayName::parse("Last quarter".into()).unwrap(),
        decisions: decisions.to_vec(),
        period_start: chrono::DateTime::UNIX_EPOCH,
        period_end: chrono::DateTime::<chrono::Utc>::MAX_UTC,
        scopes: vec![
            HistoryScope::parse(scope_of(&format!(
                "/identityGovernance/accessReviews/definitions?$filter=contains(scope/query, '{contains}')"
            )))
            .unwrap(),
        ],
    }
}

#[tokio::test]
async fn a_history_report_holds_the_selected_decisions_and_its_link_expires_after_a_day() {
    use crate::history::HistoryDecision;
    let w = world();
    let people = members(&w).await;
    let review = w
        .create
        .execute(&admin(), spec(0))
        .await
        .unwrap()
        .started()
        .unwrap();
    let all = items(&w, &review).await;
    let ann_item = all.iter().find(|i| i.principal.id == people[0]).unwrap();
    w.decisions
        .record(
            &person(people[0]),
            review.definition.id,
            review.instance.id,
            DecisionTarget::Current,
            ann_item.id,
            NewReview {
                decision: Decision::Approve,
                justification: Some("still needed".into()),
            },
        )
        .await
        .unwrap();

    let (definition, instance) = w
        .history
        .create(
            &admin(),
            history_spec(
                "/groups",
                &[HistoryDecision::Approve, HistoryDecision::NotReviewed],
            ),
        )
        .await
        .unwrap();
    assert_eq!(instance.definition_id, definition.id);
    let listed = w
        .history
        .list(&admin(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.items, vec![definition.clone()]);
    let (_, link) = w
        .history
        .generate_download(&admin(), definition.id, instance.id)
        .await
        .unwrap();
    let token = link.download.unwrap().token;
    let report = w.history.download(&token).await.unwrap();
    let rows: Vec<_> = report
        .rows
        .iter()
        .map(|r| {
            (
                r.item.principal.id,
                r.item.latest.as_ref().map(|l| l.decision),
            )
        })
        .collect();
    assert_eq!(rows.len(), 3, "all three: one approved, two not reviewed");
    assert!(rows.contains(&(people[0], Some(Decision::Approve))));

    // Only approvals; a scope no review has: nothing.
    let (approvals, i) = w
        .history
        .create(
            &admin(),
            history_spec("/groups", &[HistoryDecision::Approve]),
        )
        .await
        .unwrap();
    let (_, i) = w
        .history
        .generate_download(&admin(), approvals.id, i.id)
        .await
        .unwrap();
    let report = w
        .history
        .download(&i.download.unwrap().token)
        .await
        .unwrap();
    assert_eq!(report.rows.len(), 1);
    let (none, i) = w
        .history
        .create(
            &admin(),
            history_spec("accessPackageAssignments", &HistoryDecision::ALL),
        )
        .await
        .unwrap();
    let (_, i) = w
        .history
        .generate_download(&admin(), none.id, i.id)
        .await
        .unwrap();
    assert!(
        w.history
            .download(&i.download.unwrap().token)
            .await
            .unwrap()
            .rows
            .is_empty()
    );

    // A second link replaces the first; a link lasts 24 hours.
    let (_, again) = w
        .history
        .generate_download(&admin(), definition.id, instance.id)
        .await
        .unwrap();
    assert!(matches!(
        w.history.download(&token).await,
        Err(HistoryError::LinkExpired)
    ));
    let token = again.download.unwrap().token;
    w.clock.advance(Duration::hours(23));
    assert!(w.history.download(&token).await.is_ok());
    w.clock.advance(Duration::hours(1));
    assert!(matches!(
        w.history.download(&token).await,
        Err(HistoryError::LinkExpired)
    ));

    // Someone without a read role may neither create nor read it; after
    // 30 days it is gone.
    let nobody = person(people[1]);
    assert!(matches!(
        w.history
            .create(&nobody, history_spec("/groups", &HistoryDecision::ALL))
            .await,
        Err(HistoryError::Forbidden)
    ));
    assert!(matches!(
        w.history.get(&nobody, definition.id).await,
        Err(HistoryError::Forbidden)
    ));
    assert!(
        w.history
            .list(&nobody, PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    w.clock.advance(Duration::days(30));
    assert!(matches!(
        w.history.get(&admin(), definition.id).await,
        Err(HistoryError::NotFound)
    ));
    assert!(
        w.history
            .list(&admin(), PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}
