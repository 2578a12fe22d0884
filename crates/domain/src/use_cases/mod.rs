//! The operations the service offers, one struct each. Every use case
//! checks the caller's rights on the object, applies the domain's rules and
//! returns a typed error that the HTTP adapter maps exhaustively.

mod create_definition;
mod read;
mod stop_stage;

pub use create_definition::{CreateDefinition, CreateDefinitionError};
pub use read::{ReadError, ReadReviews};
pub use stop_stage::{StopStage, StopStageError};

use crate::ids::{DefinitionId, InstanceId, StageId};

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
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Definition(id) => write!(f, "access review definition {id}"),
            Self::Instance(id) => write!(f, "access review instance {id}"),
            Self::Stage(id) => write!(f, "access review stage {id}"),
        }
    }
}

#[cfg(test)]
mod tests;
