use std::sync::Arc;

use chrono::NaiveDate;

use crate::actor::Actor;
use crate::definition::{Definition, NewDefinition};
use crate::ids::{DefinitionId, PrincipalId};
use crate::instance::Instance;
use crate::ports::{
    Clock, DefinitionRepository, DirectoryRepository, RepositoryError, StartedReview,
};
use crate::stage::Stage;
use crate::status::ReviewStatus;
use crate::use_cases::Ports;
use crate::use_cases::reviewers::{ResolveError, ScopeError, resolve_items, resolve_rules};

/// Creates a definition and starts its first instance at once: its decision
/// items (one per user in the scope) and its first stage.
pub struct CreateDefinition {
    definitions: Arc<dyn DefinitionRepository>,
    directory: Arc<dyn DirectoryRepository>,
    clock: Arc<dyn Clock>,
}

/// Which reviewer list entry: of the definition (`stage` is `None`) or of a
/// stage (its index in `stageSettings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewerField {
    /// The stage's index in `stageSettings`, or `None` for the definition.
    pub stage: Option<usize>,
    /// `fallbackReviewers` rather than `reviewers`.
    pub fallback: bool,
    /// The entry's index in its list.
    pub index: usize,
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
    /// The scope's query is not one the service can resolve.
    #[error("the scope query is not supported")]
    ScopeNotSupported,
    /// The scope names a group that does not exist.
    #[error("the scope names an unknown group")]
    ScopeGroupNotFound(PrincipalId),
    /// A reviewer query is not one the service can resolve.
    #[error("a reviewer query is not supported")]
    ReviewerNotSupported(ReviewerField),
    /// A reviewer query names a user or group that does not exist.
    #[error("a reviewer query names an unknown user or group")]
    ReviewerNotFound(ReviewerField),
    /// The store failed.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

fn reviewer_error(stage: Option<usize>, error: ResolveError) -> CreateDefinitionError {
    match error {
        ResolveError::Unsupported { fallback, index } => {
            CreateDefinitionError::ReviewerNotSupported(ReviewerField {
                stage,
                fallback,
                index,
            })
        }
        ResolveError::NotFound { fallback, index } => {
            CreateDefinitionError::ReviewerNotFound(ReviewerField {
                stage,
                fallback,
                index,
            })
        }
        ResolveError::Repository(e) => e.into(),
    }
}

impl CreateDefinition {
    /// Wires the use case.
    pub fn new(ports: &Ports) -> Self {
        Self {
            definitions: ports.definitions.clone(),
            directory: ports.directory.clone(),
            clock: ports.clock.clone(),
        }
    }

    /// Creates the definition; returns it with its first instance.
    ///
    /// Every reviewer scope is resolved now, so that a review cannot fail
    /// later on a query the service does not understand; the first phase's
    /// reviewers are kept, later stages resolve theirs when created.
    ///
    /// # Errors
    /// See [`CreateDefinitionError`].
    pub async fn execute(
        &self,
        actor: &Actor,
        spec: NewDefinition,
    ) -> Result<StartedReview, CreateDefinitionError> {
        if !actor.may_create() {
            return Err(CreateDefinitionError::Forbidden);
        }
        let now = self.clock.now().await?;
        if let Some(start_date) = spec
            .settings
            .recurrence
            .as_ref()
            .and_then(|r| r.start_date)
            .filter(|start| *start > now.date_naive())
        {
            return Err(CreateDefinitionError::ScheduledStart { start_date });
        }

        let directory = &*self.directory;
        let instance_level = resolve_rules(directory, &spec.reviewers, &spec.fallback_reviewers)
            .await
            .map_err(|e| reviewer_error(None, e))?;
        let mut stage_rules = Vec::new();
        for (index, stage) in spec.stage_plan.stages().iter().enumerate() {
            stage_rules.push(
                resolve_rules(directory, &stage.reviewers, &stage.fallback_reviewers)
                    .await
                    .map_err(|e| reviewer_error(Some(index), e))?,
            );
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
        let items = resolve_items(directory, &definition.spec.scope, instance.id)
            .await
            .map_err(|e| match e {
                ScopeError::Unsupported => CreateDefinitionError::ScopeNotSupported,
                ScopeError::GroupNotFound(group) => {
                    CreateDefinitionError::ScopeGroupNotFound(group)
                }
                ScopeError::Repository(e) => e.into(),
            })?;
        let first_stage = definition
            .spec
            .stage_plan
            .stages()
            .first()
            .map(|settings| Stage::start(instance.id, settings, now));
        let first_reviewers = stage_rules.into_iter().next().unwrap_or(instance_level);
        let review = StartedReview {
            definition,
            instance,
            first_stage,
            items,
            first_reviewers,
        };
        self.definitions.create(&review).await?;
        Ok(review)
    }
}
