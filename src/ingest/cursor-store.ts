// The ingest position and stream gaps in Postgres. The cursor itself is written by the
// indexer inside each batch transaction (applyBatch {cursor}); this module only reads it,
// and records/reads gaps (spans older than Jetstream's retention that backfill must repair).
import { sql } from 'kysely'
import type { Db } from '../db/database.js'

/** ingest_state.id of the Jetstream position. */
export const JETSTREAM_CURSOR_ID = 'jetstream'

export interface OpenGap {
  id: string
  fromTimeUs: number
  toTimeUs: number
  detectedAt: Date
}

/** The last committed Jetstream time_us, or undefined before the first commit. */
export async function readCommittedCursor(db: Db): Promise<number | undefined> {
  const row = await db
    .selectFrom('ingest_state')
    .select('cursor_time_us')
    .where('id', '=', JETSTREAM_CURSOR_ID)
    .executeTakeFirst()
  return row?.cursor_time_us == null ? undefined : Number(row.cursor_time_us)
}

/**
 * Record the span [from, to] the stream could not replay. Idempotent for one outage: a
 * restart before the cursor moved past the gap finds the open gap with the same start and
 * widens it rather than adding a second one.
 */
export async function recordGap(db: Db, fromTimeUs: number, toTimeUs: number): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const updated = await tx
      .updateTable('ingest_gap')
      .set({ to_time_us: sql`greatest(to_time_us, ${toTimeUs}::bigint)` })
      .where('from_time_us', '=', String(fromTimeUs))
      .where('closed_at', 'is', null)
      .executeTakeFirst()
    if (Number(updated.numUpdatedRows) > 0) return
    await tx.insertInto('ingest_gap').values({ from_time_us: fromTimeUs, to_time_us: toTimeUs }).execute()
  })
}

export async function listOpenGaps(db: Db): Promise<OpenGap[]> {
  const rows = await db
    .selectFrom('ingest_gap')
    .select(['id', 'from_time_us', 'to_time_us', 'detected_at'])
    .where('closed_at', 'is', null)
    .orderBy('id')
    .execute()
  return rows.map((r) => ({
    id: String(r.id),
    fromTimeUs: Number(r.from_time_us),
    toTimeUs: Number(r.to_time_us),
    detectedAt: r.detected_at,
  }))
}
