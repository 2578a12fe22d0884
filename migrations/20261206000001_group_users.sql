-- The users a group gives reviewers, in one place: the directory's
-- `owner_users` and `member_users` (`crates/postgres/src/directory.rs`)
-- read them through these functions, and so does a stop's context read
-- (`crates/postgres/src/stages.rs`) for every group its reviewer queries
-- name, so the two cannot disagree. Functions rather than subqueries of
-- that read: PostgreSQL prepares a PL/pgSQL function's statements once
-- per session and starts them only for a group named, where the read set
-- its subqueries up at every execution, groups or none (30 µs of its 290,
-- measured).

-- The group's owners that are users, in the order they were added.
CREATE FUNCTION ar_group_owners(p_group uuid) RETURNS uuid[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN ARRAY(SELECT o.owner_id FROM group_owners o
        JOIN directory_users u ON u.id = o.owner_id
        WHERE o.group_id = p_group ORDER BY o.seq);
END;
$$;

-- The group's member users, direct or (`p_transitive`) through nested
-- groups too, each once, in the order first added. `UNION` drops repeats,
-- so a cycle of groups ends the walk.
CREATE FUNCTION ar_group_member_users(p_group uuid, p_transitive boolean) RETURNS uuid[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN ARRAY(WITH RECURSIVE walk(group_id) AS (
            SELECT p_group
            UNION
            SELECT m.member_id FROM group_members m JOIN walk w ON m.group_id = w.group_id
            WHERE p_transitive AND m.member_kind = 'group')
        SELECT m.member_id
        FROM (SELECT member_id, min(seq) AS position FROM group_members
              WHERE member_kind = 'user' AND group_id IN (SELECT group_id FROM walk)
              GROUP BY member_id) m
        JOIN directory_users u ON u.id = m.member_id
        ORDER BY m.position);
END;
$$;
