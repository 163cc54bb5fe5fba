// Retention component (ingest role): prunes stored history older than the horizon
// (BACKFILL_DAYS; 0 = keep everything) through Indexer.pruneOlderThan, once shortly after
// start and then every hour. Several processes may run the ingest role against one database;
// a session advisory lock (per schema) lets one of them prune at a time, the others skip.
import { sql } from 'kysely'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { AppContext, Component } from '../app.js'
import type { Database } from '../db/database.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Indexer } from './indexer.js'
import { PRUNE_TABLES, tombstoneCutoff, type PruneResult } from './prune.js'

export interface RetentionOptions {
  db: Database
  indexer: Indexer
  registry: Registry
  log: Logger
  /** History horizon in days; 0 = keep everything (the component then never prunes). */
  days: number
  /** Jetstream's replay window: tombstones outlive it (prune.ts, tombstoneCutoff). */
  retentionHours: number
  intervalMs?: number
  /** First run after start: soon, but not in the middle of startup and catch-up. */
  initialDelayMs?: number
}

export type RetentionRun =
  | { outcome: 'pruned' | 'aborted'; cutoff: Date; result: PruneResult; seconds: number }
  | { outcome: 'disabled' | 'locked' }

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

export class Retention implements Component {
  readonly name = 'retention'
  private readonly abort = new AbortController()
  private timer?: NodeJS.Timeout
  private running?: Promise<RetentionRun>
  private readonly metrics

  constructor(private readonly opts: RetentionOptions) {
    this.metrics = createRetentionMetrics(opts.registry)
  }

  async start(): Promise<void> {
    if (this.opts.days === 0) {
      this.opts.log.info('BACKFILL_DAYS=0: full history is kept, retention does not prune')
      return
    }
    this.schedule(this.opts.initialDelayMs ?? 60_000)
  }

  /** Run now (or join the run in progress) and wait for it. For tests and operators. */
  runNow(): Promise<RetentionRun> {
    if (this.abort.signal.aborted) return Promise.reject(new Error('retention is stopped'))
    this.running ??= this.run().finally(() => (this.running = undefined))
    return this.running
  }

  /** Stops promptly: the run in progress stops after its current statement. */
  async destroy(): Promise<void> {
    this.abort.abort()
    clearTimeout(this.timer)
    await this.running?.catch(() => undefined)
  }

  private schedule(delayMs: number): void {
    if (this.abort.signal.aborted) return
    this.timer = setTimeout(() => {
      this.runNow()
        .catch((err) => this.opts.log.warn({ err: errorMessage(err) }, 'retention run failed; next run as scheduled'))
        .finally(() => this.schedule(this.opts.intervalMs ?? HOUR_MS))
    }, delayMs)
    this.timer.unref()
  }

  private async run(): Promise<RetentionRun> {
    const { days, retentionHours, db, indexer, log } = this.opts
    if (days === 0) return { outcome: 'disabled' }
    // Session-level lock on a connection held for the run; keyed by schema so that separate
    // instances (and test schemas) sharing one database do not exclude each other.
    return db.db.connection().execute(async (conn) => {
      const key = sql`hashtext('appview.retention'), hashtext(current_schema())`
      const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${key}) as ok`.execute(conn)
      if (!rows[0]?.ok) return { outcome: 'locked' as const }
      try {
        const started = Date.now()
        const cutoff = new Date(started - days * DAY_MS)
        const result = await indexer.pruneOlderThan(cutoff, {
          tombstonesBefore: tombstoneCutoff(retentionHours, new Date(started)),
          signal: this.abort.signal,
          onChunk: (table, n) => this.metrics.pruned.inc({ table }, n),
        })
        const seconds = (Date.now() - started) / 1000
        this.metrics.lastRun.set(Date.now() / 1000)
        this.metrics.lastDuration.set(seconds)
        this.metrics.lastCutoff.set(cutoff.getTime() / 1000)
        log.info({ cutoff, removed: result.removed, aborted: result.aborted, seconds }, 'retention run')
        return { outcome: result.aborted ? ('aborted' as const) : ('pruned' as const), cutoff, result, seconds }
      } finally {
        await sql`select pg_advisory_unlock(${key})`.execute(conn)
      }
    })
  }
}

function createRetentionMetrics(registry: Registry) {
  const pruned = new Counter({
    name: 'appview_retention_pruned_rows_total',
    help: 'Rows removed by retention (older than the BACKFILL_DAYS horizon), by table',
    labelNames: ['table'] as const,
    registers: [registry],
  })
  for (const table of [...PRUNE_TABLES, 'feed_item']) pruned.inc({ table }, 0)
  return {
    pruned,
    lastRun: new Gauge({
      name: 'appview_retention_last_run_timestamp_seconds',
      help: 'When the last retention run in this process finished (unix seconds)',
      registers: [registry],
    }),
    lastDuration: new Gauge({
      name: 'appview_retention_last_run_duration_seconds',
      help: 'How long the last retention run in this process took',
      registers: [registry],
    }),
    lastCutoff: new Gauge({
      name: 'appview_retention_last_cutoff_timestamp_seconds',
      help: 'The horizon of the last retention run: rows sorting before it were removed',
      registers: [registry],
    }),
  }
}

export function retentionComponent(ctx: AppContext): Retention {
  return new Retention({
    db: ctx.db,
    indexer: ctx.indexer,
    registry: ctx.metrics.registry,
    log: ctx.log.child({ component: 'retention' }),
    days: ctx.cfg.backfill.days,
    retentionHours: ctx.cfg.jetstream.retentionHours,
  })
}
