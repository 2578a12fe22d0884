//! The review in time over PostgreSQL: finding due work, ending instances
//! with their default decisions, applying decisions to the directory, and
//! the test clock.
//!
//! The SQL here mirrors two domain rules, named where they are used:
//! [`DefaultDecision::decision_for`] and [`ApplyResult::of`].

use access_reviews_domain::actor::system_identity;
use access_reviews_domain::decision::ApplyResult;
use access_reviews_domain::decision::{Decision, Identity, Recommendation};
use access_reviews_domain::definition::DefaultDecision;
use access_reviews_domain::ids::{DefinitionId, InstanceId, StageId};
use access_reviews_domain::lifecycle::{
    ActionAudit, DEFAULT_DECISION_JUSTIFICATION, EndTransition, InstanceEnd,
};
use access_reviews_domain::ports::{
    Claim, Clock, ClockControl, DueWork, EndOutcome, LifecycleRepository, Phase, RepositoryError,
    StartOutcome, StartedReview,
};
use access_reviews_domain::status::ReviewStatus;
use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::{CorruptRow, map_sqlx};
use crate::repository::{PgRepository, insert_started};

const IN_PROGRESS: &str = ReviewStatus::InProgress.as_str();
const COMPLETED: &str = ReviewStatus::Completed.as_str();

/// Locks the instance's row until the transaction ends and tells whether
/// it is `InProgress`. Every transition of an instance or of its stages
/// takes this lock first, so they serialise in one order.
pub(crate) async fn lock_instance(
    conn: &mut PgConnection,
    instance: InstanceId,
) -> Result<bool, RepositoryError> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM access_review_instances WHERE id = $1 FOR UPDATE")
            .bind(instance.as_uuid())
            .fetch_optional(conn)
            .await
            .map_err(map_sqlx)?;
    Ok(status.as_deref() == Some(IN_PROGRESS))
}

/// The end of an instance inside the transaction that completes it: the
/// default decision on every item still `NotReviewed`, recorded in `phase`
/// by the system, then applying every decision when asked.
pub(crate) async fn finish_instance(
    conn: &mut PgConnection,
    instance: InstanceId,
    phase: Phase,
    end: &InstanceEnd,
) -> Result<(), RepositoryError> {
    if let Some(default) = end.default_decision {
        record_default_decisions(conn, instance, phase, default, end.at).await?;
    }
    if end.auto_apply {
        apply_decisions(conn, instance, &system_identity(), end.at).await?;
    }
    Ok(())
}

/// [`DefaultDecision::decision_for`]: `Approve` and `Deny` as such;
/// `Recommendation` takes the item's recommendation and leaves an item
/// whose recommendation is `NoInfoAvailable` as it is.
async fn record_default_decisions(
    conn: &mut PgConnection,
    instance: InstanceId,
    phase: Phase,
    default: DefaultDecision,
    at: DateTime<Utc>,
) -> Result<(), RepositoryError> {
    let by = system_identity();
    sqlx::query(
        "WITH decided AS ( \
           UPDATE decision_items i SET \
             decision = CASE WHEN $2 = $9 THEN i.recommendation ELSE $2 END, \
             justification = $3, reviewed_by_id = $4, reviewed_by_display_name = $5, \
             reviewed_by_user_principal_name = $6, reviewed_date_time = $7 \
           WHERE i.instance_id = $1 AND coalesce(i.decision, $10) = $10 \
             AND NOT ($2 = $9 AND i.recommendation = $11) \
           RETURNING i.id, i.decision) \
         INSERT INTO decision_history (phase_id, item_id, decision, justification, \
           reviewed_by_id, reviewed_by_display_name, reviewed_by_user_principal_name, \
           reviewed_date_time) \
         SELECT $8, d.id, d.decision, $3, $4, $5, $6, $7 FROM decided d \
         WHERE EXISTS (SELECT 1 FROM review_phases WHERE id = $8)",
    )
    .bind(instance.as_uuid())
    .bind(default.as_str())
    .bind(DEFAULT_DECISION_JUSTIFICATION)
    .bind(by.id.as_uuid())
    .bind(&by.display_name)
    .bind(&by.user_principal_name)
    .bind(at)
    .bind(phase.id())
    .bind(DefaultDecision::Recommendation.as_str())
    .bind(Decision::NotReviewed.as_str())
    .bind(Recommendation::NoInfoAvailable.as_str())
    .execute(conn)
    .await
    .map_err(map_sqlx)?;
    Ok(())
}

/// [`ApplyResult::of`] on every item of the instance not applied yet, in
/// one statement: a denied principal's direct membership of the reviewed
/// group is removed (`AppliedSuccessfully`); one that is a member only
/// through a nested group is left (`ApplyNotSupported`); one that is no
/// member any more, or whose group is gone, has nothing to remove
/// (`AppliedSuccessfullyButObjectNotFound`); every other decision keeps
/// the access (`AppliedSuccessfully`). The caller holds the instance's
/// lock, so two applies never overlap.
async fn apply_decisions(
    conn: &mut PgConnection,
    instance: InstanceId,
    by: &Identity,
    at: DateTime<Utc>,
) -> Result<u64, RepositoryError> {
    let applied = sqlx::query(
        "WITH RECURSIVE nested(root, id) AS ( \
           SELECT m.group_id, m.member_id FROM group_members m \
           WHERE m.member_kind = 'group' AND m.group_id IN \
             (SELECT resource_id FROM decision_items WHERE instance_id = $1) \
           UNION \
           SELECT n.root, m.member_id FROM nested n \
           JOIN group_members m ON m.group_id = n.id AND m.member_kind = 'group'), \
         pending AS ( \
           SELECT i.id, i.principal_id, i.resource_id, \
             coalesce(i.decision, $6) = $7 AS denied, \
             EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = i.resource_id \
                     AND m.member_id = i.principal_id) AS direct, \
             EXISTS (SELECT 1 FROM nested n JOIN group_members m ON m.group_id = n.id \
                     WHERE n.root = i.resource_id AND m.member_id = i.principal_id) AS nested \
           FROM decision_items i WHERE i.instance_id = $1 AND i.applied_date_time IS NULL), \
         removed AS ( \
           DELETE FROM group_members m USING pending p \
           WHERE p.denied AND p.direct AND m.group_id = p.resource_id \
             AND m.member_id = p.principal_id) \
         UPDATE decision_items i SET \
           apply_result = CASE WHEN NOT p.denied OR p.direct THEN $8 \
                               WHEN p.nested THEN $9 ELSE $10 END, \
           applied_by_id = $2, applied_by_display_name = $3, \
           applied_by_user_principal_name = $4, applied_date_time = $5 \
         FROM pending p WHERE i.id = p.id",
    )
    .bind(instance.as_uuid())
    .bind(by.id.as_uuid())
    .bind(&by.display_name)
    .bind(&by.user_principal_name)
    .bind(at)
    .bind(Decision::NotReviewed.as_str())
    .bind(Decision::Deny.as_str())
    .bind(ApplyResult::AppliedSuccessfully.as_str())
    .bind(ApplyResult::ApplyNotSupported.as_str())
    .bind(ApplyResult::AppliedSuccessfullyButObjectNotFound.as_str())
    .execute(conn)
    .await
    .map_err(map_sqlx)?;
    Ok(applied.rows_affected())
}

/// Writes an audit record of an action.
async fn insert_action(
    conn: &mut PgConnection,
    audit: &ActionAudit,
) -> Result<(), RepositoryError> {
    sqlx::query(
        "INSERT INTO access_review_audit (occurred_at, actor_id, action, definition_id, \
         instance_id, stage_id, instance_completed) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(audit.at)
    .bind(audit.actor.as_uuid())
    .bind(audit.action.as_str())
    .bind(audit.definition_id.as_uuid())
    .bind(audit.instance_id.map(|i| i.as_uuid()))
    .bind(audit.stage_id.map(|s| s.as_uuid()))
    .bind(
        matches!(
            audit.action,
            access_reviews_domain::lifecycle::Action::InstanceCompleted
                | access_reviews_domain::lifecycle::Action::DefinitionStopped
        ) && audit.instance_id.is_some(),
    )
    .execute(conn)
    .await
    .map_err(map_sqlx)?;
    Ok(())
}

/// Completes the definition.
pub(crate) async fn complete_definition(
    conn: &mut PgConnection,
    definition: DefinitionId,
    at: DateTime<Utc>,
) -> Result<bool, RepositoryError> {
    let done = sqlx::query(
        "UPDATE access_review_definitions SET status = $3, last_modified_date_time = $2, \
         next_instance_at = NULL WHERE id = $1 AND status <> $3",
    )
    .bind(definition.as_uuid())
    .bind(at)
    .bind(COMPLETED)
    .execute(conn)
    .await
    .map_err(map_sqlx)?;
    Ok(done.rows_affected() == 1)
}

#[derive(sqlx::FromRow)]
struct DueRow {
    definition_id: Uuid,
    instance_id: Option<Uuid>,
    stage_id: Option<Uuid>,
    end_date_time: DateTime<Utc>,
}

/// The condition that no live lease holds the row `{t}`, when `$4` asks
/// for leases.
const LEASE_FREE: &str =
    "AND (NOT $4 OR {t}.claimed_until IS NULL OR {t}.claimed_until < clock_timestamp())";

/// When a lease taken now runs out: long enough for a pass to work
/// through its batch, short enough that a replica's crash delays its work
/// by no more than this.
const LEASE_END: &str = "clock_timestamp() + interval '60 seconds'";

#[async_trait]
impl LifecycleRepository for PgRepository {
    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        claim: Claim,
    ) -> Result<Vec<DueWork>, RepositoryError> {
        let lease = matches!(claim, Claim::Lease);
        // A leasing pass skips rows another statement holds; a pass that
        // takes all due work must not skip anything.
        let lock = if lease { "FOR UPDATE SKIP LOCKED" } else { "" };
        // Stages, then instances without stages; each statement skips rows
        // another pass is claiming right now, and leases what it returns.
        let mut rows: Vec<DueRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH due AS ( \
               SELECT s.id FROM access_review_stages s \
               WHERE s.status = $3 AND s.end_date_time <= $1 {LEASE_FREE} \
               ORDER BY s.end_date_time LIMIT $2 {lock}), \
             leased AS ( \
               UPDATE access_review_stages s SET claimed_until = {LEASE_END} \
               FROM due WHERE s.id = due.id AND $4 RETURNING s.id) \
             SELECT i.definition_id, s.instance_id, s.id AS stage_id, s.end_date_time \
             FROM due JOIN access_review_stages s ON s.id = due.id \
             JOIN access_review_instances i ON i.id = s.instance_id",
            LEASE_FREE = LEASE_FREE.replace("{t}", "s"),
        )))
        .bind(now)
        .bind(i64::from(limit))
        .bind(IN_PROGRESS)
        .bind(lease)
        .fetch_all(self.pool())
        .await
        .map_err(map_sqlx)?;
        rows.extend(
            sqlx::query_as::<_, DueRow>(sqlx::AssertSqlSafe(format!(
                "WITH due AS ( \
                   SELECT i.id FROM access_review_instances i \
                   WHERE i.status = $3 AND i.end_date_time <= $1 {LEASE_FREE} \
                     AND NOT EXISTS (SELECT 1 FROM access_review_stages s \
                                     WHERE s.instance_id = i.id) \
                   ORDER BY i.end_date_time LIMIT $2 {lock}), \
                 leased AS ( \
                   UPDATE access_review_instances i SET claimed_until = {LEASE_END} \
                   FROM due WHERE i.id = due.id AND $4 RETURNING i.id) \
                 SELECT i.definition_id, i.id AS instance_id, NULL::uuid AS stage_id, \
                   i.end_date_time \
                 FROM due JOIN access_review_instances i ON i.id = due.id",
                LEASE_FREE = LEASE_FREE.replace("{t}", "i"),
            )))
            .bind(now)
            .bind(i64::from(limit))
            .bind(IN_PROGRESS)
            .bind(lease)
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?,
        );
        rows.extend(
            sqlx::query_as::<_, DueRow>(sqlx::AssertSqlSafe(format!(
                "WITH due AS ( \
                   SELECT d.id FROM access_review_definitions d \
                   WHERE d.next_instance_at <= $1 AND d.status <> $3 {LEASE_FREE} \
                   ORDER BY d.next_instance_at LIMIT $2 {lock}), \
                 leased AS ( \
                   UPDATE access_review_definitions d SET claimed_until = {LEASE_END} \
                   FROM due WHERE d.id = due.id AND $4 RETURNING d.id) \
                 SELECT d.id AS definition_id, NULL::uuid AS instance_id, \
                   NULL::uuid AS stage_id, d.next_instance_at AS end_date_time \
                 FROM due JOIN access_review_definitions d ON d.id = due.id",
                LEASE_FREE = LEASE_FREE.replace("{t}", "d"),
            )))
            .bind(now)
            .bind(i64::from(limit))
            .bind(COMPLETED)
            .bind(lease)
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?,
        );
        rows.sort_by_key(|r| r.end_date_time);
        Ok(rows
            .into_iter()
            .map(|r| {
                let definition = DefinitionId::from_uuid(r.definition_id);
                match (r.instance_id.map(InstanceId::from_uuid), r.stage_id) {
                    (Some(instance), Some(stage)) => DueWork::Stage {
                        definition,
                        instance,
                        stage: StageId::from_uuid(stage),
                    },
                    (Some(instance), None) => DueWork::Instance {
                        definition,
                        instance,
                    },
                    (None, _) => DueWork::Definition { definition },
                }
            })
            .collect())
    }

    async fn commit_end(&self, transition: &EndTransition) -> Result<EndOutcome, RepositoryError> {
        let instance = &transition.instance;
        let mut tx = self.pool().begin().await.map_err(map_sqlx)?;
        if !lock_instance(&mut tx, instance.id).await? {
            tx.rollback().await.map_err(map_sqlx)?;
            return Ok(EndOutcome::NoLongerInProgress);
        }
        // Whatever stage is still running ends with the instance; none is
        // created after it.
        let stopped: Option<Uuid> = sqlx::query_scalar(
            "UPDATE access_review_stages SET status = $3, end_date_time = $2 \
             WHERE instance_id = $1 AND status = $4 RETURNING id",
        )
        .bind(instance.id.as_uuid())
        .bind(transition.end.at)
        .bind(COMPLETED)
        .bind(IN_PROGRESS)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        sqlx::query(
            "UPDATE access_review_instances SET status = $2, end_date_time = $3 WHERE id = $1",
        )
        .bind(instance.id.as_uuid())
        .bind(instance.status().as_str())
        .bind(instance.end_date_time)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        let phase = stopped.map_or(Phase::Instance(instance.id), |s| {
            Phase::Stage(StageId::from_uuid(s))
        });
        finish_instance(&mut tx, instance.id, phase, &transition.end).await?;
        if transition.definition_completed {
            complete_definition(&mut tx, transition.audit.definition_id, transition.end.at).await?;
        }
        insert_action(&mut tx, &transition.audit).await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(EndOutcome::Committed)
    }

    async fn apply(
        &self,
        instance: InstanceId,
        by: &Identity,
        audit: &ActionAudit,
    ) -> Result<u64, RepositoryError> {
        let mut tx = self.pool().begin().await.map_err(map_sqlx)?;
        // Serialises with other applies and with the instance's end.
        lock_instance(&mut tx, instance).await?;
        let applied = apply_decisions(&mut tx, instance, by, audit.at).await?;
        insert_action(&mut tx, audit).await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(applied)
    }

    async fn start_instance(
        &self,
        review: &StartedReview,
        expected_next: DateTime<Utc>,
        audit: &ActionAudit,
    ) -> Result<StartOutcome, RepositoryError> {
        let definition = &review.definition;
        let mut tx = self.pool().begin().await.map_err(map_sqlx)?;
        // The claim: of racing passes, the first to move the definition's
        // next start on starts the period's instance; the others match no
        // row.
        let claimed = sqlx::query(
            "UPDATE access_review_definitions SET next_instance_at = $3, \
             instances_started = $4, status = $5, last_modified_date_time = $6, \
             claimed_until = NULL \
             WHERE id = $1 AND next_instance_at = $2 AND status <> $7",
        )
        .bind(definition.id.as_uuid())
        .bind(expected_next)
        .bind(definition.schedule.next_start)
        .bind(i32::try_from(definition.schedule.instances_started).unwrap_or(i32::MAX))
        .bind(definition.status.as_str())
        .bind(definition.last_modified_date_time)
        .bind(COMPLETED)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        if claimed.rows_affected() == 0 {
            tx.rollback().await.map_err(map_sqlx)?;
            return Ok(StartOutcome::Lost);
        }
        insert_started(&mut tx, review).await?;
        insert_action(&mut tx, audit).await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(StartOutcome::Committed)
    }

    async fn end_recurrence(
        &self,
        definition: DefinitionId,
        expected_next: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<StartOutcome, RepositoryError> {
        let ended = sqlx::query(
            "UPDATE access_review_definitions d SET next_instance_at = NULL, \
             claimed_until = NULL, \
             status = CASE WHEN EXISTS (SELECT 1 FROM access_review_instances i \
                 WHERE i.definition_id = d.id AND i.status = $4) THEN d.status ELSE $5 END, \
             last_modified_date_time = $3 \
             WHERE d.id = $1 AND d.next_instance_at = $2",
        )
        .bind(definition.as_uuid())
        .bind(expected_next)
        .bind(at)
        .bind(IN_PROGRESS)
        .bind(COMPLETED)
        .execute(self.pool())
        .await
        .map_err(map_sqlx)?;
        Ok(if ended.rows_affected() == 1 {
            StartOutcome::Committed
        } else {
            StartOutcome::Lost
        })
    }

    async fn complete_definition(
        &self,
        audit: &ActionAudit,
    ) -> Result<EndOutcome, RepositoryError> {
        let mut tx = self.pool().begin().await.map_err(map_sqlx)?;
        if !complete_definition(&mut tx, audit.definition_id, audit.at).await? {
            tx.rollback().await.map_err(map_sqlx)?;
            return Ok(EndOutcome::NoLongerInProgress);
        }
        insert_action(&mut tx, audit).await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(EndOutcome::Committed)
    }

    async fn record_action(&self, audit: &ActionAudit) -> Result<(), RepositoryError> {
        let mut conn = self.pool().acquire().await.map_err(map_sqlx)?;
        insert_action(&mut conn, audit).await
    }
}

/// A clock that runs ahead of real time by an offset kept in PostgreSQL,
/// so that every replica agrees on the time and a test can move it
/// forward: the test clock of `CLOCK_CONTROL=enabled`.
#[derive(Clone)]
pub struct PgTestClock {
    pool: PgPool,
}

impl PgTestClock {
    /// A clock over a pool whose database has [`crate::MIGRATOR`] applied.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn offset(ms: i64) -> chrono::Duration {
    chrono::Duration::milliseconds(ms)
}

#[async_trait]
impl Clock for PgTestClock {
    async fn now(&self) -> Result<DateTime<Utc>, RepositoryError> {
        let ms: i64 = sqlx::query_scalar("SELECT offset_ms FROM test_clock")
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx)?;
        Ok(Utc::now().trunc_subsecs(3) + offset(ms))
    }
}

#[async_trait]
impl ClockControl for PgTestClock {
    async fn advance(&self, by: chrono::Duration) -> Result<DateTime<Utc>, RepositoryError> {
        let ms: i64 = sqlx::query_scalar(
            "UPDATE test_clock SET offset_ms = offset_ms + $1 RETURNING offset_ms",
        )
        .bind(by.num_milliseconds())
        .fetch_one(&self.pool)
        .await
        .map_err(map_sqlx)?;
        if ms < 0 {
            return Err(CorruptRow {
                what: "clock offset",
            }
            .into());
        }
        Ok(Utc::now().trunc_subsecs(3) + offset(ms))
    }
}
