-- Storage (docs/BENCHMARKS.md, "Storage target"): likes and reposts by local users are read by
-- their author (viewer.like / viewer.repost, getActorLikes: only ever the viewer's own, and
-- every authenticated viewer is admitted as a local user); everyone else's are read only
-- through their subject (counts, getLikes, getRepostedBy, notifications). Three quarters of the
-- stored likes and nine tenths of the reposts are by tracked non-local accounts, so the
-- author indexes serve only a small part of the rows they hold.
--
-- by_local = the author is a local user. The indexer sets it on insert (from local_user, in
-- the same statement) and addLocalUserInTx sets it on a DID's stored likes and reposts when
-- the DID becomes local. Readers of the author indexes say `and by_local`.
alter table "like" add column by_local boolean not null default false;
alter table repost add column by_local boolean not null default false;
update "like" set by_local = true where author_did in (select did from local_user);
update repost set by_local = true where author_did in (select did from local_user);

-- Likes: both author indexes only for local users' likes. Non-local likes keep a narrow
-- (author, time) index: retention walks it (src/ingest/prune.ts) and a DID that becomes local
-- finds its likes through it.
drop index if exists like_author_idx;
drop index if exists like_author_subject_idx;
create index like_author_idx on "like" (author_did, sort_at desc, uri desc) where by_local;
create index like_author_subject_idx on "like" (author_did, subject_uri) where by_local;
create index like_nonlocal_author_sort_idx on "like" (author_did, sort_at) where not by_local;

-- Reposts: viewer.repost only for local users. repost_author_sort_idx (author_did, sort_at) stays
-- whole: retention walks it, and a DID that becomes local finds its reposts through it.
drop index if exists repost_author_subject_idx;
create index repost_author_subject_idx on repost (author_did, subject_uri) where by_local;

-- The like record's own CID is read by nothing (a like's notification carries it in
-- notification.record_cid; getLikes shows the liker and the times). 60 bytes a row.
alter table "like" drop column cid;
