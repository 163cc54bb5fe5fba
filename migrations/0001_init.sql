-- Core schema. Conventions: snake_case columns, timestamptz for every time, AT-URIs as
-- primary keys of record tables (upserts are keyed on uri), `rev` = the repo commit rev that
-- last wrote the record (the stale-rev guard), counters kept on the row they describe.
-- Only the indexer (src/ingest/indexer.ts) writes the record tables below.

-- Every account we know anything about: tracked authors, local users, people who
-- interacted with local users, authors of posts fetched for display.
create table actor (
  did text primary key,
  handle text,                          -- verified handle; null = not (yet) verified
  display_name text,
  description text,
  avatar_cid text,
  banner_cid text,
  pinned_post_uri text,
  pinned_post_cid text,
  profile_cid text,
  profile_record jsonb,                 -- the raw app.bsky.actor.profile record
  profile_rev text,
  profile_created_at timestamptz,
  followers_count integer not null default 0,
  follows_count integer not null default 0,
  posts_count integer not null default 0,
  -- active | deactivated | takendown | suspended | deleted: anything but active hides the
  -- actor's content from views without deleting it, so reactivation brings it back.
  status text not null default 'active',
  repo_rev text,                        -- newest repo rev indexed (atproto-repo-rev header)
  indexed_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index actor_handle_idx on actor (handle);

create table post (
  uri text primary key,
  cid text not null,
  author_did text not null,
  rev text,
  text text not null default '',
  created_at timestamptz not null,      -- as claimed by the record (clamped to a sane range)
  indexed_at timestamptz not null default now(), -- first seen by us
  -- least(created_at, first seen): backfilled posts sort at their own date, a post that
  -- claims a future date cannot pin the top of a timeline.
  sort_at timestamptz not null,
  reply_root_uri text,
  reply_root_cid text,
  reply_parent_uri text,
  reply_parent_cid text,
  embed_kind text,                      -- images | video | external | record | recordWithMedia
  embed_record_uri text,                -- the quoted record, for quote counts and getQuotes
  embed_record_cid text,
  langs text[],
  record jsonb not null,
  like_count integer not null default 0,
  repost_count integer not null default 0,
  reply_count integer not null default 0,
  quote_count integer not null default 0
);
-- getAuthorFeed and the per-author branch of the timeline
create index post_author_sort_idx on post (author_did, sort_at desc, uri desc);
-- thread replies and reply counts
create index post_reply_parent_idx on post (reply_parent_uri) where reply_parent_uri is not null;
create index post_reply_root_idx on post (reply_root_uri) where reply_root_uri is not null;
-- getQuotes and quote counts
create index post_embed_record_idx on post (embed_record_uri) where embed_record_uri is not null;

create table repost (
  uri text primary key,
  cid text not null,
  author_did text not null,
  rev text,
  subject_uri text not null,
  subject_cid text not null,
  created_at timestamptz not null,
  indexed_at timestamptz not null default now(),
  sort_at timestamptz not null          -- the repost's own time, same rule as post.sort_at
);
create index repost_subject_idx on repost (subject_uri);
create index repost_author_subject_idx on repost (author_did, subject_uri);

create table "like" (
  uri text primary key,
  cid text not null,
  author_did text not null,
  rev text,
  subject_uri text not null,
  subject_cid text not null,
  created_at timestamptz not null,
  indexed_at timestamptz not null default now(),
  sort_at timestamptz not null
);
create index like_subject_idx on "like" (subject_uri);
-- viewer.like and getActorLikes
create index like_author_idx on "like" (author_did, sort_at desc, uri desc);
create index like_author_subject_idx on "like" (author_did, subject_uri);

create table follow (
  uri text primary key,
  cid text not null,
  author_did text not null,
  rev text,
  subject_did text not null,
  created_at timestamptz not null,
  indexed_at timestamptz not null default now(),
  sort_at timestamptz not null
);
-- the timeline's "whom does the viewer follow", viewer.following
create index follow_author_subject_idx on follow (author_did, subject_did);
-- getFollowers, viewer.followedBy, "is anyone local still following this DID"
create index follow_subject_author_idx on follow (subject_did, author_did);

create table block (
  uri text primary key,
  cid text not null,
  author_did text not null,
  rev text,
  subject_did text not null,
  created_at timestamptz not null,
  indexed_at timestamptz not null default now(),
  sort_at timestamptz not null
);
create index block_author_subject_idx on block (author_did, subject_did);
create index block_subject_author_idx on block (subject_did, author_did);

-- What timelines are made of: one row per post and per repost, keyed by that record's uri,
-- with the sort key of the item (post: post.sort_at, repost: repost.sort_at).
create table feed_item (
  uri text primary key,
  type text not null,                   -- post | repost
  post_uri text not null,               -- the post shown (= uri for type post)
  originator_did text not null,         -- who posted or reposted
  sort_at timestamptz not null
);
-- fan-out-on-read timeline: one index range per followed account
create index feed_item_originator_sort_idx on feed_item (originator_did, sort_at desc, uri desc);
-- deleting a post removes reposts of it from feeds
create index feed_item_post_uri_idx on feed_item (post_uri);

-- Deletes win: a record deleted once is never brought back by a late or replayed create
-- (stream rewind, a backfill page fetched before the delete).
create table tombstone (
  uri text primary key,
  author_did text not null,
  rev text,
  deleted_at timestamptz not null default now()
);

-- Jetstream position. time_us is committed in the same transaction as the writes it covers.
create table ingest_state (
  id text primary key,                  -- 'jetstream'
  cursor_time_us bigint,
  updated_at timestamptz not null default now()
);

-- A span of the stream we could not replay (cursor older than Jetstream's retention).
create table ingest_gap (
  id bigserial primary key,
  from_time_us bigint not null,         -- the stored cursor when we reconnected
  to_time_us bigint not null,           -- the first event Jetstream gave us
  detected_at timestamptz not null default now(),
  repair_started_at timestamptz,
  closed_at timestamptz
);
create index ingest_gap_open_idx on ingest_gap (id) where closed_at is null;

-- People who use this instance.
create table local_user (
  did text primary key,
  added_by text not null,               -- request | operator
  created_at timestamptz not null default now(),
  onboarding_state text not null default 'pending', -- pending | running | complete | failed
  onboarding_error text,
  onboarded_at timestamptz,
  last_request_at timestamptz,
  notifications_seen_at timestamptz,
  preferences jsonb not null default '[]'::jsonb,
  notification_preferences jsonb
);

-- Whose posts we keep: local users and everyone they follow. A row is the DID's membership
-- in the live filter; tracked_seq orders membership changes so that another process can tell
-- whether the ingest filter has caught up (track before you list).
create sequence tracked_seq;
create table tracked_did (
  did text primary key,
  tracked_seq bigint not null default nextval('tracked_seq'),
  tracked_at timestamptz not null default now(),
  backfill_state text not null default 'pending', -- pending | queued | running | complete | failed
  backfill_error text,
  backfill_horizon timestamptz,         -- oldest createdAt the last complete backfill reached
  backfill_progress jsonb,              -- per-collection listRecords cursor, saved per page
  records_indexed integer not null default 0,
  backfill_started_at timestamptz,
  backfill_completed_at timestamptz,
  updated_at timestamptz not null default now()
);
create index tracked_did_state_idx on tracked_did (backfill_state);

create table notification (
  id bigserial primary key,
  recipient_did text not null,
  author_did text not null,
  reason text not null,                 -- like | repost | follow | mention | reply | quote
  reason_subject text,                  -- the local user's record the interaction is about
  record_uri text not null,             -- the interacting record
  record_cid text not null,
  sort_at timestamptz not null,
  indexed_at timestamptz not null default now(),
  unique (recipient_did, record_uri, reason)
);
create index notification_recipient_sort_idx on notification (recipient_did, sort_at desc, id desc);
create index notification_record_idx on notification (record_uri);
