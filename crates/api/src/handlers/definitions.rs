//! `…/accessReviews/definitions[/{id}]`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;

use super::paths::{DefinitionPath, ReviewerFilter};
use super::{DEFINITIONS, created, listing, options};
use crate::AppState;
use crate::auth::{Reader, Writer};
use crate::error::ApiError;
use crate::odata::{self, EntityOptions, Filterable, ServiceRoot};
use crate::wire::{DEFINITION_PROPERTIES, DefinitionBody, DefinitionDto, parse_json};

const CONTEXT: &str = "identityGovernance/accessReviews/definitions";

/// `POST …/definitions`: 201 with the definition and its `Location`.
pub async fn create_definition(
    caller: Writer,
    root: ServiceRoot,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let spec = parse_json::<DefinitionBody>(&body)?.into_domain()?;
    let outcome = state.use_cases.create.execute(caller.actor(), spec).await?;
    let definition = outcome.definition();
    let body = odata::entity(
        root.context(&format!("{CONTEXT}/$entity")),
        &DefinitionDto::from(definition),
        None,
    );
    Ok(created(
        root.url(&format!("{DEFINITIONS}/{}", definition.id)),
        body,
    ))
}

/// `GET …/definitions`, and `…/definitions/filterByCurrentUser(on='reviewer')`:
/// those in any of whose instances the caller reviews.
pub async fn list_definitions(
    caller: Reader,
    ReviewerFilter(mine): ReviewerFilter,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let listing = listing(
        root,
        uri,
        query,
        DEFINITION_PROPERTIES,
        Filterable::Definition,
    )?;
    let read = &state.use_cases.read;
    let (page, context) = if mine {
        let page = read
            .definitions_reviewed(caller.actor(), listing.options.list_query())
            .await?;
        (page, "Collection(accessReviewScheduleDefinition)")
    } else {
        let page = read
            .definitions(caller.actor(), listing.options.list_query())
            .await?;
        (page, CONTEXT)
    };
    let items: Vec<_> = page.items.iter().map(DefinitionDto::from).collect();
    Ok(listing.answer(context, &items, page.has_more, page.total))
}

/// `GET …/definitions/{id}`.
pub async fn get_definition(
    caller: Reader,
    path: DefinitionPath,
    root: ServiceRoot,
    State(state): State<AppState>,
    query: RawQuery,
) -> Result<odata::Entity, ApiError> {
    let options = EntityOptions::parse(&options(query)?, DEFINITION_PROPERTIES)?;
    let definition = state
        .use_cases
        .read
        .definition(caller.actor(), path.definition)
        .await?;
    Ok(odata::entity(
        root.context(&format!("{CONTEXT}/$entity")),
        &DefinitionDto::from(&definition),
        options.select.as_deref(),
    ))
}

/// `POST …/definitions/{id}/stop`: 204. Ends the instance in progress and
/// the definition.
pub async fn stop_definition(
    caller: Writer,
    path: DefinitionPath,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    state
        .use_cases
        .lifecycle
        .stop_definition(caller.actor(), path.definition)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT …/definitions/{id}`: 204. The body is the whole definition, as
/// Graph expects; it applies to instances started from now on.
pub async fn update_definition(
    caller: Writer,
    path: DefinitionPath,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let body = parse_json::<DefinitionBody>(&body)?;
    let stages_sent = body.names_stages();
    let spec = body.into_domain()?;
    state
        .use_cases
        .create
        .update(caller.actor(), path.definition, spec, stages_sent)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE …/definitions/{id}`: 204. The definition and everything below
/// it go; the audit log keeps its records.
pub async fn delete_definition(
    caller: Writer,
    path: DefinitionPath,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    state
        .use_cases
        .lifecycle
        .delete_definition(caller.actor(), path.definition)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
