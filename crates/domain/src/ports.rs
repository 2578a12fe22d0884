//! The ports: what the domain needs from the outside world. Adapters
//! implement them; use cases hold them as `Arc<dyn …>`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::definition::Definition;
use crate::ids::{DefinitionId, InstanceId, PrincipalId, StageId};
use crate::instance::Instance;
use crate::query::{ListQuery, Page};
use crate::stage::Stage;
use crate::stop::StopTransition;

/// An infrastructure failure, opaque to the domain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a repository call failed. The cause is kept for logs and never shown
/// to clients.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The store cannot be reached or has no free connection; worth a retry.
    #[error("the store is unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug, corrupt data, a constraint that should hold.
    #[error("the store failed")]
    Failed(#[source] BoxError),
}

/// A definition as created: its first instance, and that instance's first
/// stage when the definition has stage settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedReview {
    /// The definition.
    pub definition: Definition,
    /// Its first instance, started at creation.
    pub instance: Instance,
    /// The instance's first stage, if the definition has stages.
    pub first_stage: Option<Stage>,
}

/// How a committed stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// Every change of the transition was written.
    Committed,
    /// The stage was no longer `InProgress` when the write was attempted (a
    /// concurrent stop won); nothing was written.
    StageNoLongerInProgress,
}

/// Stores definitions.
#[async_trait]
pub trait DefinitionRepository: Send + Sync {
    /// Stores a new definition with its first instance and stage.
    ///
    /// # Errors
    /// MUST write all of it or nothing.
    async fn create(&self, review: &StartedReview) -> Result<(), RepositoryError>;

    /// The definition with this id, if any.
    async fn get(&self, id: DefinitionId) -> Result<Option<Definition>, RepositoryError>;

    /// A page of definitions, oldest first; only those created by
    /// `created_by` when it is given.
    async fn list(
        &self,
        query: ListQuery,
        created_by: Option<PrincipalId>,
    ) -> Result<Page<Definition>, RepositoryError>;
}

/// Stores instances.
#[async_trait]
pub trait InstanceRepository: Send + Sync {
    /// The instance, if it exists under that definition.
    async fn get(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<Option<Instance>, RepositoryError>;

    /// A page of the definition's instances, oldest first.
    async fn list(
        &self,
        definition_id: DefinitionId,
        query: ListQuery,
    ) -> Result<Page<Instance>, RepositoryError>;
}

/// Stores stages, and commits stops.
#[async_trait]
pub trait StageRepository: Send + Sync {
    /// The stage, if it exists under that instance.
    async fn get(
        &self,
        instance_id: InstanceId,
        stage_id: StageId,
    ) -> Result<Option<Stage>, RepositoryError>;

    /// A page of the instance's stages, in the order they were created.
    async fn list(
        &self,
        instance_id: InstanceId,
        query: ListQuery,
    ) -> Result<Page<Stage>, RepositoryError>;

    /// Every stage the instance has, in the order they were created.
    async fn all(&self, instance_id: InstanceId) -> Result<Vec<Stage>, RepositoryError>;

    /// Writes a planned stop: the stopped stage, the created stage and its
    /// carry-over, the instance and definition status, the audit record.
    ///
    /// # Errors
    /// MUST write all of it or nothing. MUST return
    /// [`StopOutcome::StageNoLongerInProgress`], writing nothing, when the
    /// stage is not `InProgress` in the store at the time of the write, so
    /// that of concurrent stops exactly one commits.
    async fn commit_stop(
        &self,
        transition: &StopTransition,
    ) -> Result<StopOutcome, RepositoryError>;
}

/// The time. A port so that tests control it.
pub trait Clock: Send + Sync {
    /// Now, in UTC, at the precision the store keeps.
    fn now(&self) -> DateTime<Utc>;
}
