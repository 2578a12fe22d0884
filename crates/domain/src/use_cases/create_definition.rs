use std::sync::Arc;

use chrono::NaiveDate;

use crate::actor::Actor;
use crate::definition::{Definition, NewDefinition};
use crate::ids::DefinitionId;
use crate::instance::Instance;
use crate::ports::{Clock, DefinitionRepository, RepositoryError, StartedReview};
use crate::stage::Stage;
use crate::status::ReviewStatus;

/// Creates a definition and starts its first instance (and that instance's
/// first stage) at once.
pub struct CreateDefinition {
    definitions: Arc<dyn DefinitionRepository>,
    clock: Arc<dyn Clock>,
}

/// Why a definition was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateDefinitionError {
    /// The caller holds no role that may create access reviews.
    #[error("the caller may not create access reviews")]
    Forbidden,
    /// `settings.recurrence.range.startDate` lies in the future; starting
    /// later needs a scheduler, which the service does not have yet.
    #[error("scheduled starts are not supported")]
    ScheduledStart {
        /// The requested start.
        start_date: NaiveDate,
    },
    /// The store failed.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl CreateDefinition {
    /// Wires the use case.
    pub fn new(definitions: Arc<dyn DefinitionRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { definitions, clock }
    }

    /// Creates the definition; returns it with its first instance.
    ///
    /// # Errors
    /// [`CreateDefinitionError::Forbidden`] without a write role,
    /// [`CreateDefinitionError::ScheduledStart`] for a future start date,
    /// [`CreateDefinitionError::Repository`] when the store fails.
    pub async fn execute(
        &self,
        actor: &Actor,
        spec: NewDefinition,
    ) -> Result<StartedReview, CreateDefinitionError> {
        if !actor.may_create() {
            return Err(CreateDefinitionError::Forbidden);
        }
        let now = self.clock.now();
        if let Some(start_date) = spec
            .settings
            .recurrence
            .as_ref()
            .and_then(|r| r.start_date)
            .filter(|start| *start > now.date_naive())
        {
            return Err(CreateDefinitionError::ScheduledStart { start_date });
        }

        let definition = Definition {
            id: DefinitionId::new_random(),
            created_by: actor.as_creator(),
            created_date_time: now,
            last_modified_date_time: now,
            status: ReviewStatus::InProgress,
            spec,
        };
        let instance = Instance::start(
            definition.id,
            definition.spec.scope.clone(),
            definition.spec.reviewers.clone(),
            definition.spec.fallback_reviewers.clone(),
            now,
            definition.instance_duration(),
        );
        let first_stage = definition
            .spec
            .stage_plan
            .stages()
            .first()
            .map(|settings| Stage::start(instance.id, settings, now));
        let review = StartedReview {
            definition,
            instance,
            first_stage,
        };
        self.definitions.create(&review).await?;
        Ok(review)
    }
}
