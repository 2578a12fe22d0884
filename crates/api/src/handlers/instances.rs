//! `…/definitions/{id}/instances[/{id}]`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use serde_json::Value;

use super::{definition_id, instance_id, instances_context, options};
use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::error::ApiError;
use crate::odata::{self, CollectionOptions, EntityOptions, ServiceRoot};
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
    let actor = caller.require(Permission::Read)?;
    let definition = definition_id(&definition)?;
    let raw = options(query)?;
    let options = CollectionOptions::parse(&raw, INSTANCE_PROPERTIES)?;
    let page = state
        .read
        .instances(actor, definition, options.query)
        .await?;
    let items: Vec<_> = page.items.iter().map(InstanceDto::from).collect();
    let next = page
        .has_more
        .then(|| options.next_link(&root, uri.path(), &raw));
    Ok(Json(odata::collection(
        root.context(&instances_context(definition)),
        &items,
        options.select.as_deref(),
        next,
    )))
}

/// `GET …/definitions/{id}/instances/{id}`.
pub async fn get_instance(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path((definition, instance)): Path<(String, String)>,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require(Permission::Read)?;
    let (definition, instance) = (definition_id(&definition)?, instance_id(&instance)?);
    let options = EntityOptions::parse(&options(query)?, INSTANCE_PROPERTIES)?;
    let found = state.read.instance(actor, definition, instance).await?;
    Ok(Json(odata::entity(
        root.context(&format!("{}/$entity", instances_context(definition))),
        &InstanceDto::from(&found),
        options.select.as_deref(),
    )))
}
