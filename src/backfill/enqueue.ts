// The contract between whoever asks for a backfill (ingest on a local user's new follow,
// onboarding, gap repair, the operator CLI) and the backfill worker.
import type { Queue } from 'bullmq'
import { jobIdForDid } from '../queue.js'

export type BackfillReason = 'follow' | 'onboarding' | 'self' | 'gap' | 'operator'

export interface BackfillJobData {
  did: string
  reason: BackfillReason
  /** Gap repair: list back to this time (ISO) instead of the BACKFILL_DAYS horizon. */
  since?: string
}

/** Lower number = sooner (BullMQ priority). A new user's own follows come first. */
export const BACKFILL_PRIORITY: Record<BackfillReason, number> = {
  onboarding: 1,
  self: 1,
  operator: 2,
  follow: 3,
  gap: 5,
}

/**
 * Enqueue a backfill of one DID. The job id is derived from the DID (encoded: BullMQ ids
 * cannot contain ':'), so a second request while one is queued or running is a no-op.
 */
export async function enqueueBackfill(queue: Queue, data: BackfillJobData): Promise<void> {
  await queue.add('backfill', data, {
    jobId: jobIdForDid(data.did, data.reason === 'gap' ? 'gap' : undefined),
    priority: BACKFILL_PRIORITY[data.reason],
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 },
  })
}
