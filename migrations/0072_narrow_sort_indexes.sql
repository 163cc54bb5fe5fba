-- Storage (docs/BENCHMARKS.md, "Storage target"): the paged-list indexes of 0040 without the
-- trailing uri. Each list is read as `key = $1 and (sort_at, uri) < cursor order by sort_at
-- desc, uri desc limit n`: an index on (key, sort_at desc) gives the rows in sort_at order with
-- `sort_at <= cursor` as its index condition, and an incremental sort orders each run of equal
-- sort_at by uri (checked with EXPLAIN: Index Scan + Incremental Sort, presorted key sort_at,
-- stopping after a page). The uri (70 bytes) was half of every entry; counts and the
-- viewer/retention lookups never needed it. Results and cursors are unchanged.
-- feed_item_originator_sort_idx keeps its uri: the timeline merges winners from it index-only.
drop index if exists like_subject_sort_idx;
create index like_subject_sort_idx on "like" (subject_uri, sort_at desc);
drop index if exists repost_subject_sort_idx;
create index repost_subject_sort_idx on repost (subject_uri, sort_at desc);
drop index if exists follow_subject_sort_idx;
create index follow_subject_sort_idx on follow (subject_did, sort_at desc);
drop index if exists follow_author_sort_idx;
create index follow_author_sort_idx on follow (author_did, sort_at desc);
drop index if exists post_embed_record_sort_idx;
create index post_embed_record_sort_idx on post (embed_record_uri, sort_at desc) where embed_record_uri is not null;
