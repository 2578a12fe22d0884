//! Statements that the transactions of several ports share: storing a
//! definition, a started instance with its stage, phase and items; the
//! carry-over; locking an instance; its end; the audit records. Each takes
//! the transaction's connection and is awaited inside it. Most call a
//! function of the migration `transition_functions`, which the one-call
//! stop (`ar_stop_stage`) calls too, so both run the same statements.

use access_reviews_domain::actor::system_identity;
use access_reviews_domain::decision::{
    ApplyResult, Decision, DecisionItem, Identity, Recommendation, ReviewerRules,
};
use access_reviews_domain::definition::{DefaultDecision, Definition};
use access_reviews_domain::ids::{DefinitionId, InstanceId, PrincipalId};
use access_reviews_domain::instance::Instance;
use access_reviews_domain::lifecycle::{
    Action, ActionAudit, DEFAULT_DECISION_JUSTIFICATION, InstanceEnd,
};
use access_reviews_domain::ports::{Phase, RepositoryError, StartedReview};
use access_reviews_domain::stage::Stage;
use access_reviews_domain::status::ReviewStatus;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::map_sqlx;
use crate::records::{QueryScopeRecord, SettingsRecord, plan_to_records, scopes_to_records};

pub(crate) const IN_PROGRESS: &str = ReviewStatus::InProgress.as_str();
pub(crate) const COMPLETED: &str = ReviewStatus::Completed.as_str();

pub(crate) async fn insert_stage(
    conn: &mut PgConnection,
    stage: &Stage,
) -> Result<(), RepositoryError> {
    sqlx::query("SELECT ar_insert_stage($1, $2, $3, $4, $5, $6, $7, $8)")
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

pub(crate) async fn insert_definition(
    conn: &mut PgConnection,
    definition: &Definition,
) -> Result<(), RepositoryError> {
    let spec = &definition.spec;
    sqlx::query(
        "INSERT INTO access_review_definitions (id, display_name, description_for_admins, \
         description_for_reviewers, scope, reviewers, fallback_reviewers, stage_settings, \
         settings, created_by_id, created_by_display_name, created_by_user_principal_name, \
         created_date_time, last_modified_date_time, status, next_instance_at, \
         instances_started, annotations) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
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
    .bind(Json(crate::records::AnnotationsRecord::from(
        &spec.annotations,
    )))
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

/// The ids of a list of principals, as the functions take them.
pub(crate) fn ids(list: &[PrincipalId]) -> Vec<Uuid> {
    list.iter().map(|p| p.as_uuid()).collect()
}

fn kind(phase: Phase) -> &'static str {
    match phase {
        Phase::Stage(_) => "stage",
        Phase::Instance(_) => "instance",
    }
}

/// Creates a phase and its reviewer rules.
pub(crate) async fn insert_phase(
    conn: &mut PgConnection,
    phase: Phase,
    instance: InstanceId,
    rules: &ReviewerRules,
) -> Result<(), RepositoryError> {
    sqlx::query("SELECT ar_insert_phase($1, $2, $3, $4, $5, $6, $7)")
        .bind(phase.id())
        .bind(kind(phase))
        .bind(instance.as_uuid())
        .bind(rules.self_review)
        .bind(rules.by_manager)
        .bind(ids(&rules.fixed))
        .bind(ids(&rules.fallback))
        .execute(conn)
        .await
        .map_err(map_sqlx)?;
    Ok(())
}

/// Stores new items, in order.
pub(crate) async fn insert_items(
    conn: &mut PgConnection,
    instance: InstanceId,
    items: &[DecisionItem],
) -> Result<(), RepositoryError> {
    let column = |f: &dyn Fn(&DecisionItem) -> Uuid| items.iter().map(f).collect::<Vec<_>>();
    let text = |f: &dyn Fn(&DecisionItem) -> String| items.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO decision_items (id, instance_id, principal_id, principal_display_name, \
         principal_user_principal_name, resource_id, resource_display_name, recommendation) \
         SELECT u.id, $1, u.principal_id, u.principal_name, u.principal_upn, u.resource_id, \
         u.resource_name, u.recommendation \
         FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::uuid[], $7::text[], \
         $8::text[]) WITH ORDINALITY AS u(id, principal_id, principal_name, principal_upn, \
         resource_id, resource_name, recommendation, position) ORDER BY u.position",
    )
    .bind(instance.as_uuid())
    .bind(column(&|i| i.id.as_uuid()))
    .bind(column(&|i| i.principal.id.as_uuid()))
    .bind(text(&|i| i.principal.display_name.clone()))
    .bind(text(&|i| i.principal.user_principal_name.clone()))
    .bind(column(&|i| i.resource.id.as_uuid()))
    .bind(text(&|i| i.resource.display_name.clone()))
    .bind(text(&|i| i.recommendation.as_str().to_owned()))
    .execute(conn)
    .await
    .map_err(map_sqlx)?;
    Ok(())
}

/// Puts every item of the instance into its first phase, with each
/// principal's manager as it is now.
pub(crate) async fn enter_all(
    conn: &mut PgConnection,
    phase: Phase,
    instance: InstanceId,
) -> Result<(), RepositoryError> {
    sqlx::query(
        "INSERT INTO phase_items (phase_id, item_id, manager_id) \
         SELECT $1, i.id, u.manager_id FROM decision_items i \
         LEFT JOIN directory_users u ON u.id = i.principal_id \
         WHERE i.instance_id = $2 ORDER BY i.id",
    )
    .bind(phase.id())
    .bind(instance.as_uuid())
    .execute(conn)
    .await
    .map_err(map_sqlx)?;
    Ok(())
}

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
    sqlx::query("SELECT ar_default_decisions($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
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
pub(crate) async fn apply_decisions(
    conn: &mut PgConnection,
    instance: InstanceId,
    by: &Identity,
    at: DateTime<Utc>,
) -> Result<u64, RepositoryError> {
    let applied: i64 =
        sqlx::query_scalar("SELECT ar_apply_decisions($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
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
            .fetch_one(conn)
            .await
            .map_err(map_sqlx)?;
    Ok(u64::try_from(applied).unwrap_or_default())
}

/// Writes an audit record of an action.
pub(crate) async fn insert_action(
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
            Action::InstanceCompleted | Action::DefinitionStopped
        ) && audit.instance_id.is_some(),
    )
    .execute(conn)
    .await
    .map_err(map_sqlx)?;
    Ok(())
}

/// Writes an instance's status and end.
pub(crate) async fn update_instance(
    conn: &mut PgConnection,
    instance: &Instance,
) -> Result<(), RepositoryError> {
    sqlx::query("SELECT ar_update_instance($1, $2, $3)")
        .bind(instance.id.as_uuid())
        .bind(instance.status().as_str())
        .bind(instance.end_date_time)
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
    sqlx::query_scalar("SELECT ar_complete_definition($1, $2, $3)")
        .bind(definition.as_uuid())
        .bind(at)
        .bind(COMPLETED)
        .fetch_one(conn)
        .await
        .map_err(map_sqlx)
}

/// Replaces the rules of phase `phase`: its flags and its reviewers.
/// Deleted before inserting: one statement could see a kept reviewer
/// twice.
pub(crate) async fn replace_phase_reviewers(
    conn: &mut PgConnection,
    phase: Uuid,
    rules: &ReviewerRules,
) -> Result<(), RepositoryError> {
    sqlx::query(
        "WITH phase AS (UPDATE review_phases SET self_review = $2, by_manager = $3 \
             WHERE id = $1 RETURNING id) \
         DELETE FROM phase_reviewers WHERE phase_id IN (SELECT id FROM phase)",
    )
    .bind(phase)
    .bind(rules.self_review)
    .bind(rules.by_manager)
    .execute(&mut *conn)
    .await
    .map_err(map_sqlx)?;
    sqlx::query(
        "INSERT INTO phase_reviewers (phase_id, role, reviewer_id) \
         SELECT $1, 'primary', unnest($2::uuid[]) \
         UNION SELECT $1, 'fallback', unnest($3::uuid[])",
    )
    .bind(phase)
    .bind(ids(&rules.fixed))
    .bind(ids(&rules.fallback))
    .execute(&mut *conn)
    .await
    .map_err(map_sqlx)?;
    Ok(())
}
