//! Typed paths: each route's ids parsed and checked once, by name, so that
//! handlers receive domain ids and never parse a segment by hand. A
//! malformed id is a `400` `invalidId` naming the kind of object.

use std::collections::HashMap;

use access_reviews_domain::ids::{
    DecisionItemId, DefinitionId, HistoryDefinitionId, HistoryInstanceId, InstanceId, PrincipalId,
    StageId,
};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use uuid::Uuid;

use crate::error::ApiError;

/// The route's named segments.
struct Segments(HashMap<String, String>);

impl Segments {
    async fn of<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Path(map)| Self(map))
            // Segments are text the router matched; decoding them fails
            // only on invalid UTF-8 in a percent-encoding.
            .map_err(|_| ApiError::invalid("invalidId", "A path segment is not valid UTF-8."))
    }

    fn guid(&self, name: &str, what: &str) -> Result<Uuid, ApiError> {
        // The router only calls a handler whose pattern names the segment.
        let raw = self.0.get(name).map_or("", String::as_str);
        Uuid::parse_str(raw).map_err(|_| ApiError::invalid_id(what, raw))
    }

    fn definition(&self) -> Result<DefinitionId, ApiError> {
        self.guid("definition", "access review definition")
            .map(DefinitionId::from_uuid)
    }

    fn instance(&self) -> Result<InstanceId, ApiError> {
        self.guid("instance", "access review instance")
            .map(InstanceId::from_uuid)
    }

    fn stage(&self) -> Result<StageId, ApiError> {
        self.guid("stage", "access review stage")
            .map(StageId::from_uuid)
    }

    fn item(&self) -> Result<DecisionItemId, ApiError> {
        self.guid("item", "decision item")
            .map(DecisionItemId::from_uuid)
    }
}

macro_rules! typed_path {
    ($(#[$doc:meta])* $name:ident { $($(#[$field_doc:meta])* $field:ident: $type:ty = $parse:expr),* $(,)? }) => {
        $(#[$doc])*
        pub struct $name {
            $($(#[$field_doc])* pub $field: $type,)*
        }

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                let segments = Segments::of(parts, state).await?;
                Ok(Self { $($field: $parse(&segments)?,)* })
            }
        }
    };
}

typed_path!(
    /// `…/definitions/{definition}`.
    DefinitionPath {
        /// The definition.
        definition: DefinitionId = Segments::definition,
    }
);

typed_path!(
    /// `…/definitions/{definition}/instances/{instance}`.
    InstancePath {
        /// The definition.
        definition: DefinitionId = Segments::definition,
        /// The instance.
        instance: InstanceId = Segments::instance,
    }
);

typed_path!(
    /// `…/instances/{instance}/stages/{stage}`.
    StagePath {
        /// The definition.
        definition: DefinitionId = Segments::definition,
        /// The instance.
        instance: InstanceId = Segments::instance,
        /// The stage.
        stage: StageId = Segments::stage,
    }
);

typed_path!(
    /// `…/instances/{instance}/decisions/{item}`.
    InstanceItemPath {
        /// The definition.
        definition: DefinitionId = Segments::definition,
        /// The instance.
        instance: InstanceId = Segments::instance,
        /// The decision item.
        item: DecisionItemId = Segments::item,
    }
);

typed_path!(
    /// `…/stages/{stage}/decisions/{item}`.
    StageItemPath {
        /// The definition.
        definition: DefinitionId = Segments::definition,
        /// The instance.
        instance: InstanceId = Segments::instance,
        /// The stage.
        stage: StageId = Segments::stage,
        /// The decision item.
        item: DecisionItemId = Segments::item,
    }
);

typed_path!(
    /// `/users/{user}`.
    UserPath {
        /// The user.
        user: PrincipalId = |s: &Segments| s.guid("user", "user").map(PrincipalId::from_uuid),
    }
);

typed_path!(
    /// `/groups/{group}`.
    GroupPath {
        /// The group.
        group: PrincipalId = |s: &Segments| s.guid("group", "group").map(PrincipalId::from_uuid),
    }
);

typed_path!(
    /// `/groups/{group}/members/{member}`.
    GroupMemberPath {
        /// The group.
        group: PrincipalId = |s: &Segments| s.guid("group", "group").map(PrincipalId::from_uuid),
        /// The member.
        member: PrincipalId = |s: &Segments| {
            s.guid("member", "directory object").map(PrincipalId::from_uuid)
        },
    }
);

typed_path!(
    /// `…/historyDefinitions/{history}`.
    HistoryPath {
        /// The history definition.
        history: HistoryDefinitionId = |s: &Segments| {
            s.guid("history", "access review history definition")
                .map(HistoryDefinitionId::from_uuid)
        },
    }
);

typed_path!(
    /// `…/historyDefinitions/{history}/instances/{instance}`.
    HistoryInstancePath {
        /// The history definition.
        history: HistoryDefinitionId = |s: &Segments| {
            s.guid("history", "access review history definition")
                .map(HistoryDefinitionId::from_uuid)
        },
        /// Its instance.
        instance: HistoryInstanceId = |s: &Segments| {
            s.guid("instance", "access review history instance")
                .map(HistoryInstanceId::from_uuid)
        },
    }
);

/// Whether the route is Graph's `filterByCurrentUser(on='reviewer')`
/// function over a collection: the same handler answers both, narrowed to
/// what the caller reviews.
pub struct ReviewerFilter(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for ReviewerFilter {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mine = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .is_some_and(|path| path.as_str().contains("filterByCurrentUser"));
        Ok(Self(mine))
    }
}
