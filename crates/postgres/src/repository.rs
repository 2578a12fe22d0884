//! [`PgRepository`]: the repository ports over a PostgreSQL pool.

use access_reviews_domain::decision::Decision;
use access_reviews_domain::definition::{
    Creator, Definition, DisplayName, NewDefinition, QueryScope, StageKey,
};
use access_reviews_domain::ids::{DefinitionId, InstanceId, PrincipalId, StageId};
use access_reviews_domain::instance::Instance;
use access_reviews_domain::ports::Phase;
use access_reviews_domain::ports::{
    DefinitionRepository, InstanceRepository, RepositoryError, StageRepository, StartedReview,
    StopOutcome,
};
use access_reviews_domain::query::{ListQuery, Page, PageRequest};
use access_reviews_domain::schedule::Schedule;
use access_reviews_domain::stage::Stage;
use access_reviews_domain::status::ReviewStatus;
use access_reviews_domain::stop::{CarryOver, StopTransition};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::decisions::{enter_all, insert_items, insert_phase};
use crate::error::{CorruptRow, map_sqlx};
use crate::lifecycle::{finish_instance, lock_instance};
use crate::records::{
    QueryScopeRecord, SettingsRecord, StageSettingsRecord, plan_from_records, plan_to_records,
    scopes_from_records, scopes_to_records,
};

/// Implements every repository port of the domain over one pool.
#[derive(Clone)]
pub struct PgRepository {
    pool: PgPool,
}

impl PgRepository {
    /// Wraps a pool whose database has [`crate::MIGRATOR`] applied.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Whether the database answers a trivial query; for readiness probes.
    pub async fn is_reachable(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

fn status(raw: &str) -> Result<ReviewStatus, CorruptRow> {
    raw.parse().map_err(|_| CorruptRow { what: "status" })
}

/// `LIMIT` and `OFFSET` for a page: one more than asked, to learn whether
/// more follow.
pub(crate) fn limits(page: PageRequest) -> (i64, i64) {
    (
        i64::from(page.top()) + 1,
        i64::try_from(page.skip()).unwrap_or(i64::MAX),
    )
}

/// The page of rows fetched with [`limits`], converted.
pub(crate) fn paged<R, T>(
    rows: Vec<R>,
    page: PageRequest,
    convert: impl Fn(R) -> Result<T, CorruptRow>,
) -> Result<Page<T>, RepositoryError> {
    let top = usize::from(page.top());
    let has_more = rows.len() > top;
    let items = rows
        .into_iter()
        .take(top)
        .map(convert)
        .collect::<Result<_, _>>()?;
    Ok(Page { items, has_more })
}

#[derive(sqlx::FromRow)]
struct DefinitionRow {
    id: Uuid,
    display_name: String,
    description_for_admins: Option<String>,
    description_for_reviewers: Option<String>,
    scope: Json<QueryScopeRecord>,
    reviewers: Json<Vec<QueryScopeRecord>>,
    fallback_reviewers: Json<Vec<QueryScopeRecord>>,
    stage_settings: Json<Vec<StageSettingsRecord>>,
    settings: Json<SettingsRecord>,
    created_by_id: Uuid,
    created_by_display_name: Option<String>,
    created_by_user_principal_name: Option<String>,
    created_date_time: DateTime<Utc>,
    last_modified_date_time: DateTime<Utc>,
    status: String,
    next_instance_at: Option<DateTime<Utc>>,
    instances_started: i32,
}

impl TryFrom<DefinitionRow> for Definition {
    type Error = CorruptRow;

    fn try_from(row: DefinitionRow) -> Result<Self, CorruptRow> {
        Ok(Definition {
            id: DefinitionId::from_uuid(row.id),
            spec: NewDefinition {
                display_name: DisplayName::parse(row.display_name).map_err(|_| CorruptRow {
                    what: "display name",
                })?,
                description_for_admins: row.description_for_admins,
                description_for_reviewers: row.description_for_reviewers,
                scope: QueryScope::from(row.scope.0),
                reviewers: scopes_from_records(row.reviewers.0),
                fallback_reviewers: scopes_from_records(row.fallback_reviewers.0),
                stage_plan: plan_from_records(row.stage_settings.0)?,
                settings: row.settings.0.try_into()?,
            },
            created_by: Creator {
                id: PrincipalId::from_uuid(row.created_by_id),
                display_name: row.created_by_display_name,
                user_principal_name: row.created_by_user_principal_name,
            },
            created_date_time: row.created_date_time,
            last_modified_date_time: row.last_modified_date_time,
            status: status(&row.status)?,
            schedule: Schedule {
                next_start: row.next_instance_at,
                instances_started: u32::try_from(row.instances_started).map_err(|_| {
                    CorruptRow {
                        what: "instances started",
                    }
                })?,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
struct InstanceRow {
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

const DEFINITION_COLUMNS: &str = "id, display_name, description_for_admins, \
    description_for_reviewers, scope, reviewers, fallback_reviewers, stage_settings, settings, \
    created_by_id, created_by_display_name, created_by_user_principal_name, created_date_time, \
    last_modified_date_time, status, next_instance_at, instances_started";

const INSTANCE_COLUMNS: &str = "id, definition_id, start_date_time, end_date_time, scope, \
    reviewers, fallback_reviewers, status";

const STAGE_COLUMNS: &str = "id, instance_id, stage_key, start_date_time, end_date_time, \
    reviewers, fallback_reviewers, status";

async fn insert_stage(conn: &mut PgConnection, stage: &Stage) -> Result<(), RepositoryError> {
    sqlx::query(
        "INSERT INTO access_review_stages (id, instance_id, stage_key, start_date_time, \
         end_date_time, reviewers, fallback_reviewers, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(stage.id.as_uuid())
    .bind(stage.instance_id.as_uuid())
    .bind(stage.key.as_str())
    .bind(stage.start_date_time)
    .bind(stage.end_date_time)
    .bind(Json(scopes_to_records(&stage.reviewers)))
    .bind(Json(scopes_to_records(&stage.fallback_reviewers)))
    .bind(stage.status().as_str())
    .execute(conn)
    .await
    .map_err(map_sqlx)?;
    Ok(())
}

/// Creates the next stage's phase and moves into it, in one statement, the
/// items of the stopped stage that the rule lets through, judged on their
/// latest decision as committed now (decisions racing the stop have either
/// committed, holding the stage's row, or will find it completed).
async fn carry_over(
    conn: &mut PgConnection,
    carry: &CarryOver,
    instance: InstanceId,
) -> Result<(), RepositoryError> {
    let next = Phase::Stage(carry.to);
    insert_phase(conn, next, instance, &carry.reviewers).await?;
    let decisions: Vec<&str> = carry
        .rule
        .decisions()
        .into_iter()
        .map(Decision::as_str)
        .collect();
    sqlx::query(
        "INSERT INTO phase_items (phase_id, item_id, manager_id) \
         SELECT $1, i.id, u.manager_id FROM phase_items p \
         JOIN decision_items i ON i.id = p.item_id \
         LEFT JOIN directory_users u ON u.id = i.principal_id \
         WHERE p.phase_id = $2 AND ($3 OR coalesce(i.decision, 'NotReviewed') = ANY($4::text[]) \
         OR ($5 AND i.decision = i.recommendation))",
    )
    .bind(next.id())
    .bind(carry.from.as_uuid())
    .bind(carry.rule.moves_all())
    .bind(decisions)
    .bind(carry.rule.follows_recommendation())
    .execute(conn)
    .await
    .map_err(map_sqlx)?;
    Ok(())
}

async fn insert_definition(
    conn: &mut PgConnection,
    definition: &Definition,
) -> Result<(), RepositoryError> {
    let spec = &definition.spec;
    sqlx::query(
        "INSERT INTO access_review_definitions (id, display_name, description_for_admins, \
         description_for_reviewers, scope, reviewers, fallback_reviewers, stage_settings, \
         settings, created_by_id, created_by_display_name, created_by_user_principal_name, \
         created_date_time, last_modified_date_time, status, next_instance_at, \
         instances_started) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(definition.id.as_uuid())
    .bind(spec.display_name.as_str())
    .bind(spec.description_for_admins.as_deref())
    .bind(spec.description_for_reviewers.as_deref())
    .bind(Json(QueryScopeRecord::from(&spec.scope)))
    .bind(Json(scopes_to_records(&spec.reviewers)))
    .bind(Json(scopes_to_records(&spec.fallback_reviewers)))
    .bind(Json(plan_to_records(&spec.stage_plan)))
    .bind(Json(SettingsRecord::from(&spec.settings)))
    .bind(definition.created_by.id.as_uuid())
    .bind(definition.created_by.display_name.as_deref())
    .bind(definition.created_by.user_principal_name.as_deref())
    .bind(definition.created_date_time)
    .bind(definition.last_modified_date_time)
    .bind(definition.status.as_str())
    .bind(definition.schedule.next_start)
    .bind(i32::try_from(definition.schedule.instances_started).unwrap_or(i32::MAX))
    .execute(conn)
    .await
    .map_err(map_sqlx)?;
    Ok(())
}

/// Stores a started instance: the instance, its first stage, its first
/// phase and its items.
pub(crate) async fn insert_started(
    conn: &mut PgConnection,
    review: &StartedReview,
) -> Result<(), RepositoryError> {
    let instance = &review.instance;
    sqlx::query(
        "INSERT INTO access_review_instances (id, definition_id, start_date_time, \
         end_date_time, scope, reviewers, fallback_reviewers, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(instance.id.as_uuid())
    .bind(instance.definition_id.as_uuid())
    .bind(instance.start_date_time)
    .bind(instance.end_date_time)
    .bind(Json(QueryScopeRecord::from(&instance.scope)))
    .bind(Json(scopes_to_records(&instance.reviewers)))
    .bind(Json(scopes_to_records(&instance.fallback_reviewers)))
    .bind(instance.status().as_str())
    .execute(&mut *conn)
    .await
    .map_err(map_sqlx)?;
    if let Some(stage) = &review.first_stage {
        insert_stage(conn, stage).await?;
    }
    let phase = review.first_phase();
    insert_phase(conn, phase, instance.id, &review.first_reviewers).await?;
    insert_items(conn, instance.id, &review.items).await?;
    enter_all(conn, phase, instance.id).await?;
    Ok(())
}

#[async_trait]
impl DefinitionRepository for PgRepository {
    async fn create(&self, review: &StartedReview) -> Result<(), RepositoryError> {
        let mut tx = self.pool.begin().await.map_err(map_sqlx)?;
        insert_definition(&mut tx, &review.definition).await?;
        insert_started(&mut tx, review).await?;
        tx.commit().await.map_err(map_sqlx)
    }

    async fn create_scheduled(&self, definition: &Definition) -> Result<(), RepositoryError> {
        let mut conn = self.pool.acquire().await.map_err(map_sqlx)?;
        insert_definition(&mut conn, definition).await
    }

    async fn get(&self, id: DefinitionId) -> Result<Option<Definition>, RepositoryError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {DEFINITION_COLUMNS} FROM access_review_definitions WHERE id = $1"
        ));
        let row: Option<DefinitionRow> = sqlx::query_as(sql)
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx)?;
        Ok(row.map(Definition::try_from).transpose()?)
    }

    async fn list(
        &self,
        query: ListQuery,
        created_by: Option<PrincipalId>,
    ) -> Result<Page<Definition>, RepositoryError> {
        let (limit, offset) = limits(query.page);
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {DEFINITION_COLUMNS} FROM access_review_definitions \
             WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR created_by_id = $2) \
             ORDER BY seq LIMIT $3 OFFSET $4"
        ));
        let rows: Vec<DefinitionRow> = sqlx::query_as(sql)
            .bind(query.status.map(ReviewStatus::as_str))
            .bind(created_by.map(|c| c.as_uuid()))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx)?;
        paged(rows, query.page, Definition::try_from)
    }
}

#[async_trait]
impl InstanceRepository for PgRepository {
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
            .fetch_optional(&self.pool)
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
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx)?;
        paged(rows, query.page, Instance::try_from)
    }
}

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
            .fetch_optional(&self.pool)
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
            .fetch_all(&self.pool)
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
            .fetch_all(&self.pool)
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
        let mut tx = self.pool.begin().await.map_err(map_sqlx)?;
        // The instance's lock first, as every transition of the instance
        // takes it (an instance stop racing this stop waits, or wins).
        lock_instance(&mut tx, transition.instance.id).await?;

        // The guard: concurrent stops queue on this row's lock; once the
        // winner commits, the others re-check the condition, match no row
        // and leave without writing anything.
        let updated = sqlx::query(
            "UPDATE access_review_stages SET status = $2, end_date_time = $3 \
             WHERE id = $1 AND status = 'InProgress'",
        )
        .bind(stopped.id.as_uuid())
        .bind(stopped.status().as_str())
        .bind(stopped.end_date_time)
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
        sqlx::query(
            "UPDATE access_review_instances SET status = $2, end_date_time = $3 WHERE id = $1",
        )
        .bind(instance.id.as_uuid())
        .bind(instance.status().as_str())
        .bind(instance.end_date_time)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;

        if transition.definition_completed {
            sqlx::query(
                "UPDATE access_review_definitions \
                 SET status = 'Completed', last_modified_date_time = $2 WHERE id = $1",
            )
            .bind(transition.audit.definition_id.as_uuid())
            .bind(transition.audit.at)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
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
