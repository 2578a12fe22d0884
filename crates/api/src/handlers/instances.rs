//! `…/definitions/{id}/instances[/{id}]`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use serde_json::Value;

use super::paths::InstancePath;
use super::{definition_id, instance_id, instances_context, listing, options};
use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::error::ApiError;
use crate::odata::{self, EntityOptions, Filterable, ServiceRoot};
use crate::wire::{INSTANCE_PROPERTIES, InstanceDto};

/// `GET …/definitions/{id}/instances`.
pub async fn list_instances(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path(definition): Path<String>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require(Permission::AccessReviewRead)?;
    let definition = definition_id(&definition)?;
    let listing = listing(root, uri, query, INSTANCE_PROPERTIES, Filterable::Status)?;
    let page = state
        .use_cases
        .read
        .instances(actor, definition, listing.options.list_query())
        .await?;
    let items: Vec<_> = page.items.iter().map(InstanceDto::from).collect();
    Ok(listing.answer(&instances_context(definition), &items, page.has_more))
}

/// `GET …/definitions/{id}/instances/{id}`.
pub async fn get_instance(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path((definition, instance)): Path<(String, String)>,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require(Permission::AccessReviewRead)?;
    let (definition, instance) = (definition_id(&definition)?, instance_id(&instance)?);
    let options = EntityOptions::parse(&options(query)?, INSTANCE_PROPERTIES)?;
    let found = state
        .use_cases
        .read
        .instance(actor, definition, instance)
        .await?;
    Ok(Json(odata::entity(
        root.context(&format!("{}/$entity", instances_context(definition))),
        &InstanceDto::from(&found),
        options.select.as_deref(),
    )))
}

/// `POST …/instances/{id}/stop`: 204. Ends the instance now.
pub async fn stop_instance(
    caller: Caller,
    State(state): State<AppState>,
    path: InstancePath,
) -> Result<StatusCode, ApiError> {
    let actor = caller.require(Permission::AccessReviewWrite)?;
    state
        .use_cases
        .lifecycle
        .stop_instance(actor, path.definition, path.instance)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/instances/{id}/applyDecisions`: 204. Applies the decisions of a
/// completed instance.
pub async fn apply_decisions(
    caller: Caller,
    State(state): State<AppState>,
    path: InstancePath,
) -> Result<StatusCode, ApiError> {
    let actor = caller.require(Permission::AccessReviewWrite)?;
    state
        .use_cases
        .lifecycle
        .apply_decisions(actor, path.definition, path.instance)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/instances/{id}/sendReminder`: 204. Recorded; no mail is sent.
pub async fn send_reminder(
    caller: Caller,
    State(state): State<AppState>,
    path: InstancePath,
) -> Result<StatusCode, ApiError> {
    let actor = caller.require(Permission::AccessReviewWrite)?;
    state
        .use_cases
        .lifecycle
        .send_reminder(actor, path.definition, path.instance)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
