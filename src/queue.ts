// BullMQ plumbing, set up as BullMQ's production guide says: worker connections with
// maxRetriesPerRequest null, an error listener on every queue and worker, bounded
// removeOnComplete/removeOnFail, and our own deadline around worker.close() (it has none).
import { Queue, Worker, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq'
import { errorMessage } from './errors.js'
import type { Logger } from './logger.js'

export const QUEUE_PREFIX = 'appview'

/** Completed jobs kept for inspection, failed ones kept longer for the operator. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  removeOnComplete: { count: 1000, age: 24 * 3600 },
  removeOnFail: { count: 5000, age: 7 * 24 * 3600 },
}

/**
 * BullMQ job ids cannot contain ':' (and DIDs always do), so ids derived from a DID are
 * percent-encoded: did:plc:abc → did%3Aplc%3Aabc. Reversible, never all digits.
 */
export function jobIdForDid(did: string, kind?: string): string {
  const id = encodeURIComponent(did)
  return kind ? `${kind}-${id}` : id
}

export function didFromJobId(jobId: string): string {
  return decodeURIComponent(jobId.replace(/^[a-z]+-(?=did%3A)/, ''))
}

/**
 * The Redis key prefix of an instance's queues. A non-public DATABASE_SCHEMA (each test file,
 * side-by-side instances) gets its own, so instances sharing one Redis never take each
 * other's jobs (a job refers to rows in its own schema).
 */
export function queuePrefix(schema = 'public'): string {
  return schema === 'public' ? QUEUE_PREFIX : `${QUEUE_PREFIX}-${schema}`
}

export function createQueue<T>(name: string, redisUrl: string, log: Logger, prefix = QUEUE_PREFIX): Queue<T> {
  const queue = new Queue<T>(name, {
    connection: { url: redisUrl, maxRetriesPerRequest: 2, enableOfflineQueue: false },
    prefix,
    defaultJobOptions: DEFAULT_JOB_OPTIONS,
  })
  queue.on('error', (err) => log.warn({ queue: name, err: errorMessage(err) }, 'queue error'))
  return queue
}

export function createWorker<T>(
  name: string,
  redisUrl: string,
  processor: Processor<T>,
  log: Logger,
  opts: Omit<WorkerOptions, 'connection' | 'prefix'> & { prefix?: string } = {},
): Worker<T> {
  const { prefix = QUEUE_PREFIX, ...workerOpts } = opts
  const worker = new Worker<T>(name, processor, {
    ...workerOpts,
    connection: { url: redisUrl, maxRetriesPerRequest: null },
    prefix,
  })
  worker.on('error', (err) => log.warn({ queue: name, err: errorMessage(err) }, 'worker error'))
  worker.on('failed', (job, err) =>
    log.warn({ queue: name, jobId: job?.id, attempts: job?.attemptsMade, err: errorMessage(err) }, 'job failed'),
  )
  return worker
}

/**
 * worker.close() waits for active jobs with no deadline of its own (and a second call
 * just returns the first one's promise, so close(true) cannot cut it short). Past the
 * deadline we drop the worker's Redis connection instead: the unfinished job keeps its
 * 'active' entry, is detected as stalled and runs again after a restart. Jobs are
 * idempotent (the indexer upserts on uri, progress is saved per page), so that is safe.
 */
export async function closeWorker(worker: Worker, deadlineMs: number, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const graceful = worker.close().then(() => 'closed' as const)
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), deadlineMs)
  })
  const result = await Promise.race([graceful, timeout])
  clearTimeout(timer)
  if (result === 'timeout') {
    log.warn({ queue: worker.name, deadlineMs }, 'worker did not finish its jobs in time; disconnecting it')
    await worker.disconnect().catch(() => {})
  }
}
