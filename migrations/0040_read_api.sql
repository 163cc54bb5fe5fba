-- Read API indexes: every paged list is ordered by (sort_at desc, uri desc) and read by
-- keyset, so each gets an index in exactly that order (no sort of a whole follower list).

-- getFollowers: newest followers of a DID first
create index if not exists follow_subject_sort_idx on follow (subject_did, sort_at desc, uri desc);
-- getFollows: newest follows of a DID first
create index if not exists follow_author_sort_idx on follow (author_did, sort_at desc, uri desc);
-- getLikes
create index if not exists like_subject_sort_idx on "like" (subject_uri, sort_at desc, uri desc);
-- getRepostedBy
create index if not exists repost_subject_sort_idx on repost (subject_uri, sort_at desc, uri desc);
-- getQuotes
create index if not exists post_embed_record_sort_idx on post (embed_record_uri, sort_at desc, uri desc)
  where embed_record_uri is not null;
