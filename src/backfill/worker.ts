// The backfill role: a BullMQ worker on BACKFILL_QUEUE running backfillRepo / onboardUser per
// job, plus the periodic gap-repair check. Failure classes: permanent (DID not found, repo
// deactivated/taken down/not found, a PDS the SSRF guard refuses) end the job with
// UnrecoverableError and the reason stored on the DID; anything else is retried by BullMQ
// (attempts + exponential backoff with jitter) and stored as failed after the last attempt.
import { UnrecoverableError, type Job, type Queue, type Worker } from 'bullmq'
import type { Component } from '../app.js'
import { BACKFILL_QUEUE } from '../app.js'
import type { Config } from '../config.js'
import type { Db } from '../db/database.js'
import { errorMessage } from '../errors.js'
import { IdentityError } from '../identity/identity.js'
import type { Logger } from '../logger.js'
import { closeWorker, createWorker, queuePrefix } from '../queue.js'
import { backfillRepo, type BackfillRepoDeps } from './backfill-repo.js'
import type { BackfillJobData, BackfillRetryOptions } from './enqueue.js'
import { GapRepair, markGapRepair } from './gap-repair.js'
import type { BackfillMetrics } from './metrics.js'
import { onboardUser, type OnboardUserDeps } from './onboarding.js'
import { PdsError } from './pds-client.js'

export interface BackfillComponentOptions {
  cfg: Config
  db: Db
  queue: Queue
  log: Logger
  metrics?: BackfillMetrics
  pds: BackfillRepoDeps['pds']
  indexer: OnboardUserDeps['indexer']
  liveFilter: BackfillRepoDeps['liveFilter']
  identity?: BackfillRepoDeps['identity']
  /** How often open ingest gaps are checked (ms). */
  gapCheckMs?: number
  retry?: BackfillRetryOptions
}

/** Why a job failed, as stored in tracked_did.backfill_error and counted in metrics. */
function classify(err: unknown): { reason: string; message: string; permanent: boolean } {
  if (err instanceof PdsError) return { reason: err.reason, message: err.message, permanent: err.permanent }
  if (err instanceof IdentityError) return { reason: 'identity', message: err.message, permanent: err.permanent }
  return { reason: 'error', message: errorMessage(err), permanent: false }
}

export class BackfillComponent implements Component {
  readonly name = 'backfill'
  private worker?: Worker<BackfillJobData>
  private gapTimer?: NodeJS.Timeout
  private gapCheck?: Promise<unknown>
  private readonly gaps: GapRepair
  private readonly abort = new AbortController()
  /** One run per DID at a time in this process (a follow job and a gap job may overlap). */
  private readonly running = new Map<string, Promise<unknown>>()

  constructor(private readonly opts: BackfillComponentOptions) {
    this.gaps = new GapRepair({ db: opts.db, queue: opts.queue, log: opts.log, retry: opts.retry })
  }

  async start(): Promise<void> {
    const { cfg, log } = this.opts
    this.worker = createWorker<BackfillJobData>(BACKFILL_QUEUE, cfg.redis.url, (job) => this.process(job), log, {
      concurrency: cfg.backfill.concurrency,
      prefix: queuePrefix(cfg.db.schema),
    })
    this.worker.on('failed', (job, err) => void this.onFailed(job, err))
    this.worker.on('completed', () => this.opts.metrics?.jobsFinished.inc({ outcome: 'complete' }))
    const every = this.opts.gapCheckMs ?? 5_000
    this.gapTimer = setInterval(() => void this.checkGaps(), every)
    this.gapTimer.unref()
    void this.checkGaps()
  }

  /**
   * Stops taking jobs and lets running ones finish within the shutdown deadline; past it the
   * worker is force-closed (its jobs become stalled and are picked up again after a restart,
   * resuming from the saved cursor) and the runs still going stop at their next page.
   */
  async destroy(): Promise<void> {
    clearInterval(this.gapTimer)
    await this.gapCheck?.catch(() => {})
    if (this.worker) await closeWorker(this.worker, this.opts.cfg.shutdownTimeoutMs, this.opts.log)
    this.abort.abort()
  }

  /** One gap-repair pass now (tests; the timer runs it periodically). */
  checkGaps(): Promise<unknown> {
    this.gapCheck ??= this.gaps
      .check()
      .catch((err) => this.opts.log.warn({ err: errorMessage(err) }, 'gap repair check failed'))
      .finally(() => {
        this.gapCheck = undefined
      })
    return this.gapCheck
  }

  /**
   * Resolves when the queue has nothing waiting, delayed or active and no gap check is
   * running (tests wait on this instead of sleeping).
   */
  async idle(opts: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
    for (;;) {
      await this.gapCheck
      const c = await this.opts.queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'waiting-children')
      const busy = Object.values(c).reduce((a, b) => a + b, 0) + this.running.size
      if (busy === 0 && !this.gapCheck) return
      if (Date.now() > deadline) throw new Error(`backfill not idle after ${opts.timeoutMs ?? 60_000} ms: ${JSON.stringify(c)}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }

  private async process(job: Job<BackfillJobData>): Promise<unknown> {
    const data = job.data
    if (!data || typeof data.did !== 'string') throw new UnrecoverableError('job without a DID')
    // Serialise runs for one DID inside this process: each waits for the one before it.
    const prev = this.running.get(data.did) ?? Promise.resolve()
    const run = prev.catch(() => {}).then(() => this.run(job))
    this.running.set(data.did, run)
    try {
      return await run
    } finally {
      if (this.running.get(data.did) === run) this.running.delete(data.did)
    }
  }

  private async run(job: Job<BackfillJobData>): Promise<unknown> {
    const { did, reason, since, gapId } = job.data
    const deps: OnboardUserDeps = {
      db: this.opts.db,
      pds: this.opts.pds,
      indexer: this.opts.indexer,
      liveFilter: this.opts.liveFilter,
      identity: this.opts.identity,
      log: this.opts.log,
      metrics: this.opts.metrics,
      days: this.opts.cfg.backfill.days,
      queue: this.opts.queue,
    }
    try {
      const outcome =
        reason === 'onboarding'
          ? await onboardUser(deps, did, this.abort.signal)
          : await backfillRepo(deps, { did, since }, this.abort.signal)
      if (gapId) await markGapRepair(this.opts.db, gapId, did, 'complete')
      this.opts.log.info({ did, reason, outcome }, 'backfill complete')
      return outcome
    } catch (err) {
      const c = classify(err)
      this.opts.metrics?.errors.inc({ reason: c.reason })
      const attempts = job.opts.attempts ?? 1
      const final = c.permanent || job.attemptsMade + 1 >= attempts
      await this.recordFailure(job.data, c.message, final).catch((e) =>
        this.opts.log.warn({ did, err: errorMessage(e) }, 'could not store the backfill failure'),
      )
      if (c.permanent) throw new UnrecoverableError(c.message)
      throw err instanceof Error ? err : new Error(c.message)
    }
  }

  private async recordFailure(data: BackfillJobData, message: string, final: boolean): Promise<void> {
    // One transaction: the DID's state and the user's onboarding state change together, so
    // nobody reads a failed backfill beside an onboarding still marked pending.
    await this.opts.db.transaction().execute((db) => this.recordFailureIn(db, data, message, final))
  }

  private async recordFailureIn(db: Db, data: BackfillJobData, message: string, final: boolean): Promise<void> {
    await db
      .updateTable('tracked_did')
      .set({
        backfill_state: final ? 'failed' : 'queued',
        backfill_error: final ? message : `retrying: ${message}`,
        updated_at: new Date(),
      })
      .where('did', '=', data.did)
      .execute()
    if (data.reason === 'onboarding') {
      await db
        .updateTable('local_user')
        .set({ onboarding_state: final ? 'failed' : 'pending', onboarding_error: message })
        .where('did', '=', data.did)
        .execute()
    }
    if (final && data.gapId) await markGapRepair(db, data.gapId, data.did, 'failed', message)
  }

  private onFailed(job: Job<BackfillJobData> | undefined, err: Error): void {
    const attempts = job?.opts.attempts ?? 1
    const final = err instanceof UnrecoverableError || (job?.attemptsMade ?? 0) >= attempts
    this.opts.metrics?.jobsFinished.inc({ outcome: final ? 'failed' : 'retrying' })
  }
}
