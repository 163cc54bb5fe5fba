// Each viewer's newest Following-timeline items in memory: the skeleton (which items, in
// which order) of the first pages, so a timeline read costs no merge over a few hundred
// followed accounts while nothing changed. Kept exact by the same row-change announcements
// as the row cache (migrations/0091, 0120):
//   'l' <account>  a feed item of that account was written or deleted: every held timeline
//                  that merges the account marks it stale, and the next read of that
//                  timeline re-reads just that account's items in the held range (one index
//                  range) before answering;
//   'f' <viewer>   the viewer's follows changed: their timeline is dropped.
// A held timeline is exactly the viewer's items with key >= its last item's key (the
// horizon), or all of them (`complete`). Reads below the horizon extend it, up to a bound;
// beyond that they go to the database as before. Hydration is not cached here: the rows of
// what the page shows come through the row cache, which has its own invalidation.
import type { FeedItemRow } from '../dataplane/feeds.js'
import type { KeysetCursor } from '../dataplane/pagination.js'

/** How a held timeline is (re)loaded: the plain skeleton query and the per-account reread. */
export interface TimelineLoader {
  /** the timeline's newest `limit + 1` items older than `cursor` (getTimelineSkeleton's query) */
  page(limit: number, cursor?: KeysetCursor): Promise<FeedItemRow[]>
  /** every item of each account with key >= its `since` (all of them without one), any order */
  accountsSince(ranges: AccountRange[]): Promise<FeedItemRow[]>
}

/** An account's items from `since` on (inclusive; all of them when undefined). */
export interface AccountRange {
  account: string
  since?: KeysetCursor
}

export interface TimelineCacheOptions {
  /** timelines held (least recently read dropped first); 0 = off */
  maxViewers: number
  /** items loaded when a timeline is first read */
  firstItems?: number
  /** items added when a read goes below the held range */
  extendItems?: number
  /** no extension once this many items are held (so at most this + extendItems) */
  maxItems?: number
  /** a timeline with more stale accounts than this is dropped instead of patched */
  maxStale?: number
}

interface Entry {
  viewer: string
  /** the follow set it was built from (the row source's object: a new one means follows changed) */
  follows: object
  /** viewer and followed accounts: the reverse index's keys for this entry */
  accounts: string[]
  /** newest first, keyset order (sortKey desc, uri desc) */
  items: FeedItemRow[]
  /** items hold the whole timeline (there is nothing older) */
  complete: boolean
  /** account → epoch of the announcement that made its items stale */
  stale: Map<string, number>
  /** one change at a time per timeline (refresh, extend): reads queue behind it */
  lock: Promise<unknown>
}

export class TimelineCache {
  readonly name = 'timelines'
  /** pages answered from memory (after rereading stale accounts, if any) */
  hits = 0
  /** pages that needed the skeleton query (a first load, an extension, or below the held range) */
  misses = 0
  /** stale accounts' rereads (one index range per account) */
  rereads = 0
  private readonly entries = new Map<string, Entry>()
  /** account → viewers whose held timeline merges it */
  private readonly byAccount = new Map<string, Set<string>>()
  /** builds in flight, shared by concurrent readers of the same viewer */
  private readonly building = new Map<string, Promise<Entry | FeedItemRow[]>>()
  /** account → epoch of its latest 'l' announcement, kept only while builds are in flight */
  private readonly marks = new Map<string, number>()
  /**
   * Accounts' items as last reread, shared by every held timeline that merges the account:
   * when a popular account posts, the timelines of all its followers go stale at once, and
   * one reread serves them all. `at` is the epoch when the reading query began: the range
   * answers for a timeline whose mark on the account is not newer.
   */
  private readonly reread = new Map<string, { since?: KeysetCursor; items: FeedItemRow[]; at: number }>()
  private epoch = 0
  /** builds that began before this epoch store nothing (after clear or too many marks) */
  private floor = 0
  private live = false
  private readonly firstItems: number
  private readonly extendItems: number
  private readonly maxItems: number
  private readonly maxStale: number

  constructor(private readonly opts: TimelineCacheOptions) {
    this.firstItems = opts.firstItems ?? 150
    this.extendItems = opts.extendItems ?? 100
    this.maxItems = opts.maxItems ?? 500
    this.maxStale = opts.maxStale ?? 64
  }

  get size(): number {
    return this.entries.size
  }

  get enabled(): boolean {
    return this.live && this.opts.maxViewers > 0
  }

  /**
   * `limit + 1` items of `viewer`'s timeline older than `cursor` (fewer at its end): the same
   * rows `loader.page(limit, cursor)` returns, from memory when held. `follows` is the
   * follow set the caller read for this request (an object that changes when follows do).
   */
  async read(viewer: string, follows: Map<string, unknown>, limit: number, cursor: KeysetCursor | undefined, loader: TimelineLoader): Promise<FeedItemRow[]> {
    if (!this.enabled) return loader.page(limit, cursor)
    let entry = this.entries.get(viewer)
    if (entry && entry.follows !== follows) {
      this.drop(viewer)
      entry = undefined
    }
    if (entry) {
      // most recently read last: the oldest key is dropped first
      this.entries.delete(viewer)
      this.entries.set(viewer, entry)
    } else {
      if (cursor) {
        // a deep page of a timeline not held: not worth loading the first pages for
        this.misses++
        return loader.page(limit, cursor)
      }
      const built = await this.build(viewer, follows, loader)
      if (Array.isArray(built)) {
        this.misses++
        return built.slice(0, limit + 1)
      }
      entry = built
    }
    const e = entry
    const run = e.lock.then(() => this.serve(e, limit, cursor, loader))
    e.lock = run.catch(() => {})
    return run
  }

  /** 'l' announcements: these accounts' feed items changed. */
  accountsChanged(accounts: Iterable<string>): void {
    const epoch = ++this.epoch
    for (const account of accounts) {
      if (this.building.size > 0) this.marks.set(account, epoch)
      this.reread.delete(account)
      const viewers = this.byAccount.get(account)
      if (!viewers) continue
      for (const viewer of [...viewers]) {
        const entry = this.entries.get(viewer)
        if (!entry) continue
        entry.stale.set(account, epoch)
        if (entry.stale.size > this.maxStale) this.drop(viewer)
      }
    }
    if (this.marks.size > MAX_MARKS) {
      this.marks.clear()
      this.floor = ++this.epoch
    }
  }

  /** 'f' announcements: these viewers' follows changed. */
  followsChanged(viewers: Iterable<string>): void {
    this.epoch++
    for (const viewer of viewers) this.drop(viewer)
  }

  /** Forget everything, including what builds in flight would store. */
  clear(): void {
    for (const viewer of [...this.entries.keys()]) this.drop(viewer)
    this.marks.clear()
    this.reread.clear()
    this.floor = ++this.epoch
  }

  /** The invalidation listener is up (true: emptied and on) or down (false: off). */
  setLive(live: boolean): void {
    this.clear()
    this.live = live
  }

  private async build(viewer: string, follows: Map<string, unknown>, loader: TimelineLoader): Promise<Entry | FeedItemRow[]> {
    const pending = this.building.get(viewer)
    if (pending) return pending
    const token = this.epoch
    const run = (async () => {
      try {
        const rows = await loader.page(this.firstItems)
        const complete = rows.length <= this.firstItems
        const items = rows.slice(0, this.firstItems).map(skeletonOnly)
        // the cache was cleared or marks were dropped meanwhile: the rows answer this request
        // but are not kept (follows changed meanwhile: kept, and replaced on the next read,
        // whose follow set is a new object)
        if (!this.enabled || token < this.floor || this.entries.has(viewer)) return rows
        const accounts = [viewer, ...follows.keys()]
        const stale = new Map<string, number>()
        for (const account of accounts) {
          const mark = this.marks.get(account)
          if (mark !== undefined && mark > token) stale.set(account, mark)
        }
        const entry: Entry = { viewer, follows, accounts, items, complete, stale, lock: Promise.resolve() }
        this.store(entry)
        return entry
      } finally {
        this.building.delete(viewer)
        if (this.building.size === 0) this.marks.clear()
      }
    })()
    this.building.set(viewer, run)
    return run
  }

  private store(entry: Entry): void {
    this.entries.set(entry.viewer, entry)
    for (const account of entry.accounts) {
      let viewers = this.byAccount.get(account)
      if (!viewers) this.byAccount.set(account, (viewers = new Set()))
      viewers.add(entry.viewer)
    }
    while (this.entries.size > this.opts.maxViewers) this.drop(this.entries.keys().next().value!)
  }

  private drop(viewer: string): void {
    const entry = this.entries.get(viewer)
    if (!entry) return
    this.entries.delete(viewer)
    for (const account of entry.accounts) {
      const viewers = this.byAccount.get(account)
      if (!viewers) continue
      viewers.delete(viewer)
      if (viewers.size === 0) this.byAccount.delete(account)
    }
  }

  private held(entry: Entry): boolean {
    return this.entries.get(entry.viewer) === entry
  }

  private async serve(entry: Entry, limit: number, cursor: KeysetCursor | undefined, loader: TimelineLoader): Promise<FeedItemRow[]> {
    let loaded = false
    if (entry.stale.size > 0) {
      this.rereads++
      await this.refresh(entry, loader)
    }
    let start = cursor ? firstOlderThan(entry.items, cursor) : 0
    if (entry.items.length - start < limit + 1 && !entry.complete) {
      const horizon = entry.items[entry.items.length - 1]
      // a cursor below the held range, or no room to grow: the database answers
      if (!horizon || (cursor && compareKey(cursor, horizon) < 0) || entry.items.length >= this.maxItems) {
        this.misses++
        return loader.page(limit, cursor)
      }
      loaded = true
      const step = Math.max(this.extendItems, limit + 1)
      const rows = await loader.page(step, { sortAt: horizon.sortKey, uri: horizon.uri })
      if (!this.held(entry)) {
        this.misses++
        return loader.page(limit, cursor)
      }
      entry.items.push(...rows.slice(0, step).map(skeletonOnly))
      entry.complete = rows.length <= step
      start = cursor ? firstOlderThan(entry.items, cursor) : 0
    }
    if (loaded) this.misses++
    else this.hits++
    return entry.items.slice(start, start + limit + 1)
  }

  /**
   * Brings the stale accounts' items in the held range up to date: from a shared reread
   * when one began after the account's announcement and reaches deep enough, else from one
   * query for the rest (each account read down to the deepest held timeline that merges it,
   * so the others can share it).
   */
  private async refresh(entry: Entry, loader: TimelineLoader): Promise<void> {
    const started = this.epoch
    const accounts = [...entry.stale.keys()]
    const since = horizonOf(entry)
    const fresh: FeedItemRow[] = []
    const toRead: AccountRange[] = []
    for (const account of accounts) {
      const shared = this.reread.get(account)
      if (shared && shared.at >= entry.stale.get(account)! && reaches(shared.since, since)) fresh.push(...shared.items)
      else toRead.push({ account, since: this.deepestHorizon(account, since) })
    }
    if (toRead.length > 0) {
      const rows = await loader.accountsSince(toRead)
      const byAccount = new Map<string, FeedItemRow[]>(toRead.map((r) => [r.account, []]))
      for (const row of rows) {
        const item = skeletonOnly(row)
        byAccount.get(row.originatorDid)?.push(item)
        fresh.push(item)
      }
      if (this.reread.size > MAX_REREADS) this.reread.clear()
      for (const r of toRead) this.reread.set(r.account, { since: r.since, items: byAccount.get(r.account)!, at: started })
    }
    const changed = new Set(accounts)
    const merged = entry.items.filter((i) => !changed.has(i.originatorDid))
    for (const item of fresh) {
      // no item older than the horizon: keep the held range exact
      if (!since || compareKey(since, item) <= 0) merged.push(item)
    }
    merged.sort(newestFirst)
    if (merged.length > this.maxItems) {
      merged.length = this.maxItems
      entry.complete = false
    }
    entry.items = merged
    // accounts announced again after the reread began stay stale
    for (const account of accounts) if ((entry.stale.get(account) ?? 0) <= started) entry.stale.delete(account)
  }

  /**
   * The oldest of `own` and the horizons of the held timelines that merge `account`
   * (undefined: one of them holds everything).
   */
  private deepestHorizon(account: string, own: KeysetCursor | undefined): KeysetCursor | undefined {
    if (!own) return undefined
    let deepest: KeysetCursor = own
    for (const viewer of this.byAccount.get(account) ?? []) {
      const entry = this.entries.get(viewer)
      if (!entry) continue
      const h = horizonOf(entry)
      if (!h) return undefined
      if (compareKey(h, { sortKey: deepest.sortAt, uri: deepest.uri }) < 0) deepest = h
    }
    return deepest
  }
}

/** The held range's lower end (its last item's key), or undefined when it holds everything. */
function horizonOf(entry: Entry): KeysetCursor | undefined {
  const last = entry.complete ? undefined : entry.items[entry.items.length - 1]
  return last ? { sortAt: last.sortKey, uri: last.uri } : undefined
}

/** Whether a reread from `have` on covers everything from `need` on. */
function reaches(have: KeysetCursor | undefined, need: KeysetCursor | undefined): boolean {
  if (!have) return true
  if (!need) return false
  return compareKey(have, { sortKey: need.sortAt, uri: need.uri }) <= 0
}

/** what the timeline cache keeps of an item: the skeleton, not the repost row (the row cache has it) */
function skeletonOnly(row: FeedItemRow): FeedItemRow {
  return { uri: row.uri, type: row.type, postUri: row.postUri, originatorDid: row.originatorDid, sortKey: row.sortKey }
}

/** keyset order: negative when `a` sorts before (is older than) `b` */
function compareKey(a: KeysetCursor, b: { sortKey: string; uri: string }): number {
  if (a.sortAt !== b.sortKey) return a.sortAt < b.sortKey ? -1 : 1
  if (a.uri !== b.uri) return a.uri < b.uri ? -1 : 1
  return 0
}

function newestFirst(a: FeedItemRow, b: FeedItemRow): number {
  if (a.sortKey !== b.sortKey) return a.sortKey < b.sortKey ? 1 : -1
  if (a.uri !== b.uri) return a.uri < b.uri ? 1 : -1
  return 0
}

/** Index of the first item strictly older than `cursor` in a newest-first list. */
function firstOlderThan(items: FeedItemRow[], cursor: KeysetCursor): number {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareKey(cursor, items[mid]!) > 0) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** shared rereads kept (accounts) before they are all dropped (they only save queries) */
const MAX_REREADS = 20_000
/** marks kept for builds in flight before they are all dropped (and those builds store nothing) */
const MAX_MARKS = 100_000
