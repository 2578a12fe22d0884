-- The review in time: how decisions were applied, audit records of actions
-- that are not stage stops, and the shared offset of the test clock.

ALTER TABLE decision_items
    ADD COLUMN apply_result text CHECK (apply_result IN ('AppliedSuccessfully',
        'AppliedSuccessfullyButObjectNotFound', 'ApplyNotSupported')),
    ADD COLUMN applied_by_id uuid,
    ADD COLUMN applied_by_display_name text,
    ADD COLUMN applied_by_user_principal_name text,
    ADD COLUMN applied_date_time timestamptz,
    ADD CONSTRAINT decision_items_applied_whole
        CHECK ((apply_result IS NULL) = (applied_date_time IS NULL)
           AND (apply_result IS NULL) = (applied_by_id IS NULL));

-- Instance-level actions have no stage; a definition stop may have no
-- instance.
ALTER TABLE access_review_audit
    ALTER COLUMN stage_id DROP NOT NULL,
    ALTER COLUMN instance_id DROP NOT NULL,
    ALTER COLUMN instance_completed SET DEFAULT false;

CREATE INDEX access_review_audit_instance ON access_review_audit (instance_id);

-- The scheduler looks for stages and instances whose end has passed.
CREATE INDEX access_review_stages_due ON access_review_stages (end_date_time)
    WHERE status = 'InProgress';
CREATE INDEX access_review_instances_due ON access_review_instances (end_date_time)
    WHERE status = 'InProgress';

-- The test clock: how far every replica's clock runs ahead of real time.
-- One row; only ever moved forward.
CREATE TABLE test_clock (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    offset_ms bigint NOT NULL DEFAULT 0 CHECK (offset_ms >= 0)
);

INSERT INTO test_clock DEFAULT VALUES;

-- A scheduler pass leases the due work it claims, so that replicas share
-- it instead of all planning the same transitions. Leases are in real
-- time (they are about processes, not reviews) and expire, so the work of
-- a replica that died is claimed again. The transitions themselves stay
-- guarded on the status: a lease only saves work, it never decides.
ALTER TABLE access_review_stages ADD COLUMN claimed_until timestamptz;
ALTER TABLE access_review_instances ADD COLUMN claimed_until timestamptz;

-- Recurrence: when the next instance of a definition is due (NULL when
-- none is to come) and how many have started; `numbered` ranges count
-- them.
ALTER TABLE access_review_definitions
    ADD COLUMN next_instance_at timestamptz,
    ADD COLUMN instances_started integer NOT NULL DEFAULT 1 CHECK (instances_started >= 0),
    ADD COLUMN claimed_until timestamptz;

CREATE INDEX access_review_definitions_due ON access_review_definitions (next_instance_at)
    WHERE next_instance_at IS NOT NULL;
