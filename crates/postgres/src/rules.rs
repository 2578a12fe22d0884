//! The domain's rules where the database applies them, set-based. Each
//! mirrors one rule of the domain, named in its comment, and is tested
//! against it. The rules that write live as functions in the migration
//! `transition_functions`, which the one-call stop runs as well:
//! `ar_carry_over` ([`MoveRule::moves`]), `ar_default_decisions`
//! ([`DefaultDecision::decision_for`]) and `ar_apply_decisions`
//! ([`ApplyResult::of`]); the rule the reads share is here.
//!
//! [`MoveRule::moves`]: access_reviews_domain::decision::MoveRule::moves
//! [`DefaultDecision::decision_for`]: access_reviews_domain::definition::DefaultDecision
//! [`ApplyResult::of`]: access_reviews_domain::decision::ApplyResult::of

/// Whether the reviewer `$who` reviews item `i` in phase `rp`, where `pi`
/// is the item's row in that phase:
/// [`ReviewerRules::reviews`](access_reviews_domain::decision::ReviewerRules::reviews)
/// in SQL.
pub(crate) const REVIEWS: &str = "(CASE WHEN rp.self_review THEN i.principal_id = $who \
     ELSE EXISTS (SELECT 1 FROM phase_reviewers r WHERE r.phase_id = rp.id \
                  AND r.role = 'primary' AND r.reviewer_id = $who) \
       OR (rp.by_manager AND pi.manager_id = $who) \
       OR (NOT EXISTS (SELECT 1 FROM phase_reviewers r WHERE r.phase_id = rp.id AND r.role = 'primary') \
           AND NOT (rp.by_manager AND pi.manager_id IS NOT NULL) \
           AND EXISTS (SELECT 1 FROM phase_reviewers r WHERE r.phase_id = rp.id \
                       AND r.role = 'fallback' AND r.reviewer_id = $who)) \
     END)";
