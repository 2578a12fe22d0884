//! [`HistoryRepository`] over PostgreSQL: history definitions and their
//! instances, with the current download link.

use access_reviews_domain::definition::{Creator, DisplayName, QueryScope};
use access_reviews_domain::history::{
    Download, DownloadToken, HistoryDecision, HistoryDefinition, HistoryInstance, HistoryScope,
    NewHistoryDefinition,
};
use access_reviews_domain::ids::{HistoryDefinitionId, HistoryInstanceId, PrincipalId};
use access_reviews_domain::ports::{HistoryRepository, RepositoryError};
use access_reviews_domain::query::{Page, PageRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::PgRepository;
use crate::error::{CorruptRow, map_sqlx};
use crate::paging::{bind, fetch_page, limits};
use crate::records::{QueryScopeRecord, scopes_to_records};
use sqlx::postgres::PgArguments;

const COLUMNS: &str = "d.id, d.display_name, d.decisions, d.period_start, d.period_end, \
    d.scopes, d.created_by_id, d.created_by_display_name, d.created_by_user_principal_name, \
    d.created_date_time";

const INSTANCE_COLUMNS: &str = "i.id AS instance_id, i.definition_id, i.run_date_time, \
    i.download_token, i.download_expires";

#[derive(sqlx::FromRow)]
struct DefinitionRow {
    id: Uuid,
    display_name: String,
    decisions: Vec<String>,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    scopes: Json<Vec<QueryScopeRecord>>,
    created_by_id: Uuid,
    created_by_display_name: Option<String>,
    created_by_user_principal_name: Option<String>,
    created_date_time: DateTime<Utc>,
}

impl TryFrom<DefinitionRow> for HistoryDefinition {
    type Error = CorruptRow;

    fn try_from(row: DefinitionRow) -> Result<Self, CorruptRow> {
        let corrupt = |what| CorruptRow { what };
        Ok(Self {
            id: HistoryDefinitionId::from_uuid(row.id),
            spec: NewHistoryDefinition {
                display_name: DisplayName::parse(row.display_name)
                    .map_err(|_| corrupt("history display name"))?,
                decisions: row
                    .decisions
                    .iter()
                    .map(|d| HistoryDecision::parse(d).ok_or(corrupt("history decision")))
                    .collect::<Result<_, _>>()?,
                period_start: row.period_start,
                period_end: row.period_end,
                scopes: row
                    .scopes
                    .0
                    .into_iter()
                    .map(|s| HistoryScope::parse(QueryScope::from(s)))
                    .collect::<Result<_, _>>()
                    .map_err(|_| corrupt("history scope"))?,
            },
            created_by: Creator {
                id: PrincipalId::from_uuid(row.created_by_id),
                display_name: row.created_by_display_name,
                user_principal_name: row.created_by_user_principal_name,
            },
            created_date_time: row.created_date_time,
        })
    }
}

#[derive(sqlx::FromRow)]
struct InstanceRow {
    instance_id: Uuid,
    definition_id: Uuid,
    run_date_time: DateTime<Utc>,
    download_token: Option<String>,
    download_expires: Option<DateTime<Utc>>,
}

impl TryFrom<InstanceRow> for HistoryInstance {
    type Error = CorruptRow;

    fn try_from(row: InstanceRow) -> Result<Self, CorruptRow> {
        let download = match (row.download_token, row.download_expires) {
            (Some(token), Some(expires)) => Some(Download {
                token: DownloadToken::parse(&token).ok_or(CorruptRow {
                    what: "download token",
                })?,
                expires,
            }),
            _ => None,
        };
        Ok(Self {
            id: HistoryInstanceId::from_uuid(row.instance_id),
            definition_id: HistoryDefinitionId::from_uuid(row.definition_id),
            run_date_time: row.run_date_time,
            download,
        })
    }
}

#[derive(sqlx::FromRow)]
struct BothRow {
    #[sqlx(flatten)]
    definition: DefinitionRow,
    #[sqlx(flatten)]
    instance: InstanceRow,
}

#[async_trait]
impl HistoryRepository for PgRepository {
    async fn create_history(
        &self,
        definition: &HistoryDefinition,
        instance: &HistoryInstance,
    ) -> Result<(), RepositoryError> {
        let spec = &definition.spec;
        let decisions: Vec<&str> = spec.decisions.iter().map(|d| d.as_str()).collect();
        let scopes: Vec<QueryScope> = spec.scopes.iter().map(|s| s.scope.clone()).collect();
        // One statement, so both rows or neither.
        sqlx::query(
            "WITH definition AS ( \
               INSERT INTO access_review_history_definitions (id, display_name, decisions, \
                 period_start, period_end, scopes, created_by_id, created_by_display_name, \
                 created_by_user_principal_name, created_date_time) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id) \
             INSERT INTO access_review_history_instances (id, definition_id, run_date_time) \
             SELECT $11, id, $12 FROM definition",
        )
        .bind(definition.id.as_uuid())
        .bind(spec.display_name.as_str())
        .bind(decisions)
        .bind(spec.period_start)
        .bind(spec.period_end)
        .bind(Json(scopes_to_records(&scopes)))
        .bind(definition.created_by.id.as_uuid())
        .bind(definition.created_by.display_name.as_deref())
        .bind(definition.created_by.user_principal_name.as_deref())
        .bind(definition.created_date_time)
        .bind(instance.id.as_uuid())
        .bind(instance.run_date_time)
        .execute(self.pool())
        .await
        .map_err(map_sqlx)?;
        Ok(())
    }

    async fn history(
        &self,
        id: HistoryDefinitionId,
    ) -> Result<Option<HistoryDefinition>, RepositoryError> {
        let row: Option<DefinitionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM access_review_history_definitions d WHERE d.id = $1"
        )))
        .bind(id.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(map_sqlx)?;
        Ok(row.map(HistoryDefinition::try_from).transpose()?)
    }

    async fn histories(
        &self,
        page: PageRequest,
        since: DateTime<Utc>,
        created_by: Option<PrincipalId>,
    ) -> Result<Page<HistoryDefinition>, RepositoryError> {
        let (limit, offset) = limits(page);
        let mut args = PgArguments::default();
        bind(&mut args, since)?;
        bind(&mut args, created_by.map(|c| c.as_uuid()))?;
        bind(&mut args, limit)?;
        bind(&mut args, offset)?;
        let sql = format!(
            "SELECT {COLUMNS} FROM access_review_history_definitions d \
             WHERE d.created_date_time > $1 AND ($2::uuid IS NULL OR d.created_by_id = $2) \
             ORDER BY d.seq LIMIT $3 OFFSET $4"
        );
        fetch_page(self.pool(), sql, args, page, |row: DefinitionRow| {
            HistoryDefinition::try_from(row)
        })
        .await
    }

    async fn history_instances(
        &self,
        id: HistoryDefinitionId,
    ) -> Result<Vec<HistoryInstance>, RepositoryError> {
        let rows: Vec<InstanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM access_review_history_instances i \
             WHERE i.definition_id = $1 ORDER BY i.run_date_time, i.id"
        )))
        .bind(id.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(map_sqlx)?;
        Ok(rows
            .into_iter()
            .map(HistoryInstance::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn set_download(
        &self,
        definition: HistoryDefinitionId,
        instance: HistoryInstanceId,
        download: &Download,
    ) -> Result<bool, RepositoryError> {
        let updated = sqlx::query(
            "UPDATE access_review_history_instances SET download_token = $3, \
             download_expires = $4 WHERE id = $2 AND definition_id = $1",
        )
        .bind(definition.as_uuid())
        .bind(instance.as_uuid())
        .bind(download.token.as_str())
        .bind(download.expires)
        .execute(self.pool())
        .await
        .map_err(map_sqlx)?;
        Ok(updated.rows_affected() == 1)
    }

    async fn by_download(
        &self,
        token: &DownloadToken,
    ) -> Result<Option<(HistoryDefinition, HistoryInstance)>, RepositoryError> {
        let row: Option<BothRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS}, {INSTANCE_COLUMNS} FROM access_review_history_instances i \
             JOIN access_review_history_definitions d ON d.id = i.definition_id \
             WHERE i.download_token = $1"
        )))
        .bind(token.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(map_sqlx)?;
        row.map(|r| {
            Ok((
                HistoryDefinition::try_from(r.definition)?,
                HistoryInstance::try_from(r.instance)?,
            ))
        })
        .transpose()
    }
}
