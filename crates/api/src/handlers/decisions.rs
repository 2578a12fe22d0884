//! Decision items: `P/decisions…` and `P/stages/{id}/decisions…`, the
//! batch and reset actions.

use access_reviews_domain::ids::{DefinitionId, InstanceId, StageId};
use access_reviews_domain::ports::DecisionQuery;
use access_reviews_domain::use_cases::DecisionTarget;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use serde_json::Value;

use super::{decision_item_id, definition_id, instance_id, listing, options, stage_id};
use crate::AppState;
use crate::auth::{Caller, Permission};
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

impl Parent {
    fn parse(definition: &str, instance: &str, stage: Option<&str>) -> Result<Self, ApiError> {
        Ok(Self {
            definition: definition_id(definition)?,
            instance: instance_id(instance)?,
            stage: stage.map(stage_id).transpose()?,
        })
    }

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

type InstancePath = Path<(String, String)>;
type StagePath = Path<(String, String, String)>;
type InstanceItemPath = Path<(String, String, String)>;
type StageItemPath = Path<(String, String, String, String)>;

async fn list(
    caller: Caller,
    listing_parts: (ServiceRoot, Uri, RawQuery),
    state: AppState,
    parent: Result<Parent, ApiError>,
    mine: bool,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require(Permission::AccessReviewRead)?;
    let parent = parent?;
    let (root, uri, query) = listing_parts;
    let listing = listing(
        root.clone(),
        uri,
        query,
        DECISION_PROPERTIES,
        Filterable::Decision,
    )?;
    let query = DecisionQuery {
        decision: listing.options.decision(),
        reviewer: None,
        page: listing.options.page,
    };
    let page = state
        .use_cases
        .decisions
        .list(
            actor,
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
    Ok(listing.answer(&context, &items, page.has_more))
}

/// `GET P/decisions`.
pub async fn list_instance_decisions(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path((d, i)): InstancePath,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let parent = Parent::parse(&d, &i, None);
    list(caller, (root, uri, query), state, parent, false).await
}

/// `GET P/decisions/filterByCurrentUser(on='reviewer')`.
pub async fn my_instance_decisions(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path((d, i)): InstancePath,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let parent = Parent::parse(&d, &i, None);
    list(caller, (root, uri, query), state, parent, true).await
}

/// `GET P/stages/{id}/decisions`.
pub async fn list_stage_decisions(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path((d, i, s)): StagePath,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let parent = Parent::parse(&d, &i, Some(&s));
    list(caller, (root, uri, query), state, parent, false).await
}

/// `GET P/stages/{id}/decisions/filterByCurrentUser(on='reviewer')`.
pub async fn my_stage_decisions(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path((d, i, s)): StagePath,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let parent = Parent::parse(&d, &i, Some(&s));
    list(caller, (root, uri, query), state, parent, true).await
}

async fn get(
    caller: Caller,
    root: ServiceRoot,
    state: AppState,
    parent: Result<Parent, ApiError>,
    item: &str,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require(Permission::AccessReviewRead)?;
    let parent = parent?;
    let item = decision_item_id(item)?;
    let options = EntityOptions::parse(&options(query)?, DECISION_PROPERTIES)?;
    let found = state
        .use_cases
        .decisions
        .get(
            actor,
            parent.definition,
            parent.instance,
            parent.stage,
            item,
        )
        .await?;
    Ok(Json(odata::entity(
        root.context(&format!("{}/$entity", parent.context())),
        &DecisionItemDto::new(&found, &root),
        options.select.as_deref(),
    )))
}

/// `GET P/decisions/{id}`.
pub async fn get_instance_decision(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path((d, i, item)): InstanceItemPath,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let parent = Parent::parse(&d, &i, None);
    get(caller, root, state, parent, &item, query).await
}

/// `GET P/stages/{id}/decisions/{id}`.
pub async fn get_stage_decision(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path((d, i, s, item)): StageItemPath,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let parent = Parent::parse(&d, &i, Some(&s));
    get(caller, root, state, parent, &item, query).await
}

async fn record(
    caller: Caller,
    state: AppState,
    parent: Result<Parent, ApiError>,
    item: &str,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let actor = caller.require(Permission::AccessReviewWrite)?;
    let parent = parent?;
    let item = decision_item_id(item)?;
    let review = parse_json::<RecordBody>(&body)?.into_domain()?;
    state
        .use_cases
        .decisions
        .record(
            actor,
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
    caller: Caller,
    State(state): State<AppState>,
    Path((d, i, item)): InstanceItemPath,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    record(caller, state, Parent::parse(&d, &i, None), &item, body).await
}

/// `PATCH P/stages/{id}/decisions/{id}`.
pub async fn record_stage_decision(
    caller: Caller,
    State(state): State<AppState>,
    Path((d, i, s, item)): StageItemPath,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    record(caller, state, Parent::parse(&d, &i, Some(&s)), &item, body).await
}

async fn batch(
    caller: Caller,
    state: AppState,
    parent: Result<Parent, ApiError>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let actor = caller.require(Permission::AccessReviewWrite)?;
    let parent = parent?;
    let (review, principal, resource) = parse_json::<BatchBody>(&body)?.into_domain()?;
    state
        .use_cases
        .decisions
        .record_batch(
            actor,
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
    caller: Caller,
    State(state): State<AppState>,
    Path((d, i)): InstancePath,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    batch(caller, state, Parent::parse(&d, &i, None), body).await
}

/// `POST P/stages/{id}/batchRecordDecisions`.
pub async fn batch_stage(
    caller: Caller,
    State(state): State<AppState>,
    Path((d, i, s)): StagePath,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    batch(caller, state, Parent::parse(&d, &i, Some(&s)), body).await
}

/// `POST P/resetDecisions`.
pub async fn reset(
    caller: Caller,
    State(state): State<AppState>,
    Path((d, i)): InstancePath,
) -> Result<StatusCode, ApiError> {
    let actor = caller.require(Permission::AccessReviewWrite)?;
    let parent = Parent::parse(&d, &i, None)?;
    state
        .use_cases
        .decisions
        .reset(actor, parent.definition, parent.instance)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
