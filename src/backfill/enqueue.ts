// The contract between whoever asks for a backfill (ingest on a local user's new follow,
// onboarding, gap repair, the operator CLI) and the backfill worker.
import type { Queue } from 'bullmq'
import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { jobIdForDid } from '../queue.js'

export type BackfillReason = 'follow' | 'onboarding' | 'self' | 'gap' | 'operator'

export interface BackfillJobData {
  did: string
  reason: BackfillReason
  /** Gap repair: list back to this time (ISO) instead of the BACKFILL_DAYS horizon. */
  since?: string
  /** Gap repair: the ingest_gap row this job repairs (its gap_repair row is marked done). */
  gapId?: string
}

/** Retry policy of a backfill job (BullMQ attempts/backoff); tests shorten it. */
export interface BackfillRetryOptions {
  attempts?: number
  backoffMs?: number
}

/** Lower number = sooner (BullMQ priority). A new user's own follows come first. */
export const BACKFILL_PRIORITY: Record<BackfillReason, number> = {
  onboarding: 1,
  self: 1,
  operator: 2,
  follow: 3,
  gap: 5,
}

/** Where a backfill request goes: the job queue, and the database that shows the DID's state. */
export interface BackfillTarget {
  queue: Queue
  db: Db
}

/**
 * Enqueue a backfill of one DID and show it as `queued` in tracked_did. The job id is derived
 * from the DID (encoded: BullMQ ids cannot contain ':'), so a second request while one is
 * queued or running is a no-op; a request after the previous job finished runs again.
 */
export async function enqueueBackfill(
  target: BackfillTarget,
  data: BackfillJobData,
  retry: BackfillRetryOptions = {},
): Promise<void> {
  const { queue, db } = target
  const jobId = backfillJobId(data)
  // A custom job id deduplicates only while the earlier job exists, and finished jobs are
  // kept for inspection: a finished one must not swallow a new request (re-follow, operator).
  const previous = await queue.getJob(jobId)
  if (previous) {
    const state = await previous.getState()
    if (state === 'completed' || state === 'failed') await previous.remove().catch(() => {})
  }
  // The state changes before the job exists: once it does, a worker may take it at once and
  // write 'running' (or even 'complete'), which a later 'queued' would overwrite. A running
  // backfill keeps its state: the add below is then a no-op on the existing job.
  const prior = await markQueued(db, data.did)
  try {
    await queue.add('backfill', data, {
      jobId,
      priority: BACKFILL_PRIORITY[data.reason],
      attempts: retry.attempts ?? 5,
      backoff: { type: 'exponential', delay: retry.backoffMs ?? 2_000, jitter: 0.5 },
    })
  } catch (err) {
    // No job after all: put back what the row said, unless a worker has moved it on since.
    if (prior !== undefined && prior !== 'queued') {
      await db
        .updateTable('tracked_did')
        .set({ backfill_state: prior, updated_at: new Date() })
        .where('did', '=', data.did)
        .where('backfill_state', '=', 'queued')
        .execute()
        .catch(() => {})
    }
    throw err
  }
}

/** tracked_did → queued unless running; the state it had before (undefined: not tracked or running). */
async function markQueued(db: Db, did: string): Promise<string | undefined> {
  const { rows } = await sql<{ prior: string }>`
    update tracked_did t
    set backfill_state = 'queued',
        -- a new request clears an old failure; a retrying job's reason stays
        backfill_error = case when prev.backfill_state = 'queued' then t.backfill_error else null end,
        updated_at = now()
    from (select did, backfill_state from tracked_did where did = ${did} for update) prev
    where t.did = prev.did and prev.backfill_state <> 'running'
    returning prev.backfill_state as prior
  `.execute(db)
  return rows[0]?.prior
}

/** One job per DID; gap repairs per (gap, DID), so two gaps never swallow each other's job. */
export function backfillJobId(data: Pick<BackfillJobData, 'did' | 'reason' | 'gapId'>): string {
  if (data.reason === 'gap') return data.gapId ? `gap-g${data.gapId}-${encodeURIComponent(data.did)}` : jobIdForDid(data.did, 'gap')
  return jobIdForDid(data.did)
}
