//! `…/instances/{id}/stages[/{id}]` and the stop action.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use serde_json::Value;

use super::{definition_id, instance_id, options, stage_id, stages_context};
use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::error::ApiError;
use crate::odata::{self, CollectionOptions, EntityOptions, ServiceRoot};
use crate::wire::{STAGE_PROPERTIES, StageDto};

/// `GET …/stages`.
pub async fn list_stages(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path((definition, instance)): Path<(String, String)>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require(Permission::Read)?;
    let (definition, instance) = (definition_id(&definition)?, instance_id(&instance)?);
    let raw = options(query)?;
    let options = CollectionOptions::parse(&raw, STAGE_PROPERTIES)?;
    let page = state
        .read
        .stages(actor, definition, instance, options.query)
        .await?;
    let items: Vec<_> = page.items.iter().map(StageDto::from).collect();
    let next = page
        .has_more
        .then(|| options.next_link(&root, uri.path(), &raw));
    Ok(Json(odata::collection(
        root.context(&stages_context(definition, instance)),
        &items,
        options.select.as_deref(),
        next,
    )))
}

/// `GET …/stages/{id}`.
pub async fn get_stage(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path((definition, instance, stage)): Path<(String, String, String)>,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require(Permission::Read)?;
    let (definition, instance, stage) = (
        definition_id(&definition)?,
        instance_id(&instance)?,
        stage_id(&stage)?,
    );
    let options = EntityOptions::parse(&options(query)?, STAGE_PROPERTIES)?;
    let found = state.read.stage(actor, definition, instance, stage).await?;
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
    let actor = caller.require(Permission::ReadWrite)?;
    let (definition, instance, stage) = (
        definition_id(&definition)?,
        instance_id(&instance)?,
        stage_id(&stage)?,
    );
    state
        .stop
        .execute(actor, definition, instance, stage)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
