use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::actor::Actor;
use crate::actor::system_identity;
use crate::decision::Identity;
use crate::definition::{Definition, QueryScope};
use crate::ids::{DefinitionId, InstanceId, StageId};
use crate::instance::Instance;
use crate::lifecycle::{Action, ActionAudit, EndTransition};
use crate::ports::{
    Claim, Clock, ClockControl, DefinitionRepository, DirectoryRepository, DueWork, EndOutcome,
    InstanceRepository, LifecycleRepository, RepositoryError, StageRepository, StartOutcome,
};
use crate::query::{ListQuery, PageRequest};
use crate::schedule::{Schedule, Start};
use crate::stage::Stage;
use crate::status::ReviewStatus;
use crate::use_cases::create_definition::start_review;
use crate::use_cases::reviewers::{resolve_items_leniently, resolve_rules_leniently};
use crate::use_cases::{
    Lookup, Missing, Ports, StopStage, StopStageError, find_definition, find_instance,
};

/// The review in time: the scheduler's pass, the instance and definition
/// actions, applying decisions, and the test clock.
pub struct Lifecycle {
    definitions: Arc<dyn DefinitionRepository>,
    instances: Arc<dyn InstanceRepository>,
    stages: Arc<dyn StageRepository>,
    directory: Arc<dyn DirectoryRepository>,
    lifecycle: Arc<dyn LifecycleRepository>,
    clock: Arc<dyn Clock>,
    clock_control: Option<Arc<dyn ClockControl>>,
    stop_stage: StopStage,
}

/// A stage's or an instance's reviewer lists, and an update of them.
type Lists<'a> = (&'a mut Vec<QueryScope>, &'a mut Vec<QueryScope>);
type Update = (Option<Vec<QueryScope>>, Option<Vec<QueryScope>>);

/// Applies `update` (each list when given) to `current` and resolves the
/// result: fallback reviewers may be added, never removed. Nothing
/// changes when it fails.
async fn replace_reviewers(
    directory: &(dyn DirectoryRepository + 'static),
    current: Lists<'_>,
    update: Update,
) -> Result<crate::decision::ReviewerRules, LifecycleError> {
    let (reviewers, fallback) = current;
    let new_reviewers = update.0.unwrap_or_else(|| reviewers.clone());
    let new_fallback = match update.1 {
        Some(new) => {
            if !fallback
                .iter()
                .all(|old| new.iter().any(|n| n.query == old.query))
            {
                return Err(LifecycleError::FallbackReviewerRemoved);
            }
            new
        }
        None => fallback.clone(),
    };
    let rules = resolve(directory, &new_reviewers, &new_fallback).await?;
    *reviewers = new_reviewers;
    *fallback = new_fallback;
    Ok(rules)
}

/// The rules of the reviewer lists, resolved against the directory now.
async fn resolve(
    directory: &(dyn DirectoryRepository + 'static),
    reviewers: &[QueryScope],
    fallback: &[QueryScope],
) -> Result<crate::decision::ReviewerRules, LifecycleError> {
    use super::reviewers::ResolveError;
    super::reviewers::resolve_rules(directory, reviewers, fallback)
        .await
        .map_err(|error| match error {
            ResolveError::Unsupported { fallback, index } => {
                LifecycleError::ReviewerNotSupported(super::ReviewerField {
                    stage: None,
                    fallback,
                    index,
                })
            }
            ResolveError::NotFound { fallback, index } => {
                LifecycleError::ReviewerNotFound(super::ReviewerField {
                    stage: None,
                    fallback,
                    index,
                })
            }
            ResolveError::Repository(e) => e.into(),
        })
}

/// Why a lifecycle action was refused.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// An object of the path does not exist under its parent.
    #[error("{0} not found")]
    NotFound(Missing),
    /// The caller may not act on this review.
    #[error("the caller may not act on this access review")]
    Forbidden,
    /// The action needs an instance in progress.
    #[error(
        "the instance is {0}; only an instance that is InProgress can be stopped, reminded or \
         given other reviewers"
    )]
    InstanceNotInProgress(ReviewStatus),
    /// Decisions are applied only once the instance is completed.
    #[error("the instance is {0}; decisions are applied once it is Completed")]
    InstanceNotCompleted(ReviewStatus),
    /// The definition has ended already.
    #[error("the definition is already Completed")]
    DefinitionNotInProgress,
    /// The test clock is not enabled on this service.
    #[error("the clock control is not enabled")]
    ClockControlDisabled,
    /// The test clock moves only forward.
    #[error("the clock moves only forward")]
    ClockNotForward,
    /// A stage's reviewers change only while it is `InProgress`.
    #[error("the stage is {0}; only a stage that is InProgress can change its reviewers")]
    StageNotInProgress(ReviewStatus),
    /// Fallback reviewers may be added to a stage, never removed.
    #[error("an existing fallback reviewer would be removed")]
    FallbackReviewerRemoved,
    /// A reviewer query is not one the service can resolve.
    #[error("a reviewer query is not supported")]
    ReviewerNotSupported(super::ReviewerField),
    /// A reviewer query names a user or group that does not exist.
    #[error("a reviewer query names an unknown user or group")]
    ReviewerNotFound(super::ReviewerField),
    /// The store failed.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// What one scheduler pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PassReport {
    /// Stages ended on schedule.
    pub stages_ended: u32,
    /// Instances without stages ended on schedule.
    pub instances_ended: u32,
    /// Instances started on schedule.
    pub instances_started: u32,
    /// Definitions whose recurrence ended.
    pub recurrences_ended: u32,
    /// Due work another replica or a person's stop committed first.
    pub lost_races: u32,
}

/// How many pieces of due work one query claims.
const BATCH: u32 = 100;

impl Lifecycle {
    /// Wires the use case.
    pub fn new(ports: &Ports) -> Self {
        Self {
            definitions: ports.definitions.clone(),
            instances: ports.instances.clone(),
            stages: ports.stages.clone(),
            directory: ports.directory.clone(),
            lifecycle: ports.lifecycle.clone(),
            clock: ports.clock.clone(),
            clock_control: ports.clock_control.clone(),
            stop_stage: StopStage::new(ports),
        }
    }

    /// One scheduler pass: ends every stage and instance due at the clock's
    /// now and starts every instance due, each in its own transaction and
    /// through the same transitions as a person's stop or a creation, until
    /// nothing is due (ending a stage may start a next one that is due as
    /// well, when the clock jumped ahead). Work is taken in the order it
    /// fell due, so an instance ends before the next period's starts.
    ///
    /// Any number of replicas may run passes at once: every commit is
    /// guarded on the object still being `InProgress`, so each transition
    /// commits once and the losers skip it.
    ///
    /// `claim` says whether the pass shares the work with other replicas'
    /// passes ([`Claim::Lease`], the background scheduler) or must see every
    /// due transition committed before it returns ([`Claim::All`]).
    ///
    /// # Errors
    /// When the store fails; the work done before stays committed.
    pub async fn run_due(&self, claim: Claim) -> Result<PassReport, LifecycleError> {
        let now = self.clock.now().await?;
        let mut report = PassReport::default();
        // Work that failed to commit for a reason other than a lost race is
        // not retried within the pass, so a pass always ends.
        let mut tried = HashSet::new();
        loop {
            let due = self.lifecycle.due(now, BATCH, claim).await?;
            let fresh: Vec<DueWork> = due.into_iter().filter(|w| tried.insert(*w)).collect();
            if fresh.is_empty() {
                return Ok(report);
            }
            for work in fresh {
                self.end_due(work, now, &mut report).await?;
            }
        }
    }

    async fn end_due(
        &self,
        work: DueWork,
        now: DateTime<Utc>,
        report: &mut PassReport,
    ) -> Result<(), LifecycleError> {
        match work {
            DueWork::Definition { definition } => {
                let found = find_definition(&*self.definitions, definition).await;
                if let Some(definition) = still_there(found, report)? {
                    self.start_due(definition, now, report).await?;
                }
            }
            DueWork::Stage {
                definition,
                instance,
                stage,
            } => match self
                .stop_stage
                .end_on_schedule(definition, instance, stage)
                .await
            {
                Ok(_) => report.stages_ended += 1,
                Err(StopStageError::NotInProgress(_) | StopStageError::NotFound(_)) => {
                    report.lost_races += 1;
                }
                Err(StopStageError::Repository(e)) => return Err(e.into()),
                Err(StopStageError::Forbidden | StopStageError::NextReviewersUnresolvable) => {
                    // The system may act on every review, and resolves
                    // reviewers leniently on schedule: neither happens.
                    report.lost_races += 1;
                }
            },
            DueWork::Instance {
                definition,
                instance,
            } => {
                let found =
                    find_instance(&*self.definitions, &*self.instances, definition, instance).await;
                let Some((definition, instance)) = still_there(found, report)? else {
                    return Ok(());
                };
                let at = instance.end_date_time;
                match self
                    .end(&definition, &instance, &Actor::system(), at, false)
                    .await
                {
                    Ok(()) => report.instances_ended += 1,
                    Err(LifecycleError::Repository(e)) => return Err(e.into()),
                    Err(_) => report.lost_races += 1,
                }
            }
        }
        Ok(())
    }

    /// Starts the instance of the period in progress, or ends the
    /// recurrence when its range is over. Scope and reviewers are resolved
    /// now; a reviewer or group that is gone leaves that part empty rather
    /// than keep the review from starting.
    async fn start_due(
        &self,
        definition: Definition,
        now: DateTime<Utc>,
        report: &mut PassReport,
    ) -> Result<(), LifecycleError> {
        // Read after another pass started this period: its next start is
        // later, or there is none.
        let Some(expected) = definition.schedule.next_start.filter(|next| *next <= now) else {
            report.lost_races += 1;
            return Ok(());
        };
        let created = definition.created_date_time.date_naive();
        let start = match &definition.spec.settings.recurrence {
            Some(recurrence) => recurrence.due(created, now, definition.schedule.instances_started),
            None => Start::Now {
                at: expected,
                next: None,
            },
        };
        match start {
            Start::Later(_) => {}
            Start::Over => match self
                .lifecycle
                .end_recurrence(definition.id, expected, now)
                .await?
            {
                StartOutcome::Committed => report.recurrences_ended += 1,
                StartOutcome::Lost => report.lost_races += 1,
            },
            Start::Now { at, next } => {
                let directory = &*self.directory;
                let spec = &definition.spec;
                let (reviewers, fallback) = match spec.stage_plan.stages().first() {
                    Some(stage) => (&stage.reviewers, &stage.fallback_reviewers),
                    None => (&spec.reviewers, &spec.fallback_reviewers),
                };
                let rules = resolve_rules_leniently(directory, reviewers, fallback).await?;
                let items = resolve_items_leniently(directory, &spec.scope).await?;
                let mut started = definition.clone();
                started.status = ReviewStatus::InProgress;
                started.last_modified_date_time = at;
                started.schedule = Schedule {
                    next_start: next,
                    instances_started: definition.schedule.instances_started.saturating_add(1),
                };
                let review = start_review(started, at, items, rules);
                let audit = ActionAudit {
                    at,
                    actor: system_identity().id,
                    action: Action::InstanceStarted,
                    definition_id: definition.id,
                    instance_id: Some(review.instance.id),
                    stage_id: review.first_stage.as_ref().map(|s| s.id),
                };
                match self
                    .lifecycle
                    .start_instance(&review, expected, &audit)
                    .await?
                {
                    StartOutcome::Committed => report.instances_started += 1,
                    StartOutcome::Lost => report.lost_races += 1,
                }
            }
        }
        Ok(())
    }

    /// Plans and commits the end of an instance.
    async fn end(
        &self,
        definition: &Definition,
        instance: &Instance,
        actor: &Actor,
        at: DateTime<Utc>,
        stop_definition: bool,
    ) -> Result<(), LifecycleError> {
        let stages = self.stages.all(instance.id).await?;
        let transition =
            EndTransition::plan(definition, instance, &stages, actor, at, stop_definition)
                .map_err(|e| LifecycleError::InstanceNotInProgress(e.status))?;
        match self.lifecycle.commit_end(&transition).await? {
            EndOutcome::Committed => Ok(()),
            EndOutcome::NoLongerInProgress => Err(LifecycleError::InstanceNotInProgress(
                ReviewStatus::Completed,
            )),
        }
    }

    /// The audit record of `actor`'s `action` on an instance, now.
    async fn instance_audit(
        &self,
        actor: &Actor,
        action: Action,
        definition: &Definition,
        instance: &Instance,
    ) -> Result<ActionAudit, LifecycleError> {
        Ok(ActionAudit {
            at: self.clock.now().await?,
            actor: actor.id(),
            action,
            definition_id: definition.id,
            instance_id: Some(instance.id),
            stage_id: None,
        })
    }

    async fn writable_instance(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<(Definition, Instance), LifecycleError> {
        let (definition, instance) = find_instance(
            &*self.definitions,
            &*self.instances,
            definition_id,
            instance_id,
        )
        .await?;
        if !actor.may_write(&definition) {
            return Err(LifecycleError::Forbidden);
        }
        Ok((definition, instance))
    }

    /// `POST …/instances/{id}/stop`: ends the instance now. Its stage in
    /// progress completes without creating a next stage, reviewers can no
    /// longer decide, and the end rules (default decision, auto-apply) run.
    ///
    /// # Errors
    /// [`LifecycleError::InstanceNotInProgress`] for an instance that is not
    /// `InProgress`, including a second stop.
    pub async fn stop_instance(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<(), LifecycleError> {
        let (definition, instance) = self
            .writable_instance(actor, definition_id, instance_id)
            .await?;
        let now = self.clock.now().await?;
        self.end(&definition, &instance, actor, now, false).await
    }

    /// `POST …/instances/{id}/applyDecisions`: applies the decisions of a
    /// completed instance that are not applied yet. A second call applies
    /// nothing.
    ///
    /// # Errors
    /// [`LifecycleError::InstanceNotCompleted`] before the instance ends.
    pub async fn apply_decisions(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<u64, LifecycleError> {
        let (definition, instance) = self
            .writable_instance(actor, definition_id, instance_id)
            .await?;
        if instance.status() != ReviewStatus::Completed {
            return Err(LifecycleError::InstanceNotCompleted(instance.status()));
        }
        let audit = self
            .instance_audit(actor, Action::DecisionsApplied, &definition, &instance)
            .await?;
        Ok(self
            .lifecycle
            .apply(instance.id, &identity(actor), &audit)
            .await?)
    }

    /// `POST …/instances/{id}/sendReminder`: recorded in the audit trail
    /// (no mail is sent).
    ///
    /// # Errors
    /// [`LifecycleError::InstanceNotInProgress`] unless the instance is
    /// `InProgress`.
    pub async fn send_reminder(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<(), LifecycleError> {
        let (definition, instance) = self
            .writable_instance(actor, definition_id, instance_id)
            .await?;
        if instance.status() != ReviewStatus::InProgress {
            return Err(LifecycleError::InstanceNotInProgress(instance.status()));
        }
        let audit = self
            .instance_audit(actor, Action::ReminderSent, &definition, &instance)
            .await?;
        Ok(self.lifecycle.record_action(&audit).await?)
    }

    /// `PATCH …/stages/{id}`: the stage's reviewers and fallback reviewers
    /// (each list when given), for this stage only; later stages keep the
    /// definition's. Fallback reviewers may be added, not removed.
    ///
    /// # Errors
    /// [`LifecycleError::StageNotInProgress`],
    /// [`LifecycleError::FallbackReviewerRemoved`], the reviewer errors.
    pub async fn update_stage_reviewers(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: StageId,
        reviewers: Option<Vec<QueryScope>>,
        fallback_reviewers: Option<Vec<QueryScope>>,
    ) -> Result<Stage, LifecycleError> {
        // Missing objects come before missing rights, as for a stop.
        let (definition, _) = find_instance(
            &*self.definitions,
            &*self.instances,
            definition_id,
            instance_id,
        )
        .await?;
        let mut stage = self
            .stages
            .get(instance_id, stage_id)
            .await?
            .ok_or(LifecycleError::NotFound(Missing::Stage(stage_id)))?;
        if !actor.may_write(&definition) {
            return Err(LifecycleError::Forbidden);
        }
        if stage.status() != ReviewStatus::InProgress {
            return Err(LifecycleError::StageNotInProgress(stage.status()));
        }
        let rules = replace_reviewers(
            &*self.directory,
            (&mut stage.reviewers, &mut stage.fallback_reviewers),
            (reviewers, fallback_reviewers),
        )
        .await?;
        if self.stages.update_reviewers(&stage, &rules).await? {
            Ok(stage)
        } else {
            Err(LifecycleError::StageNotInProgress(ReviewStatus::Completed))
        }
    }

    /// `PUT …/instances/{id}`: the instance's reviewers and fallback
    /// reviewers (each list when given; Graph requires the unchanged
    /// `scope` in the body), for this instance only. For an instance
    /// without stages they are who reviews its items from then on; an
    /// instance with stages keeps its stages' reviewers.
    ///
    /// # Errors
    /// [`LifecycleError::InstanceNotInProgress`],
    /// [`LifecycleError::FallbackReviewerRemoved`], the reviewer errors.
    pub async fn update_instance_reviewers(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        reviewers: Option<Vec<QueryScope>>,
        fallback_reviewers: Option<Vec<QueryScope>>,
    ) -> Result<Instance, LifecycleError> {
        let (definition, mut instance) = find_instance(
            &*self.definitions,
            &*self.instances,
            definition_id,
            instance_id,
        )
        .await?;
        if !actor.may_write(&definition) {
            return Err(LifecycleError::Forbidden);
        }
        if instance.status() != ReviewStatus::InProgress {
            return Err(LifecycleError::InstanceNotInProgress(instance.status()));
        }
        let rules = replace_reviewers(
            &*self.directory,
            (&mut instance.reviewers, &mut instance.fallback_reviewers),
            (reviewers, fallback_reviewers),
        )
        .await?;
        let stageless = definition.spec.stage_plan.stages().is_empty();
        let phase_rules = stageless.then_some(&rules);
        if self
            .instances
            .update_reviewers(&instance, phase_rules)
            .await?
        {
            Ok(instance)
        } else {
            Err(LifecycleError::InstanceNotInProgress(
                ReviewStatus::Completed,
            ))
        }
    }

    /// `DELETE …/definitions/{id}`: the definition goes, with its
    /// instances, stages, decision items and their history, whatever their
    /// status; the audit records stay.
    ///
    /// # Errors
    /// [`LifecycleError::NotFound`], also when a concurrent delete won;
    /// [`LifecycleError::Forbidden`] for a caller who may not act on it.
    pub async fn delete_definition(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
    ) -> Result<(), LifecycleError> {
        let definition = find_definition(&*self.definitions, definition_id).await?;
        if !actor.may_write(&definition) {
            return Err(LifecycleError::Forbidden);
        }
        if self.definitions.delete(definition.id).await? {
            Ok(())
        } else {
            Err(LifecycleError::NotFound(Missing::Definition(definition_id)))
        }
    }

    /// `POST …/definitions/{id}/stop`: ends the instance in progress, if
    /// any, as an instance stop does, and completes the definition so that
    /// no further instance starts.
    ///
    /// # Errors
    /// [`LifecycleError::DefinitionNotInProgress`] for a definition that is
    /// already `Completed`.
    pub async fn stop_definition(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
    ) -> Result<(), LifecycleError> {
        let definition = find_definition(&*self.definitions, definition_id).await?;
        if !actor.may_write(&definition) {
            return Err(LifecycleError::Forbidden);
        }
        if definition.status == ReviewStatus::Completed {
            return Err(LifecycleError::DefinitionNotInProgress);
        }
        let now = self.clock.now().await?;
        let running = self
            .instances
            .list(
                definition.id,
                ListQuery {
                    status: Some(ReviewStatus::InProgress),
                    page: PageRequest::default(),
                    ..ListQuery::default()
                },
            )
            .await?;
        for instance in &running.items {
            // Each instance ends on the settings it started with.
            let Some(as_run) = self
                .definitions
                .get_for_instance(definition.id, instance.id)
                .await?
            else {
                return Err(LifecycleError::NotFound(Missing::Definition(definition_id)));
            };
            match self.end(&as_run, instance, actor, now, true).await {
                Ok(()) => return Ok(()),
                // Ended meanwhile (its schedule, or a stop): complete the
                // definition alone below.
                Err(LifecycleError::InstanceNotInProgress(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let audit = ActionAudit {
            at: now,
            actor: actor.id(),
            action: Action::DefinitionStopped,
            definition_id: definition.id,
            instance_id: None,
            stage_id: None,
        };
        match self.lifecycle.complete_definition(&audit).await? {
            EndOutcome::Committed => Ok(()),
            EndOutcome::NoLongerInProgress => Err(LifecycleError::DefinitionNotInProgress),
        }
    }

    /// `GET /testing/clock`: the service's now.
    ///
    /// # Errors
    /// Forbidden without a write role; disabled unless the clock control is
    /// on.
    pub async fn clock(&self, actor: &Actor) -> Result<DateTime<Utc>, LifecycleError> {
        self.control(actor)?;
        Ok(self.clock.now().await?)
    }

    /// `POST /testing/clock`: moves the clock forward by `by`, then runs the
    /// scheduler's pass, so that every transition due at the new time has
    /// committed when this returns.
    ///
    /// # Errors
    /// As [`Self::clock`]; [`LifecycleError::ClockNotForward`] unless `by`
    /// is positive.
    pub async fn advance_clock(
        &self,
        actor: &Actor,
        by: chrono::Duration,
    ) -> Result<DateTime<Utc>, LifecycleError> {
        let control = self.control(actor)?;
        if by <= chrono::Duration::zero() {
            return Err(LifecycleError::ClockNotForward);
        }
        let now = control.advance(by).await?;
        self.run_due(Claim::All).await?;
        Ok(now)
    }

    fn control(&self, actor: &Actor) -> Result<&Arc<dyn ClockControl>, LifecycleError> {
        let control = self
            .clock_control
            .as_ref()
            .ok_or(LifecycleError::ClockControlDisabled)?;
        if !actor.may_create() {
            return Err(LifecycleError::Forbidden);
        }
        Ok(control)
    }
}

/// What due work names, unless it is gone by now (deleted, or never under
/// that parent): a lost race, counted; a store failure ends the pass.
fn still_there<T>(
    found: Result<T, Lookup>,
    report: &mut PassReport,
) -> Result<Option<T>, LifecycleError> {
    match found {
        Ok(found) => Ok(Some(found)),
        Err(Lookup::Missing(_)) => {
            report.lost_races += 1;
            Ok(None)
        }
        Err(Lookup::Repository(e)) => Err(e.into()),
    }
}

/// How the caller appears as `appliedBy`.
fn identity(actor: &Actor) -> Identity {
    match actor {
        Actor::User {
            id,
            display_name,
            user_principal_name,
            ..
        } => Identity {
            id: *id,
            display_name: display_name.clone().unwrap_or_default(),
            user_principal_name: user_principal_name.clone().unwrap_or_default(),
        },
        Actor::Application { id, .. } if *id == system_identity().id => system_identity(),
        Actor::Application { id, display_name } => Identity {
            id: *id,
            display_name: display_name.clone().unwrap_or_default(),
            user_principal_name: String::new(),
        },
    }
}
