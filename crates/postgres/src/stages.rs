//! [`StageRepository`] over PostgreSQL, with the transactional, guarded
//! stop.

use access_reviews_domain::actor::system_identity;
use access_reviews_domain::decision::{ApplyResult, Decision, Recommendation};
use access_reviews_domain::definition::DefaultDecision;
use access_reviews_domain::definition::Definition;
use access_reviews_domain::definition::StageKey;
use access_reviews_domain::directory::{DirectorySnapshot, GroupUsers};
use access_reviews_domain::ids::{DefinitionId, PrincipalId};
use access_reviews_domain::ids::{InstanceId, StageId};
use access_reviews_domain::instance::Instance;
use access_reviews_domain::lifecycle::DEFAULT_DECISION_JUSTIFICATION;
use access_reviews_domain::ports::{
    Missing, RepositoryError, StageRepository, StopContext, StopOutcome,
};
use std::sync::LazyLock;

use crate::definitions::{DEFINITION_COLUMNS, DefinitionRow, definition_as_run};
use crate::instances::{INSTANCE_COLUMNS, InstanceRow};
use access_reviews_domain::stage::Stage;
use access_reviews_domain::stop::StopTransition;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::audit::AuditRecord;
use crate::error::{CorruptRow, map_sqlx};
use crate::records::{QueryScopeRecord, scopes_from_records, scopes_to_records, status};
use crate::repository::PgRepository;
use crate::writes::{COMPLETED, IN_PROGRESS, ids};

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct StageRow {
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

pub(crate) const STAGE_COLUMNS: &str = "id, instance_id, stage_key, start_date_time, end_date_time, \
    reviewers, fallback_reviewers, status";

/// Everything a stop is planned from, in one statement: the definition,
/// its instance and stages (as JSON), and the directory objects that the
/// reviewer queries of the definition's stages name (the id after
/// `/users/` or `/groups/`, in its hyphenated form; the domain parses the
/// queries and asks the directory for whatever this did not look up).
///
/// The ids are cut out with string functions, once (`MATERIALIZED`):
/// PostgreSQL's `regexp_match` costs about 9 µs a call, and an inlined
/// expression is evaluated again wherever the id is used, which made this
/// part 40% of the statement. A group's users come from the functions the
/// directory's own reads use (`ar_group_owners`, `ar_group_member_users`),
/// whose statements start only when a group is named.
static STOP_CONTEXT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {DEFINITION_COLUMNS}, \
           (SELECT to_jsonb(ri) FROM (SELECT {INSTANCE_COLUMNS} FROM access_review_instances \
              WHERE id = $2 AND definition_id = $1) ri) AS instance, \
           (SELECT coalesce(jsonb_agg(to_jsonb(s) ORDER BY s.seq), '[]') FROM \
              (SELECT seq, {STAGE_COLUMNS} FROM access_review_stages WHERE instance_id = $2) s) \
              AS stages, \
           (WITH named AS MATERIALIZED ( \
              SELECT DISTINCT CASE WHEN lower(p.kind) IN ('users', 'groups') \
                  AND length(p.id) = 36 AND substr(p.id, 9, 1) = '-' AND substr(p.id, 14, 1) = '-' \
                  AND substr(p.id, 19, 1) = '-' AND substr(p.id, 24, 1) = '-' \
                  AND translate(p.id, '0123456789abcdefABCDEF', '') = '----' \
                THEN p.id::uuid END AS id \
              FROM (SELECT split_part(q.path, '/', 1) AS kind, split_part(q.path, '/', 2) AS id \
                    FROM (SELECT ltrim(btrim(r.scope ->> 'query'), '/') AS path \
                          FROM jsonb_array_elements(d.stage_settings) s, \
                          jsonb_array_elements((s -> 'reviewers') || (s -> 'fallback_reviewers')) \
                            r(scope)) q) p) \
            SELECT jsonb_build_object( \
              'looked_up', coalesce(jsonb_agg(n.id), '[]'), \
              'users', coalesce(jsonb_agg(n.id) FILTER (WHERE EXISTS \
                 (SELECT 1 FROM directory_users u WHERE u.id = n.id)), '[]'), \
              'groups', coalesce(jsonb_agg(jsonb_build_object('id', n.id, \
                 'owners', ar_group_owners(n.id), \
                 'members', ar_group_member_users(n.id, false), \
                 'transitive_members', ar_group_member_users(n.id, true))) \
                 FILTER (WHERE EXISTS (SELECT 1 FROM directory_groups g WHERE g.id = n.id)), \
                 '[]')) \
            FROM named n WHERE n.id IS NOT NULL) AS directory \
         FROM {as_run} d",
        as_run = definition_as_run("$1", "$2")
    )
});

#[derive(sqlx::FromRow)]
struct StopContextRow {
    #[sqlx(flatten)]
    definition: DefinitionRow,
    instance: Option<Json<InstanceRow>>,
    stages: Json<Vec<StageRow>>,
    directory: Json<SnapshotRecord>,
}

/// [`DirectorySnapshot`] as the stop's statement returns it.
#[derive(serde::Deserialize)]
struct SnapshotRecord {
    looked_up: Vec<Uuid>,
    users: Vec<Uuid>,
    groups: Vec<GroupUsersRecord>,
}

#[derive(serde::Deserialize)]
struct GroupUsersRecord {
    id: Uuid,
    owners: Vec<Uuid>,
    members: Vec<Uuid>,
    transitive_members: Vec<Uuid>,
}

impl From<SnapshotRecord> for DirectorySnapshot {
    fn from(record: SnapshotRecord) -> Self {
        let ids = |list: Vec<Uuid>| list.into_iter().map(PrincipalId::from_uuid).collect();
        Self {
            looked_up: record
                .looked_up
                .into_iter()
                .map(PrincipalId::from_uuid)
                .collect(),
            users: record
                .users
                .into_iter()
                .map(PrincipalId::from_uuid)
                .collect(),
            groups: record
                .groups
                .into_iter()
                .map(|g| {
                    (
                        PrincipalId::from_uuid(g.id),
                        GroupUsers {
                            owners: ids(g.owners),
                            members: ids(g.members),
                            transitive_members: ids(g.transitive_members),
                        },
                    )
                })
                .collect(),
        }
    }
}

#[async_trait]
impl StageRepository for PgRepository {
    async fn update_reviewers(
        &self,
        stage: &Stage,
        rules: &access_reviews_domain::decision::ReviewerRules,
    ) -> Result<bool, RepositoryError> {
        let mut tx = self.pool().begin().await.map_err(map_sqlx)?;
        // The instance's lock first, as every transition takes it: a stop
        // racing this either commits before it or finds it done.
        sqlx::query("SELECT 1 FROM access_review_instances WHERE id = $1 FOR UPDATE")
            .bind(stage.instance_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let updated = sqlx::query(
            "UPDATE access_review_stages SET reviewers = $2, fallback_reviewers = $3 \
             WHERE id = $1 AND status = $4",
        )
        .bind(stage.id.as_uuid())
        .bind(Json(scopes_to_records(&stage.reviewers)))
        .bind(Json(scopes_to_records(&stage.fallback_reviewers)))
        .bind(IN_PROGRESS)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        // The stage's phase has the stage's id.
        crate::writes::replace_phase_reviewers(&mut tx, stage.id.as_uuid(), rules).await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(true)
    }

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

    async fn stop_context(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<Result<StopContext, Missing>, RepositoryError> {
        let mut lease = self.lease().await.map_err(map_sqlx)?;
        let row: Option<StopContextRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(STOP_CONTEXT.as_str()))
                .bind(definition_id.as_uuid())
                .bind(instance_id.as_uuid())
                .fetch_optional(&mut *lease)
                .await
                .map_err(map_sqlx)?;
        lease.finished();
        let Some(row) = row else {
            return Ok(Err(Missing::Definition(definition_id)));
        };
        let Some(instance) = row.instance else {
            return Ok(Err(Missing::Instance(instance_id)));
        };
        Ok(Ok(StopContext {
            definition: Definition::try_from(row.definition)?,
            instance: Instance::try_from(instance.0)?,
            stages: row
                .stages
                .0
                .into_iter()
                .map(Stage::try_from)
                .collect::<Result<_, _>>()?,
            reviewers: row.directory.0.into(),
        }))
    }

    async fn commit_stop(
        &self,
        transition: &StopTransition,
    ) -> Result<StopOutcome, RepositoryError> {
        // One call, one round trip, its own transaction: `ar_stop_stage`
        // takes the instance's lock, guards on the stage being InProgress
        // (concurrent stops queue on the row; the losers write nothing)
        // and writes the rest of the transition, the request's record with
        // it.
        let stopped = &transition.stopped;
        let next = transition.started.as_ref();
        let carry = transition.carry_over.as_ref();
        let reviewers = carry.map(|c| &c.reviewers);
        let end = transition.instance_end.as_ref();
        let system = system_identity();
        let audit = &transition.audit;
        let mut lease = self.lease().await.map_err(map_sqlx)?;
        let committed: bool = sqlx::query_scalar(
            "SELECT ar_stop_stage($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, \
             $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43)",
        )
        // The stop.
        .bind(transition.instance.id.as_uuid())
        .bind(stopped.id.as_uuid())
        .bind(stopped.status().as_str())
        .bind(stopped.end_date_time)
        .bind(IN_PROGRESS)
        // The next stage, its reviewers and which items follow.
        .bind(next.map(|s| s.id.as_uuid()))
        .bind(next.map(|s| s.key.as_str()))
        .bind(next.map(|s| s.start_date_time))
        .bind(next.map(|s| s.end_date_time))
        .bind(next.map(|s| Json(scopes_to_records(&s.reviewers))))
        .bind(next.map(|s| Json(scopes_to_records(&s.fallback_reviewers))))
        .bind(next.map(|s| s.status().as_str()))
        .bind(carry.map(|c| c.to.as_uuid()))
        .bind(reviewers.is_some_and(|r| r.self_review))
        .bind(reviewers.is_some_and(|r| r.by_manager))
        .bind(reviewers.map(|r| ids(&r.fixed)).unwrap_or_default())
        .bind(reviewers.map(|r| ids(&r.fallback)).unwrap_or_default())
        .bind(carry.is_some_and(|c| c.rule.moves_all()))
        .bind(
            carry
                .map(|c| {
                    c.rule
                        .decisions()
                        .into_iter()
                        .map(Decision::as_str)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        )
        .bind(carry.is_some_and(|c| c.rule.follows_recommendation()))
        .bind(Decision::NotReviewed.as_str())
        // The instance and the definition.
        .bind(transition.instance.status().as_str())
        .bind(transition.instance.end_date_time)
        .bind(audit.definition_id.as_uuid())
        .bind(transition.definition_completed)
        .bind(COMPLETED)
        // The end of the instance.
        .bind(end.map(|e| e.at))
        .bind(
            end.and_then(|e| e.default_decision)
                .map(DefaultDecision::as_str),
        )
        .bind(DEFAULT_DECISION_JUSTIFICATION)
        .bind(system.id.as_uuid())
        .bind(&system.display_name)
        .bind(&system.user_principal_name)
        .bind(DefaultDecision::Recommendation.as_str())
        .bind(Recommendation::NoInfoAvailable.as_str())
        .bind(end.is_some_and(|e| e.auto_apply))
        .bind(Decision::Deny.as_str())
        .bind(ApplyResult::AppliedSuccessfully.as_str())
        .bind(ApplyResult::ApplyNotSupported.as_str())
        .bind(ApplyResult::AppliedSuccessfullyButObjectNotFound.as_str())
        // The audit record.
        .bind(audit.at)
        .bind(audit.actor.as_uuid())
        .bind(audit.instance_completed)
        // The request's record, in the same transaction.
        .bind(
            transition
                .record
                .as_ref()
                .map(|r| Json(AuditRecord::from(r))),
        )
        .fetch_one(&mut *lease)
        .await
        .map_err(map_sqlx)?;
        lease.finished();
        Ok(if committed {
            StopOutcome::Committed
        } else {
            StopOutcome::StageNoLongerInProgress
        })
    }
}
