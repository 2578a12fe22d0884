-- The audit log as Graph serves it (`/auditLogs/directoryAudits`).
--
-- A request's record is written by the service once the request's outcome
-- is known; a transition the scheduler makes gets its record here, in the
-- transition's own transaction, from the ledger row it writes
-- (access_review_audit, actor = the all-zero system id).
CREATE TABLE directory_audits (
    id uuid PRIMARY KEY,
    -- Orders records of the same instant in the order they were written.
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    activity_date_time timestamptz NOT NULL,
    activity text NOT NULL,
    category text NOT NULL,
    operation_type text NOT NULL,
    correlation_id uuid NOT NULL,
    result text NOT NULL CHECK (result IN ('success', 'failure')),
    result_reason text NOT NULL,
    initiator_kind text NOT NULL CHECK (initiator_kind IN ('user', 'app')),
    initiator_id uuid NOT NULL,
    initiator_name text,
    initiator_upn text,
    -- targetResources, outermost first: kinds and ids side by side.
    target_kinds text[] NOT NULL,
    target_ids uuid[] NOT NULL CHECK (cardinality(target_ids) = cardinality(target_kinds)),
    -- additionalDetails: keys and values side by side.
    detail_keys text[] NOT NULL DEFAULT '{}',
    detail_values text[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(detail_values) = cardinality(detail_keys))
);

CREATE INDEX directory_audits_newest ON directory_audits (activity_date_time DESC, seq DESC);
CREATE INDEX directory_audits_targets ON directory_audits USING gin (target_ids);

-- Append-only: no statement may change or remove a record.
CREATE FUNCTION ar_directory_audits_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'directory_audits is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER directory_audits_append_only
    BEFORE UPDATE OR DELETE ON directory_audits
    FOR EACH ROW EXECUTE FUNCTION ar_directory_audits_append_only();
CREATE TRIGGER directory_audits_no_truncate
    BEFORE TRUNCATE ON directory_audits
    FOR EACH STATEMENT EXECUTE FUNCTION ar_directory_audits_append_only();

-- The scheduler's transitions. The names mirror the domain's
-- `audit::Activity` (display name, category, operation type).
CREATE FUNCTION ar_record_system_activity() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_activity text;
    v_category text := 'Policy';
    v_kinds text[] := ARRAY['accessReviewScheduleDefinition'];
    v_ids uuid[] := ARRAY[NEW.definition_id];
    v_keys text[] := ARRAY['trigger'];
    v_values text[] := ARRAY['schedule'];
BEGIN
    v_activity := CASE NEW.action
        WHEN 'stageStopped' THEN 'Stop access review stage'
        WHEN 'instanceStarted' THEN 'Start access review instance'
        WHEN 'instanceCompleted' THEN 'Stop access review instance'
        WHEN 'decisionsApplied' THEN 'Apply access review decisions'
        WHEN 'definitionStopped' THEN 'Stop access review'
        WHEN 'reminderSent' THEN 'Send access review reminder'
        ELSE NEW.action
    END;
    IF NEW.action = 'decisionsApplied' THEN
        v_category := 'UserManagement';
    END IF;
    IF NEW.instance_id IS NOT NULL THEN
        v_kinds := v_kinds || 'accessReviewInstance'::text;
        v_ids := v_ids || NEW.instance_id;
    END IF;
    IF NEW.stage_id IS NOT NULL THEN
        v_kinds := v_kinds || 'accessReviewStage'::text;
        v_ids := v_ids || NEW.stage_id;
    END IF;
    IF NEW.created_stage_id IS NOT NULL THEN
        v_keys := v_keys || 'createdStageId'::text;
        v_values := v_values || NEW.created_stage_id::text;
    END IF;
    IF NEW.instance_completed THEN
        v_keys := v_keys || 'instanceCompleted'::text;
        v_values := v_values || 'true'::text;
    END IF;
    INSERT INTO directory_audits (id, activity_date_time, activity, category, operation_type,
        correlation_id, result, result_reason, initiator_kind, initiator_id, initiator_name,
        initiator_upn, target_kinds, target_ids, detail_keys, detail_values)
    VALUES (gen_random_uuid(), NEW.occurred_at, v_activity, v_category, 'Update',
        gen_random_uuid(), 'success', '', 'app', NEW.actor_id, 'Access Reviews', NULL,
        v_kinds, v_ids, v_keys, v_values);
    RETURN NULL;
END;
$$;

CREATE TRIGGER access_review_audit_system_activity
    AFTER INSERT ON access_review_audit
    FOR EACH ROW
    WHEN (NEW.actor_id = '00000000-0000-0000-0000-000000000000')
    EXECUTE FUNCTION ar_record_system_activity();
