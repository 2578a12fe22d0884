//! Decision items, the decisions reviewers record on them, and who may
//! record them.

use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::definition::{DefaultDecision, MoveDecision};
use crate::ids::{DecisionItemId, InstanceId, PrincipalId};

/// A reviewer's decision (`decision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Keep the access.
    Approve,
    /// Remove the access.
    Deny,
    /// Nobody decided (the initial value, and what a reset restores).
    NotReviewed,
    /// The reviewer does not know.
    DontKnow,
}

/// A string that is not a decision value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown decision value")]
pub struct UnknownDecision;

impl Decision {
    /// Every value.
    pub const ALL: [Decision; 4] = [Self::Approve, Self::Deny, Self::NotReviewed, Self::DontKnow];

    /// Graph's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "Approve",
            Self::Deny => "Deny",
            Self::NotReviewed => "NotReviewed",
            Self::DontKnow => "DontKnow",
        }
    }
}

impl FromStr for Decision {
    type Err = UnknownDecision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s))
            .ok_or(UnknownDecision)
    }
}

/// The system's recommendation (`recommendation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recommendation {
    /// Approve.
    Approve,
    /// Deny.
    Deny,
    /// No sign-in data to base a recommendation on (always, so far).
    NoInfoAvailable,
}

impl Recommendation {
    /// Every value.
    pub const ALL: [Recommendation; 3] = [Self::Approve, Self::Deny, Self::NoInfoAvailable];

    /// Graph's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "Approve",
            Self::Deny => "Deny",
            Self::NoInfoAvailable => "NoInfoAvailable",
        }
    }

    /// The decision that agrees with this recommendation, if any.
    pub const fn as_decision(self) -> Option<Decision> {
        match self {
            Self::Approve => Some(Decision::Approve),
            Self::Deny => Some(Decision::Deny),
            Self::NoInfoAvailable => None,
        }
    }
}

impl FromStr for Recommendation {
    type Err = UnknownDecision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s))
            .ok_or(UnknownDecision)
    }
}

/// A person as decision items show them (`userIdentity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Object id.
    pub id: PrincipalId,
    /// Display name.
    pub display_name: String,
    /// Sign-in name.
    pub user_principal_name: String,
}

/// What the principal has access to: the group of the review's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The group's id.
    pub id: PrincipalId,
    /// Its display name.
    pub display_name: String,
}

/// The latest decision recorded on an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// The decision.
    pub decision: Decision,
    /// Why.
    pub justification: Option<String>,
    /// Who decided.
    pub reviewed_by: Identity,
    /// When.
    pub reviewed_date_time: DateTime<Utc>,
}

/// An `accessReviewInstanceDecisionItem`: one principal's access to one
/// resource, under review in one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionItem {
    /// Its id.
    pub id: DecisionItemId,
    /// The instance (Graph's `accessReviewId`).
    pub instance_id: InstanceId,
    /// Whose access.
    pub principal: Identity,
    /// To what.
    pub resource: Resource,
    /// The system's recommendation.
    pub recommendation: Recommendation,
    /// The latest decision from any stage; `None` while nobody decided.
    pub latest: Option<Review>,
    /// How its decision was applied; `None` until it is.
    pub applied: Option<Applied>,
}

/// How and when an item's decision was applied to the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The outcome.
    pub result: ApplyResult,
    /// Who applied it (the system, when applied automatically).
    pub by: Identity,
    /// When.
    pub at: DateTime<Utc>,
}

impl DecisionItem {
    /// A new item, not reviewed yet.
    pub fn new(instance_id: InstanceId, principal: Identity, resource: Resource) -> Self {
        Self {
            id: DecisionItemId::new_random(),
            instance_id,
            principal,
            resource,
            recommendation: Recommendation::NoInfoAvailable,
            latest: None,
            applied: None,
        }
    }

    /// The current decision: the latest recorded, else `NotReviewed`.
    pub fn decision(&self) -> Decision {
        self.latest
            .as_ref()
            .map_or(Decision::NotReviewed, |r| r.decision)
    }

    /// Graph's `applyResult`: `New` until the decision is applied.
    pub fn apply_result(&self) -> ApplyResult {
        self.applied.as_ref().map_or(ApplyResult::New, |a| a.result)
    }
}

impl DefaultDecision {
    /// The decision an unreviewed item with this recommendation gets, if
    /// any. The adapter's SQL mirrors this rule.
    pub const fn decision_for(self, recommendation: Recommendation) -> Option<Decision> {
        match self {
            Self::Approve => Some(Decision::Approve),
            Self::Deny => Some(Decision::Deny),
            Self::Recommendation => recommendation.as_decision(),
            Self::None => None,
        }
    }
}

/// Graph's `applyResult` of a decision item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplyResult {
    /// Not applied yet.
    New,
    /// Applied: a denied principal's membership was removed, or an item
    /// that needs no change was marked applied.
    AppliedSuccessfully,
    /// The member or the group no longer exists (or the principal is no
    /// longer a member): nothing left to remove.
    AppliedSuccessfullyButObjectNotFound,
    /// The principal is a member only through a nested group; removing
    /// that is not this review's to do.
    ApplyNotSupported,
}

impl ApplyResult {
    /// Every value.
    pub const ALL: [ApplyResult; 4] = [
        Self::New,
        Self::AppliedSuccessfully,
        Self::AppliedSuccessfullyButObjectNotFound,
        Self::ApplyNotSupported,
    ];

    /// Graph's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::New => "New",
            Self::AppliedSuccessfully => "AppliedSuccessfully",
            Self::AppliedSuccessfullyButObjectNotFound => "AppliedSuccessfullyButObjectNotFound",
            Self::ApplyNotSupported => "ApplyNotSupported",
        }
    }

    /// The result of applying an item's decision, given what the directory
    /// holds at that moment. Only `Deny` changes anything: it removes the
    /// principal's direct membership of the reviewed group. `Approve`,
    /// `DontKnow` and `NotReviewed` keep the access as it is, which is
    /// applying them successfully. The adapter's SQL mirrors this rule.
    pub const fn of(decision: Decision, membership: Membership) -> Self {
        match (decision, membership) {
            (Decision::Deny, Membership::Direct) => Self::AppliedSuccessfully,
            (Decision::Deny, Membership::Nested) => Self::ApplyNotSupported,
            (Decision::Deny, Membership::Gone) => Self::AppliedSuccessfullyButObjectNotFound,
            (Decision::Approve | Decision::DontKnow | Decision::NotReviewed, _) => {
                Self::AppliedSuccessfully
            }
        }
    }
}

impl FromStr for ApplyResult {
    type Err = UnknownDecision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or(UnknownDecision)
    }
}

/// How a principal belongs to the reviewed group when a decision is
/// applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// A direct member.
    Direct,
    /// A member only through a nested group.
    Nested,
    /// Not a member, or the principal or the group is gone.
    Gone,
}

/// Which items follow a stop into the next stage: the stopped stage's
/// `decisionsThatWillMoveToNextStage`, `None` meaning all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRule(pub Option<Vec<MoveDecision>>);

impl MoveRule {
    /// Whether an item with this latest decision and recommendation moves
    /// on. `Recommendation` matches an item whose decision equals its
    /// recommendation, so nothing while recommendations are unavailable.
    pub fn moves(&self, decision: Decision, recommendation: Recommendation) -> bool {
        let Some(moving) = &self.0 else { return true };
        moving.iter().any(|m| match m {
            MoveDecision::Approve => decision == Decision::Approve,
            MoveDecision::Deny => decision == Decision::Deny,
            MoveDecision::NotReviewed => decision == Decision::NotReviewed,
            MoveDecision::Recommendation => recommendation.as_decision() == Some(decision),
        })
    }

    /// Whether every item moves.
    pub fn moves_all(&self) -> bool {
        self.0.is_none()
    }

    /// The decisions that move an item by themselves.
    pub fn decisions(&self) -> Vec<Decision> {
        self.0
            .iter()
            .flatten()
            .filter_map(|m| match m {
                MoveDecision::Approve => Some(Decision::Approve),
                MoveDecision::Deny => Some(Decision::Deny),
                MoveDecision::NotReviewed => Some(Decision::NotReviewed),
                MoveDecision::Recommendation => None,
            })
            .collect()
    }

    /// Whether an item whose decision equals its recommendation moves.
    pub fn follows_recommendation(&self) -> bool {
        self.0
            .iter()
            .flatten()
            .any(|m| *m == MoveDecision::Recommendation)
    }
}

/// Who reviews the items of one stage (or of an instance without stages),
/// resolved from the reviewer scopes when the stage is created.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReviewerRules {
    /// No reviewers were given: each principal reviews their own access.
    pub self_review: bool,
    /// Fixed reviewers (`/users/{id}`, group owners or members).
    pub fixed: Vec<PrincipalId>,
    /// `./manager`: each item's principal's manager reviews it.
    pub by_manager: bool,
    /// Reviewers of items whose primary reviewers resolve to nobody.
    pub fallback: Vec<PrincipalId>,
}

impl ReviewerRules {
    /// Whether `reviewer` reviews the item of `principal`, whose manager
    /// (as resolved when the stage was created) is `manager`.
    pub fn reviews(
        &self,
        reviewer: PrincipalId,
        principal: PrincipalId,
        manager: Option<PrincipalId>,
    ) -> bool {
        if self.self_review {
            return reviewer == principal;
        }
        let by_manager = if self.by_manager { manager } else { None };
        let primary_is_nobody = self.fixed.is_empty() && by_manager.is_none();
        self.fixed.contains(&reviewer)
            || by_manager == Some(reviewer)
            || (primary_is_nobody && self.fallback.contains(&reviewer))
    }

    /// Everyone who reviews the item of `principal` (whose manager is
    /// `manager`): exactly those for whom [`Self::reviews`] holds.
    pub fn reviewers_of(
        &self,
        principal: PrincipalId,
        manager: Option<PrincipalId>,
    ) -> Vec<PrincipalId> {
        if self.self_review {
            return vec![principal];
        }
        let mut primary = self.fixed.clone();
        primary.extend(manager.filter(|_| self.by_manager));
        if primary.is_empty() {
            self.fallback.clone()
        } else {
            primary
        }
    }
}

/// A reviewer of an instance (`accessReviewReviewer`, the instance's
/// `contactedReviewers`): anyone who reviews one of its items in any of
/// its stages, since the start of the first such stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactedReviewer {
    /// Object id.
    pub id: PrincipalId,
    /// Display name, when the directory knows the user.
    pub display_name: Option<String>,
    /// Sign-in name, when the directory knows the user.
    pub user_principal_name: Option<String>,
    /// `createdDateTime`: when they became a reviewer of the instance.
    pub since: DateTime<Utc>,
}

/// How contacted reviewers are sorted (`$orderby`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReviewerOrder {
    /// By `createdDateTime`, then id (the default).
    #[default]
    Since,
    /// By `displayName` (unknown names last), then id.
    DisplayName,
}

impl ReviewerOrder {
    /// Sorts `reviewers`, descending when `descending`.
    pub fn sort(self, reviewers: &mut [ContactedReviewer], descending: bool) {
        reviewers.sort_by(|a, b| {
            let by = match self {
                Self::Since => a.since.cmp(&b.since),
                Self::DisplayName => match (&a.display_name, &b.display_name) {
                    (Some(x), Some(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                },
            }
            .then(a.id.cmp(&b.id));
            if descending { by.reverse() } else { by }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(moving: &[MoveDecision]) -> MoveRule {
        MoveRule(Some(moving.to_vec()))
    }

    #[test]
    fn the_reviewers_of_an_item_are_exactly_those_the_rule_lets_review() {
        let ids: Vec<PrincipalId> = (0..5).map(|_| PrincipalId::new_random()).collect();
        let (principal, manager, fixed, fallback, stranger) =
            (ids[0], ids[1], ids[2], ids[3], ids[4]);
        let rules = [
            ReviewerRules {
                self_review: true,
                ..ReviewerRules::default()
            },
            ReviewerRules {
                fixed: vec![fixed],
                fallback: vec![fallback],
                ..ReviewerRules::default()
            },
            ReviewerRules {
                by_manager: true,
                fallback: vec![fallback],
                ..ReviewerRules::default()
            },
            ReviewerRules {
                by_manager: true,
                fixed: vec![fixed],
                ..ReviewerRules::default()
            },
            ReviewerRules {
                fallback: vec![fallback],
                ..ReviewerRules::default()
            },
        ];
        for rule in &rules {
            for manager in [Some(manager), None] {
                let listed = rule.reviewers_of(principal, manager);
                for who in &ids {
                    assert_eq!(
                        listed.contains(who),
                        rule.reviews(*who, principal, manager),
                        "{rule:?} {manager:?}"
                    );
                }
                assert!(!listed.contains(&stranger));
            }
        }
    }

    #[test]
    fn without_a_list_every_item_moves() {
        for decision in Decision::ALL {
            for recommendation in Recommendation::ALL {
                assert!(MoveRule(None).moves(decision, recommendation));
            }
        }
    }

    #[test]
    fn each_listed_decision_moves_exactly_the_items_with_that_decision() {
        use MoveDecision as M;
        let none = Recommendation::NoInfoAvailable;
        let cases = [
            (M::Approve, Decision::Approve),
            (M::Deny, Decision::Deny),
            (M::NotReviewed, Decision::NotReviewed),
        ];
        for (listed, matching) in cases {
            for decision in Decision::ALL {
                assert_eq!(
                    rule(&[listed]).moves(decision, none),
                    decision == matching,
                    "{listed:?} {decision:?}"
                );
            }
        }
    }

    #[test]
    fn dont_know_moves_only_when_no_list_is_given() {
        use MoveDecision as M;
        let all_listed = rule(&[M::Approve, M::Deny, M::NotReviewed, M::Recommendation]);
        for recommendation in Recommendation::ALL {
            assert!(!all_listed.moves(Decision::DontKnow, recommendation));
        }
    }

    #[test]
    fn recommendation_matches_items_that_follow_their_recommendation() {
        let r = rule(&[MoveDecision::Recommendation]);
        assert!(r.moves(Decision::Approve, Recommendation::Approve));
        assert!(r.moves(Decision::Deny, Recommendation::Deny));
        assert!(!r.moves(Decision::Approve, Recommendation::Deny));
        for decision in Decision::ALL {
            assert!(
                !r.moves(decision, Recommendation::NoInfoAvailable),
                "nothing moves while recommendations are unavailable"
            );
        }
    }

    #[test]
    fn every_combination_of_listed_values_is_the_union_of_its_parts() {
        use MoveDecision as M;
        let values = [M::Approve, M::Deny, M::Recommendation, M::NotReviewed];
        for mask in 0u8..16 {
            let listed: Vec<_> = (0..4)
                .filter(|bit| mask & (1 << bit) != 0)
                .map(|bit| values[bit])
                .collect();
            for decision in Decision::ALL {
                for recommendation in Recommendation::ALL {
                    let union = listed
                        .iter()
                        .any(|m| rule(&[*m]).moves(decision, recommendation));
                    assert_eq!(rule(&listed).moves(decision, recommendation), union);
                }
            }
            let r = rule(&listed);
            assert_eq!(
                r.follows_recommendation(),
                listed.contains(&M::Recommendation)
            );
            assert_eq!(
                r.decisions().len(),
                listed.len() - usize::from(r.follows_recommendation())
            );
        }
    }

    fn id() -> PrincipalId {
        PrincipalId::new_random()
    }

    #[test]
    fn in_self_review_only_the_principal_reviews() {
        let (principal, other) = (id(), id());
        let rules = ReviewerRules {
            self_review: true,
            ..ReviewerRules::default()
        };
        assert!(rules.reviews(principal, principal, None));
        assert!(!rules.reviews(other, principal, Some(other)));
    }

    #[test]
    fn fixed_reviewers_review_every_item_and_fallbacks_none() {
        let (reviewer, fallback, principal) = (id(), id(), id());
        let rules = ReviewerRules {
            fixed: vec![reviewer],
            fallback: vec![fallback],
            ..ReviewerRules::default()
        };
        assert!(rules.reviews(reviewer, principal, None));
        assert!(!rules.reviews(fallback, principal, None));
        assert!(!rules.reviews(principal, principal, None));
    }

    #[test]
    fn managers_review_their_reports_and_fallbacks_cover_those_without_one() {
        let (manager, fallback, with_manager, without_manager) = (id(), id(), id(), id());
        let rules = ReviewerRules {
            by_manager: true,
            fallback: vec![fallback],
            ..ReviewerRules::default()
        };
        assert!(rules.reviews(manager, with_manager, Some(manager)));
        assert!(!rules.reviews(fallback, with_manager, Some(manager)));
        assert!(!rules.reviews(manager, without_manager, None));
        assert!(rules.reviews(fallback, without_manager, None));
    }

    #[test]
    fn an_empty_fixed_group_falls_back() {
        let fallback = id();
        let rules = ReviewerRules {
            fixed: vec![],
            fallback: vec![fallback],
            ..ReviewerRules::default()
        };
        assert!(rules.reviews(fallback, id(), None));
    }

    #[test]
    fn decisions_parse_graphs_four_values_only() {
        assert_eq!("approve".parse(), Ok(Decision::Approve));
        assert_eq!("DontKnow".parse(), Ok(Decision::DontKnow));
        assert_eq!("Maybe".parse::<Decision>(), Err(UnknownDecision));
        assert_eq!("Recommendation".parse::<Decision>(), Err(UnknownDecision));
    }
}
