//! Handlers: extract, convert to the domain, call the use case, convert the
//! answer. No rules and no storage here.

pub mod audit_logs;
pub mod decisions;
pub mod definitions;
pub mod directory;
pub mod health;
pub mod history;
pub mod instances;
pub mod paths;
pub mod stages;
pub mod testing;
pub mod unknown;

use access_reviews_domain::ids::{DefinitionId, InstanceId};
use axum::Json;
use axum::extract::RawQuery;
use axum::http::Uri;
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::odata::{self, CollectionOptions, RawOptions, ServiceRoot};

/// A collection request's context: where it was sent and what it asked.
pub(crate) struct Listing {
    root: ServiceRoot,
    uri: Uri,
    raw: RawOptions,
    options: CollectionOptions,
}

impl Listing {
    /// Answers a page: `@odata.context`, `value` (narrowed by `$select`) and
    /// `@odata.nextLink` when more follow.
    fn answer<T: Serialize>(
        &self,
        context: &str,
        items: &[T],
        has_more: bool,
        total: Option<u64>,
    ) -> Json<Value> {
        let next = has_more.then(|| {
            self.options
                .next_link(&self.root, self.uri.path(), &self.raw)
        });
        Json(odata::collection(
            self.root.context(context),
            items,
            self.options.select.as_deref(),
            next,
            total,
        ))
    }
}

/// Parses a collection request's query options.
fn listing(
    root: ServiceRoot,
    uri: Uri,
    query: RawQuery,
    properties: &'static [&'static str],
    filterable: odata::Filterable,
) -> Result<Listing, ApiError> {
    let raw = options(query)?;
    let options = CollectionOptions::parse(&raw, properties, filterable)?;
    Ok(Listing {
        root,
        uri,
        raw,
        options,
    })
}

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

/// `201 Created`: the new object at `location`, in `body`.
fn created(location: String, body: crate::odata::Entity) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (
        axum::http::StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        body,
    )
        .into_response()
}

/// The query string's pairs.
fn options(RawQuery(query): RawQuery) -> Result<RawOptions, ApiError> {
    serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
        .map_err(|_| ApiError::invalid("invalidQueryOption", "The query string is malformed."))
}
