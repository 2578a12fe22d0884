//! [`DecisionRepository`] over PostgreSQL: decision items, the phases they
//! pass through, and the decision history.

use access_reviews_domain::decision::{
    Applied, ApplyResult, Decision, DecisionItem, Identity, Recommendation, Resource, Review,
    ReviewerRules,
};
use access_reviews_domain::ids::{DecisionItemId, InstanceId, PrincipalId};
use access_reviews_domain::ports::{
    DecisionRepository, Phase, PhaseItem, RecordOutcome, RepositoryError,
};
use access_reviews_domain::status::ReviewStatus;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{CorruptRow, map_sqlx};
use crate::repository::PgRepository;

pub(crate) const ITEM_COLUMNS: &str = "i.id, i.instance_id, i.principal_id, i.principal_display_name, \
     i.principal_user_principal_name, i.resource_id, i.resource_display_name, i.recommendation, \
     i.decision, i.justification, i.reviewed_by_id, i.reviewed_by_display_name, \
     i.reviewed_by_user_principal_name, i.reviewed_date_time, i.apply_result, i.applied_by_id, \
     i.applied_by_display_name, i.applied_by_user_principal_name, i.applied_date_time";

#[derive(sqlx::FromRow)]
pub(crate) struct ItemRow {
    id: Uuid,
    instance_id: Uuid,
    principal_id: Uuid,
    principal_display_name: String,
    principal_user_principal_name: String,
    resource_id: Uuid,
    resource_display_name: String,
    recommendation: String,
    decision: Option<String>,
    justification: Option<String>,
    reviewed_by_id: Option<Uuid>,
    reviewed_by_display_name: Option<String>,
    reviewed_by_user_principal_name: Option<String>,
    reviewed_date_time: Option<DateTime<Utc>>,
    apply_result: Option<String>,
    applied_by_id: Option<Uuid>,
    applied_by_display_name: Option<String>,
    applied_by_user_principal_name: Option<String>,
    applied_date_time: Option<DateTime<Utc>>,
}

impl TryFrom<ItemRow> for DecisionItem {
    type Error = CorruptRow;

    fn try_from(r: ItemRow) -> Result<Self, CorruptRow> {
        let corrupt = CorruptRow {
            what: "decision item",
        };
        let latest = match (r.decision, r.reviewed_by_id, r.reviewed_date_time) {
            (Some(decision), Some(by), Some(at)) => Some(Review {
                decision: decision.parse::<Decision>().map_err(|_| corrupt)?,
                justification: r.justification,
                reviewed_by: Identity {
                    id: PrincipalId::from_uuid(by),
                    display_name: r.reviewed_by_display_name.unwrap_or_default(),
                    user_principal_name: r.reviewed_by_user_principal_name.unwrap_or_default(),
                },
                reviewed_date_time: at,
            }),
            (None, None, None) => None,
            _ => return Err(corrupt),
        };
        let applied = match (r.apply_result, r.applied_by_id, r.applied_date_time) {
            (Some(result), Some(by), Some(at)) => Some(Applied {
                result: result.parse::<ApplyResult>().map_err(|_| corrupt)?,
                by: Identity {
                    id: PrincipalId::from_uuid(by),
                    display_name: r.applied_by_display_name.unwrap_or_default(),
                    user_principal_name: r.applied_by_user_principal_name.unwrap_or_default(),
                },
                at,
            }),
            (None, None, None) => None,
            _ => return Err(corrupt),
        };
        Ok(DecisionItem {
            id: DecisionItemId::from_uuid(r.id),
            instance_id: InstanceId::from_uuid(r.instance_id),
            principal: Identity {
                id: PrincipalId::from_uuid(r.principal_id),
                display_name: r.principal_display_name,
                user_principal_name: r.principal_user_principal_name,
            },
            resource: Resource {
                id: PrincipalId::from_uuid(r.resource_id),
                display_name: r.resource_display_name,
            },
            recommendation: r
                .recommendation
                .parse::<Recommendation>()
                .map_err(|_| corrupt)?,
            latest,
            applied,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PhaseItemRow {
    #[sqlx(flatten)]
    item: ItemRow,
    manager_id: Option<Uuid>,
}

impl TryFrom<PhaseItemRow> for PhaseItem {
    type Error = CorruptRow;

    fn try_from(r: PhaseItemRow) -> Result<Self, CorruptRow> {
        Ok(PhaseItem {
            item: r.item.try_into()?,
            manager: r.manager_id.map(PrincipalId::from_uuid),
        })
    }
}

impl PgRepository {
    async fn phase_rows(
        &self,
        phase: Phase,
        item: Option<DecisionItemId>,
    ) -> Result<Vec<PhaseItem>, RepositoryError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS}, pi.manager_id FROM phase_items pi \
             JOIN decision_items i ON i.id = pi.item_id \
             WHERE pi.phase_id = $1 AND ($2::uuid IS NULL OR i.id = $2) ORDER BY i.seq"
        );
        let rows: Vec<PhaseItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(phase.id())
            .bind(item.map(|i| i.as_uuid()))
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(rows
            .into_iter()
            .map(PhaseItem::try_from)
            .collect::<Result<_, _>>()?)
    }
}

/// Locks the phase's row against a concurrent stop until the transaction
/// ends, and tells whether it is `InProgress`. A stop that committed first
/// is seen (its row lock is waited for, then the row re-read).
async fn lock_in_progress(conn: &mut PgConnection, phase: Phase) -> Result<bool, RepositoryError> {
    let sql = match phase {
        Phase::Stage(_) => "SELECT status FROM access_review_stages WHERE id = $1 FOR SHARE",
        Phase::Instance(_) => "SELECT status FROM access_review_instances WHERE id = $1 FOR SHARE",
    };
    let status: Option<String> = sqlx::query_scalar(sql)
        .bind(phase.id())
        .fetch_optional(conn)
        .await
        .map_err(map_sqlx)?;
    Ok(status.and_then(|s| s.parse().ok()) == Some(ReviewStatus::InProgress))
}

impl PgRepository {
    /// A transaction holding `phase`'s row lock ([`lock_in_progress`]), or
    /// `None`, nothing written, when the phase is no longer `InProgress`.
    async fn in_progress(
        &self,
        phase: Phase,
    ) -> Result<Option<sqlx::Transaction<'static, sqlx::Postgres>>, RepositoryError> {
        let mut tx = self.pool().begin().await.map_err(map_sqlx)?;
        if lock_in_progress(&mut tx, phase).await? {
            Ok(Some(tx))
        } else {
            tx.rollback().await.map_err(map_sqlx)?;
            Ok(None)
        }
    }
}

#[async_trait]
impl DecisionRepository for PgRepository {
    async fn rules(&self, phase: Phase) -> Result<Option<ReviewerRules>, RepositoryError> {
        let flags: Option<(bool, bool)> =
            sqlx::query_as("SELECT self_review, by_manager FROM review_phases WHERE id = $1")
                .bind(phase.id())
                .fetch_optional(self.pool())
                .await
                .map_err(map_sqlx)?;
        let Some((self_review, by_manager)) = flags else {
            return Ok(None);
        };
        let reviewers: Vec<(String, Uuid)> = sqlx::query_as(
            "SELECT role, reviewer_id FROM phase_reviewers WHERE phase_id = $1 ORDER BY role, reviewer_id",
        )
        .bind(phase.id())
        .fetch_all(self.pool())
        .await
        .map_err(map_sqlx)?;
        let of = |role: &str| {
            reviewers
                .iter()
                .filter(|(r, _)| r == role)
                .map(|(_, id)| PrincipalId::from_uuid(*id))
                .collect()
        };
        Ok(Some(ReviewerRules {
            self_review,
            fixed: of("primary"),
            by_manager,
            fallback: of("fallback"),
        }))
    }

    async fn phase_item(
        &self,
        phase: Phase,
        item: DecisionItemId,
    ) -> Result<Option<PhaseItem>, RepositoryError> {
        Ok(self.phase_rows(phase, Some(item)).await?.into_iter().next())
    }

    async fn phase_items(&self, phase: Phase) -> Result<Vec<PhaseItem>, RepositoryError> {
        self.phase_rows(phase, None).await
    }

    async fn item(
        &self,
        instance: InstanceId,
        item: DecisionItemId,
    ) -> Result<Option<DecisionItem>, RepositoryError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM decision_items i WHERE i.id = $1 AND i.instance_id = $2"
        );
        let row: Option<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(item.as_uuid())
            .bind(instance.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(row.map(DecisionItem::try_from).transpose()?)
    }

    async fn record(
        &self,
        phase: Phase,
        items: &[DecisionItemId],
        review: &Review,
    ) -> Result<RecordOutcome, RepositoryError> {
        let Some(mut tx) = self.in_progress(phase).await? else {
            return Ok(RecordOutcome::NotInProgress);
        };
        let ids: Vec<Uuid> = items.iter().map(|i| i.as_uuid()).collect();
        let by = &review.reviewed_by;
        sqlx::query(
            "UPDATE decision_items SET decision = $2, justification = $3, reviewed_by_id = $4, \
             reviewed_by_display_name = $5, reviewed_by_user_principal_name = $6, \
             reviewed_date_time = $7 WHERE id = ANY($1)",
        )
        .bind(&ids)
        .bind(review.decision.as_str())
        .bind(review.justification.as_deref())
        .bind(by.id.as_uuid())
        .bind(&by.display_name)
        .bind(&by.user_principal_name)
        .bind(review.reviewed_date_time)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        sqlx::query(
            "INSERT INTO decision_history (phase_id, item_id, decision, justification, \
             reviewed_by_id, reviewed_by_display_name, reviewed_by_user_principal_name, \
             reviewed_date_time) SELECT $1, unnest($2::uuid[]), $3, $4, $5, $6, $7, $8",
        )
        .bind(phase.id())
        .bind(&ids)
        .bind(review.decision.as_str())
        .bind(review.justification.as_deref())
        .bind(by.id.as_uuid())
        .bind(&by.display_name)
        .bind(&by.user_principal_name)
        .bind(review.reviewed_date_time)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(RecordOutcome::Recorded)
    }

    async fn accept_recommendations(
        &self,
        phase: Phase,
        items: &[DecisionItemId],
        review: &Review,
    ) -> Result<RecordOutcome, RepositoryError> {
        let Some(mut tx) = self.in_progress(phase).await? else {
            return Ok(RecordOutcome::NotInProgress);
        };
        let ids: Vec<Uuid> = items.iter().map(|i| i.as_uuid()).collect();
        let by = &review.reviewed_by;
        // Recommendation::as_decision: the recommendations that are
        // decisions ($8), each spelled as the decision it is.
        let decisive: Vec<&str> = Recommendation::ALL
            .into_iter()
            .filter(|r| r.as_decision().is_some_and(|d| d.as_str() == r.as_str()))
            .map(Recommendation::as_str)
            .collect();
        sqlx::query(
            "WITH accepted AS (UPDATE decision_items SET decision = recommendation, \
                 justification = $3, reviewed_by_id = $4, reviewed_by_display_name = $5, \
                 reviewed_by_user_principal_name = $6, reviewed_date_time = $7 \
                 WHERE id = ANY($2) AND recommendation = ANY($8) \
                 AND coalesce(decision, $9) = $9 \
                 RETURNING id, decision) \
             INSERT INTO decision_history (phase_id, item_id, decision, justification, \
                 reviewed_by_id, reviewed_by_display_name, reviewed_by_user_principal_name, \
                 reviewed_date_time) \
             SELECT $1, id, decision, $3, $4, $5, $6, $7 FROM accepted",
        )
        .bind(phase.id())
        .bind(&ids)
        .bind(review.justification.as_deref())
        .bind(by.id.as_uuid())
        .bind(&by.display_name)
        .bind(&by.user_principal_name)
        .bind(review.reviewed_date_time)
        .bind(&decisive)
        .bind(Decision::NotReviewed.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(RecordOutcome::Recorded)
    }

    async fn reset(&self, instance: InstanceId) -> Result<RecordOutcome, RepositoryError> {
        let Some(mut tx) = self.in_progress(Phase::Instance(instance)).await? else {
            return Ok(RecordOutcome::NotInProgress);
        };
        sqlx::query(
            "UPDATE decision_items SET decision = NULL, justification = NULL, \
             reviewed_by_id = NULL, reviewed_by_display_name = NULL, \
             reviewed_by_user_principal_name = NULL, reviewed_date_time = NULL \
             WHERE instance_id = $1",
        )
        .bind(instance.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(RecordOutcome::Recorded)
    }
}
