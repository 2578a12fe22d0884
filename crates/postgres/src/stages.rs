//! [`StageRepository`] over PostgreSQL, with the transactional, guarded
//! stop.

use access_reviews_domain::definition::StageKey;
use access_reviews_domain::ids::{InstanceId, StageId};
use access_reviews_domain::ports::{Phase, RepositoryError, StageRepository, StopOutcome};
use access_reviews_domain::query::{ListQuery, Page};
use access_reviews_domain::stage::Stage;
use access_reviews_domain::status::ReviewStatus;
use access_reviews_domain::stop::StopTransition;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::{CorruptRow, map_sqlx};
use crate::paging::{limits, paged};
use crate::records::{QueryScopeRecord, scopes_from_records, status};
use crate::repository::PgRepository;
use crate::writes::{
    IN_PROGRESS, carry_over, complete_definition, finish_instance, insert_stage, lock_instance,
    update_instance,
};

#[derive(sqlx::FromRow)]
struct StageRow {
    id: Uuid,
    instance_id: Uuid,
    stage_key: String,
    start_date_time: DateTime<Utc>,
    end_date_time: DateTime<Utc>,
    reviewers: Json<Vec<QueryScopeRecord>>,
    fallback_reviewers: Json<Vec<QueryScopeRecord>>,
    status: String,
}

impl TryFrom<StageRow> for Stage {
    type Error = CorruptRow;

    fn try_from(row: StageRow) -> Result<Self, CorruptRow> {
        Ok(Stage::restore(
            StageId::from_uuid(row.id),
            InstanceId::from_uuid(row.instance_id),
            StageKey::parse(row.stage_key).map_err(|_| CorruptRow { what: "stage key" })?,
            row.start_date_time,
            row.end_date_time,
            scopes_from_records(row.reviewers.0),
            scopes_from_records(row.fallback_reviewers.0),
            status(&row.status)?,
        ))
    }
}

const STAGE_COLUMNS: &str = "id, instance_id, stage_key, start_date_time, end_date_time, \
    reviewers, fallback_reviewers, status";

#[async_trait]
impl StageRepository for PgRepository {
    async fn get(
        &self,
        instance_id: InstanceId,
        stage_id: StageId,
    ) -> Result<Option<Stage>, RepositoryError> {
        let sql = format!(
            "SELECT {STAGE_COLUMNS} FROM access_review_stages WHERE id = $1 AND instance_id = $2"
        );
        let row: Option<StageRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(stage_id.as_uuid())
            .bind(instance_id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(row.map(Stage::try_from).transpose()?)
    }

    async fn list(
        &self,
        instance_id: InstanceId,
        query: ListQuery,
    ) -> Result<Page<Stage>, RepositoryError> {
        let (limit, offset) = limits(query.page);
        let sql = format!(
            "SELECT {STAGE_COLUMNS} FROM access_review_stages \
             WHERE instance_id = $1 AND ($2::text IS NULL OR status = $2) \
             ORDER BY seq LIMIT $3 OFFSET $4"
        );
        let rows: Vec<StageRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(instance_id.as_uuid())
            .bind(query.status.map(ReviewStatus::as_str))
            .bind(limit)
            .bind(offset)
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        paged(rows, query.page, Stage::try_from)
    }

    async fn all(&self, instance_id: InstanceId) -> Result<Vec<Stage>, RepositoryError> {
        let sql = format!(
            "SELECT {STAGE_COLUMNS} FROM access_review_stages WHERE instance_id = $1 ORDER BY seq"
        );
        let rows: Vec<StageRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(instance_id.as_uuid())
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(rows
            .into_iter()
            .map(Stage::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn commit_stop(
        &self,
        transition: &StopTransition,
    ) -> Result<StopOutcome, RepositoryError> {
        let stopped = &transition.stopped;
        let mut tx = self.pool().begin().await.map_err(map_sqlx)?;
        // The instance's lock first, as every transition of the instance
        // takes it (an instance stop racing this stop waits, or wins).
        lock_instance(&mut tx, transition.instance.id).await?;

        // The guard: concurrent stops queue on this row's lock; once the
        // winner commits, the others re-check the condition, match no row
        // and leave without writing anything.
        let updated = sqlx::query(
            "UPDATE access_review_stages SET status = $2, end_date_time = $3 \
             WHERE id = $1 AND status = $4",
        )
        .bind(stopped.id.as_uuid())
        .bind(stopped.status().as_str())
        .bind(stopped.end_date_time)
        .bind(IN_PROGRESS)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        if updated.rows_affected() == 0 {
            tx.rollback().await.map_err(map_sqlx)?;
            return Ok(StopOutcome::StageNoLongerInProgress);
        }

        if let Some(next) = &transition.started {
            insert_stage(&mut tx, next).await?;
        }
        if let Some(carry) = &transition.carry_over {
            carry_over(&mut tx, carry, transition.instance.id).await?;
        }

        let instance = &transition.instance;
        update_instance(&mut tx, instance).await?;

        if transition.definition_completed {
            complete_definition(&mut tx, transition.audit.definition_id, transition.audit.at)
                .await?;
        }

        if let Some(end) = &transition.instance_end {
            finish_instance(&mut tx, instance.id, Phase::Stage(stopped.id), end).await?;
        }

        let audit = &transition.audit;
        sqlx::query(
            "INSERT INTO access_review_audit (occurred_at, actor_id, action, definition_id, \
             instance_id, stage_id, created_stage_id, instance_completed) \
             VALUES ($1, $2, 'stageStopped', $3, $4, $5, $6, $7)",
        )
        .bind(audit.at)
        .bind(audit.actor.as_uuid())
        .bind(audit.definition_id.as_uuid())
        .bind(instance.id.as_uuid())
        .bind(audit.stopped_stage.as_uuid())
        .bind(audit.created_stage.map(|s| s.as_uuid()))
        .bind(audit.instance_completed)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;

        tx.commit().await.map_err(map_sqlx)?;
        Ok(StopOutcome::Committed)
    }
}
