-- A stage stop with 100,000 items spent half of its carry-over in the two
-- foreign key checks of each row it copies (PostgreSQL checks them row by
-- row). Every `phase_items` row is written by the start of an instance or
-- by `ar_carry_over`, from `decision_items` of the phase's own instance,
-- into a phase inserted in the same transaction; so neither check can
-- fail, and both keys are dropped. What the phase's key did on delete, a
-- trigger does: a phase's rows go with it (and phases go with their
-- instance, as do its items). The index on `item_id` stays for the reads
-- by item.
ALTER TABLE phase_items DROP CONSTRAINT phase_items_item_id_fkey;
ALTER TABLE phase_items DROP CONSTRAINT phase_items_phase_id_fkey;

CREATE FUNCTION ar_delete_phase_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM phase_items p USING gone g WHERE p.phase_id = g.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER review_phases_delete_items AFTER DELETE ON review_phases
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION ar_delete_phase_items();

-- MoveRule::moves, as before; the rows go in in key order, which keeps the
-- inserts into the primary key's and the item index's pages together.
CREATE OR REPLACE FUNCTION ar_carry_over(p_to uuid, p_from uuid, p_all boolean,
    p_decisions text[], p_follow boolean, p_not_reviewed text)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO phase_items (phase_id, item_id, manager_id)
    SELECT p_to, i.id, u.manager_id FROM phase_items p
    JOIN decision_items i ON i.id = p.item_id
    LEFT JOIN directory_users u ON u.id = i.principal_id
    WHERE p.phase_id = p_from AND (p_all OR coalesce(i.decision, p_not_reviewed) = ANY (p_decisions)
        OR (p_follow AND i.decision = i.recommendation))
    ORDER BY i.id;
$$;
