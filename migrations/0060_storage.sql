-- Storage: cut what no query uses (measured with `npm run bench:ingest`, docs/BENCHMARKS.md).
-- Each index below repeats the leading column of a wider index on the same table with the same
-- predicate, so every lookup it served is served by that one (equality on the first column, and
-- the count(*) of a post's likes, reposts and quotes when the post is inserted).

-- like_subject_sort_idx (subject_uri, sort_at desc, uri desc) serves getLikes and like counts.
drop index if exists like_subject_idx;
-- repost_subject_sort_idx (subject_uri, sort_at desc, uri desc) serves getRepostedBy and counts.
drop index if exists repost_subject_idx;
-- post_embed_record_sort_idx (same predicate) serves getQuotes and quote counts.
drop index if exists post_embed_record_idx;

-- feed_item by post_uri is only looked up to remove the reposts of a deleted post (the post's
-- own item is found by its uri, the primary key): index the reposts only. Posts are about
-- half the feed items.
create index if not exists feed_item_repost_post_uri_idx on feed_item (post_uri) where type = 'repost';
drop index if exists feed_item_post_uri_idx;
