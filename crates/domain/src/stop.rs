//! What stopping a stage changes, computed in full before anything is
//! written, so that the adapter can commit it as one transaction.

use chrono::{DateTime, Utc};

use crate::actor::Actor;
use crate::decision::{MoveRule, ReviewerRules};
use crate::definition::Definition;
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

impl StopTransition {
    /// The settings of the stage that stopping `stopping` creates, if any:
    /// the first of the plan not yet created whose `dependsOn` stages are
    /// all `Completed` once `stopping` is. Public so that the caller can
    /// resolve that stage's reviewers before planning.
    pub fn next_settings<'a>(
        definition: &'a Definition,
        stages: &[Stage],
        stopping: StageId,
    ) -> Option<&'a crate::definition::StageSettings> {
        let completed = |key: &_| {
            stages.iter().any(|s| {
                &s.key == key && (s.id == stopping || s.status() == ReviewStatus::Completed)
            })
        };
        definition.spec.stage_plan.stages().iter().find(|settings| {
            !stages.iter().any(|s| s.key == settings.stage_id)
                && !settings.depends_on.is_empty()
                && settings.depends_on.iter().all(completed)
        })
    }

    /// Plans the stop of `stage_id` at `now`, following Graph: the stage
    /// becomes `Completed`; every stage of the plan not yet created whose
    /// `dependsOn` stages are now all `Completed` is created `InProgress`;
    /// when none is created and no other stage is still `InProgress`, the
    /// instance completes.
    ///
    /// `stages` are all the stages the instance has so far.
    ///
    /// `next_reviewers` are the reviewers of the stage the stop creates
    /// ([`Self::next_settings`]); unused when none is created.
    pub fn plan(
        definition: &Definition,
        instance: &Instance,
        stages: &[Stage],
        stage_id: StageId,
        actor: &Actor,
        now: DateTime<Utc>,
        next_reviewers: ReviewerRules,
    ) -> Result<Self, StopRefused> {
        let mut stopped = stages
            .iter()
            .find(|s| s.id == stage_id && s.instance_id == instance.id)
            .cloned()
            .ok_or(StopRefused::StageNotFound)?;
        stopped.stop(now)?;

        let started = Self::next_settings(definition, stages, stage_id)
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

        let others_running = stages
            .iter()
            .any(|s| s.id != stopped.id && s.status() == ReviewStatus::InProgress);
        let mut instance = instance.clone();
        let instance_completed =
            started.is_none() && !others_running && instance.complete(now).is_ok();

        Ok(Self {
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
        })
    }
}
