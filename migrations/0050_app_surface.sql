-- Per-user AppView state written by XRPC procedures (not repo records): mutes, bookmarks,
-- activity subscriptions. Only src/state/* writes these tables. Preferences, notification
-- preferences and the notifications seen-at time live on local_user (0001_init.sql).
-- Also the indexes behind search over what this instance holds.

-- Mutes are private to the muter and never leave the AppView (unlike blocks, which are
-- records in the blocker's repo).
create table mute_actor (
  muter_did text not null,
  subject_did text not null,
  created_at timestamptz not null default now(),
  primary key (muter_did, subject_did)
);

create table mute_list (
  muter_did text not null,
  list_uri text not null,
  created_at timestamptz not null default now(),
  primary key (muter_did, list_uri)
);

-- A muted thread is keyed by its root post: every reply under it is muted too.
create table mute_thread (
  muter_did text not null,
  root_uri text not null,
  created_at timestamptz not null default now(),
  primary key (muter_did, root_uri)
);

create table bookmark (
  owner_did text not null,
  subject_uri text not null,
  subject_cid text not null,
  created_at timestamptz not null default now(),
  primary key (owner_did, subject_uri)
);
-- getBookmarks: newest first, keyset (created_at, subject_uri)
create index bookmark_owner_created_idx on bookmark (owner_did, created_at desc, subject_uri desc);

-- "Notify me about this account's posts/replies" (the bell on a profile).
create table activity_subscription (
  subscriber_did text not null,
  subject_did text not null,
  post boolean not null,
  reply boolean not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (subscriber_did, subject_did)
);
create index activity_subscription_list_idx on activity_subscription (subscriber_did, created_at desc, subject_did desc);

-- Search. 'simple' configuration: no stemming or stop words, so it works the same for every
-- language people post in (the reference AppView's search is also language-agnostic).
create index post_text_fts_idx on post using gin (to_tsvector('simple', text));
-- searchPostsV2 sort=latest over the matches
create index post_sort_idx on post (sort_at desc, uri desc);
-- handle and display-name prefix search (typeahead); text_pattern_ops makes LIKE 'x%' indexable
create index actor_handle_prefix_idx on actor (lower(handle) text_pattern_ops);
create index actor_display_name_prefix_idx on actor (lower(display_name) text_pattern_ops);
