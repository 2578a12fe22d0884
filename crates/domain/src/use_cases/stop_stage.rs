use std::sync::Arc;

use crate::actor::Actor;
use crate::audit::Activity;
use crate::decision::ReviewerRules;
use crate::ids::{DefinitionId, InstanceId, StageId};
use crate::ports::{
    Clock, DirectoryRepository, RepositoryError, StageRepository, StopContext, StopOutcome,
};
use crate::stage::StageNotInProgress;
use crate::status::ReviewStatus;
use crate::stop::StopTransition;
use crate::use_cases::Missing;
use crate::use_cases::Ports;
use crate::use_cases::audit_logs::{Outcome, RequestRecord};
use crate::use_cases::reviewers::{Prefetched, ResolveError, resolve_rules};

/// `POST …/stages/{id}/stop`: completes a stage, creates the next one or
/// completes the instance.
pub struct StopStage {
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
    pub fn new(ports: &Ports) -> Self {
        Self {
            stages: ports.stages.clone(),
            directory: ports.directory.clone(),
            clock: ports.clock.clone(),
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
        self.stop(actor, definition_id, instance_id, stage_id, When::Now(None))
            .await
    }

    /// [`Self::execute`], with the request's audit record written in the
    /// stop's own transaction (as a success): it exists exactly when the
    /// stop took effect, and costs no statement of its own. A refused stop
    /// writes none; the caller's side records the refusal.
    ///
    /// # Errors
    /// As [`Self::execute`].
    pub async fn execute_recorded(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: StageId,
        record: RequestRecord,
    ) -> Result<StopTransition, StopStageError> {
        let when = When::Now(Some(record));
        self.stop(actor, definition_id, instance_id, stage_id, when)
            .await
    }

    /// Ends a stage whose `endDateTime` has passed, as the scheduler does:
    /// exactly as a stop, by the system, at the stage's scheduled end (so
    /// the next stage's times do not depend on when the scheduler ran).
    /// Next-stage reviewers that no longer resolve leave that stage without
    /// reviewers rather than keep the review from moving on.
    ///
    /// # Errors
    /// As [`Self::execute`]; [`StopStageError::NotInProgress`] when another
    /// stop or scheduler won.
    pub async fn end_on_schedule(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: StageId,
    ) -> Result<StopTransition, StopStageError> {
        self.stop(
            &Actor::system(),
            definition_id,
            instance_id,
            stage_id,
            When::ScheduledEnd,
        )
        .await
    }

    async fn stop(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: StageId,
        when: When,
    ) -> Result<StopTransition, StopStageError> {
        // One read for everything the stop is planned from.
        let StopContext {
            definition,
            instance,
            stages,
            reviewers,
        } = self
            .stages
            .stop_context(definition_id, instance_id)
            .await?
            .map_err(StopStageError::NotFound)?;
        // What the stop creates is computed here, once; the stage's
        // existence is checked here, once.
        let pending = StopTransition::begin(&definition, &stages, stage_id)
            .ok_or(StopStageError::NotFound(Missing::Stage(stage_id)))?;
        if !actor.may_write(&definition) {
            return Err(StopStageError::Forbidden);
        }
        // Refused before the next stage's reviewers are resolved for
        // nothing; the transition checks it again as its rule.
        let status = pending.stage().status();
        if status != ReviewStatus::InProgress {
            return Err(StageNotInProgress { status }.into());
        }
        let at = match when {
            When::Now(_) => self.clock.now().await?,
            When::ScheduledEnd => pending.stage().end_date_time,
        };
        let next_reviewers = match pending.next_settings() {
            Some(next) => {
                let source = Prefetched {
                    snapshot: &reviewers,
                    directory: &*self.directory,
                };
                match resolve_rules(&source, &next.reviewers, &next.fallback_reviewers).await {
                    Ok(rules) => rules,
                    Err(ResolveError::Repository(e)) => return Err(e.into()),
                    Err(ResolveError::Unsupported { .. } | ResolveError::NotFound { .. }) => {
                        match when {
                            When::Now(_) => return Err(StopStageError::NextReviewersUnresolvable),
                            When::ScheduledEnd => ReviewerRules::default(),
                        }
                    }
                }
            }
            None => ReviewerRules::default(),
        };
        let mut transition = pending.finish(&instance, actor, at, next_reviewers)?;
        if let When::Now(Some(record)) = when {
            transition.record =
                Some(record.entry(actor, Activity::StopStage, Outcome::success(), at));
        }

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

/// When a stop takes effect.
#[derive(Debug)]
enum When {
    /// Now, by a person's request (and its record, when the caller's side
    /// keeps one).
    Now(Option<RequestRecord>),
    /// At the stage's scheduled end.
    ScheduledEnd,
}
