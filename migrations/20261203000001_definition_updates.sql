-- A definition may be updated while its instances run; an update applies to
-- instances started after it. An instance not yet completed when its
-- definition changes keeps, here, the spec it started with (the
-- definition's description for reviewers, reviewers, fallback reviewers,
-- stage settings, settings and annotations, under their column names).
-- NULL: the instance runs on the definition as it is.
ALTER TABLE access_review_instances ADD COLUMN pinned_spec jsonb;
