//! `…/instances/{id}/stages[/{id}]`, `filterByCurrentUser` and the stop
//! action.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use serde_json::Value;

use super::{definition_id, instance_id, listing, options, stage_id, stages_context};
use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::error::ApiError;
use crate::odata::{self, EntityOptions, Filterable, ServiceRoot};
use crate::wire::{STAGE_PROPERTIES, StageDto};

async fn list(
    caller: Caller,
    root: ServiceRoot,
    state: AppState,
    (definition, instance): (String, String),
    uri: Uri,
    query: RawQuery,
    mine: bool,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require(Permission::AccessReviewRead)?;
    let (definition, instance) = (definition_id(&definition)?, instance_id(&instance)?);
    let listing = listing(root, uri, query, STAGE_PROPERTIES, Filterable::Status)?;
    let page = state
        .use_cases
        .read
        .stages(
            actor,
            definition,
            instance,
            listing.options.list_query(),
            mine,
        )
        .await?;
    let items: Vec<_> = page.items.iter().map(StageDto::from).collect();
    let context = if mine {
        "Collection(accessReviewStage)".to_owned()
    } else {
        stages_context(definition, instance)
    };
    Ok(listing.answer(&context, &items, page.has_more))
}

/// `GET …/stages`.
pub async fn list_stages(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path(ids): Path<(String, String)>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    list(caller, root, state, ids, uri, query, false).await
}

/// `GET …/stages/filterByCurrentUser(on='reviewer')`: the stages in which
/// the caller reviews.
pub async fn my_stages(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path(ids): Path<(String, String)>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    list(caller, root, state, ids, uri, query, true).await
}

/// `GET …/stages/{id}`.
pub async fn get_stage(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path((definition, instance, stage)): Path<(String, String, String)>,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require(Permission::AccessReviewRead)?;
    let (definition, instance, stage) = (
        definition_id(&definition)?,
        instance_id(&instance)?,
        stage_id(&stage)?,
    );
    let options = EntityOptions::parse(&options(query)?, STAGE_PROPERTIES)?;
    let found = state
        .use_cases
        .read
        .stage(actor, definition, instance, stage)
        .await?;
    Ok(Json(odata::entity(
        root.context(&format!("{}/$entity", stages_context(definition, instance))),
        &StageDto::from(&found),
        options.select.as_deref(),
    )))
}

/// `POST …/stages/{id}/stop`: 204. Any body is ignored, as Graph's clients
/// send none or an empty JSON object.
pub async fn stop_stage(
    caller: Caller,
    State(state): State<AppState>,
    Path((definition, instance, stage)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let actor = caller.require(Permission::AccessReviewWrite)?;
    let (definition, instance, stage) = (
        definition_id(&definition)?,
        instance_id(&instance)?,
        stage_id(&stage)?,
    );
    state
        .use_cases
        .stop
        .execute(actor, definition, instance, stage)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
