// Backfill of one DID: its posts, reposts and profile from its PDS, back to the horizon,
// through the same indexer as live ingest (so upserts, tombstones and counters hold).
// No BullMQ here: the worker (worker.ts) maps outcomes to job results and retries.
//
//   track before list:  the live filter (of the ingest process) includes the DID first
//   walk:               listRecords newest first, 100 per page, cursor → next page, until a
//                       page holds nothing newer than the horizon (or the repo ends); listed
//                       up to PAGES_AHEAD pages ahead of the writer
//   index:              the pages listed so far (up to PAGES_PER_TRANSACTION) → one
//                       indexer.applyBatch (source 'backfill'), in page order
//   resume:             the cursor after a transaction's last page is saved in
//                       tracked_did.backfill_progress in that transaction, so a retried or
//                       restarted job continues where it stopped; pages commit without
//                       waiting for the WAL flush, and the closing 'complete' update (a
//                       synchronous commit) flushes them all
import { sql } from 'kysely'
import type { Db, DbTx } from '../db/database.js'
import { PREPARED } from '../db/prepared.js'
import { errorMessage } from '../errors.js'
import { INVALID_HANDLE } from '../identity/identity.js'
import type { Logger } from '../logger.js'
import { PreparedBatch, type ApplyBatchOptions } from '../ingest/indexer.js'
import type { IndexOp, OpContext, RecordWriteOp } from '../ingest/ops.js'
import type { ListRecordsPage, RepoRecord } from './pds-client.js'
import type { BackfillMetrics } from './metrics.js'

export const BACKFILL_COLLECTIONS = ['app.bsky.feed.post', 'app.bsky.feed.repost'] as const
export const PROFILE_COLLECTION = 'app.bsky.actor.profile'
export const PAGE_LIMIT = 100

/** What backfill needs of the indexer (ctx.indexer). */
export interface BackfillIndexer {
  /** Validation only (no database): done for the next page while the current one commits. */
  prepareBatch(items: Array<{ op: IndexOp; ctx: OpContext }>): PreparedBatch
  applyBatch(
    items: Array<{ op: IndexOp; ctx: OpContext }> | PreparedBatch,
    opts?: Pick<ApplyBatchOptions, 'inTransaction' | 'deferFlush'>,
  ): Promise<{ indexed: number; unchanged: number; skipped: number }>
}

/** What backfill needs of the PDS client (ctx.pds). */
export interface BackfillPds {
  listRecords(did: string, collection: string, opts?: { cursor?: string; limit?: number }): Promise<ListRecordsPage>
  getRecord(uri: string): Promise<RepoRecord | null>
}

/** Track before list: resolves once the ingest process's live filter includes the DID. */
export interface BackfillLiveFilter {
  waitForLiveFilter(did: string, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<unknown>
}

export interface BackfillRepoDeps {
  db: Db
  pds: BackfillPds
  indexer: BackfillIndexer
  liveFilter: BackfillLiveFilter
  log: Logger
  metrics?: BackfillMetrics
  /** When given, the DID's verified handle is indexed too (an identity op through the indexer). */
  identity?: { resolveDid(did: string): Promise<{ handle: string }> }
  /** BACKFILL_DAYS: 0 = everything. */
  days: number
}

export interface BackfillRequest {
  did: string
  /** List back to this time (gap repair) instead of the BACKFILL_DAYS horizon. */
  since?: string
}

export interface BackfillOutcome {
  did: string
  status: 'complete' | 'not-tracked'
  /** Records handed to the indexer that changed stored state, this run. */
  indexed: number
  /** Records the indexer skipped (malformed) plus list entries without uri/cid/value. */
  malformed: number
  pages: number
  /** The oldest createdAt this run reached (or the horizon when it stopped there). */
  reachedHorizon: Date | null
  horizonReached: boolean
}

/** Saved per page; only progress of a run with the same horizon is resumed. */
interface Progress {
  horizon: string | null
  collections: Record<string, { cursor?: string; done: boolean }>
  indexed: number
  malformed: number
  oldest: string | null
  horizonReached: boolean
}

export function horizonFor(days: number, since?: string, now = Date.now()): Date | null {
  if (since) {
    const t = Date.parse(since)
    if (!Number.isNaN(t)) return new Date(t)
  }
  return days > 0 ? new Date(now - days * 24 * 3600 * 1000) : null
}

export async function backfillRepo(
  deps: BackfillRepoDeps,
  req: BackfillRequest,
  signal?: AbortSignal,
): Promise<BackfillOutcome> {
  const { db, did } = { db: deps.db, did: req.did }
  const row = await db
    .selectFrom('tracked_did')
    .select(['backfill_progress', 'backfill_state'])
    .where('did', '=', did)
    .executeTakeFirst()
  if (!row) {
    // Not (or no longer) tracked: the stream would not keep its new posts, so do not list.
    return { did, status: 'not-tracked', indexed: 0, malformed: 0, pages: 0, reachedHorizon: null, horizonReached: false }
  }

  const horizon = horizonFor(deps.days, req.since)
  const horizonKey = horizon ? horizon.toISOString() : null
  const saved = parseProgress(row.backfill_progress)
  // A gap's `since` or a new BACKFILL_DAYS window changes the horizon: start over.
  const progress: Progress =
    saved && (saved.horizon === horizonKey || (req.since === undefined && saved.horizon !== null && sameDay(saved.horizon, horizonKey)))
      ? saved
      : { horizon: horizonKey, collections: {}, indexed: 0, malformed: 0, oldest: null, horizonReached: false }

  await db
    .updateTable('tracked_did')
    .set({ backfill_state: 'running', backfill_error: null, backfill_started_at: new Date(), updated_at: new Date() })
    .where('did', '=', did)
    .execute()

  // Track before list: nothing the DID creates from here on can be dropped by the stream.
  await deps.liveFilter.waitForLiveFilter(did, { signal })

  let pages = 0
  for (const collection of BACKFILL_COLLECTIONS) {
    const state = progress.collections[collection] ?? { done: false }
    if (state.done) continue
    // Pipelined: a reader lists pages (the next request goes out as soon as a page arrives,
    // before that page is validated) and keeps up to PAGES_AHEAD validated pages queued; the
    // writer commits whatever is queued (up to PAGES_PER_TRANSACTION pages) in one
    // transaction, with the progress after its last page. It waits briefly for a second
    // page (SECOND_PAGE_WAIT_MS), so that pages share a transaction's fixed costs; a slow PDS
    // still gets each page written as it comes. Transactions commit in page order, so a
    // resumed job never skips a page.
    const reader = readPages(deps, did, collection, state.cursor, horizon, signal)
    try {
      for (;;) {
        signal?.throwIfAborted()
        const group = await reader.take(PAGES_PER_TRANSACTION)
        if (group.length === 0) break
        pages += group.length
        const last = group[group.length - 1]!
        let oldest = progress.oldest
        let malformed = 0
        let pastHorizon = false
        for (const page of group) {
          if (page.oldest !== null && (oldest === null || page.oldest < oldest)) oldest = page.oldest
          malformed += page.malformed
          pastHorizon ||= page.pastHorizon
        }
        // The progress after these pages, saved in their transaction (computed again if the
        // transaction is retried; adopted once it commits).
        let after: { progress: Progress; indexed: number } | undefined
        const groupProgress = (counts: { indexed: number; skipped: number }): Progress => ({
          ...progress,
          collections: { ...progress.collections, [collection]: { cursor: last.cursor, done: last.done } },
          indexed: progress.indexed + counts.indexed,
          malformed: progress.malformed + malformed + counts.skipped,
          oldest,
          horizonReached: progress.horizonReached || pastHorizon,
        })
        const batches = group.flatMap((page) => (page.batch ? [page.batch] : []))
        if (batches.length > 0) {
          const res = await deps.indexer.applyBatch(PreparedBatch.concat(batches), {
            deferFlush: true,
            inTransaction: async (tx, counts) => {
              after = { progress: groupProgress(counts), indexed: counts.indexed }
              await saveProgress(tx, did, after.progress, counts.indexed)
            },
          })
          deps.metrics?.recordsIndexed.inc({ collection }, res.indexed)
          if (res.skipped) deps.metrics?.recordsMalformed.inc({ collection }, res.skipped)
        } else {
          // Nothing to index (all past the horizon, or all malformed): the progress alone.
          after = { progress: groupProgress({ indexed: 0, skipped: 0 }), indexed: 0 }
          await saveProgress(db, did, after.progress, 0)
        }
        if (!after) throw new Error('backfill page committed without its progress')
        Object.assign(progress, after.progress)
      }
    } finally {
      reader.stop()
    }
  }

  if (!progress.collections[PROFILE_COLLECTION]?.done) {
    const profile = await deps.pds.getRecord(`at://${did}/${PROFILE_COLLECTION}/self`)
    if (profile) {
      const op = toWriteOp(did, profile)
      if (op) {
        const res = await deps.indexer.applyBatch([{ op, ctx: { source: 'backfill' } }])
        progress.indexed += res.indexed
        progress.malformed += res.skipped
        deps.metrics?.recordsIndexed.inc({ collection: PROFILE_COLLECTION }, res.indexed)
        await saveProgress(db, did, progress, res.indexed)
      } else progress.malformed++
    }
    progress.collections[PROFILE_COLLECTION] = { done: true }
  }
  if (deps.identity) {
    // The handle shown in views: verified both ways, else handle.invalid (stored as unknown).
    // The posts are in; a handle lookup that fails now is retried by the next identity event.
    try {
      const { handle } = await deps.identity.resolveDid(did)
      await deps.indexer.applyBatch([
        { op: { kind: 'identity', did, ...(handle !== INVALID_HANDLE ? { handle } : {}) }, ctx: { source: 'backfill' } },
      ])
    } catch (err) {
      deps.log.info({ did, err: errorMessage(err) }, 'backfill: could not index the handle')
    }
  }

  const reachedHorizon = progress.horizonReached ? horizon : progress.oldest ? new Date(progress.oldest) : horizon
  await db
    .updateTable('tracked_did')
    .set({
      backfill_state: 'complete',
      backfill_error: null,
      backfill_progress: null,
      backfill_horizon: reachedHorizon,
      backfill_completed_at: new Date(),
      updated_at: new Date(),
    })
    .where('did', '=', did)
    .execute()
  return {
    did,
    status: 'complete',
    indexed: progress.indexed,
    malformed: progress.malformed,
    pages,
    reachedHorizon,
    horizonReached: progress.horizonReached,
  }
}

/** A listed page as the walk needs it: its ops (validated), where it ends, what it holds. */
interface ReadPage {
  cursor?: string
  /** Validated ops, undefined when the page has none to index. */
  batch?: PreparedBatch
  /** Entries that are not this repo's records (plus those the client dropped). */
  malformed: number
  /** The oldest createdAt among the page's ops (ISO), null when none. */
  oldest: string | null
  pastHorizon: boolean
  /** The walk of this collection ends with this page. */
  done: boolean
}

/** Listed pages waiting to be written: at most this many are fetched and validated ahead. */
export const PAGES_AHEAD = 4
/** At most this many queued pages are written in one transaction. */
export const PAGES_PER_TRANSACTION = 4
/**
 * The writer waits for a second page before it opens a transaction (a page's fixed costs —
 * begin, locks, progress, commit, the row-change triggers — are then shared), but never longer
 * than SECOND_PAGE_WAIT_MS after the first one is ready, so a slow PDS still sees each page
 * written as it comes.
 */
const PAGES_MIN = 2
const SECOND_PAGE_WAIT_MS = 25

interface PageReader {
  /**
   * Up to `max` pages, in order, once at least one is ready; [] when the collection is done.
   * Throws the listing's error once the pages read before it have been taken.
   */
  take(max: number): Promise<ReadPage[]>
  /** Stop listing (the walk ended or failed). */
  stop(): void
}

/**
 * Lists a collection from `cursor` on, one request at a time, PAGES_AHEAD pages ahead of the
 * writer. The next request is sent as soon as a page arrives, and that page is validated
 * while it is out, so the PDS is asked for page N+1 while this process validates page N and
 * Postgres writes the pages before it.
 */
function readPages(
  deps: Pick<BackfillRepoDeps, 'indexer' | 'pds'>,
  did: string,
  collection: string,
  cursor: string | undefined,
  horizon: Date | null,
  signal: AbortSignal | undefined,
): PageReader {
  const ready: ReadPage[] = []
  let finished = false
  let stopped = false
  let failure: { err: unknown } | undefined
  let wakeWriter: (() => void) | undefined
  let wakeReader: (() => void) | undefined

  const list = (c: string | undefined) => {
    const p = deps.pds.listRecords(did, collection, { cursor: c, limit: PAGE_LIMIT })
    p.catch(() => {}) // observed when awaited; not an unhandled rejection if we stop first
    return p
  }
  // Pages listed and not yet taken by the writer, counting the one being validated and the
  // request out: at most PAGES_AHEAD.
  const room = () => ready.length + 2 <= PAGES_AHEAD
  const run = async () => {
    try {
      let next: Promise<ListRecordsPage> | undefined = list(cursor)
      while (next) {
        const raw = await next
        next = undefined
        if (stopped) return
        signal?.throwIfAborted()
        const scanned = scanPage(did, raw, horizon)
        if (!scanned.done && room()) {
          next = list(scanned.cursor)
          // Let the request leave before this thread spends its time on validation.
          await new Promise((resolve) => setImmediate(resolve))
        }
        ready.push(finishPage(deps, scanned))
        wakeWriter?.()
        if (scanned.done || next) continue
        while (!stopped && !room()) await new Promise<void>((resolve) => (wakeReader = resolve))
        if (stopped) return
        next = list(scanned.cursor)
      }
    } catch (err) {
      failure = { err }
    } finally {
      finished = true
      wakeWriter?.()
    }
  }
  void run()
  return {
    async take(max) {
      while (ready.length === 0 && !finished) await new Promise<void>((resolve) => (wakeWriter = resolve))
      if (ready.length < Math.min(PAGES_MIN, max) && !finished) {
        const deadline = performance.now() + SECOND_PAGE_WAIT_MS
        while (ready.length < Math.min(PAGES_MIN, max) && !finished) {
          const left = deadline - performance.now()
          if (left <= 0) break
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, left)
            wakeWriter = () => {
              clearTimeout(timer)
              resolve()
            }
          })
        }
      }
      if (ready.length === 0) {
        if (failure) throw failure.err
        return []
      }
      const taken = ready.splice(0, max)
      wakeReader?.()
      return taken
    },
    stop() {
      stopped = true
      wakeReader?.()
    },
  }
}

/** A page's records turned into ops, before validation. */
interface ScannedPage extends Omit<ReadPage, 'batch'> {
  items: Array<{ op: IndexOp; ctx: OpContext }>
}

function scanPage(did: string, page: ListRecordsPage, horizon: Date | null): ScannedPage {
  let newerThanHorizon = 0
  let malformed = page.malformed
  let oldest: string | null = null
  const items: Array<{ op: IndexOp; ctx: OpContext }> = []
  for (const rec of page.records) {
    const createdAt = createdAtOf(rec.value)
    if (horizon && createdAt && createdAt < horizon) continue
    newerThanHorizon++
    const op = toWriteOp(did, rec)
    if (!op) {
      malformed++
      continue
    }
    if (createdAt && (!oldest || createdAt.toISOString() < oldest)) oldest = createdAt.toISOString()
    items.push({ op, ctx: { source: 'backfill' } })
  }
  // Newest first (by rkey, i.e. creation order): once a page ends in a record older than
  // the horizon, every later page is older too. Back-dated records inside a page are
  // skipped individually above.
  const lastCreated = page.records.length > 0 ? createdAtOf(page.records[page.records.length - 1]!.value) : undefined
  const pastHorizon =
    horizon !== null && page.records.length > 0 && (newerThanHorizon === 0 || (lastCreated !== undefined && lastCreated < horizon))
  // A short page is the last one: no need to ask for an empty one after it.
  const done = pastHorizon || !page.cursor || page.records.length + page.malformed < PAGE_LIMIT
  return { cursor: page.cursor, items, malformed, oldest, pastHorizon, done }
}

function finishPage(deps: Pick<BackfillRepoDeps, 'indexer'>, page: ScannedPage): ReadPage {
  const { items, ...rest } = page
  return { ...rest, batch: items.length > 0 ? deps.indexer.prepareBatch(items) : undefined }
}

/** A listRecords/getRecord entry as an index op; undefined when its URI is not this repo's record. */
export function toWriteOp(did: string, rec: RepoRecord): RecordWriteOp | undefined {
  const m = /^at:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(rec.uri)
  if (!m || m[1] !== did) return undefined
  if (typeof rec.value !== 'object' || rec.value === null) return undefined
  return { kind: 'create', uri: rec.uri, did, collection: m[2]!, rkey: m[3]!, cid: rec.cid, record: rec.value }
}

function createdAtOf(value: unknown): Date | undefined {
  const raw = (value as { createdAt?: unknown } | null)?.createdAt
  if (typeof raw !== 'string') return undefined
  const t = Date.parse(raw)
  return Number.isNaN(t) ? undefined : new Date(t)
}

async function saveProgress(db: Db | DbTx, did: string, progress: Progress, newlyIndexed: number): Promise<void> {
  // records_indexed: everything this DID's backfills stored, visible while a run is going.
  await sql`${PREPARED}
    update tracked_did
    set backfill_progress = ${JSON.stringify(progress)}, records_indexed = records_indexed + ${newlyIndexed}, updated_at = now()
    where did = ${did}
  `.execute(db)
}

function parseProgress(raw: unknown): Progress | undefined {
  if (!raw) return undefined
  const v = (typeof raw === 'string' ? safeJson(raw) : raw) as Partial<Progress> | undefined
  if (!v || typeof v !== 'object' || typeof v.collections !== 'object' || v.collections === null) return undefined
  return {
    horizon: typeof v.horizon === 'string' ? v.horizon : null,
    collections: v.collections,
    indexed: Number(v.indexed) || 0,
    malformed: Number(v.malformed) || 0,
    oldest: typeof v.oldest === 'string' ? v.oldest : null,
    horizonReached: v.horizonReached === true,
  }
}

/** A BACKFILL_DAYS horizon moves with the clock; a retry within a day resumes the same run. */
function sameDay(a: string, b: string | null): boolean {
  if (!b) return false
  return Math.abs(Date.parse(a) - Date.parse(b)) < 24 * 3600 * 1000
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s)
  } catch {
    return undefined
  }
}
