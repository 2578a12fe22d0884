//! What stopping a stage changes, computed in full before anything is
//! written, so that the adapter can commit it as one transaction.

use chrono::{DateTime, Utc};

use crate::actor::Actor;
use crate::audit::AuditEntry;
use crate::decision::{MoveRule, ReviewerRules};
use crate::definition::{Definition, StageSettings};
use crate::ids::{DefinitionId, PrincipalId, StageId};
use crate::instance::Instance;
use crate::lifecycle::InstanceEnd;
use crate::stage::{Stage, StageNotInProgress};
use crate::status::ReviewStatus;

/// Which decision items follow a stop into the stage it creates: those of
/// the stopped stage whose latest decision the stopped stage's
/// `decisionsThatWillMoveToNextStage` lets through. The adapter applies
/// [`MoveRule`] inside the stop's transaction, after decisions racing the
/// stop have committed or been refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarryOver {
    /// The stage that was stopped.
    pub from: StageId,
    /// The stage that was created.
    pub to: StageId,
    /// Which items move.
    pub rule: MoveRule,
    /// Who reviews in the created stage, resolved now.
    pub reviewers: ReviewerRules,
}

/// The audit trail's record of one stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopAudit {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: PrincipalId,
    /// Which definition.
    pub definition_id: DefinitionId,
    /// Which stage was stopped (its instance is in [`StopTransition::instance`]).
    pub stopped_stage: StageId,
    /// Which stage the stop created, if any.
    pub created_stage: Option<StageId>,
    /// Whether the stop completed the instance.
    pub instance_completed: bool,
}

/// Everything one stop changes. Committed all together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopTransition {
    /// The stage, now `Completed` and ended at the stop.
    pub stopped: Stage,
    /// The next stage, created `InProgress`, when one depends on the stopped
    /// stage. At most one: stages are sequential.
    pub started: Option<Stage>,
    /// The decision items that follow into `started`.
    pub carry_over: Option<CarryOver>,
    /// The instance; `Completed` when the stopped stage was its last.
    pub instance: Instance,
    /// What the end of the instance does, when the stop completes it.
    pub instance_end: Option<InstanceEnd>,
    /// Whether the definition completes with its instance (it does unless it
    /// recurs).
    pub definition_completed: bool,
    /// The audit record.
    pub audit: StopAudit,
    /// The request's `directoryAudit` record, when the caller's side gave
    /// one: committed with the stop, so it exists exactly when the stop
    /// took effect.
    pub record: Option<AuditEntry>,
}

/// Why a stop cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StopRefused {
    /// The stage is not one of the instance's stages.
    #[error("no such stage in this instance")]
    StageNotFound,
    /// The stage is not `InProgress`.
    #[error(transparent)]
    NotInProgress(#[from] StageNotInProgress),
}

/// A stop found, before its stage's state is checked and the next stage's
/// reviewers are resolved: what the stop would create is computed once,
/// here, so that the caller resolves those reviewers and then
/// [`finishes`](Self::finish) the plan.
#[derive(Debug)]
pub struct PendingStop<'a> {
    definition: &'a Definition,
    stages: &'a [Stage],
    stage: &'a Stage,
    next: Option<&'a StageSettings>,
}

impl<'a> PendingStop<'a> {
    /// The stage to stop, as it is now.
    pub fn stage(&self) -> &'a Stage {
        self.stage
    }

    /// The settings of the stage the stop creates, if any.
    pub fn next_settings(&self) -> Option<&'a StageSettings> {
        self.next
    }

    /// Plans the stop at `now`, following Graph: the stage becomes
    /// `Completed`; the stage of the plan whose `dependsOn` stages are now
    /// all `Completed` is created `InProgress`; when none is created and no
    /// other stage is still `InProgress`, the instance completes.
    ///
    /// `next_reviewers` are the reviewers of the stage the stop creates
    /// ([`Self::next_settings`]); unused when none is created.
    ///
    /// # Errors
    /// When the stage is not `InProgress`.
    pub fn finish(
        self,
        instance: &Instance,
        actor: &Actor,
        now: DateTime<Utc>,
        next_reviewers: ReviewerRules,
    ) -> Result<StopTransition, StageNotInProgress> {
        let definition = self.definition;
        let mut stopped = self.stage.clone();
        stopped.stop(now)?;

        let started = self
            .next
            .map(|settings| Stage::start(instance.id, settings, now));

        let carry_over = started.as_ref().map(|next| CarryOver {
            from: stopped.id,
            to: next.id,
            rule: MoveRule(
                definition
                    .spec
                    .stage_plan
                    .get(&stopped.key)
                    .and_then(|s| s.decisions_that_will_move_to_next_stage.clone()),
            ),
            reviewers: next_reviewers,
        });

        let others_running = self
            .stages
            .iter()
            .any(|s| s.id != stopped.id && s.status() == ReviewStatus::InProgress);
        let mut instance = instance.clone();
        let instance_completed =
            started.is_none() && !others_running && instance.complete(now).is_ok();

        Ok(StopTransition {
            audit: StopAudit {
                at: now,
                actor: actor.id(),
                definition_id: definition.id,
                stopped_stage: stopped.id,
                created_stage: started.as_ref().map(|s| s.id),
                instance_completed,
            },
            instance_end: instance_completed.then(|| InstanceEnd::of(definition, now)),
            definition_completed: instance_completed && !definition.has_more_instances(),
            stopped,
            started,
            carry_over,
            instance,
            record: None,
        })
    }
}

impl StopTransition {
    /// Finds the stage `stage_id` among `stages` (all the stages its
    /// instance has so far) and what stopping it creates: the first stage
    /// of the plan not yet created whose `dependsOn` stages are all
    /// `Completed` once it is.
    ///
    /// `None` when it is not one of them.
    pub fn begin<'a>(
        definition: &'a Definition,
        stages: &'a [Stage],
        stage_id: StageId,
    ) -> Option<PendingStop<'a>> {
        let stage = stages.iter().find(|s| s.id == stage_id)?;
        let completed = |key: &_| {
            stages.iter().any(|s| {
                &s.key == key && (s.id == stage_id || s.status() == ReviewStatus::Completed)
            })
        };
        let next = definition.spec.stage_plan.stages().iter().find(|settings| {
            !stages.iter().any(|s| s.key == settings.stage_id)
                && !settings.depends_on.is_empty()
                && settings.depends_on.iter().all(completed)
        });
        Some(PendingStop {
            definition,
            stages,
            stage,
            next,
        })
    }

    /// [`Self::begin`] and [`PendingStop::finish`] at once, for a caller
    /// that knows the next stage's reviewers already.
    ///
    /// # Errors
    /// When the stage is not one of `stages` of `instance`, or is not
    /// `InProgress`.
    pub fn plan(
        definition: &Definition,
        instance: &Instance,
        stages: &[Stage],
        stage_id: StageId,
        actor: &Actor,
        now: DateTime<Utc>,
        next_reviewers: ReviewerRules,
    ) -> Result<Self, StopRefused> {
        let pending = Self::begin(definition, stages, stage_id)
            .filter(|p| p.stage().instance_id == instance.id)
            .ok_or(StopRefused::StageNotFound)?;
        Ok(pending.finish(instance, actor, now, next_reviewers)?)
    }
}
