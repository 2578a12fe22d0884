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

use crate::definition::Definition;
use crate::ids::{DecisionItemId, DefinitionId, InstanceId, PrincipalId, StageId};
use crate::instance::Instance;
use crate::ports::{DefinitionRepository, InstanceRepository, RepositoryError};

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

/// Why the objects a request's path names could not be loaded; each use
/// case's error has a variant for either case.
pub(crate) enum Lookup {
    Missing(Missing),
    Repository(RepositoryError),
}

impl From<RepositoryError> for Lookup {
    fn from(error: RepositoryError) -> Self {
        Self::Repository(error)
    }
}

/// The definition, or [`Missing::Definition`].
pub(crate) async fn find_definition(
    definitions: &dyn DefinitionRepository,
    id: DefinitionId,
) -> Result<Definition, Lookup> {
    definitions
        .get(id)
        .await?
        .ok_or(Lookup::Missing(Missing::Definition(id)))
}

/// The definition and its instance, or what is missing of them.
pub(crate) async fn find_instance(
    definitions: &dyn DefinitionRepository,
    instances: &dyn InstanceRepository,
    definition_id: DefinitionId,
    instance_id: InstanceId,
) -> Result<(Definition, Instance), Lookup> {
    let definition = find_definition(definitions, definition_id).await?;
    let instance = instances
        .get(definition_id, instance_id)
        .await?
        .ok_or(Lookup::Missing(Missing::Instance(instance_id)))?;
    Ok((definition, instance))
}

macro_rules! from_lookup {
    ($($error:ty),*) => {$(
        impl From<Lookup> for $error {
            fn from(lookup: Lookup) -> Self {
                match lookup {
                    Lookup::Missing(what) => Self::NotFound(what),
                    Lookup::Repository(e) => Self::Repository(e),
                }
            }
        }
    )*};
}

from_lookup!(StopStageError, ReadError, DecisionError);
