//! The repository ports' contract against a real PostgreSQL.

use std::sync::Arc;

use access_reviews_domain::actor::{Actor, DirectoryRole};
use access_reviews_domain::audit::{Activity, AuditEntry, Target, TargetKind};
use access_reviews_domain::decision::ReviewerRules;
use access_reviews_domain::definition::*;
use access_reviews_domain::directory::Group;
use access_reviews_domain::ids::{DefinitionId, InstanceId, PrincipalId, StageId};
use access_reviews_domain::ports::{AuditTrail, DirectoryRepository};
use access_reviews_domain::ports::{
    DefinitionRepository, InstanceRepository, RepositoryError, StageRepository, StartedReview,
    StopOutcome,
};
use access_reviews_domain::query::{ListQuery, PageRequest};
use access_reviews_domain::schedule::{Pattern, PatternKind, Range, RangeKind};
use access_reviews_domain::stage::{Stage, StageNotInProgress};
use access_reviews_domain::status::ReviewStatus;
use access_reviews_domain::stop::StopTransition;
use access_reviews_domain::testing::FixedClock;
use access_reviews_domain::use_cases::{
    CreateDefinition, Decisions, Lifecycle, Outcome, Ports, RequestRecord, StopStage,
    StopStageError,
};
use access_reviews_postgres::{MIGRATOR, PgRepository};
use chrono::{Duration, NaiveDate};
use sqlx::PgPool;
use uuid::Uuid;

pub(crate) const GROUP: Uuid = Uuid::from_u128(0x02f3bafb_448c_487c_88c2_5fd65ce49a41);
use sqlx::postgres::PgPoolOptions;

pub(crate) struct Db {
    pub(crate) pool: PgPool,
    pub(crate) repo: Arc<PgRepository>,
    pub(crate) clock: FixedClock,
}

impl Db {
    pub(crate) async fn new() -> Self {
        let url = access_reviews_test_support::fresh_database().await;
        let pool = PgPoolOptions::new()
            .max_connections(60)
            .connect_with(access_reviews_postgres::connect_options(&url).unwrap())
            .await
            .unwrap();
        MIGRATOR.run(&pool).await.unwrap();
        let db = Self {
            repo: Arc::new(PgRepository::new(pool.clone())),
            pool,
            clock: FixedClock::new(),
        };
        db.repo
            .create_group(&Group {
                id: PrincipalId::from_uuid(GROUP),
                display_name: "Finance".into(),
                description: None,
                mail_nickname: "finance".into(),
                mail_enabled: false,
                security_enabled: true,
            })
            .await
            .unwrap();
        db
    }

    pub(crate) fn ports(&self) -> Ports {
        let clock = Arc::new(self.clock.clone());
        Ports::from_repository(self.repo.clone(), clock.clone()).with_clock_control(clock)
    }

    pub(crate) fn create(&self) -> CreateDefinition {
        CreateDefinition::new(&self.ports())
    }

    pub(crate) fn stop(&self) -> StopStage {
        StopStage::new(&self.ports())
    }

    pub(crate) fn decisions(&self) -> Decisions {
        Decisions::new(&self.ports())
    }

    pub(crate) fn lifecycle(&self) -> Lifecycle {
        Lifecycle::new(&self.ports())
    }

    pub(crate) async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    pub(crate) async fn stages(&self, instance: InstanceId) -> Vec<Stage> {
        StageRepository::all(&*self.repo, instance).await.unwrap()
    }
}

pub(crate) fn admin() -> Actor {
    Actor::User {
        id: PrincipalId::new_random(),
        display_name: Some("Grace".into()),
        user_principal_name: Some("grace@example.com".into()),
        roles: vec![DirectoryRole::IdentityGovernanceAdministrator],
    }
}

pub(crate) fn scope(query: &str) -> QueryScope {
    QueryScope {
        odata_type: Some("#microsoft.graph.accessReviewQueryScope".into()),
        query: query.into(),
        query_type: Some("MicrosoftGraph".into()),
        query_root: None,
    }
}

pub(crate) fn spec(stages: usize) -> NewDefinition {
    let key = |k: &str| StageKey::parse(k.into()).unwrap();
    let all = (1..=3).map(|n| StageSettings {
        stage_id: key(&n.to_string()),
        depends_on: if n == 1 {
            vec![]
        } else {
            vec![key(&(n - 1).to_string())]
        },
        duration_in_days: DurationInDays::new(n).unwrap(),
        decisions_that_will_move_to_next_stage: (n == 1)
            .then(|| vec![MoveDecision::Approve, MoveDecision::NotReviewed]),
        recommendations_enabled: n == 2,
        reviewers: vec![QueryScope {
            odata_type: None,
            query: "./manager".into(),
            query_type: Some("MicrosoftGraph".into()),
            query_root: Some("decisions".into()),
        }],
        fallback_reviewers: vec![],
    });
    NewDefinition {
        display_name: DisplayName::parse("Finance group review".into()).unwrap(),
        description_for_admins: Some("for admins".into()),
        description_for_reviewers: None,
        scope: scope(&format!("/groups/{GROUP}/transitiveMembers")),
        reviewers: vec![],
        fallback_reviewers: vec![],
        stage_plan: StagePlan::new(all.take(stages).collect()).unwrap(),
        settings: ScheduleSettings {
            justification_required_on_approval: true,
            default_decision: Some(access_reviews_domain::definition::DefaultDecision::Deny),
            recurrence: Some(
                Recurrence::new(
                    Some(Pattern {
                        kind: PatternKind::Weekly,
                        interval: 1,
                        day_of_month: None,
                    }),
                    Range {
                        kind: RangeKind::NoEnd,
                        start_date: NaiveDate::from_ymd_opt(2026, 11, 1),
                        end_date: None,
                        number_of_occurrences: None,
                        recurrence_time_zone: Some("UTC".into()),
                    },
                )
                .unwrap(),
            ),
            ..ScheduleSettings::default()
        },
        annotations: Default::default(),
    }
}

async fn started(db: &Db, stages: usize) -> StartedReview {
    db.create()
        .execute(&admin(), spec(stages))
        .await
        .unwrap()
        .started()
        .unwrap()
}

#[tokio::test]
async fn a_created_review_reads_back_exactly_as_it_was_written() {
    let db = Db::new().await;
    let review = started(&db, 3).await;

    let definition = DefinitionRepository::get(&*db.repo, review.definition.id)
        .await
        .unwrap();
    let instance = InstanceRepository::get(&*db.repo, review.definition.id, review.instance.id)
        .await
        .unwrap();
    let stages = db.stages(review.instance.id).await;

    assert_eq!(definition, Some(review.definition));
    assert_eq!(instance, Some(review.instance));
    assert_eq!(stages, review.first_stage.into_iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn objects_are_found_only_under_their_own_parents() {
    let db = Db::new().await;
    let a = started(&db, 1).await;
    let b = started(&db, 1).await;
    let a_stage = a.first_stage.unwrap().id;

    assert!(
        DefinitionRepository::get(&*db.repo, DefinitionId::new_random())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        InstanceRepository::get(&*db.repo, b.definition.id, a.instance.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        StageRepository::get(&*db.repo, b.instance.id, a_stage)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        StageRepository::get(&*db.repo, a.instance.id, StageId::new_random())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        StageRepository::get(&*db.repo, a.instance.id, a_stage)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn lists_page_in_creation_order_and_filter_by_status_and_creator() {
    let db = Db::new().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(started(&db, 1).await.definition.id);
    }
    let page = |top, skip| ListQuery {
        status: None,
        page: PageRequest::new(Some(top), skip).unwrap(),
        ..ListQuery::default()
    };

    let first = DefinitionRepository::list(&*db.repo, page(2, 0), None)
        .await
        .unwrap();
    let last = DefinitionRepository::list(&*db.repo, page(2, 4), None)
        .await
        .unwrap();
    assert_eq!(
        first.items.iter().map(|d| d.id).collect::<Vec<_>>(),
        ids[..2]
    );
    assert!(first.has_more);
    assert_eq!(
        last.items.iter().map(|d| d.id).collect::<Vec<_>>(),
        ids[4..]
    );
    assert!(!last.has_more);

    let completed = ListQuery {
        status: Some(ReviewStatus::Completed),
        page: PageRequest::default(),
        ..ListQuery::default()
    };
    assert!(
        DefinitionRepository::list(&*db.repo, completed, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let stranger = Some(PrincipalId::new_random());
    assert!(
        DefinitionRepository::list(&*db.repo, page(10, 0), stranger)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn a_stop_writes_the_stage_the_next_stage_the_instance_and_the_audit_row_together() {
    let db = Db::new().await;
    let review = started(&db, 2).await;
    let first = review.first_stage.clone().unwrap();
    db.clock.advance(Duration::hours(3));

    let transition = db
        .stop()
        .execute(&admin(), review.definition.id, review.instance.id, first.id)
        .await
        .unwrap();

    let stages = db.stages(review.instance.id).await;
    assert_eq!(
        stages,
        vec![
            transition.stopped.clone(),
            transition.started.clone().unwrap()
        ]
    );
    assert_eq!(stages[0].status(), ReviewStatus::Completed);
    assert_eq!(stages[0].end_date_time, db.clock.now());
    assert_eq!(stages[1].status(), ReviewStatus::InProgress);
    let audit: (uuid::Uuid, Option<uuid::Uuid>, bool) = sqlx::query_as(
        "SELECT stage_id, created_stage_id, instance_completed FROM access_review_audit",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        audit,
        (first.id.as_uuid(), Some(stages[1].id.as_uuid()), false)
    );

    // The last stop completes the instance; this definition recurs, so it
    // stays in progress.
    db.clock.advance(Duration::hours(1));
    db.stop()
        .execute(
            &admin(),
            review.definition.id,
            review.instance.id,
            stages[1].id,
        )
        .await
        .unwrap();
    let instance = InstanceRepository::get(&*db.repo, review.definition.id, review.instance.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(instance.status(), ReviewStatus::Completed);
    assert_eq!(instance.end_date_time, db.clock.now());
    assert_eq!(
        db.count("SELECT count(*) FROM access_review_audit WHERE instance_completed")
            .await,
        1
    );
}

#[tokio::test]
async fn stopping_the_last_stage_of_a_one_off_review_completes_its_definition() {
    let db = Db::new().await;
    let mut spec = spec(1);
    spec.settings.recurrence = None;
    let review = db
        .create()
        .execute(&admin(), spec)
        .await
        .unwrap()
        .started()
        .unwrap();
    db.stop()
        .execute(
            &admin(),
            review.definition.id,
            review.instance.id,
            review.first_stage.unwrap().id,
        )
        .await
        .unwrap();
    let definition = DefinitionRepository::get(&*db.repo, review.definition.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(definition.status, ReviewStatus::Completed);
    assert_eq!(definition.last_modified_date_time, db.clock.now());
}

#[tokio::test]
async fn a_stop_that_fails_half_way_changes_nothing() {
    let db = Db::new().await;
    let review = started(&db, 2).await;
    let definition = review.definition.clone();
    let first = review.first_stage.clone().unwrap();
    let mut transition = StopTransition::plan(
        &definition,
        &review.instance,
        std::slice::from_ref(&first),
        first.id,
        &admin(),
        db.clock.now(),
        ReviewerRules::default(),
    )
    .unwrap();
    transition.record = Some(stop_record(&db, first.id));
    // Sabotage the second write: a "next" stage for the key the instance
    // already has breaks the one-stage-per-key constraint, after the guarded
    // update of the stopped stage has already run.
    let mut clash = transition.started.clone().unwrap();
    clash.key = first.key.clone();
    transition.started = Some(clash);

    let result = StageRepository::commit_stop(&*db.repo, &transition).await;

    assert!(
        matches!(result, Err(RepositoryError::Failed(_))),
        "{result:?}"
    );
    assert_eq!(db.stages(review.instance.id).await, vec![first]);
    assert_eq!(
        db.count("SELECT count(*) FROM access_review_audit").await,
        0
    );
    assert_eq!(
        db.count("SELECT count(*) FROM directory_audits").await,
        0,
        "nor the request's record"
    );
    let instance = InstanceRepository::get(&*db.repo, definition.id, review.instance.id)
        .await
        .unwrap();
    assert_eq!(instance, Some(review.instance));
}

#[tokio::test]
async fn a_commit_for_a_stage_that_is_no_longer_in_progress_writes_nothing() {
    let db = Db::new().await;
    let review = started(&db, 2).await;
    let first = review.first_stage.clone().unwrap();
    let mut transition = StopTransition::plan(
        &review.definition,
        &review.instance,
        std::slice::from_ref(&first),
        first.id,
        &admin(),
        db.clock.now(),
        ReviewerRules::default(),
    )
    .unwrap();

    let record = stop_record(&db, first.id);
    transition.record = Some(record.clone());
    assert_eq!(
        StageRepository::commit_stop(&*db.repo, &transition)
            .await
            .unwrap(),
        StopOutcome::Committed
    );
    transition.record = Some(stop_record(&db, first.id));
    assert_eq!(
        StageRepository::commit_stop(&*db.repo, &transition)
            .await
            .unwrap(),
        StopOutcome::StageNoLongerInProgress
    );
    assert_eq!(db.stages(review.instance.id).await.len(), 2);
    assert_eq!(
        db.count("SELECT count(*) FROM access_review_audit").await,
        1
    );
    // The request's record, written with the stop, reads back whole; the
    // losing commit wrote none.
    assert_eq!(db.count("SELECT count(*) FROM directory_audits").await, 1);
    assert_eq!(
        AuditTrail::audit(&*db.repo, record.id).await.unwrap(),
        Some(record)
    );
}

/// A request's record of a successful stop of `stage`, as the API hands it.
fn stop_record(db: &Db, stage: StageId) -> AuditEntry {
    let request = RequestRecord {
        correlation_id: Uuid::new_v4(),
        targets: vec![Target {
            id: stage.as_uuid(),
            kind: TargetKind::Stage,
        }],
        details: vec![("httpStatus".into(), "204".into())],
    };
    request.entry(
        &admin(),
        Activity::StopStage,
        Outcome::success(),
        db.clock.now(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_50_concurrent_stops_of_one_stage_exactly_one_succeeds() {
    let db = Db::new().await;
    let review = started(&db, 3).await;
    let first = review.first_stage.clone().unwrap().id;
    let stop = Arc::new(db.stop());

    let attempts = (0..50).map(|_| {
        let stop = stop.clone();
        let (d, i) = (review.definition.id, review.instance.id);
        tokio::spawn(async move { stop.execute(&admin(), d, i, first).await })
    });
    let results = futures::future::join_all(attempts).await;

    let mut successes = 0;
    for result in results {
        match result.unwrap() {
            Ok(_) => successes += 1,
            Err(StopStageError::NotInProgress(StageNotInProgress {
                status: ReviewStatus::Completed,
            })) => {}
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(successes, 1);
    let stages = db.stages(review.instance.id).await;
    assert_eq!(stages.len(), 2, "exactly one next stage");
    assert_eq!(stages[1].key.as_str(), "2");
    assert_eq!(
        db.count("SELECT count(*) FROM access_review_audit").await,
        1
    );
}

#[tokio::test]
async fn a_closed_pool_is_reported_as_unavailable() {
    let db = Db::new().await;
    db.pool.close().await;
    let result = DefinitionRepository::get(&*db.repo, DefinitionId::new_random()).await;
    assert!(
        matches!(result, Err(RepositoryError::Unavailable(_))),
        "{result:?}"
    );
}

/// `DELETE …/definitions/{id}`: one statement whose cascade removes the
/// definition's instances, stages, phases, items and history, and nothing
/// of another review; the audit ledger keeps its rows.
#[tokio::test]
async fn deleting_a_definition_removes_everything_below_it_and_nothing_else() {
    use access_reviews_domain::ports::DefinitionRepository as _;

    let db = Db::new().await;
    for name in ["ann", "bob", "cat"] {
        crate::lifecycle::member_of(&db, PrincipalId::from_uuid(GROUP), name).await;
    }
    let mut reviews = Vec::new();
    for _ in 0..2 {
        let review = db
            .create()
            .execute(&admin(), spec(2))
            .await
            .unwrap()
            .started()
            .unwrap();
        // A stop: a second stage, a phase, carried items and a ledger row.
        db.stop()
            .execute(
                &admin(),
                review.definition.id,
                review.instance.id,
                review.first_stage.as_ref().unwrap().id,
            )
            .await
            .unwrap();
        reviews.push(review);
    }
    let rows = |definition: Uuid| {
        let pool = db.pool.clone();
        async move {
            let mut counts = Vec::new();
            for sql in [
                "SELECT count(*) FROM access_review_definitions WHERE id = $1",
                "SELECT count(*) FROM access_review_instances WHERE definition_id = $1",
                "SELECT count(*) FROM access_review_stages s JOIN access_review_instances i \
                 ON i.id = s.instance_id WHERE i.definition_id = $1",
                "SELECT count(*) FROM review_phases p JOIN access_review_instances i \
                 ON i.id = p.instance_id WHERE i.definition_id = $1",
                "SELECT count(*) FROM decision_items d JOIN access_review_instances i \
                 ON i.id = d.instance_id WHERE i.definition_id = $1",
                "SELECT count(*) FROM access_review_audit WHERE definition_id = $1",
            ] {
                let n: i64 = sqlx::query_scalar(sql)
                    .bind(definition)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                counts.push(n);
            }
            counts
        }
    };
    let (gone, kept) = (
        reviews[0].definition.id.as_uuid(),
        reviews[1].definition.id.as_uuid(),
    );
    let before = rows(kept).await;
    assert_eq!(before[..5], [1, 1, 2, 2, 3]);
    let total = |table: &'static str| db.count(table);
    let phase_items = total("SELECT count(*) FROM phase_items").await;

    assert!(db.repo.delete(reviews[0].definition.id).await.unwrap());
    assert_eq!(rows(gone).await, [0, 0, 0, 0, 0, 1], "the ledger row stays");
    assert_eq!(rows(kept).await, before, "the other review is untouched");
    let phase_items_after = total("SELECT count(*) FROM phase_items").await;
    assert!(phase_items > 0);
    assert_eq!(
        phase_items_after * 2,
        phase_items,
        "half the phase items went"
    );
    assert!(
        !db.repo.delete(reviews[0].definition.id).await.unwrap(),
        "gone already"
    );
}

#[tokio::test]
async fn an_update_leaves_the_instances_already_started_on_their_settings() {
    let db = Db::new().await;
    let review = started(&db, 2).await;
    let other = started(&db, 2).await;
    let original = review.definition.spec.clone();

    let mut changed = original.clone();
    changed.display_name = DisplayName::parse("Renamed".into()).unwrap();
    changed.description_for_reviewers = Some("new words".into());
    changed.settings.justification_required_on_approval = false;
    changed.settings.default_decision = Some(DefaultDecision::Approve);
    let mut plan = original.stage_plan.stages().to_vec();
    plan[1].duration_in_days = DurationInDays::new(4).unwrap();
    changed.stage_plan = StagePlan::new(plan).unwrap();
    db.clock.advance(Duration::hours(2));
    db.create()
        .update(&admin(), review.definition.id, changed.clone(), true)
        .await
        .unwrap();

    let id = review.definition.id;
    let now = DefinitionRepository::get(&*db.repo, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.spec, changed);
    assert_eq!(now.last_modified_date_time, db.clock.now());
    let as_run = db
        .repo
        .get_for_instance(id, review.instance.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(as_run.spec.stage_plan, original.stage_plan);
    assert_eq!(as_run.spec.settings, original.settings);
    assert_eq!(as_run.spec.description_for_reviewers, None);
    assert_eq!(
        as_run.spec.display_name.as_str(),
        "Renamed",
        "the name is the definition's"
    );
    // A second update does not move the instance off what it started with.
    db.create()
        .update(&admin(), id, spec(1), true)
        .await
        .unwrap();
    let as_run = db
        .repo
        .get_for_instance(id, review.instance.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(as_run.spec.stage_plan, original.stage_plan);

    // The stop plans from the settings the instance started with: its
    // second stage lasts 2 days, not 4.
    let transition = db
        .stop()
        .execute(
            &admin(),
            id,
            review.instance.id,
            review.first_stage.as_ref().unwrap().id,
        )
        .await
        .unwrap();
    let next = transition.started.unwrap();
    assert_eq!(next.end_date_time - next.start_date_time, Duration::days(2));

    let pinned = |instance: InstanceId| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT pinned_spec IS NOT NULL FROM access_review_instances WHERE id = $1",
            )
            .bind(instance.as_uuid())
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert!(pinned(review.instance.id).await);
    assert!(!pinned(other.instance.id).await, "another review untouched");
    assert_eq!(
        DefinitionRepository::get(&*db.repo, other.definition.id)
            .await
            .unwrap()
            .unwrap(),
        other.definition
    );
    // An unknown definition is not updated.
    let mut ghost = now.clone();
    ghost.id = DefinitionId::new_random();
    assert!(!db.repo.update(&ghost).await.unwrap());
}

#[tokio::test]
async fn review_history_round_trips_and_its_report_reads_the_reviews_it_covers() {
    use access_reviews_domain::history::{HistoryDecision, HistoryScope, NewHistoryDefinition};
    use access_reviews_domain::ports::HistoryRepository as _;
    use access_reviews_domain::use_cases::{History, HistoryError};

    let db = Db::new().await;
    for name in ["ann", "bob"] {
        crate::lifecycle::member_of(&db, PrincipalId::from_uuid(GROUP), name).await;
    }
    let review = started(&db, 1).await;
    let history = History::new(&db.ports());
    let spec = NewHistoryDefinition {
        display_name: DisplayName::parse("All of it".into()).unwrap(),
        decisions: HistoryDecision::ALL.to_vec(),
        period_start: chrono::DateTime::UNIX_EPOCH,
        period_end: db.clock.now() + Duration::days(1),
        scopes: vec![
            HistoryScope::parse(scope(
                "/identityGovernance/accessReviews/definitions?$filter=contains(scope/query, '/groups')",
            ))
            .unwrap(),
        ],
    };
    let (definition, instance) = history.create(&admin(), spec).await.unwrap();
    assert_eq!(
        db.repo.history(definition.id).await.unwrap(),
        Some(definition.clone())
    );
    assert_eq!(
        db.repo.history_instances(definition.id).await.unwrap(),
        vec![instance.clone()]
    );
    let page = db
        .repo
        .histories(
            PageRequest::default().counted(),
            db.clock.now() - Duration::days(30),
            None,
        )
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.total), (1, Some(1)));
    let someone_else = db
        .repo
        .histories(
            PageRequest::default(),
            db.clock.now() - Duration::days(30),
            Some(PrincipalId::new_random()),
        )
        .await
        .unwrap();
    assert!(someone_else.items.is_empty());

    let (_, linked) = history
        .generate_download(&admin(), definition.id, instance.id)
        .await
        .unwrap();
    let token = linked.download.clone().unwrap().token;
    assert_eq!(
        db.repo.by_download(&token).await.unwrap(),
        Some((definition.clone(), linked))
    );
    let report = history.download(&token).await.unwrap();
    let mut principals: Vec<_> = report.rows.iter().map(|r| r.item.principal.id).collect();
    principals.sort();
    let mut members: Vec<_> = crate::lifecycle::items_of(&db, &review)
        .await
        .iter()
        .map(|i| i.principal.id)
        .collect();
    members.sort();
    assert_eq!(principals.len(), 2);
    assert_eq!(principals, members);
    assert!(
        report
            .rows
            .iter()
            .all(|r| r.instance.id == review.instance.id)
    );
    // A new link replaces it.
    history
        .generate_download(&admin(), definition.id, instance.id)
        .await
        .unwrap();
    assert!(db.repo.by_download(&token).await.unwrap().is_none());
    assert!(matches!(
        history.download(&token).await,
        Err(HistoryError::LinkExpired)
    ));
}
