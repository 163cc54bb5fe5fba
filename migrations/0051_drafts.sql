-- Post drafts (app.bsky.draft.*): private per-user state the AppView stores, like
-- bookmarks. Only src/state/drafts.ts writes this table.
create table draft (
  owner_did text not null,
  id text not null,                     -- a TID chosen by us at creation
  draft jsonb not null,                 -- app.bsky.draft.defs#draft, as given (validated)
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (owner_did, id)
);
-- getDrafts: most recently updated first
create index draft_owner_updated_idx on draft (owner_did, updated_at desc, id desc);
