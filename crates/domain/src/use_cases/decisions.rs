use std::sync::Arc;

use crate::actor::Actor;
use crate::decision::{Decision, DecisionItem, Identity, Review, ReviewerRules};
use crate::definition::Definition;
use crate::ids::{DecisionItemId, DefinitionId, InstanceId, PrincipalId, StageId};
use crate::instance::Instance;
use crate::ports::{
    Clock, DecisionQuery, DecisionRepository, DefinitionRepository, DirectoryRepository,
    InstanceRepository, Phase, PhaseItem, RecordOutcome, RepositoryError, ReviewReads,
    StageRepository,
};
use crate::query::Page;
use crate::stage::StageNotInProgress;
use crate::status::ReviewStatus;
use crate::use_cases::Ports;
use crate::use_cases::read::{ReadError, visible};
use crate::use_cases::{Missing, find_instance};

/// Which phase a decision request addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionTarget {
    /// `P/decisions…`: the stage in progress, or the instance itself when
    /// the review has no stages.
    Current,
    /// `P/stages/{id}/decisions…`.
    Stage(StageId),
}

/// A decision to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    /// The decision.
    pub decision: Decision,
    /// Why.
    pub justification: Option<String>,
}

/// Why a decision operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// An object of the path does not exist under its parent.
    #[error("{0} not found")]
    NotFound(Missing),
    /// The caller may not do this (not a reviewer of the item, an
    /// application recording a decision, no rights on the review).
    #[error("the caller may not do this")]
    Forbidden,
    /// Decisions are recorded only by signed-in users, never by an
    /// application acting as itself.
    #[error("applications cannot record decisions")]
    ApplicationCannotDecide,
    /// The stage is not `InProgress`: its reviewers can no longer decide.
    #[error(transparent)]
    NotInProgress(#[from] StageNotInProgress),
    /// The instance is not `InProgress`.
    #[error("the instance is {0}")]
    InstanceNotInProgress(ReviewStatus),
    /// The review requires a justification to approve.
    #[error("a justification is required to approve")]
    JustificationRequired,
    /// The store failed.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// The justification of a decision taken from a recommendation.
pub const RECOMMENDATION_ACCEPTED: &str = "Accepted the recommendation.";

/// Decision items: reading them, recording decisions, resetting them.
pub struct Decisions {
    definitions: Arc<dyn DefinitionRepository>,
    instances: Arc<dyn InstanceRepository>,
    stages: Arc<dyn StageRepository>,
    decisions: Arc<dyn DecisionRepository>,
    directory: Arc<dyn DirectoryRepository>,
    reads: Arc<dyn ReviewReads>,
    clock: Arc<dyn Clock>,
}

impl From<ReadError> for DecisionError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::NotFound(missing) => Self::NotFound(missing),
            ReadError::Forbidden => Self::Forbidden,
            ReadError::Repository(e) => Self::Repository(e),
        }
    }
}

/// The phase a request resolved to, and its status now.
struct ResolvedPhase {
    phase: Phase,
    status: ReviewStatus,
}

/// What recording a decision needs to know of the phase it addresses.
struct DecisionPhase {
    definition: Definition,
    resolved: ResolvedPhase,
    rules: ReviewerRules,
}

impl DecisionPhase {
    /// The checks that follow the reviewer check: the stage must still
    /// take decisions, and an approval may need a justification.
    fn accepts(&self, review: &NewReview) -> Result<(), DecisionError> {
        if self.resolved.status != ReviewStatus::InProgress {
            return Err(StageNotInProgress {
                status: self.resolved.status,
            }
            .into());
        }
        let blank = review
            .justification
            .as_deref()
            .is_none_or(|j| j.trim().is_empty());
        if self
            .definition
            .spec
            .settings
            .justification_required_on_approval
            && review.decision == Decision::Approve
            && blank
        {
            return Err(DecisionError::JustificationRequired);
        }
        Ok(())
    }
}

impl Decisions {
    /// Wires the use case.
    pub fn new(ports: &Ports) -> Self {
        Self {
            definitions: ports.definitions.clone(),
            instances: ports.instances.clone(),
            stages: ports.stages.clone(),
            decisions: ports.decisions.clone(),
            directory: ports.directory.clone(),
            reads: ports.reads.clone(),
            clock: ports.clock.clone(),
        }
    }

    async fn review(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<(Definition, Instance), DecisionError> {
        Ok(find_instance(
            &*self.definitions,
            &*self.instances,
            definition_id,
            instance_id,
        )
        .await?)
    }

    async fn phase(
        &self,
        definition: &Definition,
        instance: &Instance,
        target: DecisionTarget,
    ) -> Result<ResolvedPhase, DecisionError> {
        match target {
            DecisionTarget::Stage(stage_id) => {
                let stage = self
                    .stages
                    .get(instance.id, stage_id)
                    .await?
                    .ok_or(DecisionError::NotFound(Missing::Stage(stage_id)))?;
                Ok(ResolvedPhase {
                    phase: Phase::Stage(stage.id),
                    status: stage.status(),
                })
            }
            DecisionTarget::Current if definition.spec.stage_plan.is_empty() => Ok(ResolvedPhase {
                phase: Phase::Instance(instance.id),
                status: instance.status(),
            }),
            DecisionTarget::Current => {
                let stages = self.stages.all(instance.id).await?;
                // The running stage; once all are done, the last one (whose
                // reviewers can no longer decide).
                let current = stages
                    .iter()
                    .find(|s| s.status() == ReviewStatus::InProgress)
                    .or(stages.last())
                    .ok_or(DecisionError::NotFound(Missing::Instance(instance.id)))?;
                Ok(ResolvedPhase {
                    phase: Phase::Stage(current.id),
                    status: current.status(),
                })
            }
        }
    }

    /// Who the reviewer is, as items show it: from the directory when the
    /// caller is in it, else from the token.
    async fn reviewer(&self, actor: &Actor) -> Result<Identity, DecisionError> {
        let Actor::User {
            id,
            display_name,
            user_principal_name,
            ..
        } = actor
        else {
            return Err(DecisionError::ApplicationCannotDecide);
        };
        Ok(match self.directory.user(*id).await? {
            Some(user) => Identity {
                id: user.id,
                display_name: user.display_name,
                user_principal_name: user.user_principal_name,
            },
            None => Identity {
                id: *id,
                display_name: display_name.clone().unwrap_or_default(),
                user_principal_name: user_principal_name.clone().unwrap_or_default(),
            },
        })
    }

    /// Resolves the phase a decision on one item is recorded in, for a
    /// signed-in caller: applications decide only in batches.
    async fn decision_phase(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        target: DecisionTarget,
    ) -> Result<DecisionPhase, DecisionError> {
        if matches!(actor, Actor::Application { .. }) {
            return Err(DecisionError::ApplicationCannotDecide);
        }
        self.phase_of(definition_id, instance_id, target).await
    }

    /// Resolves the phase a decision is recorded in, and who reviews in it.
    async fn phase_of(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        target: DecisionTarget,
    ) -> Result<DecisionPhase, DecisionError> {
        let (definition, instance) = self.review(definition_id, instance_id).await?;
        let resolved = self.phase(&definition, &instance, target).await?;
        let rules = self
            .decisions
            .rules(resolved.phase)
            .await?
            .unwrap_or_default();
        Ok(DecisionPhase {
            definition,
            resolved,
            rules,
        })
    }

    async fn commit(
        &self,
        phase: Phase,
        items: &[DecisionItemId],
        reviewer: Identity,
        review: NewReview,
    ) -> Result<(), DecisionError> {
        let review = Review {
            decision: review.decision,
            justification: review.justification,
            reviewed_by: reviewer,
            reviewed_date_time: self.clock.now().await?,
        };
        match self.decisions.record(phase, items, &review).await? {
            RecordOutcome::Recorded => Ok(()),
            // A stop committed between our check and our write.
            RecordOutcome::NotInProgress => Err(StageNotInProgress {
                status: ReviewStatus::Completed,
            }
            .into()),
        }
    }

    /// `PATCH …/decisions/{id}`: records the caller's decision on one item.
    ///
    /// Missing objects come before missing rights, and rights before the
    /// stage's state, as for a stop.
    ///
    /// # Errors
    /// See [`DecisionError`].
    pub async fn record(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        target: DecisionTarget,
        item_id: DecisionItemId,
        review: NewReview,
    ) -> Result<(), DecisionError> {
        let at = self
            .decision_phase(actor, definition_id, instance_id, target)
            .await?;
        let entry = self
            .decisions
            .phase_item(at.resolved.phase, item_id)
            .await?
            .ok_or(DecisionError::NotFound(Missing::DecisionItem(item_id)))?;
        if !at
            .rules
            .reviews(actor.id(), entry.item.principal.id, entry.manager)
        {
            return Err(DecisionError::Forbidden);
        }
        at.accepts(&review)?;
        let reviewer = self.reviewer(actor).await?;
        self.commit(at.resolved.phase, &[item_id], reviewer, review)
            .await
    }

    /// `POST …/batchRecordDecisions`: records one decision on every item of
    /// the phase that the caller reviews, optionally only those of one
    /// principal and/or resource. An application (Graph allows
    /// `AccessReview.ReadWrite.All` as an application permission here)
    /// decides for every item of the phase, as itself, when it may act on
    /// the review.
    ///
    /// # Errors
    /// See [`DecisionError`]; [`DecisionError::Forbidden`] for a signed-in
    /// caller who reviews no item of the phase.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_batch(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        target: DecisionTarget,
        review: NewReview,
        principal: Option<PrincipalId>,
        resource: Option<PrincipalId>,
    ) -> Result<(), DecisionError> {
        let at = self.phase_of(definition_id, instance_id, target).await?;
        let application = matches!(actor, Actor::Application { .. });
        if application && !actor.may_write(&at.definition) {
            return Err(DecisionError::Forbidden);
        }
        let reviewed: Vec<PhaseItem> = self
            .decisions
            .phase_items(at.resolved.phase)
            .await?
            .into_iter()
            .filter(|e| application || at.rules.reviews(actor.id(), e.item.principal.id, e.manager))
            .collect();
        if reviewed.is_empty() && !application {
            return Err(DecisionError::Forbidden);
        }
        let items: Vec<DecisionItemId> = reviewed
            .into_iter()
            .filter(|e| principal.is_none_or(|p| p == e.item.principal.id))
            .filter(|e| resource.is_none_or(|r| r == e.item.resource.id))
            .map(|e| e.item.id)
            .collect();
        at.accepts(&review)?;
        if items.is_empty() {
            return Ok(());
        }
        let reviewer = match actor {
            Actor::Application { id, display_name } => Identity {
                id: *id,
                display_name: display_name.clone().unwrap_or_default(),
                user_principal_name: String::new(),
            },
            Actor::User { .. } => self.reviewer(actor).await?,
        };
        self.commit(at.resolved.phase, &items, reviewer, review)
            .await
    }

    /// `POST …/instances/{id}/acceptRecommendations`: each item of the
    /// phase in progress that the caller reviews and nobody has decided
    /// takes its recommendation, when it has one (`Approve` or `Deny`), as
    /// the caller's decision. Delegated callers only.
    ///
    /// # Errors
    /// [`DecisionError::ApplicationCannotDecide`] for an application;
    /// [`DecisionError::Forbidden`] for a caller who reviews no item of the
    /// phase; [`DecisionError::NotInProgress`] once it has ended.
    pub async fn accept_recommendations(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<(), DecisionError> {
        let at = self
            .phase_of(definition_id, instance_id, DecisionTarget::Current)
            .await?;
        if matches!(actor, Actor::Application { .. }) {
            return Err(DecisionError::ApplicationCannotDecide);
        }
        let items: Vec<DecisionItemId> = self
            .decisions
            .phase_items(at.resolved.phase)
            .await?
            .into_iter()
            .filter(|e| at.rules.reviews(actor.id(), e.item.principal.id, e.manager))
            .map(|e| e.item.id)
            .collect();
        if items.is_empty() {
            return Err(DecisionError::Forbidden);
        }
        if at.resolved.status != ReviewStatus::InProgress {
            return Err(StageNotInProgress {
                status: at.resolved.status,
            }
            .into());
        }
        let review = Review {
            // A justification, so that a review that requires one to
            // approve accepts the recommendation too.
            decision: Decision::NotReviewed,
            justification: Some(RECOMMENDATION_ACCEPTED.to_owned()),
            reviewed_by: self.reviewer(actor).await?,
            reviewed_date_time: self.clock.now().await?,
        };
        match self
            .decisions
            .accept_recommendations(at.resolved.phase, &items, &review)
            .await?
        {
            RecordOutcome::Recorded => Ok(()),
            RecordOutcome::NotInProgress => Err(StageNotInProgress {
                status: ReviewStatus::Completed,
            }
            .into()),
        }
    }

    /// `POST P/resetDecisions`: every item of the instance back to
    /// `NotReviewed` (the history stays).
    ///
    /// # Errors
    /// See [`DecisionError`].
    pub async fn reset(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<(), DecisionError> {
        let (definition, instance) = self.review(definition_id, instance_id).await?;
        if !actor.may_write(&definition) {
            return Err(DecisionError::Forbidden);
        }
        if instance.status() != ReviewStatus::InProgress {
            return Err(DecisionError::InstanceNotInProgress(instance.status()));
        }
        match self.decisions.reset(instance_id).await? {
            RecordOutcome::Recorded => Ok(()),
            RecordOutcome::NotInProgress => Err(DecisionError::InstanceNotInProgress(
                ReviewStatus::Completed,
            )),
        }
    }

    /// A page of decision items: of the instance, or of one stage; with
    /// `mine`, only those the caller reviews (`filterByCurrentUser`). A
    /// read role, the creator or a reviewer in the instance may list them.
    ///
    /// # Errors
    /// See [`DecisionError`].
    pub async fn list(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage: Option<StageId>,
        mut query: DecisionQuery,
        mine: bool,
    ) -> Result<Page<DecisionItem>, DecisionError> {
        query.reviewer = mine.then(|| actor.id());
        let located = self
            .reads
            .items(
                definition_id,
                instance_id,
                stage,
                query,
                actor.reviewer_to_check(),
            )
            .await?;
        Ok(visible(actor, located)?)
    }

    /// One decision item, of the instance or of one stage.
    ///
    /// # Errors
    /// See [`DecisionError`].
    pub async fn get(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage: Option<StageId>,
        item_id: DecisionItemId,
    ) -> Result<DecisionItem, DecisionError> {
        let located = self
            .reads
            .item(
                definition_id,
                instance_id,
                stage,
                item_id,
                actor.reviewer_to_check(),
            )
            .await?;
        Ok(visible(actor, located)?)
    }
}
