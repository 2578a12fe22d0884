-- MoveRule::moves, as before, in one statement instead of two copies of
-- it. A stage of up to a thousand items (nearly every stop) runs the plan
-- prepared once per session. A larger one has the same statement planned
-- for its size, by switching the plan cache to custom plans while it runs:
-- the prepared plan walks the items one by one, 25% slower at 100,000 items
-- than the hash joins planned for them; and its sort gets the memory to
-- stay off disk. Both settings are put back before the stop's later
-- statements run.
CREATE OR REPLACE FUNCTION ar_carry_over(p_to uuid, p_from uuid, p_all boolean,
    p_decisions text[], p_follow boolean, p_not_reviewed text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    large boolean := (SELECT count(*) FROM (SELECT 1 FROM phase_items
        WHERE phase_id = p_from LIMIT 1001) s) > 1000;
    plans text := current_setting('plan_cache_mode');
    memory text := current_setting('work_mem');
BEGIN
    IF large THEN
        PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
        PERFORM set_config('work_mem', '64MB', true);
    END IF;
    INSERT INTO phase_items (phase_id, item_id, manager_id)
    SELECT p_to, i.id, u.manager_id FROM phase_items p
    JOIN decision_items i ON i.id = p.item_id
    LEFT JOIN directory_users u ON u.id = i.principal_id
    WHERE p.phase_id = p_from AND (p_all OR coalesce(i.decision, p_not_reviewed) = ANY (p_decisions)
        OR (p_follow AND i.decision = i.recommendation))
    ORDER BY i.id;
    IF large THEN
        PERFORM set_config('plan_cache_mode', plans, true);
        PERFORM set_config('work_mem', memory, true);
    END IF;
END;
$$;
