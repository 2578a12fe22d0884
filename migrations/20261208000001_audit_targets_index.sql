-- The audit log's index over its targets updated in place by each record,
-- rather than through GIN's pending list: that list's head is one page
-- that every concurrent writer locks in turn, and whichever record fills
-- it merges the whole list into the index inside its own transaction (a
-- stop's, which holds its instance's lock meanwhile). A record names at
-- most four targets; searches by target are rare.
ALTER INDEX directory_audits_targets SET (fastupdate = off);
