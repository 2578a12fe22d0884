//! Handlers: extract, convert to the domain, call the use case, convert the
//! answer. No rules and no storage here.

pub mod definitions;
pub mod health;
pub mod instances;
pub mod stages;

use access_reviews_domain::ids::{DefinitionId, InstanceId, StageId};
use axum::extract::RawQuery;
use uuid::Uuid;

use crate::error::ApiError;
use crate::odata::RawOptions;

/// Path of the definitions collection.
pub const DEFINITIONS: &str = "/v1.0/identityGovernance/accessReviews/definitions";

/// The OData context path of a definition's instances.
fn instances_context(definition: DefinitionId) -> String {
    format!("identityGovernance/accessReviews/definitions('{definition}')/instances")
}

/// The OData context path of an instance's stages.
fn stages_context(definition: DefinitionId, instance: InstanceId) -> String {
    format!(
        "identityGovernance/accessReviews/definitions('{definition}')/instances('{instance}')/stages"
    )
}

fn guid(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::invalid_id(what, raw))
}

fn definition_id(raw: &str) -> Result<DefinitionId, ApiError> {
    guid(raw, "access review definition").map(DefinitionId::from_uuid)
}

fn instance_id(raw: &str) -> Result<InstanceId, ApiError> {
    guid(raw, "access review instance").map(InstanceId::from_uuid)
}

fn stage_id(raw: &str) -> Result<StageId, ApiError> {
    guid(raw, "access review stage").map(StageId::from_uuid)
}

/// The query string's pairs.
fn options(RawQuery(query): RawQuery) -> Result<RawOptions, ApiError> {
    serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
        .map_err(|_| ApiError::invalid("invalidQueryOption", "The query string is malformed."))
}
