//! `…/definitions/{id}/instances[/{id}]` and the instance actions.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri};
use serde_json::Value;

use super::paths::{DefinitionPath, InstancePath, ReviewerFilter};
use super::{instances_context, listing, options};
use crate::AppState;
use crate::auth::{Reader, Writer};
use crate::error::ApiError;
use crate::odata::{self, EntityOptions, Filterable, ServiceRoot};
use crate::wire::{INSTANCE_PROPERTIES, InstanceDto, REVIEWER_PROPERTIES, ReviewerDto};
use access_reviews_domain::decision::ReviewerOrder;

/// `GET …/definitions/{id}/instances`, and
/// `…/instances/filterByCurrentUser(on='reviewer')`: those in which the
/// caller reviews.
pub async fn list_instances(
    caller: Reader,
    path: DefinitionPath,
    ReviewerFilter(mine): ReviewerFilter,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let listing = listing(root, uri, query, INSTANCE_PROPERTIES, Filterable::Status)?;
    let page = state
        .use_cases
        .read
        .instances(
            caller.actor(),
            path.definition,
            listing.options.list_query(),
            mine,
        )
        .await?;
    let items: Vec<_> = page.items.iter().map(InstanceDto::from).collect();
    let context = if mine {
        "Collection(accessReviewInstance)".to_owned()
    } else {
        instances_context(path.definition)
    };
    Ok(listing.answer(&context, &items, page.has_more, page.total))
}

/// `GET …/definitions/{id}/instances/{id}`.
pub async fn get_instance(
    caller: Reader,
    path: InstancePath,
    root: ServiceRoot,
    State(state): State<AppState>,
    query: RawQuery,
) -> Result<odata::Entity, ApiError> {
    let options = EntityOptions::parse(&options(query)?, INSTANCE_PROPERTIES)?;
    let found = state
        .use_cases
        .read
        .instance(caller.actor(), path.definition, path.instance)
        .await?;
    Ok(odata::entity(
        root.context(&format!("{}/$entity", instances_context(path.definition))),
        &InstanceDto::from(&found),
        options.select.as_deref(),
    ))
}

/// `POST …/instances/{id}/stop`: 204. Ends the instance now.
pub async fn stop_instance(
    caller: Writer,
    path: InstancePath,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    state
        .use_cases
        .lifecycle
        .stop_instance(caller.actor(), path.definition, path.instance)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/instances/{id}/applyDecisions`: 204. Applies the decisions of a
/// completed instance.
pub async fn apply_decisions(
    caller: Writer,
    path: InstancePath,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    state
        .use_cases
        .lifecycle
        .apply_decisions(caller.actor(), path.definition, path.instance)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/instances/{id}/sendReminder`: 204. Recorded; no mail is sent.
pub async fn send_reminder(
    caller: Writer,
    path: InstancePath,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    state
        .use_cases
        .lifecycle
        .send_reminder(caller.actor(), path.definition, path.instance)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/instances/{id}/contactedReviewers`: everyone who reviews in the
/// instance (`accessReviewReviewer`), with `$top`, `$skip`, `$select` and
/// `$orderby` on `displayName` or `createdDateTime` (the default).
pub async fn contacted_reviewers(
    caller: Reader,
    path: InstancePath,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let raw = options(query)?;
    let (order, rest) = odata::split_order_by(&raw, &["displayName", "createdDateTime"])?;
    let (order, descending) = match order {
        Some(("displayName", descending)) => (ReviewerOrder::DisplayName, descending),
        Some((_, descending)) => (ReviewerOrder::Since, descending),
        None => (ReviewerOrder::Since, false),
    };
    let options = odata::CollectionOptions::parse(&rest, REVIEWER_PROPERTIES, Filterable::Nothing)?;
    let page = state
        .use_cases
        .read
        .contacted_reviewers(
            caller.actor(),
            path.definition,
            path.instance,
            order,
            descending,
            options.page,
        )
        .await?;
    let items: Vec<_> = page.items.iter().map(ReviewerDto::from).collect();
    let next = page
        .has_more
        .then(|| options.next_link(&root, uri.path(), &raw));
    let context = format!(
        "{}('{}')/contactedReviewers",
        instances_context(path.definition),
        path.instance
    );
    Ok(Json(odata::collection(
        root.context(&context),
        &items,
        options.select.as_deref(),
        next,
        page.total,
    )))
}

/// What a `PUT` of an instance may carry besides its reviewers: the
/// required, unchanged `scope` and the read-only properties a client that
/// read the instance sends back.
const INSTANCE_UPDATE_IGNORED: [&str; 7] = [
    "@odata.type",
    "@odata.context",
    "id",
    "scope",
    "startDateTime",
    "endDateTime",
    "status",
];

/// `PUT …/instances/{id}`: 200 with the instance. Only `reviewers` and
/// `fallbackReviewers` change; `scope` is required and not updated; a
/// fallback reviewer cannot be removed (409).
pub async fn update_instance(
    caller: Writer,
    path: InstancePath,
    root: ServiceRoot,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<odata::Entity, ApiError> {
    let object = crate::wire::only_reviewers(&body, &INSTANCE_UPDATE_IGNORED, "an instance")?;
    // Graph requires the scope, which does not change.
    if !object.contains_key("scope") {
        return Err(crate::wire::missing("scope"));
    }
    let (reviewers, fallback) =
        crate::wire::parse_json::<crate::wire::ReviewersUpdateBody>(&body)?.into_domain()?;
    let instance = state
        .use_cases
        .lifecycle
        .update_instance_reviewers(
            caller.actor(),
            path.definition,
            path.instance,
            reviewers,
            fallback,
        )
        .await?;
    Ok(odata::entity(
        root.context(&format!("{}/$entity", instances_context(path.definition))),
        &InstanceDto::from(&instance),
        None,
    ))
}
