-- The directory (users, groups, memberships, managers) and decision items
-- with the phases they pass through. A phase is a stage, or the instance
-- itself for a review without stages; its id is that stage's or instance's.

CREATE TABLE directory_users (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    display_name text NOT NULL,
    user_principal_name text NOT NULL,
    mail text,
    mail_nickname text NOT NULL,
    account_enabled boolean NOT NULL,
    manager_id uuid REFERENCES directory_users (id)
);

CREATE UNIQUE INDEX directory_users_upn ON directory_users (lower(user_principal_name));

CREATE TABLE directory_groups (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    display_name text NOT NULL,
    description text,
    mail_nickname text NOT NULL,
    mail_enabled boolean NOT NULL,
    security_enabled boolean NOT NULL
);

-- Members are users or groups; owners are users.
CREATE TABLE group_members (
    group_id uuid NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    member_id uuid NOT NULL,
    member_kind text NOT NULL CHECK (member_kind IN ('user', 'group')),
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    PRIMARY KEY (group_id, member_id)
);

CREATE INDEX group_members_member ON group_members (member_id);

CREATE TABLE group_owners (
    group_id uuid NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES directory_users (id) ON DELETE CASCADE,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    PRIMARY KEY (group_id, owner_id)
);

CREATE TABLE review_phases (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('stage', 'instance')),
    instance_id uuid NOT NULL REFERENCES access_review_instances (id) ON DELETE CASCADE,
    self_review boolean NOT NULL,
    by_manager boolean NOT NULL
);

CREATE INDEX review_phases_instance ON review_phases (instance_id);

CREATE TABLE phase_reviewers (
    phase_id uuid NOT NULL REFERENCES review_phases (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('primary', 'fallback')),
    reviewer_id uuid NOT NULL,
    PRIMARY KEY (phase_id, role, reviewer_id)
);

CREATE INDEX phase_reviewers_reviewer ON phase_reviewers (reviewer_id);

CREATE TABLE decision_items (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    instance_id uuid NOT NULL REFERENCES access_review_instances (id) ON DELETE CASCADE,
    principal_id uuid NOT NULL,
    principal_display_name text NOT NULL,
    principal_user_principal_name text NOT NULL,
    resource_id uuid NOT NULL,
    resource_display_name text NOT NULL,
    recommendation text NOT NULL CHECK (recommendation IN ('Approve', 'Deny', 'NoInfoAvailable')),
    -- The latest decision from any phase; NULL while nobody decided.
    decision text CHECK (decision IN ('Approve', 'Deny', 'NotReviewed', 'DontKnow')),
    justification text,
    reviewed_by_id uuid,
    reviewed_by_display_name text,
    reviewed_by_user_principal_name text,
    reviewed_date_time timestamptz,
    CHECK ((decision IS NULL) = (reviewed_by_id IS NULL))
);

CREATE INDEX decision_items_instance ON decision_items (instance_id, seq);

-- Which items entered which phase, with the principal's manager as it was
-- then (for `./manager` reviewers).
CREATE TABLE phase_items (
    phase_id uuid NOT NULL REFERENCES review_phases (id) ON DELETE CASCADE,
    item_id uuid NOT NULL REFERENCES decision_items (id) ON DELETE CASCADE,
    manager_id uuid,
    PRIMARY KEY (phase_id, item_id)
);

CREATE INDEX phase_items_item ON phase_items (item_id);
CREATE INDEX phase_items_manager ON phase_items (manager_id) WHERE manager_id IS NOT NULL;

-- Every decision recorded, per phase.
CREATE TABLE decision_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phase_id uuid NOT NULL REFERENCES review_phases (id) ON DELETE CASCADE,
    item_id uuid NOT NULL REFERENCES decision_items (id) ON DELETE CASCADE,
    decision text NOT NULL CHECK (decision IN ('Approve', 'Deny', 'NotReviewed', 'DontKnow')),
    justification text,
    reviewed_by_id uuid NOT NULL,
    reviewed_by_display_name text NOT NULL,
    reviewed_by_user_principal_name text NOT NULL,
    reviewed_date_time timestamptz NOT NULL
);

CREATE INDEX decision_history_item ON decision_history (item_id);
