-- The statements that the transitions of a review share, as functions, so
-- that a stage stop commits in one round trip (`ar_stop_stage`, one call,
-- its own transaction) and the other transitions, which compose them in a
-- transaction of their own, run the very same statements.
--
-- The domain computes every transition; these functions only write it.
-- Statuses, decisions and apply results are passed in, bound from the
-- domain's types, never written here. The rule functions each mirror one
-- rule of the domain, named in their comment.

-- A stage, as the domain built it.
CREATE FUNCTION ar_insert_stage(p_id uuid, p_instance uuid, p_key text,
    p_start timestamptz, p_end timestamptz, p_reviewers jsonb, p_fallback jsonb,
    p_status text)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO access_review_stages (id, instance_id, stage_key, start_date_time,
        end_date_time, reviewers, fallback_reviewers, status)
    VALUES (p_id, p_instance, p_key, p_start, p_end, p_reviewers, p_fallback, p_status);
$$;

-- A phase (a stage's or a stageless instance's) and its reviewer rules.
CREATE FUNCTION ar_insert_phase(p_phase uuid, p_kind text, p_instance uuid,
    p_self_review boolean, p_by_manager boolean, p_primary uuid[], p_fallback uuid[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO review_phases (id, kind, instance_id, self_review, by_manager)
    VALUES (p_phase, p_kind, p_instance, p_self_review, p_by_manager);
    INSERT INTO phase_reviewers (phase_id, role, reviewer_id)
    SELECT p_phase, 'primary', unnest(p_primary)
    UNION ALL SELECT p_phase, 'fallback', unnest(p_fallback);
$$;

-- MoveRule::moves: which items of the stopped stage `p_from` enter the
-- created stage `p_to`, judged on their latest decision as committed now.
-- `p_all`: every item moves; `p_decisions`: the decisions that move an
-- item; `p_follow`: an item whose decision equals its recommendation
-- moves; `p_not_reviewed`: the decision of an item nobody decided.
CREATE FUNCTION ar_carry_over(p_to uuid, p_from uuid, p_all boolean,
    p_decisions text[], p_follow boolean, p_not_reviewed text)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO phase_items (phase_id, item_id, manager_id)
    SELECT p_to, i.id, u.manager_id FROM phase_items p
    JOIN decision_items i ON i.id = p.item_id
    LEFT JOIN directory_users u ON u.id = i.principal_id
    WHERE p.phase_id = p_from AND (p_all OR coalesce(i.decision, p_not_reviewed) = ANY (p_decisions)
        OR (p_follow AND i.decision = i.recommendation));
$$;

-- DefaultDecision::decision_for: the default `p_default` on every item of
-- `p_instance` still not reviewed, recorded by `p_by_*` in phase
-- `p_phase`. `Approve` and `Deny` as such; `Recommendation`
-- (`p_recommendation`) takes the item's recommendation and leaves one
-- without (`p_no_info`) as it is.
CREATE FUNCTION ar_default_decisions(p_instance uuid, p_default text, p_justification text,
    p_by_id uuid, p_by_name text, p_by_upn text, p_at timestamptz, p_phase uuid,
    p_recommendation text, p_not_reviewed text, p_no_info text)
RETURNS void LANGUAGE sql AS $$
    WITH decided AS (
        UPDATE decision_items i SET
            decision = CASE WHEN p_default = p_recommendation THEN i.recommendation
                            ELSE p_default END,
            justification = p_justification, reviewed_by_id = p_by_id,
            reviewed_by_display_name = p_by_name,
            reviewed_by_user_principal_name = p_by_upn, reviewed_date_time = p_at
        WHERE i.instance_id = p_instance AND coalesce(i.decision, p_not_reviewed) = p_not_reviewed
            AND NOT (p_default = p_recommendation AND i.recommendation = p_no_info)
        RETURNING i.id, i.decision)
    INSERT INTO decision_history (phase_id, item_id, decision, justification,
        reviewed_by_id, reviewed_by_display_name, reviewed_by_user_principal_name,
        reviewed_date_time)
    SELECT p_phase, d.id, d.decision, p_justification, p_by_id, p_by_name, p_by_upn, p_at
    FROM decided d WHERE EXISTS (SELECT 1 FROM review_phases WHERE id = p_phase);
$$;

-- ApplyResult::of on every item of `p_instance` not applied yet; returns
-- how many were applied. A denied (`p_deny`) principal's direct
-- membership of the reviewed group is removed (`p_applied`); a member only
-- through a nested group keeps it (`p_not_supported`); one no longer a
-- member has nothing to remove (`p_not_found`); other decisions keep the
-- access (`p_applied`). The caller holds the instance's lock.
CREATE FUNCTION ar_apply_decisions(p_instance uuid, p_by_id uuid, p_by_name text,
    p_by_upn text, p_at timestamptz, p_not_reviewed text, p_deny text, p_applied text,
    p_not_supported text, p_not_found text)
RETURNS bigint LANGUAGE sql AS $$
    WITH RECURSIVE nested(root, id) AS (
        SELECT m.group_id, m.member_id FROM group_members m
        WHERE m.member_kind = 'group' AND m.group_id IN
            (SELECT resource_id FROM decision_items WHERE instance_id = p_instance)
        UNION
        SELECT n.root, m.member_id FROM nested n
        JOIN group_members m ON m.group_id = n.id AND m.member_kind = 'group'),
    pending AS (
        SELECT i.id, i.principal_id, i.resource_id,
            coalesce(i.decision, p_not_reviewed) = p_deny AS denied,
            EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = i.resource_id
                    AND m.member_id = i.principal_id) AS direct,
            EXISTS (SELECT 1 FROM nested n JOIN group_members m ON m.group_id = n.id
                    WHERE n.root = i.resource_id AND m.member_id = i.principal_id) AS nested
        FROM decision_items i WHERE i.instance_id = p_instance AND i.applied_date_time IS NULL),
    removed AS (
        DELETE FROM group_members m USING pending p
        WHERE p.denied AND p.direct AND m.group_id = p.resource_id
            AND m.member_id = p.principal_id),
    applied AS (
        UPDATE decision_items i SET
            apply_result = CASE WHEN NOT p.denied OR p.direct THEN p_applied
                                WHEN p.nested THEN p_not_supported ELSE p_not_found END,
            applied_by_id = p_by_id, applied_by_display_name = p_by_name,
            applied_by_user_principal_name = p_by_upn, applied_date_time = p_at
        FROM pending p WHERE i.id = p.id
        RETURNING 1)
    SELECT count(*) FROM applied;
$$;

-- An instance's status and end.
CREATE FUNCTION ar_update_instance(p_instance uuid, p_status text, p_end timestamptz)
RETURNS void LANGUAGE sql AS $$
    UPDATE access_review_instances SET status = p_status, end_date_time = p_end
    WHERE id = p_instance;
$$;

-- Completes a definition (`p_completed`); false when it already was.
CREATE FUNCTION ar_complete_definition(p_definition uuid, p_at timestamptz, p_completed text)
RETURNS boolean LANGUAGE sql AS $$
    WITH done AS (
        UPDATE access_review_definitions SET status = p_completed,
            last_modified_date_time = p_at, next_instance_at = NULL
        WHERE id = p_definition AND status <> p_completed
        RETURNING 1)
    SELECT count(*) = 1 FROM done;
$$;

-- A stage stop, whole, in the caller's one statement: the instance's lock
-- first (as every transition of an instance takes it), then the guard
-- (the stage still `p_in_progress`: of concurrent stops exactly one
-- passes; the others write nothing and get false), then what the domain
-- planned. Each statement here sees what committed before it ran, so
-- decisions that won the stage's lock are carried over. Arguments:
--   the stop:       instance, stage, its new status and end, `InProgress`;
--   the next stage: id (NULL: none), key, start, end, reviewers,
--                   fallback reviewers, status; its phase (the stage's
--                   id, as the domain's carry-over names it); its reviewer rules
--                   (self-review, by manager, primary, fallback); the
--                   carry-over rule (all, decisions, follow
--                   recommendation, `NotReviewed`);
--   the instance:   new status and end;
--   the definition: id, whether it completes, `Completed`;
--   the end:        when the instance ends (NULL: it does not), the default decision
--                   (NULL: none) and its justification, the system's id,
--                   name and UPN, `Recommendation`, `NoInfoAvailable`,
--                   whether to apply, `Deny`, the three apply results;
--   the audit:      when, who, whether the instance completed.
CREATE FUNCTION ar_stop_stage(
    p_instance uuid, p_stage uuid, p_stage_status text, p_stage_end timestamptz,
    p_in_progress text,
    p_next uuid, p_next_key text, p_next_start timestamptz, p_next_end timestamptz,
    p_next_reviewers jsonb, p_next_fallback jsonb, p_next_status text, p_phase uuid,
    p_self_review boolean, p_by_manager boolean, p_primary uuid[], p_fallback uuid[],
    p_move_all boolean, p_move_decisions text[], p_move_follow boolean, p_not_reviewed text,
    p_instance_status text, p_instance_end timestamptz,
    p_definition uuid, p_definition_completes boolean, p_completed text,
    p_end_at timestamptz, p_default text, p_justification text,
    p_system_id uuid, p_system_name text, p_system_upn text,
    p_recommendation text, p_no_info text,
    p_apply boolean, p_deny text, p_applied text, p_not_supported text, p_not_found text,
    p_at timestamptz, p_actor uuid, p_instance_completed boolean)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM access_review_instances WHERE id = p_instance FOR UPDATE;

    UPDATE access_review_stages SET status = p_stage_status, end_date_time = p_stage_end
    WHERE id = p_stage AND status = p_in_progress;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    IF p_next IS NOT NULL THEN
        PERFORM ar_insert_stage(p_next, p_instance, p_next_key, p_next_start, p_next_end,
            p_next_reviewers, p_next_fallback, p_next_status);
        PERFORM ar_insert_phase(p_phase, 'stage', p_instance, p_self_review, p_by_manager,
            p_primary, p_fallback);
        PERFORM ar_carry_over(p_phase, p_stage, p_move_all, p_move_decisions, p_move_follow,
            p_not_reviewed);
    END IF;

    PERFORM ar_update_instance(p_instance, p_instance_status, p_instance_end);

    IF p_definition_completes THEN
        PERFORM ar_complete_definition(p_definition, p_at, p_completed);
    END IF;

    IF p_end_at IS NOT NULL THEN
        IF p_default IS NOT NULL THEN
            PERFORM ar_default_decisions(p_instance, p_default, p_justification, p_system_id,
                p_system_name, p_system_upn, p_end_at, p_stage, p_recommendation,
                p_not_reviewed, p_no_info);
        END IF;
        IF p_apply THEN
            PERFORM ar_apply_decisions(p_instance, p_system_id, p_system_name, p_system_upn,
                p_end_at, p_not_reviewed, p_deny, p_applied, p_not_supported,
                p_not_found);
        END IF;
    END IF;

    INSERT INTO access_review_audit (occurred_at, actor_id, action, definition_id,
        instance_id, stage_id, created_stage_id, instance_completed)
    VALUES (p_at, p_actor, 'stageStopped', p_definition, p_instance, p_stage, p_next,
        p_instance_completed);
    RETURN true;
END;
$$;
