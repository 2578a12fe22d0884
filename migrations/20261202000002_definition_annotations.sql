-- Documented properties of a definition that the service keeps and
-- answers but does not act on (instanceEnumerationScope,
-- additionalNotificationRecipients, applyActions, the recommendation
-- settings of the definition and of each stage).
ALTER TABLE access_review_definitions
    ADD COLUMN annotations jsonb NOT NULL DEFAULT '{}';
