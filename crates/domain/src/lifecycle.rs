//! The review as a process in time: what the end of an instance changes
//! (by its schedule, its stop or its definition's stop), with the default
//! decision and applying of [`crate::decision`], and the audit records of
//! these actions.
//!
//! Everything here is computed before anything is written, like
//! [`crate::stop::StopTransition`], so that the adapter commits it whole.

use chrono::{DateTime, Utc};

use crate::actor::Actor;
use crate::definition::{DefaultDecision, Definition};
use crate::ids::{DefinitionId, InstanceId, PrincipalId, StageId};
use crate::instance::{Instance, InstanceNotInProgress};
use crate::stage::Stage;
use crate::status::ReviewStatus;

/// The justification recorded with a default decision.
pub const DEFAULT_DECISION_JUSTIFICATION: &str =
    "Applied by default: the reviewers did not respond before the review ended.";

/// What the end of an instance does, in the same transaction as its
/// completion: the default decision for unreviewed items, then, with
/// `autoApplyDecisionsEnabled`, applying every decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceEnd {
    /// When the instance ended.
    pub at: DateTime<Utc>,
    /// The default decision, when `defaultDecisionEnabled` names one.
    pub default_decision: Option<DefaultDecision>,
    /// Whether the decisions are applied at once.
    pub auto_apply: bool,
}

impl InstanceEnd {
    /// The end rules of `definition`'s settings, at `at`.
    pub fn of(definition: &Definition, at: DateTime<Utc>) -> Self {
        let settings = &definition.spec.settings;
        Self {
            at,
            default_decision: settings
                .default_decision_enabled
                .then_some(settings.default_decision)
                .flatten()
                .filter(|d| *d != DefaultDecision::None),
            auto_apply: settings.auto_apply_decisions_enabled,
        }
    }
}

/// What the service records in its audit trail besides stage stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// An instance started on schedule.
    InstanceStarted,
    /// An instance ended: on schedule, or stopped by a person.
    InstanceCompleted,
    /// Decisions were applied to the directory.
    DecisionsApplied,
    /// Reviewers were reminded.
    ReminderSent,
    /// A definition was stopped.
    DefinitionStopped,
}

impl Action {
    /// The name stored in the audit trail.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InstanceStarted => "instanceStarted",
            Self::InstanceCompleted => "instanceCompleted",
            Self::DecisionsApplied => "decisionsApplied",
            Self::ReminderSent => "reminderSent",
            Self::DefinitionStopped => "definitionStopped",
        }
    }
}

/// One audit record of an [`Action`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionAudit {
    /// When.
    pub at: DateTime<Utc>,
    /// Who: a person, an application, or the system (the all-zero id).
    pub actor: PrincipalId,
    /// What.
    pub action: Action,
    /// On which definition.
    pub definition_id: DefinitionId,
    /// On which instance, if one.
    pub instance_id: Option<InstanceId>,
    /// Which stage ended with it, if one.
    pub stage_id: Option<StageId>,
}

/// Everything the end of an instance changes (by its schedule, by its
/// stop, or by its definition's stop). Committed all together or not at
/// all, and only while the instance is `InProgress`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndTransition {
    /// The instance, now `Completed`.
    pub instance: Instance,
    /// Its stage in progress, completed without creating a next stage.
    pub stopped_stage: Option<Stage>,
    /// Default decision and applying.
    pub end: InstanceEnd,
    /// Whether the definition completes with it.
    pub definition_completed: bool,
    /// The audit record.
    pub audit: ActionAudit,
}

impl EndTransition {
    /// Plans the end of `instance` at `at`: its stage in progress (if any)
    /// is completed without a successor, the instance completes, the
    /// definition's end rules run. The definition completes too when it
    /// does not recur, or when `stop_definition` is set.
    ///
    /// # Errors
    /// When the instance is not `InProgress`.
    pub fn plan(
        definition: &Definition,
        instance: &Instance,
        stages: &[Stage],
        actor: &Actor,
        at: DateTime<Utc>,
        stop_definition: bool,
    ) -> Result<Self, InstanceNotInProgress> {
        let mut instance = instance.clone();
        instance.complete(at)?;
        let stopped_stage = stages
            .iter()
            .find(|s| s.status() == ReviewStatus::InProgress)
            .cloned()
            .and_then(|mut s| s.stop(at).ok().map(|()| s));
        Ok(Self {
            audit: ActionAudit {
                at,
                actor: actor.id(),
                action: if stop_definition {
                    Action::DefinitionStopped
                } else {
                    Action::InstanceCompleted
                },
                definition_id: definition.id,
                instance_id: Some(instance.id),
                stage_id: stopped_stage.as_ref().map(|s| s.id),
            },
            instance,
            stopped_stage,
            end: InstanceEnd::of(definition, at),
            definition_completed: stop_definition || !definition.has_more_instances(),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::decision::{ApplyResult, Decision, Membership, Recommendation};
    use crate::definition::{DefaultDecision, UnknownDefaultDecision};

    #[test]
    fn default_decisions_follow_graphs_three_values() {
        use Recommendation as R;
        let table = [
            (
                DefaultDecision::Approve,
                R::NoInfoAvailable,
                Some(Decision::Approve),
            ),
            (DefaultDecision::Approve, R::Deny, Some(Decision::Approve)),
            (DefaultDecision::Deny, R::Approve, Some(Decision::Deny)),
            (
                DefaultDecision::Deny,
                R::NoInfoAvailable,
                Some(Decision::Deny),
            ),
            (
                DefaultDecision::Recommendation,
                R::Approve,
                Some(Decision::Approve),
            ),
            (
                DefaultDecision::Recommendation,
                R::Deny,
                Some(Decision::Deny),
            ),
            (DefaultDecision::Recommendation, R::NoInfoAvailable, None),
            (DefaultDecision::None, R::Deny, None),
        ];
        for (default, recommendation, expected) in table {
            assert_eq!(
                default.decision_for(recommendation),
                expected,
                "{default} with {recommendation:?}"
            );
        }
    }

    #[test]
    fn only_graphs_default_decision_values_parse() {
        assert_eq!("deny".parse(), Ok(DefaultDecision::Deny));
        assert_eq!("None".parse(), Ok(DefaultDecision::None));
        assert_eq!(
            "Recommendation".parse(),
            Ok(DefaultDecision::Recommendation)
        );
        assert_eq!(
            "DontKnow".parse::<DefaultDecision>(),
            Err(UnknownDefaultDecision)
        );
    }

    #[test]
    fn only_a_denial_changes_the_directory_and_only_a_direct_membership() {
        assert_eq!(
            ApplyResult::of(Decision::Deny, Membership::Direct),
            ApplyResult::AppliedSuccessfully
        );
        assert_eq!(
            ApplyResult::of(Decision::Deny, Membership::Nested),
            ApplyResult::ApplyNotSupported
        );
        assert_eq!(
            ApplyResult::of(Decision::Deny, Membership::Gone),
            ApplyResult::AppliedSuccessfullyButObjectNotFound
        );
        for decision in [Decision::Approve, Decision::DontKnow, Decision::NotReviewed] {
            for membership in [Membership::Direct, Membership::Nested, Membership::Gone] {
                assert_eq!(
                    ApplyResult::of(decision, membership),
                    ApplyResult::AppliedSuccessfully
                );
            }
        }
    }

    #[test]
    fn apply_results_round_trip_through_their_graph_spelling() {
        for result in ApplyResult::ALL {
            assert_eq!(result.as_str().parse(), Ok(result));
        }
    }
}
