//! Typed paths: each route's ids parsed and checked once, so that handlers
//! receive domain ids and never parse a segment by hand.

use access_reviews_domain::ids::{DefinitionId, InstanceId};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::{definition_id, instance_id};
use crate::error::ApiError;

/// `…/definitions/{definition}`.
pub struct DefinitionPath {
    /// The definition.
    pub definition: DefinitionId,
}

/// `…/definitions/{definition}/instances/{instance}`.
pub struct InstancePath {
    /// The definition.
    pub definition: DefinitionId,
    /// The instance.
    pub instance: InstanceId,
}

async fn segments<S: Send + Sync, T>(parts: &mut Parts, state: &S) -> Result<T, ApiError>
where
    Path<T>: FromRequestParts<S>,
{
    Path::<T>::from_request_parts(parts, state)
        .await
        .map(|Path(segments)| segments)
        // The router only calls a handler for a path that matched its
        // pattern, so the segments are always there.
        .map_err(|_| ApiError::internal())
}

impl<S: Send + Sync> FromRequestParts<S> for DefinitionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let definition: String = segments(parts, state).await?;
        Ok(Self {
            definition: definition_id(&definition)?,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for InstancePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let (definition, instance): (String, String) = segments(parts, state).await?;
        Ok(Self {
            definition: definition_id(&definition)?,
            instance: instance_id(&instance)?,
        })
    }
}
