//! [`DefinitionRepository`] over PostgreSQL.

use access_reviews_domain::definition::{
    Creator, Definition, DisplayName, NewDefinition, QueryScope,
};
use access_reviews_domain::ids::{DefinitionId, InstanceId, PrincipalId};
use access_reviews_domain::ports::{DefinitionRepository, RepositoryError, StartedReview};
use access_reviews_domain::query::{ListQuery, Order, OrderKey, Page};
use access_reviews_domain::schedule::Schedule;
use access_reviews_domain::status::ReviewStatus;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::sync::LazyLock;
use uuid::Uuid;

use crate::error::{CorruptRow, map_sqlx};
use crate::paging::{bind, fetch_page, limits};
use crate::records::{
    AnnotationsRecord, QueryScopeRecord, SettingsRecord, StageSettingsRecord, plan_from_records,
    plan_to_records, scopes_from_records, scopes_to_records, status,
};
use crate::repository::PgRepository;
use crate::rules::REVIEWS;
use crate::writes::{insert_definition, insert_started};
use sqlx::postgres::PgArguments;

#[derive(sqlx::FromRow)]
pub(crate) struct DefinitionRow {
    id: Uuid,
    display_name: String,
    description_for_admins: Option<String>,
    description_for_reviewers: Option<String>,
    scope: Json<QueryScopeRecord>,
    reviewers: Json<Vec<QueryScopeRecord>>,
    fallback_reviewers: Json<Vec<QueryScopeRecord>>,
    stage_settings: Json<Vec<StageSettingsRecord>>,
    settings: Json<SettingsRecord>,
    annotations: Json<AnnotationsRecord>,
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
                annotations: row.annotations.0.try_into()?,
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

pub(crate) const DEFINITION_COLUMNS: &str = "id, display_name, description_for_admins, \
    description_for_reviewers, scope, reviewers, fallback_reviewers, stage_settings, settings, annotations, \
    created_by_id, created_by_display_name, created_by_user_principal_name, created_date_time, \
    last_modified_date_time, status, next_instance_at, instances_started";

/// The columns of the spec an instance keeps when its definition changes
/// while it runs (`pinned_spec`, see its migration), with how each is read
/// back from the JSON.
const PINNED: [(&str, &str); 6] = [
    ("description_for_reviewers", "->>"),
    ("reviewers", "->"),
    ("fallback_reviewers", "->"),
    ("stage_settings", "->"),
    ("settings", "->"),
    ("annotations", "->"),
];

/// A derived table (alias it) of the one definition `definition` (a
/// parameter) as instance `instance` runs it: [`DEFINITION_COLUMNS`] with
/// the instance's pinned spec, if any, in place of the definition's own.
pub(crate) fn definition_as_run(definition: &str, instance: &str) -> String {
    let columns: Vec<String> = DEFINITION_COLUMNS
        .split(',')
        .map(str::trim)
        .map(|column| match PINNED.iter().find(|(name, _)| *name == column) {
            Some((name, op)) => format!(
                "CASE WHEN i.pinned_spec IS NULL THEN d.{name} ELSE i.pinned_spec{op}'{name}' END \
                 AS {name}"
            ),
            None => format!("d.{column}"),
        })
        .collect();
    format!(
        "(SELECT {} FROM access_review_definitions d \
          LEFT JOIN access_review_instances i ON i.id = {instance} AND i.definition_id = d.id \
          WHERE d.id = {definition})",
        columns.join(", ")
    )
}

static GET_FOR_INSTANCE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {DEFINITION_COLUMNS} FROM {} d",
        definition_as_run("$1", "$2")
    )
});

/// One statement: the instances still running pin the spec as it was (a
/// data-modifying CTE sees the rows as they were before the statement),
/// and the definition takes the new one.
static UPDATE: LazyLock<String> = LazyLock::new(|| {
    let pinned: Vec<String> = PINNED
        .iter()
        .map(|(name, _)| format!("'{name}', to_jsonb(d.{name})"))
        .collect();
    format!(
        "WITH pinned AS ( \
           UPDATE access_review_instances i SET pinned_spec = jsonb_build_object({}) \
           FROM access_review_definitions d \
           WHERE d.id = $1 AND i.definition_id = $1 AND i.pinned_spec IS NULL \
             AND i.status <> $11) \
         UPDATE access_review_definitions SET display_name = $2, description_for_admins = $3, \
           description_for_reviewers = $4, reviewers = $5, fallback_reviewers = $6, \
           stage_settings = $7, settings = $8, annotations = $9, last_modified_date_time = $10 \
         WHERE id = $1",
        pinned.join(", ")
    )
});

/// `contains(scope/…/query, $5)`: the scope's query holds the text.
const SCOPE_CONTAINS: &str = "($5::text IS NULL OR strpos(scope->>'query', $5) > 0)";

/// `$orderby` of definitions; creation order breaks ties and is the
/// default.
fn order_by(order: Option<Order>) -> &'static str {
    match order {
        None => "seq",
        Some(Order {
            key: OrderKey::DisplayName,
            descending: false,
        }) => "lower(display_name), seq",
        Some(Order {
            key: OrderKey::DisplayName,
            descending: true,
        }) => "lower(display_name) DESC, seq DESC",
        Some(Order {
            descending: false, ..
        }) => "created_date_time, seq",
        Some(Order {
            descending: true, ..
        }) => "created_date_time DESC, seq DESC",
    }
}

#[async_trait]
impl DefinitionRepository for PgRepository {
    async fn create(&self, review: &StartedReview) -> Result<(), RepositoryError> {
        let mut tx = self.pool().begin().await.map_err(map_sqlx)?;
        insert_definition(&mut tx, &review.definition).await?;
        insert_started(&mut tx, review).await?;
        tx.commit().await.map_err(map_sqlx)
    }

    async fn create_scheduled(&self, definition: &Definition) -> Result<(), RepositoryError> {
        let mut conn = self.pool().acquire().await.map_err(map_sqlx)?;
        insert_definition(&mut conn, definition).await
    }

    async fn get_for_instance(
        &self,
        id: DefinitionId,
        instance: InstanceId,
    ) -> Result<Option<Definition>, RepositoryError> {
        let row: Option<DefinitionRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(GET_FOR_INSTANCE.as_str()))
                .bind(id.as_uuid())
                .bind(instance.as_uuid())
                .fetch_optional(self.pool())
                .await
                .map_err(map_sqlx)?;
        row.map(Definition::try_from)
            .transpose()
            .map_err(Into::into)
    }

    async fn update(&self, definition: &Definition) -> Result<bool, RepositoryError> {
        let spec = &definition.spec;
        let updated = sqlx::query(sqlx::AssertSqlSafe(UPDATE.as_str()))
            .bind(definition.id.as_uuid())
            .bind(spec.display_name.as_str())
            .bind(spec.description_for_admins.as_deref())
            .bind(spec.description_for_reviewers.as_deref())
            .bind(Json(scopes_to_records(&spec.reviewers)))
            .bind(Json(scopes_to_records(&spec.fallback_reviewers)))
            .bind(Json(plan_to_records(&spec.stage_plan)))
            .bind(Json(SettingsRecord::from(&spec.settings)))
            .bind(Json(AnnotationsRecord::from(&spec.annotations)))
            .bind(definition.last_modified_date_time)
            .bind(ReviewStatus::Completed.as_str())
            .execute(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(updated.rows_affected() == 1)
    }

    async fn delete(&self, id: DefinitionId) -> Result<bool, RepositoryError> {
        // One statement: the foreign keys cascade to instances, stages,
        // phases, items and history, in its one transaction. The audit
        // tables have no foreign key to it and keep their records.
        let deleted = sqlx::query("DELETE FROM access_review_definitions WHERE id = $1")
            .bind(id.as_uuid())
            .execute(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(deleted.rows_affected() == 1)
    }

    async fn get(&self, id: DefinitionId) -> Result<Option<Definition>, RepositoryError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {DEFINITION_COLUMNS} FROM access_review_definitions WHERE id = $1"
        ));
        let row: Option<DefinitionRow> = sqlx::query_as(sql)
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
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
        let order = order_by(query.order);
        let sql = format!(
            "SELECT {DEFINITION_COLUMNS} FROM access_review_definitions \
             WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR created_by_id = $2) \
             AND {SCOPE_CONTAINS} ORDER BY {order} LIMIT $3 OFFSET $4"
        );
        let mut args = PgArguments::default();
        bind(&mut args, query.status.map(ReviewStatus::as_str))?;
        bind(&mut args, created_by.map(|c| c.as_uuid()))?;
        bind(&mut args, limit)?;
        bind(&mut args, offset)?;
        bind(&mut args, query.scope_contains.as_deref())?;
        fetch_page::<DefinitionRow, _>(self.pool(), sql, args, query.page, Definition::try_from)
            .await
    }

    async fn list_reviewed_by(
        &self,
        who: PrincipalId,
        query: ListQuery,
    ) -> Result<Page<Definition>, RepositoryError> {
        let (limit, offset) = limits(query.page);
        let reviews = REVIEWS.replace("$who", "$2");
        let order = order_by(query.order);
        let sql = format!(
            "SELECT {DEFINITION_COLUMNS} FROM access_review_definitions \
             WHERE ($1::text IS NULL OR status = $1) \
             AND EXISTS (SELECT 1 FROM access_review_instances ri \
                 JOIN review_phases rp ON rp.instance_id = ri.id \
                 JOIN phase_items pi ON pi.phase_id = rp.id \
                 JOIN decision_items i ON i.id = pi.item_id \
                 WHERE ri.definition_id = access_review_definitions.id AND {reviews}) \
             AND {SCOPE_CONTAINS} ORDER BY {order} LIMIT $3 OFFSET $4"
        );
        let mut args = PgArguments::default();
        bind(&mut args, query.status.map(ReviewStatus::as_str))?;
        bind(&mut args, who.as_uuid())?;
        bind(&mut args, limit)?;
        bind(&mut args, offset)?;
        bind(&mut args, query.scope_contains.as_deref())?;
        fetch_page::<DefinitionRow, _>(self.pool(), sql, args, query.page, Definition::try_from)
            .await
    }
}
