//! `GET /auditLogs/directoryAudits[/{id}]`: the audit log, read only.

use access_reviews_domain::ids::AuditId;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use serde_json::Value;
use uuid::Uuid;

use super::options;
use crate::AppState;
use crate::auth::{AuditRead, Authorized};
use crate::error::ApiError;
use crate::odata::{self, ServiceRoot};
use crate::wire::audit::DirectoryAuditDto;

const CONTEXT: &str = "auditLogs/directoryAudits";

/// `GET /auditLogs/directoryAudits`: newest first unless `$orderby` says
/// otherwise.
pub async fn list(
    caller: Authorized<AuditRead>,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let raw = options(query)?;
    let (query, page) = odata::audit_query(&raw)?;
    let found = state.use_cases.audit.list(caller.actor(), &query).await?;
    let items: Vec<_> = found.items.iter().map(DirectoryAuditDto::from).collect();
    let next = found
        .has_more
        .then(|| odata::next_link(page, &root, uri.path(), &raw));
    Ok(Json(odata::collection(
        root.context(CONTEXT),
        &items,
        None,
        next,
        found.total,
    )))
}

/// `GET /auditLogs/directoryAudits/{id}`.
pub async fn get(
    caller: Authorized<AuditRead>,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: RawQuery,
) -> Result<odata::Entity, ApiError> {
    odata::EntityOptions::parse(&options(query)?, &[])?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::invalid_id("audit record", &id))?;
    let entry = state
        .use_cases
        .audit
        .get(caller.actor(), AuditId::from_uuid(id))
        .await?;
    Ok(odata::entity(
        root.context(&format!("{CONTEXT}/$entity")),
        &DirectoryAuditDto::from(&entry),
        None,
    ))
}
