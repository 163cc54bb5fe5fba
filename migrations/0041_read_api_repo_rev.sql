-- atproto-repo-rev for getTimeline: the viewer's newest indexed rev is read from their most
-- recent records and deletes; these make "most recent of this author" an index range.
create index if not exists repost_author_sort_idx on repost (author_did, sort_at desc);
create index if not exists tombstone_author_deleted_idx on tombstone (author_did, deleted_at desc);
