-- Storage (docs/BENCHMARKS.md, "Storage target"): post's recency indexes without the trailing
-- uri, as 0072 did for the paged lists. Their readers — searchPosts sort=latest (the recency
-- walk for common queries, keyset (sort_at, uri)), the author filter of search, subscribed-post
-- notifications (author, sort_at > subscribed) and retention (author, sort_at < cutoff) — get
-- rows in sort_at order with the same index conditions, and an incremental sort orders equal
-- sort_at by uri. The timeline does not read these (it merges from feed_item's index).
drop index if exists post_author_sort_idx;
create index post_author_sort_idx on post (author_did, sort_at desc);
drop index if exists post_sort_idx;
create index post_sort_idx on post (sort_at desc);
