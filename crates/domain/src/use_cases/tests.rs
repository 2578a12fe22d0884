//! The use cases over the in-memory fakes of the ports.

use std::sync::Arc;

use chrono::{Duration, NaiveDate};

use super::*;
use crate::actor::{Actor, DirectoryRole};
use crate::definition::*;
use crate::ids::PrincipalId;
use crate::ports::{DirectoryRepository, StartedReview};
use crate::query::ListQuery;
use crate::stage::StageNotInProgress;
use crate::status::ReviewStatus;
use crate::testing::{FixedClock, InMemoryRepository};

pub(super) struct World {
    pub(super) repo: InMemoryRepository,
    pub(super) clock: FixedClock,
    pub(super) create: CreateDefinition,
    pub(super) stop: StopStage,
    pub(super) read: ReadReviews,
    pub(super) decisions: Decisions,
    pub(super) directory: ManageDirectory,
    pub(super) lifecycle: Lifecycle,
    pub(super) history: History,
    /// The group every review's scope names.
    pub(super) group: PrincipalId,
}

pub(super) fn world() -> World {
    let repo = InMemoryRepository::new();
    let clock = FixedClock::new();
    let ports = Ports::from_repository(Arc::new(repo.clone()), Arc::new(clock.clone()))
        .with_clock_control(Arc::new(clock.clone()));
    let UseCases {
        create,
        stop,
        read,
        decisions,
        directory,
        lifecycle,
        audit: _,
        history,
    } = UseCases::new(&ports);
    let group = PrincipalId::from_uuid(uuid::Uuid::from_u128(
        0x0e3c5b8a_0000_4000_8000_000000000001,
    ));
    let world = World {
        create,
        stop,
        read,
        decisions,
        directory,
        lifecycle,
        history,
        repo,
        clock,
        group,
    };
    crate::testing::block_on(world.repo.create_group(&crate::directory::Group {
        id: group,
        display_name: "Finance".into(),
        description: None,
        mail_nickname: "finance".into(),
        mail_enabled: false,
        security_enabled: true,
    }))
    .unwrap();
    world
}

pub(super) fn admin() -> Actor {
    user_with(vec![DirectoryRole::IdentityGovernanceAdministrator])
}

fn user_with(roles: Vec<DirectoryRole>) -> Actor {
    user_with_id(PrincipalId::new_random(), roles)
}

pub(super) fn user_with_id(id: PrincipalId, roles: Vec<DirectoryRole>) -> Actor {
    Actor::User {
        id,
        display_name: Some("Ada".into()),
        user_principal_name: Some("ada@example.com".into()),
        roles,
    }
}

pub(super) fn app() -> Actor {
    Actor::Application {
        id: PrincipalId::new_random(),
        display_name: None,
    }
}

pub(super) fn key(k: &str) -> StageKey {
    StageKey::parse(k.into()).unwrap()
}

fn stage_settings(id: &str, previous: Option<&str>, days: i64) -> StageSettings {
    StageSettings {
        stage_id: key(id),
        depends_on: previous.map(key).into_iter().collect(),
        duration_in_days: DurationInDays::new(days).unwrap(),
        decisions_that_will_move_to_next_stage: Some(vec![MoveDecision::Approve]),
        recommendations_enabled: false,
        reviewers: vec![],
        fallback_reviewers: vec![],
    }
}

pub(super) fn spec(stages: usize) -> NewDefinition {
    let settings = [
        stage_settings("1", None, 2),
        stage_settings("2", Some("1"), 3),
        stage_settings("3", Some("2"), 4),
    ];
    NewDefinition {
        display_name: DisplayName::parse("Quarterly review".into()).unwrap(),
        description_for_admins: None,
        description_for_reviewers: None,
        scope: QueryScope {
            odata_type: None,
            query: "/groups/0e3c5b8a-0000-4000-8000-000000000001/transitiveMembers".into(),
            query_type: Some("MicrosoftGraph".into()),
            query_root: None,
        },
        reviewers: vec![],
        fallback_reviewers: vec![],
        stage_plan: StagePlan::new(settings[..stages].to_vec()).unwrap(),
        settings: ScheduleSettings::default(),
        annotations: Default::default(),
    }
}

async fn started(world: &World, actor: &Actor, stages: usize) -> StartedReview {
    world
        .create
        .execute(actor, spec(stages))
        .await
        .unwrap()
        .started()
        .unwrap()
}

async fn stages_of(world: &World, review: &StartedReview) -> Vec<crate::stage::Stage> {
    world
        .read
        .stages(
            &admin(),
            review.definition.id,
            review.instance.id,
            ListQuery::default(),
            false,
        )
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn creating_a_multi_stage_review_starts_its_instance_and_only_its_first_stage() {
    let w = world();
    let review = started(&w, &admin(), 3).await;

    assert_eq!(review.definition.status, ReviewStatus::InProgress);
    assert_eq!(review.instance.status(), ReviewStatus::InProgress);
    assert_eq!(
        review.instance.end_date_time - review.instance.start_date_time,
        Duration::days(9),
        "an instance lasts as long as its stages together"
    );
    let stages = stages_of(&w, &review).await;
    assert_eq!(stages.len(), 1);
    assert_eq!(stages[0].key, key("1"));
    assert_eq!(stages[0].status(), ReviewStatus::InProgress);
    assert_eq!(
        stages[0].end_date_time - stages[0].start_date_time,
        Duration::days(2)
    );
}

#[tokio::test]
async fn a_review_without_stages_lasts_its_instance_duration_and_has_no_stages() {
    let w = world();
    let mut spec = spec(0);
    spec.settings.instance_duration_in_days = DurationInDays::new(5).unwrap();
    let review = w
        .create
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap();
    assert_eq!(review.first_stage, None);
    assert_eq!(
        review.instance.end_date_time - review.instance.start_date_time,
        Duration::days(5)
    );
    assert!(stages_of(&w, &review).await.is_empty());
}

#[tokio::test]
async fn stopping_a_stage_completes_it_and_creates_the_next_with_its_own_window() {
    let w = world();
    let review = started(&w, &admin(), 3).await;
    let first = review.first_stage.clone().unwrap();
    w.clock.advance(Duration::hours(5));
    let stop_time = w.clock.now();

    let transition = w
        .stop
        .execute(&admin(), review.definition.id, review.instance.id, first.id)
        .await
        .unwrap();

    let stages = stages_of(&w, &review).await;
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0].status(), ReviewStatus::Completed);
    assert_eq!(stages[0].end_date_time, stop_time);
    assert_eq!(stages[1].key, key("2"));
    assert_eq!(stages[1].status(), ReviewStatus::InProgress);
    assert_eq!(stages[1].start_date_time, stop_time);
    assert_eq!(stages[1].end_date_time, stop_time + Duration::days(3));
    assert_eq!(transition.instance.status(), ReviewStatus::InProgress);
    assert_eq!(
        transition.carry_over.map(|c| (c.from, c.to, c.rule)),
        Some((
            first.id,
            stages[1].id,
            crate::decision::MoveRule(Some(vec![MoveDecision::Approve]))
        ))
    );
}

async fn audit_records(w: &World) -> Vec<crate::audit::AuditEntry> {
    let query = crate::audit::AuditQuery {
        filter: crate::audit::AuditFilter::default(),
        oldest_first: true,
        page: crate::query::PageRequest::default(),
    };
    crate::ports::AuditTrail::audits(&w.repo, &query)
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn a_recorded_stop_writes_its_request_record_with_the_stop_and_a_refused_one_none() {
    let w = world();
    let review = started(&w, &admin(), 3).await;
    let first = review.first_stage.clone().unwrap();
    w.clock.advance(Duration::hours(5));
    let record = || RequestRecord {
        correlation_id: uuid::Uuid::new_v4(),
        targets: vec![crate::audit::Target {
            id: first.id.as_uuid(),
            kind: crate::audit::TargetKind::Stage,
        }],
        details: vec![("httpStatus".into(), "204".into())],
    };
    let (d, i) = (review.definition.id, review.instance.id);
    let (actor, sent) = (admin(), record());

    w.stop
        .execute_recorded(&actor, d, i, first.id, sent.clone())
        .await
        .unwrap();
    let again = w
        .stop
        .execute_recorded(&actor, d, i, first.id, record())
        .await;

    assert!(matches!(again, Err(StopStageError::NotInProgress(_))));
    let records = audit_records(&w).await;
    assert_eq!(records.len(), 1, "the refused stop recorded nothing");
    let written = &records[0];
    assert_eq!(written.activity, "Stop access review stage");
    assert_eq!(written.result, crate::audit::AuditResult::Success);
    assert_eq!(written.at, w.clock.now(), "at the stop's time");
    assert_eq!(written.correlation_id, sent.correlation_id);
    assert_eq!(written.targets, sent.targets);
    assert_eq!(written.details, sent.details);
    assert_eq!(written.initiated_by, crate::audit::Initiator::from(&actor));
}

#[tokio::test]
async fn stopping_each_stage_in_turn_completes_the_instance_and_definition_after_the_last() {
    let w = world();
    let review = started(&w, &admin(), 3).await;
    for round in 1..=3 {
        w.clock.advance(Duration::hours(1));
        let current = stages_of(&w, &review)
            .await
            .into_iter()
            .find(|s| s.status() == ReviewStatus::InProgress)
            .unwrap();
        assert_eq!(current.key, key(&round.to_string()));
        w.stop
            .execute(
                &admin(),
                review.definition.id,
                review.instance.id,
                current.id,
            )
            .await
            .unwrap();
    }

    let instance = w
        .read
        .instance(&admin(), review.definition.id, review.instance.id)
        .await
        .unwrap();
    assert_eq!(instance.status(), ReviewStatus::Completed);
    assert_eq!(instance.end_date_time, w.clock.now());
    let definition = w
        .read
        .definition(&admin(), review.definition.id)
        .await
        .unwrap();
    assert_eq!(definition.status, ReviewStatus::Completed);
    let stages = stages_of(&w, &review).await;
    assert_eq!(stages.len(), 3);
    assert!(stages.iter().all(|s| s.status() == ReviewStatus::Completed));
    let audit = w.repo.audit();
    assert_eq!(audit.len(), 3);
    assert_eq!(audit.iter().filter(|a| a.instance_completed).count(), 1);
    assert_eq!(audit[2].created_stage, None);
    assert_eq!(audit[0].created_stage, Some(stages[1].id));
}

#[tokio::test]
async fn a_recurring_definition_stays_in_progress_when_its_instance_completes() {
    let w = world();
    let mut spec = spec(1);
    spec.settings.recurrence = Some(weekly(w.clock.now().date_naive()));
    let review = w
        .create
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap();
    let transition = w
        .stop
        .execute(
            &admin(),
            review.definition.id,
            review.instance.id,
            review.first_stage.unwrap().id,
        )
        .await
        .unwrap();
    assert_eq!(transition.instance.status(), ReviewStatus::Completed);
    assert!(!transition.definition_completed);
}

#[tokio::test]
async fn a_second_stop_of_the_same_stage_is_refused_and_changes_nothing() {
    let w = world();
    let review = started(&w, &admin(), 2).await;
    let first = review.first_stage.clone().unwrap();
    w.stop
        .execute(&admin(), review.definition.id, review.instance.id, first.id)
        .await
        .unwrap();
    let before = stages_of(&w, &review).await;

    let err = w
        .stop
        .execute(&admin(), review.definition.id, review.instance.id, first.id)
        .await
        .unwrap_err();

    assert!(matches!(
        err,
        StopStageError::NotInProgress(StageNotInProgress {
            status: ReviewStatus::Completed
        })
    ));
    assert_eq!(stages_of(&w, &review).await, before);
    assert_eq!(w.repo.audit().len(), 1);
}

#[tokio::test]
async fn stopping_a_stage_under_the_wrong_parent_is_not_found() {
    let w = world();
    let review = started(&w, &admin(), 2).await;
    let other = started(&w, &admin(), 2).await;
    let stage = review.first_stage.clone().unwrap().id;
    let d = review.definition.id;
    let i = review.instance.id;

    let unknown = crate::ids::DefinitionId::new_random();
    let other_stage = other.first_stage.unwrap().id;
    let cases = [
        (unknown, i, stage, Missing::Definition(unknown)),
        (other.definition.id, i, stage, Missing::Instance(i)),
        (
            d,
            other.instance.id,
            stage,
            Missing::Instance(other.instance.id),
        ),
        (d, i, other_stage, Missing::Stage(other_stage)),
    ];
    for (def, inst, stg, expected) in cases {
        match w.stop.execute(&admin(), def, inst, stg).await {
            Err(StopStageError::NotFound(missing)) => assert_eq!(missing, expected),
            other => panic!("expected {expected} not found, got {other:?}"),
        }
    }
    assert!(w.repo.audit().is_empty());
}

#[tokio::test]
async fn only_write_roles_creators_and_applications_may_stop() {
    let w = world();
    let review = started(&w, &admin(), 3).await;
    // Without a role one cannot create a review, so the creator here is an
    // administrator who has since lost the role.
    let creator_of_review = user_with_id(review.definition.created_by.id, vec![]);
    let readers = [
        user_with(vec![]),
        user_with(vec![DirectoryRole::GlobalReader]),
        user_with(vec![DirectoryRole::SecurityReader]),
        user_with(vec![DirectoryRole::SecurityAdministrator]),
    ];
    let first = review.first_stage.clone().unwrap().id;
    for actor in &readers {
        let err = w
            .stop
            .execute(actor, review.definition.id, review.instance.id, first)
            .await
            .unwrap_err();
        assert!(matches!(err, StopStageError::Forbidden), "{actor:?}");
    }
    assert!(w.repo.audit().is_empty(), "a refused stop writes nothing");

    let allowed = [
        creator_of_review,
        app(),
        user_with(vec![DirectoryRole::UserAdministrator]),
    ];
    for actor in &allowed {
        let current = stages_of(&w, &review)
            .await
            .into_iter()
            .find(|s| s.status() == ReviewStatus::InProgress)
            .unwrap();
        w.stop
            .execute(actor, review.definition.id, review.instance.id, current.id)
            .await
            .unwrap();
    }
    assert_eq!(w.repo.audit().len(), 3);
}

#[tokio::test]
async fn creating_needs_a_write_role_or_an_application() {
    let w = world();
    for role in [
        DirectoryRole::GlobalAdministrator,
        DirectoryRole::IdentityGovernanceAdministrator,
        DirectoryRole::UserAdministrator,
        DirectoryRole::PrivilegedRoleAdministrator,
    ] {
        assert!(
            w.create
                .execute(&user_with(vec![role]), spec(1))
                .await
                .is_ok(),
            "{role:?}"
        );
    }
    assert!(w.create.execute(&app(), spec(1)).await.is_ok());
    for role in [
        DirectoryRole::GlobalReader,
        DirectoryRole::SecurityReader,
        DirectoryRole::SecurityAdministrator,
    ] {
        assert!(matches!(
            w.create.execute(&user_with(vec![role]), spec(1)).await,
            Err(CreateDefinitionError::Forbidden)
        ));
    }
    assert!(matches!(
        w.create.execute(&user_with(vec![]), spec(1)).await,
        Err(CreateDefinitionError::Forbidden)
    ));
}

pub(super) fn weekly(start_date: NaiveDate) -> Recurrence {
    Recurrence::new(
        Some(crate::schedule::Pattern {
            kind: crate::schedule::PatternKind::Weekly,
            interval: 1,
            day_of_month: None,
        }),
        crate::schedule::Range {
            kind: crate::schedule::RangeKind::NoEnd,
            start_date: Some(start_date),
            end_date: None,
            number_of_occurrences: None,
            recurrence_time_zone: None,
        },
    )
    .unwrap()
}

#[tokio::test]
async fn a_start_date_in_the_future_waits_not_started_and_today_starts_at_once() {
    let w = world();
    let today = w.clock.now().date_naive();
    let mut future = spec(1);
    future.settings.recurrence = Some(weekly(today + Duration::days(1)));
    let created = w.create.execute(&admin(), future).await.unwrap();
    let definition = created.definition().clone();
    assert_eq!(definition.status, ReviewStatus::NotStarted);
    assert_eq!(
        definition.schedule.next_start.map(|t| t.date_naive()),
        Some(today + Duration::days(1))
    );
    assert_eq!(created.started(), None);
    let instances = w
        .read
        .instances(&admin(), definition.id, ListQuery::default(), false)
        .await
        .unwrap();
    assert!(instances.items.is_empty());

    let mut now = spec(1);
    now.settings.recurrence = Some(weekly(today));
    let created = w.create.execute(&admin(), now).await.unwrap();
    assert_eq!(created.definition().status, ReviewStatus::InProgress);
    assert!(created.started().is_some());
}

#[tokio::test]
async fn an_instance_longer_than_one_recurrence_period_is_refused() {
    let w = world();
    let today = w.clock.now().date_naive();
    // Three stages of 2, 3 and 4 days do not fit in a week.
    let mut staged = spec(3);
    staged.settings.recurrence = Some(weekly(today));
    assert!(matches!(
        w.create.execute(&admin(), staged).await,
        Err(CreateDefinitionError::InstanceLongerThanPeriod {
            days: 9,
            period_days: 7,
            staged: true
        })
    ));
    let mut single = spec(0);
    single.settings.instance_duration_in_days = DurationInDays::new(8).unwrap();
    single.settings.recurrence = Some(weekly(today));
    assert!(matches!(
        w.create.execute(&admin(), single).await,
        Err(CreateDefinitionError::InstanceLongerThanPeriod { staged: false, .. })
    ));
}

#[tokio::test]
async fn delegated_callers_without_a_read_role_see_only_their_own_definitions() {
    let w = world();
    let mine = started(&w, &admin(), 1).await;
    let _theirs = started(&w, &admin(), 1).await;
    let me = user_with_id(mine.definition.created_by.id, vec![]);

    let page = w.read.definitions(&me, ListQuery::default()).await.unwrap();
    assert_eq!(
        page.items.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![mine.definition.id]
    );
    assert_eq!(
        w.read
            .definitions(&admin(), ListQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    let stranger = user_with(vec![]);
    assert!(matches!(
        w.read.definition(&stranger, mine.definition.id).await,
        Err(ReadError::Forbidden)
    ));
    assert!(matches!(
        w.read
            .stages(
                &stranger,
                mine.definition.id,
                mine.instance.id,
                ListQuery::default(),
                false
            )
            .await,
        Err(ReadError::Forbidden)
    ));
    assert!(w.read.definition(&me, mine.definition.id).await.is_ok());
    assert!(
        w.read
            .definition(
                &user_with(vec![DirectoryRole::GlobalReader]),
                mine.definition.id
            )
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_failing_store_surfaces_as_a_repository_error() {
    let w = world();
    w.repo.fail(crate::testing::Outage::Unavailable);
    assert!(matches!(
        w.create.execute(&admin(), spec(1)).await,
        Err(CreateDefinitionError::Repository(_))
    ));
}
