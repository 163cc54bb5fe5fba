// What the indexer consumes. Live ingest (Jetstream) and backfill (listRecords) both turn
// their input into these operations and hand them to the one indexer, so upserts,
// tombstones, counters and notifications behave the same whatever the source.

/** A record written in a repo: create or update (an update replaces the stored record). */
export interface RecordWriteOp {
  kind: 'create' | 'update'
  /** at://<did>/<collection>/<rkey> */
  uri: string
  did: string
  collection: string
  rkey: string
  cid: string
  /** Repo commit rev; absent for backfilled records (listRecords does not report it). */
  rev?: string
  /** The record as JSON (blob refs as {$type:'blob', ref:{$link}, mimeType, size}). */
  record: unknown
}

export interface RecordDeleteOp {
  kind: 'delete'
  uri: string
  did: string
  collection: string
  rkey: string
  rev?: string
}

/** Identity event: the DID's handle may have changed (handle absent → re-resolve). */
export interface IdentityOp {
  kind: 'identity'
  did: string
  handle?: string
}

/** Account event: active false with a status (deactivated, takendown, suspended, deleted). */
export interface AccountOp {
  kind: 'account'
  did: string
  active: boolean
  status?: string
}

export type IndexOp = RecordWriteOp | RecordDeleteOp | IdentityOp | AccountOp

/** Where an op came from; the stream's events also carry Jetstream's time_us. */
export interface OpContext {
  source: 'jetstream' | 'backfill' | 'fetch'
  /** Jetstream time_us of the event (µs); first-seen time for sort_at otherwise is now(). */
  timeUs?: number
}
