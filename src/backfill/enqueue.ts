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

/**
 * Enqueue a backfill of one DID. The job id is derived from the DID (encoded: BullMQ ids
 * cannot contain ':'), so a second request while one is queued or running is a no-op; a
 * request after the previous job finished runs again.
 */
export async function enqueueBackfill(
  queue: Queue,
  data: BackfillJobData,
  retry: BackfillRetryOptions = {},
): Promise<void> {
  const jobId = backfillJobId(data)
  // A custom job id deduplicates only while the earlier job exists, and finished jobs are
  // kept for inspection: a finished one must not swallow a new request (re-follow, operator).
  const previous = await queue.getJob(jobId)
  if (previous) {
    const state = await previous.getState()
    if (state === 'completed' || state === 'failed') await previous.remove().catch(() => {})
  }
  await queue.add('backfill', data, {
    jobId,
    priority: BACKFILL_PRIORITY[data.reason],
    attempts: retry.attempts ?? 5,
    backoff: { type: 'exponential', delay: retry.backoffMs ?? 2_000, jitter: 0.5 },
  })
}

/** One job per DID; gap repairs per (gap, DID), so two gaps never swallow each other's job. */
export function backfillJobId(data: Pick<BackfillJobData, 'did' | 'reason' | 'gapId'>): string {
  if (data.reason === 'gap') return data.gapId ? `gap-g${data.gapId}-${encodeURIComponent(data.did)}` : jobIdForDid(data.did, 'gap')
  return jobIdForDid(data.did)
}
