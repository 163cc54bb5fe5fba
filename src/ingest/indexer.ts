// The indexer: the only code that writes record tables (actor, post, repost, like, follow,
// block, feed_item, tombstone, notification, tracked_did/local_user membership). Live ingest,
// backfill and on-demand fetches all hand it IndexItems; one batch is one transaction.
//
//   applyBatch(items, {cursor})
//     prepare    validate every op (no DB); ops that can never be indexed are skipped + counted
//     resolve    identity events without a handle → the injected resolveHandle (outside the tx)
//     apply      one transaction: each op through its collection's processor, then the cursor
//     after      live filter updated (before we return), backfills enqueued, metrics
//
// If the database rejects one op's data (a NUL byte, an over-long key …) the batch is run
// again with a savepoint per op, so that op alone is skipped and the rest commits.
import type { Queue } from 'bullmq'
import { sql } from 'kysely'
import type { Registry } from 'prom-client'
import type { Lexicons } from '@atproto/lexicon'
import { isValidDid } from '@atproto/syntax'
import { enqueueBackfill } from '../backfill/enqueue.js'
import type { Database, DbTx } from '../db/database.js'
import { WITH_NEXT } from '../db/prepared.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { LiveFilter } from './filter.js'
import { createIndexerMetrics, type IndexerMetrics } from './indexer-metrics.js'
import type { IndexOp, OpContext } from './ops.js'
import { PROCESSORS } from './records/index.js'
import {
  emptyEffects,
  insertNotificationsMany,
  type BatchEffects,
  type IndexEnv,
  type NotificationInput,
  type RecordProcessor,
  type WriteInput,
} from './records/processor.js'
import { pruneOlderThan, type PruneOptions, type PruneResult } from './prune.js'
import { addLocalUserInTx } from './tracking.js'
import { prepare, type Prepared, type Skip, type SkipReason } from './validate.js'
import { withTimeout } from '../util/with-timeout.js'

export interface IndexItem {
  op: IndexOp
  ctx: OpContext
}

/** A batch validated by Indexer.prepareBatch, not yet applied. */
export class PreparedBatch {
  /** Set once applyBatch takes it (prepared entries are changed while applying). */
  applied = false
  constructor(
    readonly prepared: Prepared[],
    readonly skips: Array<{ skip: Skip; op: unknown }>,
  ) {}

  get size(): number {
    return this.prepared.length + this.skips.length
  }

  /** Several prepared batches as one (in order), to be applied in one transaction. */
  static concat(batches: PreparedBatch[]): PreparedBatch {
    if (batches.length === 1) return batches[0]!
    if (batches.some((b) => b.applied)) throw new Error('a prepared batch is applied once')
    return new PreparedBatch(
      batches.flatMap((b) => b.prepared),
      batches.flatMap((b) => b.skips),
    )
  }
}

export interface BatchResult {
  /** Ops that changed stored state. */
  indexed: number
  /** Well-formed ops with nothing to do: duplicates, replays, stale revs, tombstoned records. */
  unchanged: number
  /** Ops that can never be indexed; see skippedByReason. */
  skipped: number
  skippedByReason: Partial<Record<SkipReason, number>>
  notifications: number
  /** DIDs that became tracked in this batch (a backfill job was enqueued for each). */
  newlyTracked: string[]
}

export interface ApplyBatchOptions {
  /** Jetstream position covered by this batch, committed in the same transaction. */
  cursor?: { id: string; timeUs: number }
  /**
   * Runs inside the batch's transaction after its ops, with the batch's counts (a backfill
   * saves its page's progress here, atomically with the page). Run again if the batch is.
   */
  inTransaction?: (tx: DbTx, counts: { indexed: number; skipped: number }) => Promise<void>
  /**
   * The caller can lose this batch and redo it: commit without waiting for the WAL flush
   * (synchronous_commit off for this transaction). For a backfill page whose progress commits
   * in the same transaction (`inTransaction`): a crash loses at most the newest pages *and*
   * their progress (WAL is flushed in order), so the resumed job lists them again; the run's
   * closing synchronous commit flushes every page before the job reports done. A batch that
   * changed tracking commits synchronously anyway: its effects leave Postgres (the live filter,
   * backfill jobs in Redis) right after the commit.
   */
  deferFlush?: boolean
}

/** Returns the DID's current verified handle, 'handle.invalid', or undefined when unknown. */
export type HandleResolver = (did: string) => Promise<string | undefined>

export interface IndexerOptions {
  db: Database
  liveFilter: LiveFilter
  backfillQueue: Queue
  lexicons: Lexicons
  registry: Registry
  log: Logger
  resolveHandle?: HandleResolver
}

type Outcome = 'indexed' | 'unchanged'

const HANDLE_RESOLVE_TIMEOUT_MS = 10_000
/** SQLSTATE classes that mean "this data", not "this database": data exception, integrity, limits. */
const DATA_ERROR_CLASSES = new Set(['22', '23', '54'])

export class Indexer {
  private readonly metrics: IndexerMetrics
  private resolveHandle?: HandleResolver
  private afterCommit?: () => Promise<void> | undefined
  private readonly lastSkipLog = new Map<string, { at: number; suppressed: number }>()

  constructor(private readonly opts: IndexerOptions) {
    this.metrics = createIndexerMetrics(opts.registry, opts.liveFilter)
    this.resolveHandle = opts.resolveHandle
  }

  /**
   * Runs after every committed batch, before applyBatch returns: the read API's row cache
   * waits here until the batch's changes have been dropped from it (read-your-writes).
   */
  setAfterCommit(hook: (() => Promise<void> | undefined) | undefined): void {
    this.afterCommit = hook
  }

  /** The identity module plugs in here once it exists (it is built after the indexer). */
  setHandleResolver(resolve: HandleResolver | undefined): void {
    this.resolveHandle = resolve
  }

  /**
   * Validates a batch without touching the database, so that a caller with the next batch in
   * hand can do this while the database works on the current one (a backfill validates page
   * N+1 while page N's transaction runs). Pass the result to applyBatch; skipped ops are
   * counted there.
   */
  prepareBatch(items: IndexItem[]): PreparedBatch {
    const now = new Date()
    const prepared: Prepared[] = []
    const skips: PreparedBatch['skips'] = []
    for (const item of items) {
      const p = prepare(item?.op, item?.ctx ?? { source: 'jetstream' }, this.opts.lexicons, now)
      if (p.type === 'skip') skips.push({ skip: p, op: item?.op })
      else prepared.push(p)
    }
    return new PreparedBatch(prepared, skips)
  }

  async applyBatch(items: IndexItem[] | PreparedBatch, opts: ApplyBatchOptions = {}): Promise<BatchResult> {
    const result: BatchResult = {
      indexed: 0,
      unchanged: 0,
      skipped: 0,
      skippedByReason: {},
      notifications: 0,
      newlyTracked: [],
    }
    const batch = items instanceof PreparedBatch ? items : this.prepareBatch(items)
    if (batch.applied) throw new Error('a prepared batch is applied once')
    batch.applied = true
    const prepared = batch.prepared
    for (const { skip, op } of batch.skips) this.countSkip(result, skip, op)
    await this.resolveMissingHandles(prepared)

    const started = process.hrtime.bigint()
    let mode: 'batch' | 'isolated' = 'batch'
    let run: { outcomes: Array<Outcome | Skip>; effects: BatchEffects }
    try {
      run = await this.withConflictRetry(() => this.runTransaction(prepared, opts, false, result.skipped))
    } catch (err) {
      if (!isDataError(err)) throw err
      this.opts.log.warn({ err: errorMessage(err) }, 'database rejected an op; re-running the batch op by op')
      mode = 'isolated'
      run = await this.withConflictRetry(() => this.runTransaction(prepared, opts, true, result.skipped))
    }
    this.metrics.batchSeconds.observe({ mode }, Number(process.hrtime.bigint() - started) / 1e9)

    // Committed. This process's filter first: the caller's next event may depend on it.
    for (const change of run.effects.changes) this.opts.liveFilter.apply(change)
    for (const did of run.effects.interactors) this.opts.liveFilter.noteInteractor(did)
    await this.afterCommit?.()

    prepared.forEach((p, i) => {
      const outcome = run.outcomes[i]!
      if (typeof outcome === 'object') return this.countSkip(result, outcome, p.op)
      const labels = labelsOf(p)
      if (outcome === 'indexed') {
        result.indexed++
        this.metrics.indexed.inc(labels)
      } else {
        result.unchanged++
        this.metrics.unchanged.inc(labels)
      }
      if (p.type === 'write' && p.createdAtFallback && outcome === 'indexed') this.metrics.createdAtFallback.inc()
    })
    result.notifications = run.effects.notifications
    this.metrics.notifications.inc(run.effects.notifications)
    result.newlyTracked = [...run.effects.newlyTracked]
    await this.enqueueBackfills(result.newlyTracked)
    return result
  }

  /**
   * Retention: remove what sorts before `cutoff` (src/ingest/prune.ts says what, and why it
   * is not a delete: no counters, tombstones or notifications change). Chunked, each chunk
   * its own short transaction; stops between chunks when `opts.signal` aborts.
   */
  pruneOlderThan(cutoff: Date, opts: PruneOptions = {}): Promise<PruneResult> {
    return pruneOlderThan(this.opts.db.db, cutoff, opts)
  }

  /**
   * Make `did` a local user: stored, tracked, and in this process's filter before this
   * returns (other processes' filters follow through NOTIFY). Idempotent. The caller enqueues
   * the user's onboarding backfill; indexing the user's follows then tracks each followee.
   */
  async trackLocalUser(
    did: string,
    addedBy: 'request' | 'operator',
  ): Promise<{ created: boolean; newlyTracked: boolean }> {
    if (!isValidDid(did)) throw new Error(`not a valid DID: ${did}`)
    const res = await this.opts.db.transaction((tx) =>
      addLocalUserInTx(tx, this.opts.liveFilter.channel, did, addedBy),
    )
    this.opts.liveFilter.apply({ t: 'local', did })
    return res
  }

  /**
   * Live ingest and backfill workers write at the same time; two batches moving the same
   * counters in different orders can deadlock. Postgres aborts one of them, which is simply
   * run again (the whole batch: it is idempotent). Other failures go to the caller.
   */
  private async withConflictRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn()
      } catch (err) {
        const code = (err as { code?: unknown })?.code
        if ((code !== '40P01' && code !== '40001') || attempt >= 3) throw err
        this.opts.log.info({ code, attempt }, 'batch transaction lost a deadlock; running it again')
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80))
      }
    }
  }

  private async runTransaction(
    prepared: Prepared[],
    opts: ApplyBatchOptions,
    isolated: boolean,
    /** Ops skipped before the transaction (for `inTransaction`'s counts). */
    skippedBefore = 0,
  ): Promise<{ outcomes: Array<Outcome | Skip>; effects: BatchEffects }> {
    return this.opts.db.transaction(async (tx) => {
      // A batch's lookups are point probes of hot indexes (tracked DIDs, actors, posts by
      // key). At the default random_page_cost (4.0, a disk seek) the planner prices a few
      // hundred probes above hashing the whole table and seq-scans tracked_did and actor for
      // every large batch (auto_explain, docs/BENCHMARKS.md 2026-11-28); 1.1 is the usual
      // setting for data in memory or on SSD. This transaction only; the write pool sends it
      // with the transaction's `begin`, in one round trip (WITH_NEXT, src/db/prepared.ts).
      await sql`${WITH_NEXT} set local random_page_cost = 1.1`.execute(tx)
      const effects = emptyEffects()
      const env: IndexEnv = {
        isLocalUser: (did) => this.opts.liveFilter.isLocalUser(did),
        channel: this.opts.liveFilter.channel,
        effects,
      }
      const outcomes: Array<Outcome | Skip> = new Array(prepared.length)
      if (isolated) {
        for (const [i, p] of prepared.entries()) {
          // Effects of a rolled-back op must not leak into the batch's effects.
          const saved = snapshotEffects(effects)
          await sql`savepoint index_op`.execute(tx)
          try {
            outcomes[i] = await this.applyOne(tx, p, env)
            await sql`release savepoint index_op`.execute(tx)
          } catch (err) {
            if (!isDataError(err)) throw err
            await sql`rollback to savepoint index_op`.execute(tx)
            restoreEffects(effects, saved)
            outcomes[i] = { type: 'skip', reason: 'db_rejected', detail: errorMessage(err) }
          }
        }
      } else {
        // A batch is applied in runs: ops on distinct records commute (counters add up,
        // tombstones and feed items end the same whichever comes first), so within a run the
        // other ops go one by one and the creates go in bulk (a few statements per run). A
        // record seen twice ends the run, and so does a local user's unfollow (tracking
        // depends on the order of a user's follows and unfollows).
        let creates: number[] = []
        let deletes: number[] = []
        let singles: number[] = []
        const keys = new Set<string>()
        const flush = async () => {
          for (const i of singles) outcomes[i] = await this.applyOne(tx, prepared[i]!, env)
          if (deletes.length > 0) await this.applyDeletes(tx, prepared, deletes, outcomes, env)
          if (creates.length > 0) await this.applyRun(tx, prepared, creates, outcomes, env)
          creates = []
          deletes = []
          singles = []
          keys.clear()
        }
        for (const [i, p] of prepared.entries()) {
          const key = p.type === 'write' || p.type === 'delete' ? p.op.uri : `${p.type}:${p.op.did}`
          if (keys.has(key)) await flush()
          if (isTrackingSensitive(p, env)) {
            await flush()
            outcomes[i] = await this.applyOne(tx, p, env)
            continue
          }
          keys.add(key)
          if (p.type === 'write' && p.op.kind === 'create' && p.processor.insertMany) creates.push(i)
          else if (p.type === 'delete' && p.processor.removeMany) deletes.push(i)
          else singles.push(i)
        }
        await flush()
      }
      await recordRepoRevs(tx, prepared, outcomes)
      if (opts.cursor) {
        await tx
          .insertInto('ingest_state')
          .values({ id: opts.cursor.id, cursor_time_us: opts.cursor.timeUs, updated_at: new Date() })
          .onConflict((oc) =>
            oc.column('id').doUpdateSet({ cursor_time_us: opts.cursor!.timeUs, updated_at: new Date() }),
          )
          .execute()
      }
      if (opts.inTransaction) {
        let indexed = 0
        let skipped = skippedBefore
        for (const o of outcomes) {
          if (o === 'indexed') indexed++
          else if (typeof o === 'object') skipped++
        }
        await opts.inTransaction(tx, { indexed, skipped })
      }
      if (opts.deferFlush && effects.changes.length === 0 && effects.newlyTracked.size === 0) {
        // Last, so that the write pool sends it with the commit, in one round trip
        // (WITH_NEXT, src/db/prepared.ts); the setting is read at commit.
        await sql`${WITH_NEXT} set local synchronous_commit = off`.execute(tx)
      }
      return { outcomes, effects }
    })
  }

  /**
   * A run of creates on distinct URIs, collection by collection in table order (posts first:
   * likes, reposts, replies and quotes of a post in the same run then find it and count),
   * then the run's notifications in one statement.
   */
  private async applyRun(
    tx: DbTx,
    prepared: Prepared[],
    run: number[],
    outcomes: Array<Outcome | Skip>,
    env: IndexEnv,
  ): Promise<void> {
    const byProcessor = new Map<RecordProcessor, number[]>()
    for (const i of run) {
      const p = prepared[i] as Extract<Prepared, { type: 'write' }>
      const list = byProcessor.get(p.processor) ?? []
      list.push(i)
      byProcessor.set(p.processor, list)
    }
    const notify: Array<{ input: WriteInput; candidates: NotificationInput[] }> = []
    for (const processor of PROCESSORS.values()) {
      const indexes = byProcessor.get(processor)
      if (!indexes) continue
      const inputs = indexes.map((i) => (prepared[i] as Extract<Prepared, { type: 'write' }>).input)
      const inserted = await processor.insertMany!(tx, inputs, env)
      indexes.forEach((i, k) => {
        const input = inputs[k]!
        const done = inserted.has(input.uri)
        outcomes[i] = done ? 'indexed' : 'unchanged'
        if (done && processor.notify) notify.push({ input, candidates: processor.notify(input) })
      })
    }
    await insertNotificationsMany(tx, notify, env)
  }

  /** A run's deletes of likes and reposts, collection by collection, then their tombstones. */
  private async applyDeletes(
    tx: DbTx,
    prepared: Prepared[],
    run: number[],
    outcomes: Array<Outcome | Skip>,
    env: IndexEnv,
  ): Promise<void> {
    const ops = run.map((i) => prepared[i] as Extract<Prepared, { type: 'delete' }>)
    const removed = new Set<string>()
    for (const processor of PROCESSORS.values()) {
      const targets = ops.filter((p) => p.processor === processor).map((p) => ({ uri: p.op.uri, rev: p.rev }))
      if (targets.length === 0) continue
      for (const uri of await processor.removeMany!(tx, targets, env)) removed.add(uri)
    }
    await writeTombstones(tx, ops.map((p) => ({ uri: p.op.uri, did: p.op.did, rev: p.rev })))
    run.forEach((i, k) => (outcomes[i] = removed.has(ops[k]!.op.uri) ? 'indexed' : 'unchanged'))
  }

  private async applyOne(tx: DbTx, p: Prepared, env: IndexEnv): Promise<Outcome> {
    switch (p.type) {
      case 'write': {
        const { op, processor } = p
        let input = p.input
        if (op.kind === 'update' && input.rev !== null) {
          // Update = replace, guarded by rev; the first-seen time (and so the sort key) stays.
          const stored = await processor.findStored(tx, op.uri, op.did)
          if (stored) {
            if (stored.rev !== null && stored.rev >= input.rev) return 'unchanged'
            const indexedAt = stored.indexedAt
            const sortAt = input.createdAt < indexedAt ? input.createdAt : indexedAt
            input = { ...input, indexedAt, sortAt }
            await processor.remove(tx, op.uri, op.did, input.rev, env, { replacing: true })
          }
        }
        return (await processor.insert(tx, input, env)) ? 'indexed' : 'unchanged'
      }
      case 'delete': {
        const removed = await p.processor.remove(tx, p.op.uri, p.op.did, p.rev, env)
        await writeTombstones(tx, [{ uri: p.op.uri, did: p.op.did, rev: p.rev }])
        return removed ? 'indexed' : 'unchanged'
      }
      case 'identity': {
        if (p.handle === undefined) return 'unchanged'
        const { rows } = await sql`
          insert into actor (did, handle) values (${p.op.did}, ${p.handle})
          on conflict (did) do update set handle = excluded.handle, updated_at = now()
          where actor.handle is distinct from excluded.handle
          returning did
        `.execute(tx)
        return rows.length > 0 ? 'indexed' : 'unchanged'
      }
      case 'account': {
        // Content stays; views hide actors whose status is not active.
        const { rows } = await sql`
          insert into actor (did, status) values (${p.op.did}, ${p.status})
          on conflict (did) do update set status = excluded.status, updated_at = now()
          where actor.status is distinct from excluded.status
          returning did
        `.execute(tx)
        return rows.length > 0 ? 'indexed' : 'unchanged'
      }
    }
  }

  /**
   * Identity events often carry no handle. Ask the identity module (when plugged in) before
   * the transaction opens; a handle it calls invalid is stored as null ("not verified").
   */
  private async resolveMissingHandles(prepared: Prepared[]): Promise<void> {
    const resolve = this.resolveHandle
    const pending = prepared.filter((p) => p.type === 'identity' && p.handle === undefined)
    if (!resolve || pending.length === 0) return
    await Promise.all(
      pending.map(async (p) => {
        if (p.type !== 'identity') return
        try {
          const handle = await withTimeout(resolve(p.op.did), HANDLE_RESOLVE_TIMEOUT_MS)
          if (handle === undefined) return
          p.handle = handle === 'handle.invalid' ? null : handle.toLowerCase()
        } catch (err) {
          this.opts.log.info({ did: p.op.did, err: errorMessage(err) }, 'could not resolve handle; left as stored')
        }
      }),
    )
  }

  private async enqueueBackfills(dids: string[]): Promise<void> {
    for (const did of dids) {
      try {
        await enqueueBackfill({ queue: this.opts.backfillQueue, db: this.opts.db.db }, { did, reason: 'follow' })
      } catch (err) {
        // The DID stays tracked with backfill_state 'pending'; live posts flow regardless.
        this.metrics.backfillEnqueueFailures.inc()
        this.opts.log.warn({ did, err: errorMessage(err) }, 'could not enqueue backfill for a newly tracked DID')
      }
    }
  }

  private countSkip(result: BatchResult, skip: Skip, op: unknown): void {
    result.skipped++
    result.skippedByReason[skip.reason] = (result.skippedByReason[skip.reason] ?? 0) + 1
    this.metrics.skipped.inc({ reason: skip.reason })
    // Logged, but at most once every 10 s per reason: garbage can arrive by the thousand.
    const now = Date.now()
    const last = this.lastSkipLog.get(skip.reason)
    if (last && now - last.at < 10_000) {
      last.suppressed++
      return
    }
    const uri = (op as { uri?: unknown } | undefined)?.uri ?? (op as { did?: unknown } | undefined)?.did
    this.opts.log.warn(
      { reason: skip.reason, detail: skip.detail, uri, suppressedSinceLast: last?.suppressed ?? 0 },
      'skipped an op that can never be indexed',
    )
    this.lastSkipLog.set(skip.reason, { at: now, suppressed: 0 })
  }
}

/**
 * actor.repo_rev: the newest commit rev indexed per DID (the atproto-repo-rev header the read
 * API sends, so the PDS splices in only what is newer). Stream commits carry revs; backfilled
 * and fetched records do not. Revs are TIDs (validated), so text order is time order: a
 * replayed or reordered older commit never moves it back. Only existing actor rows (every
 * processed write has created its author's row by now): a stray delete by a stranger does
 * not create one. DIDs in sorted order, so concurrent batches lock rows alike.
 */
async function recordRepoRevs(tx: DbTx, prepared: Prepared[], outcomes: Array<Outcome | Skip>): Promise<void> {
  const newest = new Map<string, string>()
  prepared.forEach((p, i) => {
    if (typeof outcomes[i] === 'object') return // rolled back (db_rejected): not indexed
    const rev = p.type === 'write' ? p.input.rev : p.type === 'delete' ? p.rev : null
    if (rev === null) return
    const seen = newest.get(p.op.did)
    if (seen === undefined || rev > seen) newest.set(p.op.did, rev)
  })
  if (newest.size === 0) return
  const dids = [...newest.keys()].sort()
  const revs = dids.map((did) => newest.get(did)!)
  // `actor.did = any(…)`: the rows are found through the primary key; with the join alone the
  // planner hashes the whole actor table once a batch names a few hundred DIDs (auto_explain).
  await sql`
    update actor set repo_rev = v.rev
    from unnest(${dids}::text[], ${revs}::text[]) as v(did, rev)
    where actor.did = v.did and actor.did = any(${dids}::text[])
      and (actor.repo_rev is null or actor.repo_rev < v.rev)
  `.execute(tx)
}

/**
 * Deletes win: the tombstone outlives any late create (rewind replay, a backfill page listed
 * before the delete). A rev-less tombstone stops every later write. URIs must be distinct.
 */
async function writeTombstones(tx: DbTx, rows: Array<{ uri: string; did: string; rev: string | null }>) {
  await sql`
    insert into tombstone (uri, author_did, rev)
    select * from unnest(
      ${rows.map((r) => r.uri)}::text[], ${rows.map((r) => r.did)}::text[], ${rows.map((r) => r.rev)}::text[]
    )
    on conflict (uri) do update set
      rev = case when tombstone.rev is null or excluded.rev is null then null
                 else greatest(tombstone.rev, excluded.rev) end,
      deleted_at = now()
  `.execute(tx)
}

/** A local user's unfollow (or follow update): its place relative to their follows matters. */
function isTrackingSensitive(p: Prepared, env: IndexEnv): boolean {
  if (p.type !== 'delete' && !(p.type === 'write' && p.op.kind === 'update')) return false
  return p.op.collection === 'app.bsky.graph.follow' && env.isLocalUser(p.op.did)
}

function labelsOf(p: Prepared): { collection: string; operation: string } {
  if (p.type === 'identity' || p.type === 'account') return { collection: p.type, operation: p.type }
  return { collection: p.op.collection, operation: p.op.kind }
}

function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' && DATA_ERROR_CLASSES.has(code.slice(0, 2))
}

function snapshotEffects(e: BatchEffects) {
  return {
    notifications: e.notifications,
    newlyTracked: new Set(e.newlyTracked),
    changes: e.changes.length,
    interactors: new Set(e.interactors),
  }
}

function restoreEffects(e: BatchEffects, s: ReturnType<typeof snapshotEffects>): void {
  e.notifications = s.notifications
  e.newlyTracked = s.newlyTracked
  e.changes.length = s.changes
  e.interactors = s.interactors
}
