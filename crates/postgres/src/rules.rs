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

/// Everyone who reviews an item of instance `$1` in any of its phases,
/// with the start of the first such phase and their names:
/// [`ReviewerRules::reviewers_of`](access_reviews_domain::decision::ReviewerRules::reviewers_of)
/// in SQL, over every item of every phase.
pub(crate) const CONTACTED_REVIEWERS: &str = "\
    WITH phases AS ( \
        SELECT rp.id, rp.self_review, rp.by_manager, \
               coalesce(s.start_date_time, inst.start_date_time) AS started, \
               EXISTS (SELECT 1 FROM phase_reviewers r WHERE r.phase_id = rp.id \
                       AND r.role = 'primary') AS has_fixed \
        FROM review_phases rp \
        JOIN access_review_instances inst ON inst.id = rp.instance_id \
        LEFT JOIN access_review_stages s ON s.id = rp.id \
        WHERE rp.instance_id = $1 \
    ), contacted AS ( \
        SELECT i.principal_id AS reviewer, ph.started FROM phases ph \
        JOIN phase_items pi ON pi.phase_id = ph.id JOIN decision_items i ON i.id = pi.item_id \
        WHERE ph.self_review \
        UNION ALL \
        SELECT r.reviewer_id, ph.started FROM phases ph \
        JOIN phase_reviewers r ON r.phase_id = ph.id AND r.role = 'primary' \
        WHERE NOT ph.self_review AND EXISTS (SELECT 1 FROM phase_items pi WHERE pi.phase_id = ph.id) \
        UNION ALL \
        SELECT pi.manager_id, ph.started FROM phases ph JOIN phase_items pi ON pi.phase_id = ph.id \
        WHERE NOT ph.self_review AND ph.by_manager AND pi.manager_id IS NOT NULL \
        UNION ALL \
        SELECT r.reviewer_id, ph.started FROM phases ph \
        JOIN phase_reviewers r ON r.phase_id = ph.id AND r.role = 'fallback' \
        WHERE NOT ph.self_review AND NOT ph.has_fixed AND EXISTS ( \
            SELECT 1 FROM phase_items pi WHERE pi.phase_id = ph.id \
            AND NOT (ph.by_manager AND pi.manager_id IS NOT NULL)) \
    ) \
    SELECT c.reviewer AS id, min(c.started) AS since, u.display_name, u.user_principal_name \
    FROM contacted c LEFT JOIN directory_users u ON u.id = c.reviewer \
    GROUP BY c.reviewer, u.display_name, u.user_principal_name";
