//! The audit log in PostgreSQL: append-only, the scheduler's transitions
//! recorded in their own transaction, and the list's filters and order.

use access_reviews_domain::audit::{
    Activity, AuditEntry, AuditFilter, AuditQuery, AuditResult, Initiator, Target, TargetKind,
};
use access_reviews_domain::ids::{AuditId, PrincipalId};
use access_reviews_domain::ports::{AuditTrail, Claim};
use access_reviews_domain::query::PageRequest;
use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use crate::repository::{Db, admin, spec};

fn query(filter: AuditFilter) -> AuditQuery {
    AuditQuery {
        filter,
        oldest_first: false,
        page: PageRequest::new(Some(100), 0).unwrap(),
    }
}

fn entry(at: DateTime<Utc>, activity: Activity, target: Uuid) -> AuditEntry {
    AuditEntry {
        id: AuditId::new_random(),
        at,
        activity: activity.display_name().into(),
        category: activity.category().into(),
        operation_type: activity.operation_type().into(),
        correlation_id: Uuid::new_v4(),
        result: AuditResult::Failure,
        result_reason: "The access review stage is Completed; it's not InProgress.".into(),
        initiated_by: Initiator::User {
            id: PrincipalId::new_random(),
            display_name: Some("Ada".into()),
            user_principal_name: None,
        },
        targets: vec![Target {
            id: target,
            kind: TargetKind::Definition,
        }],
        details: vec![
            ("httpStatus".into(), "409".into()),
            ("note".into(), String::new()),
        ],
    }
}

#[tokio::test]
async fn records_round_trip_and_filter_by_time_category_activity_and_target() {
    let db = Db::new().await;
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let written = [
        entry(t0, Activity::CreateDefinition, a),
        entry(t0, Activity::StopStage, a),
        entry(t0 + Duration::hours(1), Activity::RecordDecision, b),
    ];
    for e in &written {
        db.repo.record(e).await.unwrap();
    }
    // A record is the last statement of a write's request: its connection
    // is kept for the next request, not tested by the pool on return.
    assert_eq!(db.repo.kept_connections(), 1);
    assert_eq!(
        db.repo.audit(written[1].id).await.unwrap().as_ref(),
        Some(&written[1]),
        "every field round-trips"
    );
    let ids = |page: Vec<AuditEntry>| page.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let all = db
        .repo
        .audits(&query(AuditFilter::default()))
        .await
        .unwrap();
    assert_eq!(
        ids(all.items),
        [written[2].id, written[1].id, written[0].id],
        "newest first; one instant in the order written, reversed"
    );
    let mut oldest = query(AuditFilter::default());
    oldest.oldest_first = true;
    oldest.page = PageRequest::new(Some(2), 0).unwrap().counted();
    let page = db.repo.audits(&oldest).await.unwrap();
    assert!(page.has_more);
    assert_eq!(page.total, Some(3), "counted past the page");
    assert_eq!(ids(page.items), [written[0].id, written[1].id]);

    for (filter, expected) in [
        (
            AuditFilter {
                target: Some(a),
                ..AuditFilter::default()
            },
            vec![written[1].id, written[0].id],
        ),
        (
            AuditFilter {
                from: Some(t0 + Duration::minutes(1)),
                ..AuditFilter::default()
            },
            vec![written[2].id],
        ),
        (
            AuditFilter {
                to: Some(t0),
                category: Some("Policy".into()),
                ..AuditFilter::default()
            },
            vec![written[1].id, written[0].id],
        ),
        (
            AuditFilter {
                activity: Some("Create access review".into()),
                logged_by: Some("Access Reviews".into()),
                ..AuditFilter::default()
            },
            vec![written[0].id],
        ),
        (
            AuditFilter {
                logged_by: Some("Core Directory".into()),
                ..AuditFilter::default()
            },
            vec![],
        ),
    ] {
        let found = db.repo.audits(&query(filter.clone())).await.unwrap();
        assert_eq!(ids(found.items), expected, "{filter:?}");
    }
}

#[tokio::test]
async fn no_statement_can_change_or_remove_a_record() {
    let db = Db::new().await;
    let record = entry(Utc::now(), Activity::StopStage, Uuid::new_v4());
    db.repo.record(&record).await.unwrap();
    for sql in [
        "UPDATE directory_audits SET result = 'success'",
        "DELETE FROM directory_audits",
        "TRUNCATE directory_audits",
    ] {
        let refused = sqlx::query(sql).execute(&db.pool).await.unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{sql}: {refused}"
        );
    }
    assert_eq!(
        db.repo.audit(record.id).await.unwrap().map(|r| r.result),
        Some(AuditResult::Failure)
    );
}

#[tokio::test]
async fn the_scheduler_s_transitions_are_recorded_with_them_and_a_person_s_are_not_doubled() {
    let db = Db::new().await;
    let mut reviews = Vec::new();
    for _ in 0..2 {
        let review = db
            .create()
            .execute(&admin(), spec(2))
            .await
            .unwrap()
            .started()
            .unwrap();
        reviews.push(review);
    }
    // A person stops the first review's stage: its record is the request's
    // (written by the HTTP adapter), not the transition's.
    let first = &reviews[0];
    db.stop()
        .execute(
            &admin(),
            first.definition.id,
            first.instance.id,
            first.first_stage.as_ref().unwrap().id,
        )
        .await
        .unwrap();
    assert_eq!(db.count("SELECT count(*) FROM directory_audits").await, 0);

    db.clock.advance(Duration::hours(36));
    let report = db.lifecycle().run_due(Claim::All).await.unwrap();
    assert_eq!(report.stages_ended, 1);

    let second = &reviews[1];
    let stage = second.first_stage.as_ref().unwrap();
    let records = db
        .repo
        .audits(&query(AuditFilter {
            target: Some(stage.id.as_uuid()),
            ..AuditFilter::default()
        }))
        .await
        .unwrap()
        .items;
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record.activity, Activity::StopStage.display_name());
    assert_eq!(record.category, Activity::StopStage.category());
    assert_eq!(record.result, AuditResult::Success);
    assert_eq!(record.at, stage.end_date_time, "at the scheduled end");
    assert_eq!(
        record.initiated_by,
        Initiator::App {
            service_principal_id: PrincipalId::from_uuid(Uuid::nil()),
            display_name: Some("Access Reviews".into()),
        }
    );
    assert_eq!(
        record.targets,
        [
            Target {
                id: second.definition.id.as_uuid(),
                kind: TargetKind::Definition
            },
            Target {
                id: second.instance.id.as_uuid(),
                kind: TargetKind::Instance
            },
            Target {
                id: stage.id.as_uuid(),
                kind: TargetKind::Stage
            },
        ]
    );
    assert_eq!(record.details[0], ("trigger".into(), "schedule".into()));
    assert_eq!(record.details[1].0, "createdStageId");
    assert_eq!(db.count("SELECT count(*) FROM directory_audits").await, 1);
}
