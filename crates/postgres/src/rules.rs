//! The domain's rules where the database applies them, set-based, inside
//! the transactions of the stop, the end of an instance and the decision
//! lists. Each mirrors one rule of the domain, named in its comment, and
//! is tested against it.

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

/// Which items of the stopped stage `$2` enter the created stage `$1`:
/// [`MoveRule::moves`](access_reviews_domain::decision::MoveRule::moves)
/// in SQL. `$3`: every item moves; `$4`: the decisions that move an item;
/// `$5`: an item whose decision equals its recommendation moves; `$6`:
/// `NotReviewed`, the decision of an item nobody decided.
pub(crate) const CARRY_OVER: &str = "INSERT INTO phase_items (phase_id, item_id, manager_id) \
         SELECT $1, i.id, u.manager_id FROM phase_items p \
         JOIN decision_items i ON i.id = p.item_id \
         LEFT JOIN directory_users u ON u.id = i.principal_id \
         WHERE p.phase_id = $2 AND ($3 OR coalesce(i.decision, $6) = ANY($4::text[]) \
         OR ($5 AND i.decision = i.recommendation))";

/// The default decision `$2` on every item of instance `$1` still
/// `NotReviewed`, recorded by the system in phase `$8`:
/// [`DefaultDecision::decision_for`](access_reviews_domain::definition::DefaultDecision)
/// in SQL. `Approve` and `Deny` as such; `Recommendation` (`$9`) takes the
/// item's recommendation and leaves one without (`$11`) as it is.
pub(crate) const DEFAULT_DECISIONS: &str = "WITH decided AS ( \
           UPDATE decision_items i SET \
             decision = CASE WHEN $2 = $9 THEN i.recommendation ELSE $2 END, \
             justification = $3, reviewed_by_id = $4, reviewed_by_display_name = $5, \
             reviewed_by_user_principal_name = $6, reviewed_date_time = $7 \
           WHERE i.instance_id = $1 AND coalesce(i.decision, $10) = $10 \
             AND NOT ($2 = $9 AND i.recommendation = $11) \
           RETURNING i.id, i.decision) \
         INSERT INTO decision_history (phase_id, item_id, decision, justification, \
           reviewed_by_id, reviewed_by_display_name, reviewed_by_user_principal_name, \
           reviewed_date_time) \
         SELECT $8, d.id, d.decision, $3, $4, $5, $6, $7 FROM decided d \
         WHERE EXISTS (SELECT 1 FROM review_phases WHERE id = $8)";

/// Applies every decision of instance `$1` not applied yet:
/// [`ApplyResult::of`](access_reviews_domain::decision::ApplyResult::of) in
/// SQL. A denied (`$7`) principal's direct membership of the reviewed group
/// is removed; a member only through a nested group keeps it; one no
/// longer a member has nothing to remove; other decisions keep the access.
pub(crate) const APPLY_DECISIONS: &str = "WITH RECURSIVE nested(root, id) AS ( \
           SELECT m.group_id, m.member_id FROM group_members m \
           WHERE m.member_kind = 'group' AND m.group_id IN \
             (SELECT resource_id FROM decision_items WHERE instance_id = $1) \
           UNION \
           SELECT n.root, m.member_id FROM nested n \
           JOIN group_members m ON m.group_id = n.id AND m.member_kind = 'group'), \
         pending AS ( \
           SELECT i.id, i.principal_id, i.resource_id, \
             coalesce(i.decision, $6) = $7 AS denied, \
             EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = i.resource_id \
                     AND m.member_id = i.principal_id) AS direct, \
             EXISTS (SELECT 1 FROM nested n JOIN group_members m ON m.group_id = n.id \
                     WHERE n.root = i.resource_id AND m.member_id = i.principal_id) AS nested \
           FROM decision_items i WHERE i.instance_id = $1 AND i.applied_date_time IS NULL), \
         removed AS ( \
           DELETE FROM group_members m USING pending p \
           WHERE p.denied AND p.direct AND m.group_id = p.resource_id \
             AND m.member_id = p.principal_id) \
         UPDATE decision_items i SET \
           apply_result = CASE WHEN NOT p.denied OR p.direct THEN $8 \
                               WHEN p.nested THEN $9 ELSE $10 END, \
           applied_by_id = $2, applied_by_display_name = $3, \
           applied_by_user_principal_name = $4, applied_date_time = $5 \
         FROM pending p WHERE i.id = p.id";
