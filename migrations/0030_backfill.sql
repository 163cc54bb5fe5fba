-- Gap repair bookkeeping: one row per (open ingest gap, DID tracked when its repair began).
-- A gap is closed when every row is done (complete, or failed for good: a DID that is gone
-- cannot hold the gap open forever).
create table gap_repair (
  gap_id bigint not null,
  did text not null,
  state text not null default 'queued',   -- queued | complete | failed
  error text,
  updated_at timestamptz not null default now(),
  primary key (gap_id, did)
);
create index gap_repair_open_idx on gap_repair (gap_id) where state = 'queued';
