-- Storage (docs/BENCHMARKS.md, "Storage target"): feed_item's index of reposts by post_uri
-- (0060) served two lookups, "the reposts of this post" when a post is deleted and "is this
-- post still reposted" in retention. The repost table answers both through its subject index
-- (a repost and its feed item are written and removed together), so this index, ~60 bytes per
-- repost, goes.
drop index if exists feed_item_repost_post_uri_idx;
