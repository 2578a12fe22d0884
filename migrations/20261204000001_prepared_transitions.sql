-- The transition functions whose statements take a fixed number of rows
-- become PL/pgSQL: a function in SQL plans its statements again at every
-- call (PostgreSQL 15 keeps no plan for it), while PL/pgSQL prepares them
-- once per session, as the reads are. Same statements, same arguments.

CREATE OR REPLACE FUNCTION ar_insert_stage(p_id uuid, p_instance uuid, p_key text,
    p_start timestamptz, p_end timestamptz, p_reviewers jsonb, p_fallback jsonb,
    p_status text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO access_review_stages (id, instance_id, stage_key, start_date_time,
        end_date_time, reviewers, fallback_reviewers, status)
    VALUES (p_id, p_instance, p_key, p_start, p_end, p_reviewers, p_fallback, p_status);
END;
$$;

CREATE OR REPLACE FUNCTION ar_insert_phase(p_phase uuid, p_kind text, p_instance uuid,
    p_self_review boolean, p_by_manager boolean, p_primary uuid[], p_fallback uuid[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO review_phases (id, kind, instance_id, self_review, by_manager)
    VALUES (p_phase, p_kind, p_instance, p_self_review, p_by_manager);
    INSERT INTO phase_reviewers (phase_id, role, reviewer_id)
    SELECT p_phase, 'primary', unnest(p_primary)
    UNION ALL SELECT p_phase, 'fallback', unnest(p_fallback);
END;
$$;

CREATE OR REPLACE FUNCTION ar_update_instance(p_instance uuid, p_status text, p_end timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE access_review_instances SET status = p_status, end_date_time = p_end
    WHERE id = p_instance;
END;
$$;

CREATE OR REPLACE FUNCTION ar_complete_definition(p_definition uuid, p_at timestamptz,
    p_completed text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    UPDATE access_review_definitions SET status = p_completed,
        last_modified_date_time = p_at, next_instance_at = NULL
    WHERE id = p_definition AND status <> p_completed;
    RETURN FOUND;
END;
$$;

-- MoveRule::moves, as before. A stage of up to a thousand items (nearly
-- every stop) runs the statement prepared once per session; a larger one
-- has it planned for its size: the prepared plan walks the items one by
-- one, 25% slower at 100,000 items than the hash joins planned for them, and
-- its sort gets the memory to stay off disk (for the stop's transaction only).
CREATE OR REPLACE FUNCTION ar_carry_over(p_to uuid, p_from uuid, p_all boolean,
    p_decisions text[], p_follow boolean, p_not_reviewed text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM (SELECT 1 FROM phase_items WHERE phase_id = p_from LIMIT 1001) s)
            <= 1000 THEN
        INSERT INTO phase_items (phase_id, item_id, manager_id)
        SELECT p_to, i.id, u.manager_id FROM phase_items p
        JOIN decision_items i ON i.id = p.item_id
        LEFT JOIN directory_users u ON u.id = i.principal_id
        WHERE p.phase_id = p_from AND (p_all OR coalesce(i.decision, p_not_reviewed) = ANY (p_decisions)
            OR (p_follow AND i.decision = i.recommendation))
        ORDER BY i.id;
    ELSE
        PERFORM set_config('work_mem', '64MB', true);
        EXECUTE 'INSERT INTO phase_items (phase_id, item_id, manager_id)
            SELECT $1, i.id, u.manager_id FROM phase_items p
            JOIN decision_items i ON i.id = p.item_id
            LEFT JOIN directory_users u ON u.id = i.principal_id
            WHERE p.phase_id = $2 AND ($3 OR coalesce(i.decision, $6) = ANY ($4)
                OR ($5 AND i.decision = i.recommendation))
            ORDER BY i.id'
        USING p_to, p_from, p_all, p_decisions, p_follow, p_not_reviewed;
    END IF;
END;
$$;
