-- Actor rows are updated far more often than they are inserted (posts_count on every post,
-- followers/follows counts on every follow, handle and status events). With full pages each
-- update is a non-HOT update: a new row version elsewhere plus a new entry in every actor
-- index (six, one of them GIN), all dead until vacuum. Room left on each page lets Postgres
-- update in place (HOT: no index entries; the old version is pruned on the page). None of the
-- counter columns is indexed, so every counter update qualifies. Applies to pages written
-- from now on.
alter table actor set (fillfactor = 80);
