//! [`LifecycleRepository`] over PostgreSQL: finding and leasing due work,
//! ending instances, starting scheduled ones, applying decisions.

use access_reviews_domain::decision::Identity;
use access_reviews_domain::ids::{DefinitionId, InstanceId, StageId};
use access_reviews_domain::lifecycle::{ActionAudit, EndTransition};
use access_reviews_domain::ports::{
    Claim, DueWork, EndOutcome, LifecycleRepository, Phase, RepositoryError, StartOutcome,
    StartedReview,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::map_sqlx;
use crate::repository::PgRepository;
use crate::writes::{
    COMPLETED, IN_PROGRESS, apply_decisions, complete_definition, finish_instance, insert_action,
    insert_started, lock_instance, update_instance,
};

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
        update_instance(&mut tx, instance).await?;
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
