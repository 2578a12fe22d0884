//! [`InstanceRepository`] over PostgreSQL.

use access_reviews_domain::definition::QueryScope;
use access_reviews_domain::ids::{DefinitionId, InstanceId};
use access_reviews_domain::instance::Instance;
use access_reviews_domain::ports::{InstanceRepository, RepositoryError};
use access_reviews_domain::query::{ListQuery, Page};
use access_reviews_domain::status::ReviewStatus;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::{CorruptRow, map_sqlx};
use crate::paging::{limits, paged};
use crate::records::{QueryScopeRecord, scopes_from_records, status};
use crate::repository::PgRepository;

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct InstanceRow {
    id: Uuid,
    definition_id: Uuid,
    start_date_time: DateTime<Utc>,
    end_date_time: DateTime<Utc>,
    scope: Json<QueryScopeRecord>,
    reviewers: Json<Vec<QueryScopeRecord>>,
    fallback_reviewers: Json<Vec<QueryScopeRecord>>,
    status: String,
}

impl TryFrom<InstanceRow> for Instance {
    type Error = CorruptRow;

    fn try_from(row: InstanceRow) -> Result<Self, CorruptRow> {
        Ok(Instance::restore(
            InstanceId::from_uuid(row.id),
            DefinitionId::from_uuid(row.definition_id),
            row.start_date_time,
            row.end_date_time,
            QueryScope::from(row.scope.0),
            scopes_from_records(row.reviewers.0),
            scopes_from_records(row.fallback_reviewers.0),
            status(&row.status)?,
        ))
    }
}

pub(crate) const INSTANCE_COLUMNS: &str = "id, definition_id, start_date_time, end_date_time, scope, \
    reviewers, fallback_reviewers, status";

#[async_trait]
impl InstanceRepository for PgRepository {
    async fn update_reviewers(
        &self,
        instance: &Instance,
        rules: Option<&access_reviews_domain::decision::ReviewerRules>,
    ) -> Result<bool, RepositoryError> {
        let mut tx = self.pool().begin().await.map_err(map_sqlx)?;
        // The row's lock is the instance's lock every transition takes.
        let updated = sqlx::query(
            "UPDATE access_review_instances SET reviewers = $2, fallback_reviewers = $3 \
             WHERE id = $1 AND status = 'InProgress'",
        )
        .bind(instance.id.as_uuid())
        .bind(sqlx::types::Json(crate::records::scopes_to_records(
            &instance.reviewers,
        )))
        .bind(sqlx::types::Json(crate::records::scopes_to_records(
            &instance.fallback_reviewers,
        )))
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some(rules) = rules {
            // An instance without stages: its phase has its id.
            crate::writes::replace_phase_reviewers(&mut tx, instance.id.as_uuid(), rules).await?;
        }
        tx.commit().await.map_err(map_sqlx)?;
        Ok(true)
    }

    async fn get(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<Option<Instance>, RepositoryError> {
        let sql = format!(
            "SELECT {INSTANCE_COLUMNS} FROM access_review_instances WHERE id = $1 AND definition_id = $2"
        );
        let row: Option<InstanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(instance_id.as_uuid())
            .bind(definition_id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(row.map(Instance::try_from).transpose()?)
    }

    async fn list(
        &self,
        definition_id: DefinitionId,
        query: ListQuery,
    ) -> Result<Page<Instance>, RepositoryError> {
        let (limit, offset) = limits(query.page);
        let sql = format!(
            "SELECT {INSTANCE_COLUMNS} FROM access_review_instances \
             WHERE definition_id = $1 AND ($2::text IS NULL OR status = $2) \
             ORDER BY seq LIMIT $3 OFFSET $4"
        );
        let rows: Vec<InstanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(definition_id.as_uuid())
            .bind(query.status.map(ReviewStatus::as_str))
            .bind(limit)
            .bind(offset)
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        paged(rows, query.page, Instance::try_from)
    }
}
