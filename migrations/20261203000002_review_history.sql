-- Review history: definitions of reports and their one instance each (a
-- definition without a recurring schedule has exactly one), with the
-- download link last generated. No foreign key to the access reviews: a
-- report covers whichever reviews its scopes match when it is read.
CREATE TABLE access_review_history_definitions (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    display_name text NOT NULL,
    decisions text[] NOT NULL,
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL CHECK (period_end >= period_start),
    scopes jsonb NOT NULL,
    created_by_id uuid NOT NULL,
    created_by_display_name text,
    created_by_user_principal_name text,
    created_date_time timestamptz NOT NULL
);

CREATE INDEX access_review_history_definitions_created
    ON access_review_history_definitions (created_date_time, seq);

CREATE TABLE access_review_history_instances (
    id uuid PRIMARY KEY,
    definition_id uuid NOT NULL REFERENCES access_review_history_definitions (id)
        ON DELETE CASCADE,
    run_date_time timestamptz NOT NULL,
    -- The current download link: a random secret and when it stops working.
    download_token text UNIQUE,
    download_expires timestamptz,
    CHECK ((download_token IS NULL) = (download_expires IS NULL))
);

CREATE INDEX access_review_history_instances_definition
    ON access_review_history_instances (definition_id);
