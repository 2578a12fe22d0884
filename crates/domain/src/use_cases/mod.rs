//! The operations the service offers, one struct each. Every use case
//! checks the caller's rights on the object, applies the domain's rules and
//! returns a typed error that the HTTP adapter maps exhaustively.

mod audit_logs;
mod create_definition;
mod decisions;
mod directory;
mod history;
mod lifecycle;
mod read;
mod reviewers;
mod stop_stage;

pub use audit_logs::{AuditError, AuditLogs, Outcome, RequestRecord};
pub use create_definition::{
    CreateDefinition, CreateDefinitionError, Created, FixedProperty, ReviewerField,
};
pub use decisions::{DecisionError, DecisionTarget, Decisions, NewReview};
pub use directory::{DirectoryError, ManageDirectory, NewGroup, NewUser};
pub use history::{History, HistoryError, Report};
pub use lifecycle::{Lifecycle, LifecycleError, PassReport};
pub use read::{ReadError, ReadReviews};
pub use stop_stage::{StopStage, StopStageError};

pub use crate::ports::Missing;

use std::sync::Arc;

use crate::definition::Definition;
use crate::ids::{DefinitionId, InstanceId};
use crate::instance::Instance;
use crate::ports::{
    AuditTrail, Clock, ClockControl, DecisionRepository, DefinitionRepository, DirectoryRepository,
    HistoryRepository, InstanceRepository, LifecycleRepository, RepositoryError, ReviewReads,
    StageRepository,
};

/// Every port the use cases need, filled once by the composition root (or
/// by a test) and handed to [`UseCases::new`].
#[derive(Clone)]
pub struct Ports {
    /// Definitions.
    pub definitions: Arc<dyn DefinitionRepository>,
    /// Instances.
    pub instances: Arc<dyn InstanceRepository>,
    /// Stages and stops.
    pub stages: Arc<dyn StageRepository>,
    /// Users and groups.
    pub directory: Arc<dyn DirectoryRepository>,
    /// Decision items.
    pub decisions: Arc<dyn DecisionRepository>,
    /// The review in time.
    pub lifecycle: Arc<dyn LifecycleRepository>,
    /// Reads along a review's path, with what rights depend on.
    pub reads: Arc<dyn ReviewReads>,
    /// The audit log.
    pub audit: Arc<dyn AuditTrail>,
    /// Review history.
    pub history: Arc<dyn HistoryRepository>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Moving the test clock; `None` unless the clock control is enabled.
    pub clock_control: Option<Arc<dyn ClockControl>>,
}

/// A store that implements every repository port at once.
pub trait Repository:
    DefinitionRepository
    + InstanceRepository
    + StageRepository
    + DirectoryRepository
    + DecisionRepository
    + LifecycleRepository
    + ReviewReads
    + AuditTrail
    + HistoryRepository
    + 'static
{
}

impl<R> Repository for R where
    R: DefinitionRepository
        + InstanceRepository
        + StageRepository
        + DirectoryRepository
        + DecisionRepository
        + LifecycleRepository
        + ReviewReads
        + AuditTrail
        + HistoryRepository
        + 'static
{
}

impl Ports {
    /// Every repository port from one store, with a clock and no clock
    /// control.
    pub fn from_repository<R: Repository>(store: Arc<R>, clock: Arc<dyn Clock>) -> Self {
        Self {
            definitions: store.clone(),
            instances: store.clone(),
            stages: store.clone(),
            directory: store.clone(),
            decisions: store.clone(),
            lifecycle: store.clone(),
            reads: store.clone(),
            audit: store.clone(),
            history: store,
            clock,
            clock_control: None,
        }
    }

    /// The same ports with a clock control.
    pub fn with_clock_control(mut self, control: Arc<dyn ClockControl>) -> Self {
        self.clock_control = Some(control);
        self
    }
}

/// Every use case, wired from one set of ports.
pub struct UseCases {
    /// Creating and updating definitions.
    pub create: CreateDefinition,
    /// Stopping stages.
    pub stop: StopStage,
    /// Reading definitions, instances and stages.
    pub read: ReadReviews,
    /// Decision items and decisions.
    pub decisions: Decisions,
    /// Users and groups.
    pub directory: ManageDirectory,
    /// The review in time: the schedule, instance and definition actions,
    /// applying decisions, the test clock.
    pub lifecycle: Lifecycle,
    /// The audit log.
    pub audit: AuditLogs,
    /// Review history and its reports.
    pub history: History,
}

impl UseCases {
    /// Wires every use case.
    pub fn new(ports: &Ports) -> Self {
        Self {
            create: CreateDefinition::new(ports),
            stop: StopStage::new(ports),
            read: ReadReviews::new(ports),
            decisions: Decisions::new(ports),
            directory: ManageDirectory::new(ports),
            lifecycle: Lifecycle::new(ports),
            audit: AuditLogs::new(ports),
            history: History::new(ports),
        }
    }
}

#[cfg(test)]
mod decision_tests;
#[cfg(test)]
mod lifecycle_tests;
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
    // As the instance runs it: an update after it started changes later
    // instances only.
    let definition = definitions
        .get_for_instance(definition_id, instance_id)
        .await?
        .ok_or(Lookup::Missing(Missing::Definition(definition_id)))?;
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

from_lookup!(StopStageError, ReadError, DecisionError, LifecycleError);
