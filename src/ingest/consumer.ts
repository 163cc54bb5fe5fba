// The ingest role: Jetstream frames → decode → parse → live filter → batches → indexer.
//
//   frame ─ decode/parse ─┬─ skip (counted by reason) ───────┐
//                         ├─ dropped by the filter (by kind) ├─ advance the seen cursor
//                         └─ pending event ──────────────────┘
//   pending ─ batch (≤ batchSize kept, ≤ batchMs old) ─ indexer.applyBatch(kept, {cursor})
//
// Every event is judged against the filter as it stands after everything before it — as if
// events were applied one by one. Only a local user's follow or unfollow changes the filter
// (on commit), so such an event ends its batch, and events arriving while one is uncommitted
// wait undecided in the queue and are judged when their batch is formed, after it committed.
// (A new follow of an account already tracked, with no change pending, changes nothing and
// is judged like any other event: see changesFilter.)
// (A followee's post arriving right after the follow is kept, not dropped.) Otherwise an
// event is judged on arrival, and the ≈85% the filter drops never enter the queue.
// The cursor committed with a batch is the highest time_us seen when the batch's last event
// arrived (or everything seen, when the batch drains the queue), so every event at or below
// it has been either indexed or deliberately dropped. Batches are awaited one at a time
// (never fire-and-forget); a failed transaction is retried with backoff while the socket is
// paused, so a slow or down database pushes back on Jetstream instead of growing memory.
// Every (re)connect resumes from the committed cursor minus the rewind; replays are
// harmless because the indexer is idempotent.
import type { AppContext, Component } from '../app.js'
import type { Config } from '../config.js'
import type { Db } from '../db/database.js'
import { errorMessage } from '../errors.js'
import type { Readiness } from '../http/health.js'
import type { Logger } from '../logger.js'
import type { Registry } from 'prom-client'
import { JETSTREAM_CURSOR_ID, listOpenGaps, readCommittedCursor, recordGap } from './cursor-store.js'
import { backoffDelay, JetstreamClient, type DisconnectReason } from './jetstream/client.js'
import { decompressJetstreamFrame, FrameTooLargeError, zstdDecoderName } from './jetstream/zstd.js'
import { IngestMetrics } from './metrics.js'
import type { IndexOp, OpContext } from './ops.js'
import { MAX_EVENT_BYTES, parseFrame, type EventKind, type ParsedFrame, type SkipReason } from './parse.js'
import { subjectDid } from './records/subjects.js'

/** What the consumer needs of the indexer (ctx.indexer, owned by the indexer module). */
export interface BatchIndexer {
  applyBatch(
    items: Array<{ op: IndexOp; ctx: OpContext }>,
    opts?: { cursor?: { id: string; timeUs: number } },
  ): Promise<unknown>
}

/** What the consumer needs of the live filter (ctx.liveFilter). */
export interface OpFilter {
  wants(op: IndexOp): boolean
  isLocalUser(did: string): boolean
  isTracked(did: string): boolean
}

export interface IngestConsumerDeps {
  cfg: Config['jetstream']
  db: Db
  log: Logger
  registry: Registry
  readiness?: Readiness
  indexer: BatchIndexer
  filter: OpFilter
  /** Reconnect backoff bounds (tests shorten them). */
  minBackoffMs?: number
  maxBackoffMs?: number
}

interface PendingItem {
  op: IndexOp
  timeUs: number
  kind: EventKind
  /** Highest time_us seen when this item arrived: the cursor a batch ending here may commit. */
  cursorAfter: number
  /** Judged by the filter (kept); false: arrived behind an uncommitted filter change. */
  decided: boolean
  /** A local user's follow/unfollow: the filter may change when it commits. */
  changesFilter: boolean
}

// Pause the socket when this many batches' worth of events wait; resume below one batch.
const HIGH_WATER_BATCHES = 4
// Events examined per batch at most (kept or not), so one batch stays bounded in time.
const SCAN_BATCHES = 20
const SKIP_LOG_INTERVAL_MS = 10_000

export class IngestConsumer implements Component {
  readonly name = 'ingest'
  readonly metrics: IngestMetrics
  private readonly client: JetstreamClient
  private readonly log: Logger
  private pending: PendingItem[] = []
  /** Filter-changing events received and not yet committed: later arrivals wait undecided. */
  private filterChanges = 0
  /** Kept events not yet committed, by author: their deletes must be kept too (see keep()). */
  private keptByAuthor = new Map<string, number>()
  /** Highest time_us received (any event, used or not). */
  private seenTimeUs: number | undefined
  private committedTimeUs: number | undefined
  /** When the oldest uncommitted work (item or cursor advance) arrived. */
  private oldestWorkAt: number | undefined
  private flushTimer?: NodeJS.Timeout
  private loop?: Promise<void>
  private stopping = false
  private started = false
  /** Set on a connect whose stored cursor is older than retention: [from, first event]. */
  private gapFrom: number | undefined
  private pendingGap: { from: number; to: number } | undefined
  private cursorWaiters: Array<{ timeUs: number; resolve: () => void }> = []
  private skipLog = new Map<SkipReason, { count: number; loggedAt: number }>()
  private lastDisconnect?: { reason: DisconnectReason; detail?: string; at: string }

  constructor(private readonly deps: IngestConsumerDeps) {
    this.log = deps.log
    this.metrics = new IngestMetrics(deps.registry, {
      cursorTimeUs: () => this.committedTimeUs,
      connected: () => this.client.isConnected,
      openGaps: async () => (await listOpenGaps(this.deps.db)).length,
    })
    this.client = new JetstreamClient({
      urls: deps.cfg.urls,
      compress: deps.cfg.compress,
      watchdogMs: deps.cfg.watchdogSeconds * 1000,
      log: deps.log,
      minBackoffMs: deps.minBackoffMs,
      maxBackoffMs: deps.maxBackoffMs,
      cursor: () => this.resumeCursor(),
      onFrame: (data, isBinary) => this.onFrame(data, isBinary),
      onDisconnect: ({ reason, detail }) => {
        this.metrics.reconnects.inc({ reason })
        this.lastDisconnect = { reason, detail, at: new Date().toISOString() }
      },
    })
  }

  /** The last committed time_us (µs), as known to this process. */
  get committedCursor(): number | undefined {
    return this.committedTimeUs
  }

  get connected(): boolean {
    return this.client.isConnected
  }

  /** Events received and kept (or not yet judged) that are not committed yet. */
  get uncommittedCount(): number {
    return this.pending.length
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    this.committedTimeUs = await readCommittedCursor(this.deps.db)
    this.seenTimeUs = this.committedTimeUs
    this.deps.readiness?.add('ingest', () => this.readiness())
    this.log.info(
      { urls: this.deps.cfg.urls, cursor: this.committedTimeUs, zstd: this.deps.cfg.compress ? zstdDecoderName() : 'off' },
      'ingest starting',
    )
    this.client.start()
  }

  async destroy(): Promise<void> {
    if (!this.started) return
    // Stop reading first, then commit what was already received (one pass; a failing
    // database is not retried forever on shutdown — the next start replays from the cursor).
    await this.client.stop()
    this.stopping = true
    clearTimeout(this.flushTimer)
    try {
      await this.loop
      if (this.hasWork()) await this.runLoop()
    } catch (err) {
      this.log.warn({ err: errorMessage(err), uncommitted: this.pending.length }, 'ingest stopped with uncommitted events')
    }
    this.started = false
  }

  /** Commit everything received so far, now (tests; shutdown). */
  async processAll(): Promise<void> {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    while (this.loop || this.hasWork()) {
      if (!this.loop) this.loop = this.runLoop()
      await this.loop
    }
  }

  /** Wait until nothing received is left uncommitted. */
  idle(): Promise<void> {
    return this.processAll()
  }

  /** Resolves once the committed cursor reaches time_us (every event up to it is committed). */
  waitForCursor(timeUs: number, timeoutMs = 30_000): Promise<void> {
    if (this.committedTimeUs !== undefined && this.committedTimeUs >= timeUs) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.cursorWaiters = this.cursorWaiters.filter((w) => w !== waiter)
        reject(new Error(`ingest cursor did not reach ${timeUs} within ${timeoutMs} ms (at ${this.committedTimeUs})`))
      }, timeoutMs)
      const waiter = {
        timeUs,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      }
      this.cursorWaiters.push(waiter)
    })
  }

  // ---- connection ----------------------------------------------------------------------

  /** Every (re)connect: committed cursor − rewind; notes a gap when it is past retention. */
  private async resumeCursor(): Promise<number | undefined> {
    const committed = await readCommittedCursor(this.deps.db)
    if (committed === undefined) return undefined
    const retentionUs = this.deps.cfg.retentionHours * 3600 * 1e6
    const nowUs = Date.now() * 1000
    if (nowUs - committed > retentionUs && this.pendingGap === undefined) {
      this.gapFrom = committed
      this.log.warn(
        { cursor: committed, ageHours: (nowUs - committed) / 3.6e9, retentionHours: this.deps.cfg.retentionHours },
        'stored cursor is older than Jetstream retention; the span up to the first event will be backfilled',
      )
    } else {
      this.gapFrom = undefined
    }
    return Math.max(0, committed - this.deps.cfg.rewindSeconds * 1e6)
  }

  // ---- frames --------------------------------------------------------------------------

  private onFrame(data: Buffer, isBinary: boolean): void {
    const parsed = this.decode(data, isBinary)
    if (parsed.timeUs !== undefined) this.noteTime(parsed.timeUs)
    if (!parsed.ok) {
      this.skip(parsed.reason)
    } else {
      this.metrics.received.inc({ kind: parsed.kind })
      const item: PendingItem = {
        op: parsed.op,
        timeUs: parsed.timeUs,
        kind: parsed.kind,
        cursorAfter: this.seenTimeUs!,
        decided: false,
        changesFilter: this.changesFilter(parsed.op),
      }
      if (this.filterChanges > 0 || item.changesFilter) {
        // Behind (or itself) a filter change: judged when its batch is formed.
        if (item.changesFilter) this.filterChanges++
        this.pending.push(item)
      } else if (this.keep(item.op)) {
        this.markKept(item)
        this.pending.push(item)
      } else {
        this.metrics.filtered.inc({ kind: item.kind })
      }
      if (this.pending.length >= this.deps.cfg.batchSize * HIGH_WATER_BATCHES) this.client.pause()
    }
    this.schedule()
  }

  private decode(data: Buffer, isBinary: boolean): ParsedFrame {
    if (!isBinary) return parseFrame(data)
    let json: Buffer
    try {
      json = decompressJetstreamFrame(data, MAX_EVENT_BYTES)
    } catch (err) {
      const tooLarge = err instanceof FrameTooLargeError
      return { ok: false, reason: tooLarge ? 'oversized' : 'decompress_failed' }
    }
    return parseFrame(json)
  }

  private noteTime(timeUs: number): void {
    if (this.gapFrom !== undefined) {
      // The first event after a connect past retention: Jetstream could not replay before it.
      if (timeUs > this.gapFrom) this.pendingGap = { from: this.gapFrom, to: timeUs }
      this.gapFrom = undefined
    }
    if (this.seenTimeUs === undefined || timeUs > this.seenTimeUs) this.seenTimeUs = timeUs
  }

  private skip(reason: SkipReason): void {
    this.metrics.skipped.inc({ reason })
    const now = Date.now()
    const entry = this.skipLog.get(reason) ?? { count: 0, loggedAt: 0 }
    entry.count++
    if (now - entry.loggedAt >= SKIP_LOG_INTERVAL_MS) {
      this.log.warn({ reason, count: entry.count }, 'skipped unusable Jetstream frames')
      entry.count = 0
      entry.loggedAt = now
    }
    this.skipLog.set(reason, entry)
  }

  // ---- batching ------------------------------------------------------------------------

  private hasWork(): boolean {
    return (
      this.pending.length > 0 ||
      this.pendingGap !== undefined ||
      (this.seenTimeUs !== undefined && (this.committedTimeUs === undefined || this.seenTimeUs > this.committedTimeUs))
    )
  }

  /** Start a batch now when one is full, else when the oldest work is batchMs old. */
  private schedule(): void {
    if (this.stopping || !this.hasWork()) return
    this.oldestWorkAt ??= Date.now()
    if (this.loop) return
    if (this.pending.length >= this.deps.cfg.batchSize) {
      clearTimeout(this.flushTimer)
      this.flushTimer = undefined
      this.loop = this.runLoop()
      return
    }
    if (this.flushTimer) return
    const wait = Math.max(0, this.oldestWorkAt + this.deps.cfg.batchMs - Date.now())
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined
      if (!this.loop) this.loop = this.runLoop()
    }, wait)
  }

  private async runLoop(): Promise<void> {
    try {
      do {
        await this.commitNextBatch()
        // Keep going only while full batches wait; a partial batch waits for batchMs.
      } while (this.pending.length >= this.deps.cfg.batchSize || (this.stopping && this.hasWork()))
    } finally {
      this.loop = undefined
      if (this.pending.length < this.deps.cfg.batchSize) this.client.resume()
      this.schedule()
    }
  }

  private async commitNextBatch(): Promise<void> {
    if (this.pendingGap) {
      const gap = this.pendingGap
      await this.retry('record gap', () => recordGap(this.deps.db, gap.from, gap.to))
      this.log.warn({ from: gap.from, to: gap.to }, 'recorded a stream gap for backfill')
      if (this.pendingGap === gap) this.pendingGap = undefined
    }
    const { kept, dropped, take } = this.formBatch()
    const drains = take === this.pending.length
    const cursor = drains ? this.seenTimeUs : this.pending[take - 1].cursorAfter
    // Work arriving from here on starts a new batchMs clock.
    if (drains) this.oldestWorkAt = undefined
    if (cursor === undefined) return
    const items = kept.map((p) => ({ op: p.op, ctx: { source: 'jetstream' as const, timeUs: p.timeUs } }))
    await this.retry('apply batch', async () => {
      const end = this.metrics.batchCommit.startTimer()
      await this.deps.indexer.applyBatch(items, { cursor: { id: JETSTREAM_CURSOR_ID, timeUs: cursor } })
      end()
    })
    this.pending.splice(0, take)
    this.metrics.batchSize.observe(kept.length)
    for (const p of kept) {
      this.metrics.indexed.inc({ kind: p.kind })
      const n = (this.keptByAuthor.get(p.op.did) ?? 1) - 1
      if (n > 0) this.keptByAuthor.set(p.op.did, n)
      else this.keptByAuthor.delete(p.op.did)
    }
    for (const p of dropped) this.metrics.filtered.inc({ kind: p.kind })
    for (const p of [...kept, ...dropped]) if (p.changesFilter) this.filterChanges--
    if (this.committedTimeUs === undefined || cursor > this.committedTimeUs) this.committedTimeUs = cursor
    this.releaseWaiters()
  }

  /**
   * The next batch from the head of the queue: up to batchSize kept events, ending after an
   * event that can change the filter. Undecided events are judged here, after every filter
   * change before them has committed (a batch ends at each one).
   */
  private formBatch(): { kept: PendingItem[]; dropped: PendingItem[]; take: number } {
    const kept: PendingItem[] = []
    const dropped: PendingItem[] = []
    const scanLimit = Math.min(this.pending.length, this.deps.cfg.batchSize * SCAN_BATCHES)
    let take = 0
    while (take < scanLimit && kept.length < this.deps.cfg.batchSize) {
      const p = this.pending[take++]
      if (!p.decided) {
        if (!this.keep(p.op)) {
          dropped.push(p)
          continue
        }
        this.markKept(p)
      }
      kept.push(p)
      if (p.changesFilter) break
    }
    return { kept, dropped, take }
  }

  /**
   * The filter's verdict, plus: a delete by an author with a kept, uncommitted event is kept.
   * The filter learns of an untracked author's interactions with local users only when they
   * commit, and a like-then-unlike must reach the indexer as a pair.
   */
  private keep(op: IndexOp): boolean {
    return this.deps.filter.wants(op) || (op.kind === 'delete' && this.keptByAuthor.has(op.did))
  }

  private markKept(p: PendingItem): void {
    p.decided = true
    this.keptByAuthor.set(p.op.did, (this.keptByAuthor.get(p.op.did) ?? 0) + 1)
  }

  /**
   * A local user's follow or unfollow: the followee's tracking may change on commit. Not a
   * new follow of an account already tracked, while no other change is pending: committing
   * it tracks what is tracked (the filter stays as it is), so what comes after it is judged
   * on arrival as usual instead of waiting for its commit. With a change pending (an
   * unfollow ahead of it may untrack the followee, and this follow track it again) it waits
   * like any other.
   */
  private changesFilter(op: IndexOp): boolean {
    if (op.kind !== 'create' && op.kind !== 'update' && op.kind !== 'delete') return false
    if (op.collection !== 'app.bsky.graph.follow' || !this.deps.filter.isLocalUser(op.did)) return false
    if (op.kind === 'create' && this.filterChanges === 0) {
      const followee = subjectDid(op.record)
      if (followee !== undefined && this.deps.filter.isTracked(followee)) return false
    }
    return true
  }

  /** Retry a database step with backoff until it succeeds (or, when stopping, fail once). */
  private async retry(what: string, fn: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await fn()
        return
      } catch (err) {
        this.metrics.batchFailures.inc()
        if (this.stopping) throw err
        const delay = backoffDelay(attempt, 100, 10_000)
        this.log.warn({ err: errorMessage(err), attempt, delay }, `ingest: ${what} failed; retrying`)
        this.client.pause()
        await new Promise((r) => setTimeout(r, delay))
      }
    }
  }

  private releaseWaiters(): void {
    const c = this.committedTimeUs
    if (c === undefined) return
    const ready = this.cursorWaiters.filter((w) => w.timeUs <= c)
    this.cursorWaiters = this.cursorWaiters.filter((w) => w.timeUs > c)
    for (const w of ready) w.resolve()
  }

  // ---- readiness -----------------------------------------------------------------------

  private async readiness() {
    const gaps = await listOpenGaps(this.deps.db)
    const cursor = this.committedTimeUs
    const lagSeconds = cursor === undefined ? null : Math.max(0, Math.round(Date.now() / 1000 - cursor / 1e6))
    const connected = this.client.isConnected
    const lagging = lagSeconds !== null && lagSeconds > this.deps.cfg.maxLagSeconds
    const reason = !connected
      ? `not connected to Jetstream${this.lastDisconnect ? ` (${this.lastDisconnect.reason}: ${this.lastDisconnect.detail ?? ''})` : ''}`
      : lagging
        ? `ingest lags ${lagSeconds} s behind (limit ${this.deps.cfg.maxLagSeconds} s)`
        : undefined
    return {
      ok: reason === undefined,
      ...(reason ? { reason } : {}),
      connected,
      url: this.client.currentUrl,
      cursorTimeUs: cursor ?? null,
      cursorTime: cursor === undefined ? null : new Date(cursor / 1000).toISOString(),
      lagSeconds,
      uncommitted: this.pending.length,
      openGaps: gaps.map((g) => ({
        fromTimeUs: g.fromTimeUs,
        toTimeUs: g.toTimeUs,
        from: new Date(g.fromTimeUs / 1000).toISOString(),
        to: new Date(g.toTimeUs / 1000).toISOString(),
      })),
    }
  }
}

/** The ingest role's component, built from the App's context (registered in src/roles.ts). */
export function createIngestConsumer(ctx: AppContext): IngestConsumer {
  return new IngestConsumer({
    cfg: ctx.cfg.jetstream,
    db: ctx.db.db,
    log: ctx.log.child({ component: 'ingest' }),
    registry: ctx.metrics.registry,
    readiness: ctx.readiness,
    indexer: ctx.indexer,
    filter: ctx.liveFilter,
  })
}
