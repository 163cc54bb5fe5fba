// Repair of stream gaps longer than Jetstream's retention (ingest records them in ingest_gap):
// every DID tracked when the repair begins is backfilled back to the gap's start; the gap is
// closed when all of them are done. Runs as a periodic check inside the backfill component.
import type { Queue } from 'bullmq'
import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import type { Logger } from '../logger.js'
import { enqueueBackfill, type BackfillRetryOptions } from './enqueue.js'

/** Clock skew and createdAt noise: list a little further back than the gap itself. */
export const GAP_MARGIN_MS = 10 * 60 * 1000

export interface GapRepairOptions {
  db: Db
  queue: Queue
  log: Logger
  retry?: BackfillRetryOptions
}

export class GapRepair {
  private recovered = false

  constructor(private readonly opts: GapRepairOptions) {}

  /** One pass: start repairs of new gaps, close finished ones. Returns open gaps left. */
  async check(): Promise<number> {
    const { db } = this.opts
    const gaps = await db
      .selectFrom('ingest_gap')
      .select(['id', 'from_time_us', 'repair_started_at'])
      .where('closed_at', 'is', null)
      .orderBy('id')
      .execute()
    let open = 0
    for (const gap of gaps) {
      const since = new Date(Math.floor(Number(gap.from_time_us) / 1000) - GAP_MARGIN_MS).toISOString()
      if (!gap.repair_started_at) {
        const dids = await this.startRepair(gap.id)
        await this.enqueue(gap.id, dids, since)
        this.opts.log.warn({ gap: gap.id, since, dids: dids.length }, 'repairing a stream gap by backfill')
      } else if (!this.recovered) {
        // After a restart: re-queue what is still owed (queueing is idempotent per job id).
        const owed = await db
          .selectFrom('gap_repair')
          .select('did')
          .where('gap_id', '=', gap.id)
          .where('state', '=', 'queued')
          .execute()
        await this.enqueue(gap.id, owed.map((r) => r.did), since)
      }
      if (await this.closeIfDone(gap.id)) continue
      open++
    }
    this.recovered = true
    return open
  }

  /** The DIDs owing this gap a repair: every DID tracked now. */
  private async startRepair(gapId: string): Promise<string[]> {
    return this.opts.db.transaction().execute(async (tx) => {
      const claimed = await tx
        .updateTable('ingest_gap')
        .set({ repair_started_at: new Date() })
        .where('id', '=', gapId)
        .where('repair_started_at', 'is', null)
        .returning('id')
        .executeTakeFirst()
      if (!claimed) return [] // another backfill process got it
      const rows = await sql<{ did: string }>`
        insert into gap_repair (gap_id, did)
        select ${gapId}::bigint, did from tracked_did
        on conflict do nothing
        returning did
      `.execute(tx)
      return rows.rows.map((r) => r.did)
    })
  }

  private async enqueue(gapId: string, dids: string[], since: string): Promise<void> {
    for (const did of dids) {
      await enqueueBackfill(
        { queue: this.opts.queue, db: this.opts.db },
        { did, reason: 'gap', since, gapId: String(gapId) },
        this.opts.retry,
      )
    }
  }

  private async closeIfDone(gapId: string): Promise<boolean> {
    const { rows } = await sql<{ id: string }>`
      update ingest_gap set closed_at = now()
      where id = ${gapId} and closed_at is null and repair_started_at is not null
        and not exists (select 1 from gap_repair r where r.gap_id = ${gapId} and r.state = 'queued')
      returning id
    `.execute(this.opts.db)
    if (rows.length) this.opts.log.info({ gap: gapId }, 'stream gap repaired and closed')
    return rows.length > 0
  }
}

/** The worker reports a gap job's end here (complete, or failed for good). */
export async function markGapRepair(db: Db, gapId: string, did: string, state: 'complete' | 'failed', error?: string) {
  await db
    .updateTable('gap_repair')
    .set({ state, error: error ?? null, updated_at: new Date() })
    .where('gap_id', '=', gapId)
    .where('did', '=', did)
    .execute()
}
