//! The operations the service offers, one struct each. Every use case
//! checks the caller's rights on the object, applies the domain's rules and
//! returns a typed error that the HTTP adapter maps exhaustively.

mod create_definition;
mod decisions;
mod directory;
mod read;
mod reviewers;
mod stop_stage;

pub use create_definition::{CreateDefinition, CreateDefinitionError, ReviewerField};
pub use decisions::{DecisionError, DecisionTarget, Decisions, NewReview};
pub use directory::{DirectoryError, ManageDirectory, NewGroup, NewUser};
pub use read::{ReadError, ReadReviews};
pub use stop_stage::{StopStage, StopStageError};

use crate::ids::{DecisionItemId, DefinitionId, InstanceId, PrincipalId, StageId};

/// The object of a request that does not exist (or not under the parent the
/// path names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The definition.
    Definition(DefinitionId),
    /// The instance, under its definition.
    Instance(InstanceId),
    /// The stage, under its instance.
    Stage(StageId),
    /// The decision item, under its instance or stage.
    DecisionItem(DecisionItemId),
    /// The user.
    User(PrincipalId),
    /// The group.
    Group(PrincipalId),
    /// The user or group.
    DirectoryObject(PrincipalId),
    /// The user's manager (the user has none).
    Manager(PrincipalId),
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Definition(id) => write!(f, "access review definition {id}"),
            Self::Instance(id) => write!(f, "access review instance {id}"),
            Self::Stage(id) => write!(f, "access review stage {id}"),
            Self::DecisionItem(id) => write!(f, "decision item {id}"),
            Self::User(id) => write!(f, "user {id}"),
            Self::Group(id) => write!(f, "group {id}"),
            Self::DirectoryObject(id) => write!(f, "directory object {id}"),
            Self::Manager(id) => write!(f, "manager of user {id}"),
        }
    }
}

#[cfg(test)]
mod decision_tests;
#[cfg(test)]
mod tests;
