-- Deleted feed items are announced too ('l' + originator, as 0091 does for writes): the read
-- API holds each viewer's newest timeline items in memory (src/hydration/timeline-cache.ts),
-- and a deleted post or repost must leave a held timeline on its next read, not linger as an
-- item whose post is gone. (The newest-item bounds of 0091 just reread theirs: an upper bound
-- stays one.) Deletes are a small share of writes; retention pruning announces its hourly
-- chunks' originators once per statement.
create trigger feed_item_rows_deleted after delete on feed_item
  referencing old table as changed_rows for each statement execute function appview_feed_item_rows_written();
