-- Storage (docs/BENCHMARKS.md, "Ingest storage and throughput, 2026-11-28"): the 30-day model
-- was 107 GB for a 100 GB target. Four cuts, each keeping every reader's answer:
--
-- 1. The post full-text index without a pending list (fastupdate = off). With fastupdate, new
--    entries go to an unsorted pending list that is merged into the index when it passes
--    gin_pending_list_limit; the merged-away list pages are free only after a VACUUM, and the
--    entries merged in batches leave half-empty pages: on the benchmark's posts the index held
--    6.3 MB per 17,000 posts that way, 3.1 MB when built by CREATE INDEX and 2.2 MB when every
--    post is inserted directly. Direct inserts cost more per post (≈ +50 µs on that set, on a
--    path that runs once per stored post) and remove the merge stalls of a batch that happens
--    to flush the list. The index is now on the record's text (below), same configuration
--    ('simple'), so search finds what it found.
drop index if exists post_text_fts_idx;
create index post_text_fts_idx on post using gin (to_tsvector('simple', record->>'text')) with (fastupdate = off);

-- 2. Post columns that repeated the record: text, langs and the CIDs of the reply refs and the
--    quoted record. Readers take them from `record` (search: text and langs; views already
--    read the record); the URIs stay as columns (indexed, joined). Dropping a column does not
--    rewrite the table: rows written before keep the bytes until retention removes them.
alter table post drop column if exists text;
alter table post drop column if exists langs;
alter table post drop column if exists reply_root_cid;
alter table post drop column if exists reply_parent_cid;
alter table post drop column if exists embed_record_cid;

-- 3. like.subject_cid is read only to rebuild a like record for its notification, i.e. for
--    likes of a local user's post. The indexer stores it for those and leaves it null for the
--    rest (three quarters of the stored likes: by local users, of stored or tracked authors'
--    posts). Existing rows keep theirs.
alter table "like" alter column subject_cid drop not null;

-- 4. feed_item.post_uri is the repost's subject for repost items; for a post item it was the
--    item's own uri again. The indexer now writes null there, and readers take
--    coalesce(post_uri, uri) (old rows hold the uri: the same answer). The timeline's
--    index-only merge does not read the column.
alter table feed_item alter column post_uri drop not null;
