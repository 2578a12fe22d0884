use std::sync::Arc;

use crate::actor::Actor;
use crate::decision::ReviewerRules;
use crate::ids::{DefinitionId, InstanceId, StageId};
use crate::ports::{
    Clock, DefinitionRepository, DirectoryRepository, InstanceRepository, RepositoryError,
    StageRepository, StopOutcome,
};
use crate::stage::StageNotInProgress;
use crate::status::ReviewStatus;
use crate::stop::{StopRefused, StopTransition};
use crate::use_cases::reviewers::{ResolveError, resolve_rules};
use crate::use_cases::{Missing, find_instance};

/// `POST …/stages/{id}/stop`: completes a stage, creates the next one or
/// completes the instance.
pub struct StopStage {
    definitions: Arc<dyn DefinitionRepository>,
    instances: Arc<dyn InstanceRepository>,
    stages: Arc<dyn StageRepository>,
    directory: Arc<dyn DirectoryRepository>,
    clock: Arc<dyn Clock>,
}

/// Why a stage was not stopped.
#[derive(Debug, thiserror::Error)]
pub enum StopStageError {
    /// An object of the path does not exist under its parent.
    #[error("{0} not found")]
    NotFound(Missing),
    /// The caller may not act on this review.
    #[error("the caller may not act on this access review")]
    Forbidden,
    /// The stage is not `InProgress` (a second stop, or one that lost a race).
    #[error(transparent)]
    NotInProgress(#[from] StageNotInProgress),
    /// The next stage's reviewers no longer resolve (a user or group they
    /// name is gone).
    #[error("the next stage's reviewers cannot be resolved")]
    NextReviewersUnresolvable,
    /// The store failed.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl StopStage {
    /// Wires the use case.
    pub fn new(
        definitions: Arc<dyn DefinitionRepository>,
        instances: Arc<dyn InstanceRepository>,
        stages: Arc<dyn StageRepository>,
        directory: Arc<dyn DirectoryRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            definitions,
            instances,
            stages,
            directory,
            clock,
        }
    }

    /// Stops the stage and returns what changed.
    ///
    /// Missing objects are reported before missing rights, and rights before
    /// the stage's state, so a caller learns no more than it may.
    ///
    /// # Errors
    /// See [`StopStageError`]; of concurrent stops of one stage exactly one
    /// succeeds and the others get [`StopStageError::NotInProgress`].
    pub async fn execute(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: StageId,
    ) -> Result<StopTransition, StopStageError> {
        let (definition, instance) = find_instance(
            &*self.definitions,
            &*self.instances,
            definition_id,
            instance_id,
        )
        .await?;
        let stages = self.stages.all(instance_id).await?;
        if !stages.iter().any(|s| s.id == stage_id) {
            return Err(StopStageError::NotFound(Missing::Stage(stage_id)));
        }
        if !actor.may_write(&definition) {
            return Err(StopStageError::Forbidden);
        }
        let next_reviewers = match StopTransition::next_settings(&definition, &stages, stage_id) {
            Some(next) => {
                resolve_rules(&*self.directory, &next.reviewers, &next.fallback_reviewers)
                    .await
                    .map_err(|e| match e {
                        ResolveError::Repository(e) => StopStageError::Repository(e),
                        ResolveError::Unsupported { .. } | ResolveError::NotFound { .. } => {
                            StopStageError::NextReviewersUnresolvable
                        }
                    })?
            }
            None => ReviewerRules::default(),
        };

        let transition = StopTransition::plan(
            &definition,
            &instance,
            &stages,
            stage_id,
            actor,
            self.clock.now(),
            next_reviewers,
        )
        .map_err(|refused| match refused {
            StopRefused::StageNotFound => StopStageError::NotFound(Missing::Stage(stage_id)),
            StopRefused::NotInProgress(e) => StopStageError::NotInProgress(e),
        })?;

        match self.stages.commit_stop(&transition).await? {
            StopOutcome::Committed => Ok(transition),
            // Another stop committed between our read and our write; the
            // only way out of InProgress is to be completed.
            StopOutcome::StageNoLongerInProgress => Err(StageNotInProgress {
                status: ReviewStatus::Completed,
            }
            .into()),
        }
    }
}
