-- Track before you list, across processes. Tracking changes are announced with NOTIFY on a
-- per-schema channel; a process that needs the ingest filter to have caught up (a backfill
-- worker about to list a DID's records) takes a fresh tracked_seq value S after its change
-- committed and NOTIFYs a "mark" carrying S. Postgres delivers notifications in commit
-- order, so when the ingest process has handled a mark >= S it has handled every change
-- committed before S was drawn. It records that here; the waiter polls this row.
create table live_filter_ack (
  role text primary key,                -- 'ingest': only the ingest filter decides what is kept
  process_id text not null,             -- which process wrote the row (pid@host + random)
  acked_seq bigint not null default 0,  -- highest mark handled
  -- Refreshed every few seconds while the process runs; a stale row means no ingest process
  -- is running, and the next one loads the whole tracked set from Postgres when it starts.
  heartbeat_at timestamptz not null default now()
);
