-- Access review definitions, their instances and stages, and the audit trail
-- of stops. `seq` columns give every listing a stable order for paging.

CREATE TABLE access_review_definitions (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    display_name text NOT NULL,
    description_for_admins text,
    description_for_reviewers text,
    scope jsonb NOT NULL,
    reviewers jsonb NOT NULL,
    fallback_reviewers jsonb NOT NULL,
    stage_settings jsonb NOT NULL,
    settings jsonb NOT NULL,
    created_by_id uuid NOT NULL,
    created_by_display_name text,
    created_by_user_principal_name text,
    created_date_time timestamptz NOT NULL,
    last_modified_date_time timestamptz NOT NULL,
    status text NOT NULL CHECK (status IN ('Initializing', 'NotStarted', 'Starting', 'InProgress',
        'Completing', 'Completed', 'AutoReviewing', 'AutoReviewed'))
);

CREATE INDEX access_review_definitions_created_by ON access_review_definitions (created_by_id, seq);

CREATE TABLE access_review_instances (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    definition_id uuid NOT NULL REFERENCES access_review_definitions (id) ON DELETE CASCADE,
    start_date_time timestamptz NOT NULL,
    end_date_time timestamptz NOT NULL,
    scope jsonb NOT NULL,
    reviewers jsonb NOT NULL,
    fallback_reviewers jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('Initializing', 'NotStarted', 'Starting', 'InProgress',
        'Completing', 'Completed', 'AutoReviewing', 'AutoReviewed'))
);

CREATE INDEX access_review_instances_definition ON access_review_instances (definition_id, seq);

CREATE TABLE access_review_stages (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    instance_id uuid NOT NULL REFERENCES access_review_instances (id) ON DELETE CASCADE,
    -- The `stageId` of the stage settings this stage runs. Unique per
    -- instance: a stage is created once, however many stops race.
    stage_key text NOT NULL,
    start_date_time timestamptz NOT NULL,
    end_date_time timestamptz NOT NULL,
    reviewers jsonb NOT NULL,
    fallback_reviewers jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('Initializing', 'NotStarted', 'Starting', 'InProgress',
        'Completing', 'Completed', 'AutoReviewing', 'AutoReviewed')),
    UNIQUE (instance_id, stage_key)
);

CREATE INDEX access_review_stages_instance ON access_review_stages (instance_id, seq);

CREATE TABLE access_review_audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    actor_id uuid NOT NULL,
    action text NOT NULL,
    definition_id uuid NOT NULL,
    instance_id uuid NOT NULL,
    stage_id uuid NOT NULL,
    created_stage_id uuid,
    instance_completed boolean NOT NULL
);

CREATE INDEX access_review_audit_stage ON access_review_audit (stage_id);
