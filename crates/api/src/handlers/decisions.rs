//! Decision items: `P/decisions…` and `P/stages/{id}/decisions…`, the
//! batch and reset actions. The instance path acts on the stage in
//! progress; each handler pair shares its body through [`Parent`].

use access_reviews_domain::ids::{DecisionItemId, DefinitionId, InstanceId, StageId};
use access_reviews_domain::use_cases::DecisionTarget;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri};
use serde_json::Value;

use super::paths::{InstanceItemPath, InstancePath, ReviewerFilter, StageItemPath, StagePath};
use super::{listing, options};
use crate::AppState;
use crate::auth::{Reader, Writer};
use crate::error::ApiError;
use crate::odata::{self, EntityOptions, Filterable, ServiceRoot};
use crate::wire::decisions::{BatchBody, DECISION_PROPERTIES, DecisionItemDto, RecordBody};
use crate::wire::parse_json;

/// The ids of `P` or `P/stages/{id}`.
struct Parent {
    definition: DefinitionId,
    instance: InstanceId,
    stage: Option<StageId>,
}

impl From<InstancePath> for Parent {
    fn from(path: InstancePath) -> Self {
        Self {
            definition: path.definition,
            instance: path.instance,
            stage: None,
        }
    }
}

impl From<StagePath> for Parent {
    fn from(path: StagePath) -> Self {
        Self {
            definition: path.definition,
            instance: path.instance,
            stage: Some(path.stage),
        }
    }
}

impl From<InstanceItemPath> for (Parent, DecisionItemId) {
    fn from(path: InstanceItemPath) -> Self {
        let parent = Parent {
            definition: path.definition,
            instance: path.instance,
            stage: None,
        };
        (parent, path.item)
    }
}

impl From<StageItemPath> for (Parent, DecisionItemId) {
    fn from(path: StageItemPath) -> Self {
        let parent = Parent {
            definition: path.definition,
            instance: path.instance,
            stage: Some(path.stage),
        };
        (parent, path.item)
    }
}

impl Parent {
    fn context(&self) -> String {
        let instance = format!(
            "identityGovernance/accessReviews/definitions('{}')/instances('{}')",
            self.definition, self.instance
        );
        match self.stage {
            Some(stage) => format!("{instance}/stages('{stage}')/decisions"),
            None => format!("{instance}/decisions"),
        }
    }

    fn target(&self) -> DecisionTarget {
        self.stage
            .map_or(DecisionTarget::Current, DecisionTarget::Stage)
    }
}

async fn list(
    caller: Reader,
    parent: Parent,
    mine: bool,
    (root, uri, query): (ServiceRoot, Uri, RawQuery),
    state: AppState,
) -> Result<Json<Value>, ApiError> {
    let listing = listing(
        root.clone(),
        uri,
        query,
        DECISION_PROPERTIES,
        Filterable::Decision,
    )?;
    let query = listing.options.decision_query();
    let page = state
        .use_cases
        .decisions
        .list(
            caller.actor(),
            parent.definition,
            parent.instance,
            parent.stage,
            query,
            mine,
        )
        .await?;
    let items: Vec<_> = page
        .items
        .iter()
        .map(|i| DecisionItemDto::new(i, &root))
        .collect();
    let context = if mine {
        "Collection(accessReviewInstanceDecisionItem)".to_owned()
    } else {
        parent.context()
    };
    Ok(listing.answer(&context, &items, page.has_more, page.total))
}

/// `GET P/decisions`, and `P/decisions/filterByCurrentUser(on='reviewer')`.
pub async fn list_instance_decisions(
    caller: Reader,
    path: InstancePath,
    ReviewerFilter(mine): ReviewerFilter,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    list(caller, path.into(), mine, (root, uri, query), state).await
}

/// `GET P/stages/{id}/decisions`, and its `filterByCurrentUser`.
pub async fn list_stage_decisions(
    caller: Reader,
    path: StagePath,
    ReviewerFilter(mine): ReviewerFilter,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    list(caller, path.into(), mine, (root, uri, query), state).await
}

async fn get(
    caller: Reader,
    (parent, item): (Parent, DecisionItemId),
    root: ServiceRoot,
    state: AppState,
    query: RawQuery,
) -> Result<odata::Entity, ApiError> {
    let options = EntityOptions::parse(&options(query)?, DECISION_PROPERTIES)?;
    let found = state
        .use_cases
        .decisions
        .get(
            caller.actor(),
            parent.definition,
            parent.instance,
            parent.stage,
            item,
        )
        .await?;
    Ok(odata::entity(
        root.context(&format!("{}/$entity", parent.context())),
        &DecisionItemDto::new(&found, &root),
        options.select.as_deref(),
    ))
}

/// `GET P/decisions/{id}`.
pub async fn get_instance_decision(
    caller: Reader,
    path: InstanceItemPath,
    root: ServiceRoot,
    State(state): State<AppState>,
    query: RawQuery,
) -> Result<odata::Entity, ApiError> {
    get(caller, path.into(), root, state, query).await
}

/// `GET P/stages/{id}/decisions/{id}`.
pub async fn get_stage_decision(
    caller: Reader,
    path: StageItemPath,
    root: ServiceRoot,
    State(state): State<AppState>,
    query: RawQuery,
) -> Result<odata::Entity, ApiError> {
    get(caller, path.into(), root, state, query).await
}

async fn record(
    caller: Writer,
    (parent, item): (Parent, DecisionItemId),
    state: AppState,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let review = parse_json::<RecordBody>(&body)?.into_domain()?;
    state
        .use_cases
        .decisions
        .record(
            caller.actor(),
            parent.definition,
            parent.instance,
            parent.target(),
            item,
            review,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH P/decisions/{id}`: records on the current stage.
pub async fn record_instance_decision(
    caller: Writer,
    path: InstanceItemPath,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    record(caller, path.into(), state, body).await
}

/// `PATCH P/stages/{id}/decisions/{id}`.
pub async fn record_stage_decision(
    caller: Writer,
    path: StageItemPath,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    record(caller, path.into(), state, body).await
}

async fn batch(
    caller: Writer,
    parent: Parent,
    state: AppState,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let (review, principal, resource) = parse_json::<BatchBody>(&body)?.into_domain()?;
    state
        .use_cases
        .decisions
        .record_batch(
            caller.actor(),
            parent.definition,
            parent.instance,
            parent.target(),
            review,
            principal,
            resource,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST P/batchRecordDecisions`.
pub async fn batch_instance(
    caller: Writer,
    path: InstancePath,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    batch(caller, path.into(), state, body).await
}

/// `POST P/stages/{id}/batchRecordDecisions`.
pub async fn batch_stage(
    caller: Writer,
    path: StagePath,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    batch(caller, path.into(), state, body).await
}

/// `POST P/resetDecisions`.
pub async fn reset(
    caller: Writer,
    path: InstancePath,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    state
        .use_cases
        .decisions
        .reset(caller.actor(), path.definition, path.instance)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/instances/{id}/acceptRecommendations`: 204. The caller's items
/// that nobody decided take their recommendation (delegated callers only).
pub async fn accept_recommendations(
    caller: Writer,
    path: InstancePath,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    state
        .use_cases
        .decisions
        .accept_recommendations(caller.actor(), path.definition, path.instance)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
