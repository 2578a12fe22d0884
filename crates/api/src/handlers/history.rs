//! `…/accessReviews/historyDefinitions`: review history, and the download
//! of its reports (`/historyReports/{token}.csv`, no token needed: the link
//! is the secret, as Graph's download links are).

use access_reviews_domain::history::{DownloadToken, HistoryDefinition, HistoryInstance};
use access_reviews_domain::ids::{HistoryDefinitionId, HistoryInstanceId};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use uuid::Uuid;

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

fn definition_id(raw: &str) -> Result<HistoryDefinitionId, ApiError> {
    Uuid::parse_str(raw)
        .map(HistoryDefinitionId::from_uuid)
        .map_err(|_| ApiError::invalid_id("access review history definition", raw))
}

fn instance_id(raw: &str) -> Result<HistoryInstanceId, ApiError> {
    Uuid::parse_str(raw)
        .map(HistoryInstanceId::from_uuid)
        .map_err(|_| ApiError::invalid_id("access review history instance", raw))
}

/// The instance with the URL of its download while that works.
fn instance_dto(
    root: &ServiceRoot,
    definition: &HistoryDefinition,
    instance: &HistoryInstance,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> HistoryInstanceDto {
    let uri = instance
        .download
        .as_ref()
        .filter(|d| now.is_none_or(|now| now < d.expires))
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
    Path(id): Path<String>,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    EntityOptions::parse(&options(query)?, &[])?;
    let definition = state
        .use_cases
        .history
        .get(caller.actor(), definition_id(&id)?)
        .await?;
    Ok(Json(odata::entity(
        root.context(&format!("{CONTEXT}/$entity")),
        &HistoryDefinitionDto::from(&definition),
        None,
    )))
}

/// `GET …/historyDefinitions/{id}/instances`.
pub async fn instances(
    caller: Reader,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let raw = options(query)?;
    let listing = CollectionOptions::parse(&raw, &[], Filterable::Nothing)?;
    let history = &state.use_cases.history;
    let (definition, instances) = history
        .instances(caller.actor(), definition_id(&id)?)
        .await?;
    let now = history.now().await?;
    let items: Vec<_> = instances
        .iter()
        .map(|i| instance_dto(&root, &definition, i, Some(now)))
        .collect();
    Ok(Json(odata::collection(
        root.context(&format!("{CONTEXT}('{id}')/instances")),
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
    Path((id, instance)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (definition, instance) = state
        .use_cases
        .history
        .generate_download(caller.actor(), definition_id(&id)?, instance_id(&instance)?)
        .await?;
    Ok(Json(odata::entity(
        root.context("microsoft.graph.accessReviewHistoryInstance"),
        &instance_dto(&root, &definition, &instance, None),
        None,
    )))
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
