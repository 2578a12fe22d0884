//! `…/accessReviews/historyDefinitions`: review history, and the download
//! of its reports (`/historyReports/{token}.csv`, no token needed: the link
//! is the secret, as Graph's download links are).

use access_reviews_domain::history::{DownloadToken, HistoryDefinition, HistoryInstance};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::paths::{HistoryInstancePath, HistoryPath};
use super::{created, options};
use crate::AppState;
use crate::auth::{Reader, Writer};
use crate::error::ApiError;
use crate::odata::{self, CollectionOptions, EntityOptions, Filterable, ServiceRoot};
use crate::wire::history::{HistoryDefinitionBody, HistoryDefinitionDto, HistoryInstanceDto, csv};
use crate::wire::parse_json;

/// The collection's path.
pub const HISTORY: &str = "/v1.0/identityGovernance/accessReviews/historyDefinitions";
const CONTEXT: &str = "identityGovernance/accessReviews/historyDefinitions";
/// Where reports are downloaded, outside `/v1.0`: no bearer token.
pub const REPORTS: &str = "/historyReports";

/// The instance with the URL of its download link, if it has one.
fn instance_dto(
    root: &ServiceRoot,
    definition: &HistoryDefinition,
    instance: &HistoryInstance,
) -> HistoryInstanceDto {
    let uri = instance
        .download
        .as_ref()
        .map(|d| root.url(&format!("{REPORTS}/{}.csv", d.token.as_str())));
    HistoryInstanceDto::new(definition, instance, uri)
}

/// `POST …/historyDefinitions`: 201 with the definition and its
/// `Location`; its report is collected at once.
pub async fn create(
    caller: Writer,
    root: ServiceRoot,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let spec = parse_json::<HistoryDefinitionBody>(&body)?.into_domain()?;
    let (definition, _) = state.use_cases.history.create(caller.actor(), spec).await?;
    let body = odata::entity(
        root.context(&format!("{CONTEXT}/$entity")),
        &HistoryDefinitionDto::from(&definition),
        None,
    );
    Ok(created(
        root.url(&format!("{HISTORY}/{}", definition.id)),
        body,
    ))
}

/// `GET …/historyDefinitions`: those of the last 30 days.
pub async fn list(
    caller: Reader,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let raw = options(query)?;
    let listing = CollectionOptions::parse(&raw, &[], Filterable::Nothing)?;
    let found = state
        .use_cases
        .history
        .list(caller.actor(), listing.page)
        .await?;
    let items: Vec<_> = found.items.iter().map(HistoryDefinitionDto::from).collect();
    let next = found
        .has_more
        .then(|| listing.next_link(&root, uri.path(), &raw));
    Ok(Json(odata::collection(
        root.context(CONTEXT),
        &items,
        None,
        next,
        found.total,
    )))
}

/// `GET …/historyDefinitions/{id}`.
pub async fn get(
    caller: Reader,
    root: ServiceRoot,
    State(state): State<AppState>,
    path: HistoryPath,
    query: RawQuery,
) -> Result<odata::Entity, ApiError> {
    EntityOptions::parse(&options(query)?, &[])?;
    let definition = state
        .use_cases
        .history
        .get(caller.actor(), path.history)
        .await?;
    Ok(odata::entity(
        root.context(&format!("{CONTEXT}/$entity")),
        &HistoryDefinitionDto::from(&definition),
        None,
    ))
}

/// `GET …/historyDefinitions/{id}/instances`.
pub async fn instances(
    caller: Reader,
    root: ServiceRoot,
    State(state): State<AppState>,
    path: HistoryPath,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let raw = options(query)?;
    let listing = CollectionOptions::parse(&raw, &[], Filterable::Nothing)?;
    let (definition, instances) = state
        .use_cases
        .history
        .instances(caller.actor(), path.history)
        .await?;
    let items: Vec<_> = instances
        .iter()
        .map(|i| instance_dto(&root, &definition, i))
        .collect();
    Ok(Json(odata::collection(
        root.context(&format!("{CONTEXT}('{}')/instances", path.history)),
        &items,
        None,
        None,
        listing.page.count().then_some(items.len() as u64),
    )))
}

/// `POST …/historyDefinitions/{id}/instances/{id}/generateDownloadUri`:
/// 200 with the instance and its new `downloadUri`.
pub async fn generate_download_uri(
    caller: Writer,
    root: ServiceRoot,
    State(state): State<AppState>,
    path: HistoryInstancePath,
) -> Result<odata::Entity, ApiError> {
    let (definition, instance) = state
        .use_cases
        .history
        .generate_download(caller.actor(), path.history, path.instance)
        .await?;
    Ok(odata::entity(
        root.context("microsoft.graph.accessReviewHistoryInstance"),
        &instance_dto(&root, &definition, &instance),
        None,
    ))
}

/// `GET /historyReports/{token}.csv`: the report, while its link works.
pub async fn download(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let token = file
        .strip_suffix(".csv")
        .and_then(DownloadToken::parse)
        .ok_or_else(|| ApiError::not_found("The download link is unknown or has expired."))?;
    let report = state.use_cases.history.download(&token).await?;
    let name = report
        .definition
        .spec
        .display_name
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == ' ' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{name}-{}.csv\"",
                    report.definition.id
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        csv(&report),
    )
        .into_response())
}
