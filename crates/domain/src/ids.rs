//! Identifiers. Each kind of object has its own newtype so that a stage id
//! can never be passed where an instance id is expected.

use std::fmt;

use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (version 4) id.
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }

            /// Wraps an id read from storage or a request path.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The underlying GUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Id of a `directoryAudit` record.
    AuditId
);
uuid_id!(
    /// Id of an `accessReviewScheduleDefinition`.
    DefinitionId
);
uuid_id!(
    /// Id of an `accessReviewInstance`.
    InstanceId
);
uuid_id!(
    /// Id of an `accessReviewStage` (the GUID in the URL, not the `stageId`
    /// of the stage settings, which is a [`crate::definition::StageKey`]).
    StageId
);
uuid_id!(
    /// Object id of a directory principal: a user, or an application's
    /// service principal (the `oid` claim of a token).
    PrincipalId
);
uuid_id!(
    /// Id of an `accessReviewInstanceDecisionItem`.
    DecisionItemId
);
uuid_id!(
    /// Id of an `accessReviewHistoryDefinition`.
    HistoryDefinitionId
);
uuid_id!(
    /// Id of an `accessReviewHistoryInstance`.
    HistoryInstanceId
);
