//! `…/instances/{id}/stages[/{id}]`, `filterByCurrentUser` and the stop
//! action.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri};
use serde_json::Value;

use super::paths::{InstancePath, ReviewerFilter, StagePath};
use super::{listing, options, stages_context};
use crate::AppState;
use crate::audit::Recorded;
use crate::auth::{Reader, Writer};
use crate::error::ApiError;
use crate::odata::{self, EntityOptions, Filterable, ServiceRoot};
use crate::wire::{ReviewersUpdateBody, STAGE_PROPERTIES, StageDto, parse_json};

/// `GET …/stages`, and `…/stages/filterByCurrentUser(on='reviewer')`: the
/// stages in which the caller reviews.
pub async fn list_stages(
    caller: Reader,
    path: InstancePath,
    ReviewerFilter(mine): ReviewerFilter,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let listing = listing(root, uri, query, STAGE_PROPERTIES, Filterable::Status)?;
    let page = state
        .use_cases
        .read
        .stages(
            caller.actor(),
            path.definition,
            path.instance,
            listing.options.list_query(),
            mine,
        )
        .await?;
    let items: Vec<_> = page.items.iter().map(StageDto::from).collect();
    let context = if mine {
        "Collection(accessReviewStage)".to_owned()
    } else {
        stages_context(path.definition, path.instance)
    };
    Ok(listing.answer(&context, &items, page.has_more, page.total))
}

/// `GET …/stages/{id}`.
pub async fn get_stage(
    caller: Reader,
    path: StagePath,
    root: ServiceRoot,
    State(state): State<AppState>,
    query: RawQuery,
) -> Result<odata::Entity, ApiError> {
    let options = EntityOptions::parse(&options(query)?, STAGE_PROPERTIES)?;
    let found = state
        .use_cases
        .read
        .stage(caller.actor(), path.definition, path.instance, path.stage)
        .await?;
    Ok(odata::entity(
        root.context(&format!(
            "{}/$entity",
            stages_context(path.definition, path.instance)
        )),
        &StageDto::from(&found),
        options.select.as_deref(),
    ))
}

/// `POST …/stages/{id}/stop`: 204. Any body is ignored, as Graph's clients
/// send none or an empty JSON object.
///
/// The request's audit record is committed with the stop.
pub async fn stop_stage(
    caller: Writer,
    path: StagePath,
    record: Recorded,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    let stop = &state.use_cases.stop;
    let (actor, d, i, s) = (caller.actor(), path.definition, path.instance, path.stage);
    match record.success(StatusCode::NO_CONTENT) {
        Some(request) => stop.execute_recorded(actor, d, i, s, request).await?,
        None => stop.execute(actor, d, i, s).await?,
    };
    record.written();
    Ok(StatusCode::NO_CONTENT)
}

/// What a stage's `PATCH` may carry besides its reviewers.
const STAGE_UPDATE_IGNORED: [&str; 2] = ["@odata.type", "id"];

/// `PATCH …/stages/{id}`: 200 with the stage. Only `reviewers` and
/// `fallbackReviewers` change; a fallback reviewer cannot be removed (409).
pub async fn update_stage(
    caller: Writer,
    path: StagePath,
    root: ServiceRoot,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<odata::Entity, ApiError> {
    crate::wire::only_reviewers(&body, &STAGE_UPDATE_IGNORED, "a stage")?;
    let (reviewers, fallback) = parse_json::<ReviewersUpdateBody>(&body)?.into_domain()?;
    let stage = state
        .use_cases
        .lifecycle
        .update_stage_reviewers(
            caller.actor(),
            path.definition,
            path.instance,
            path.stage,
            reviewers,
            fallback,
        )
        .await?;
    Ok(odata::entity(
        root.context(&format!(
            "{}/$entity",
            stages_context(path.definition, path.instance)
        )),
        &StageDto::from(&stage),
        None,
    ))
}
