// An in-memory cache (least recently used dropped first) of table rows (posts, reposts, actors) for the read path, kept honest by
// invalidation: every change to a cached table is announced by a trigger (migrations/
// 0090_row_change_notify.sql) and the listener (row-change-listener.ts) drops the keys.
//
// The race that matters: a fetch reads a row, a writer commits a change to it, and the fetch
// result arrives after the invalidation — storing it would keep the old row forever. So a
// fetch takes a token (the invalidation epoch) before it queries, and a row is stored only if
// its key was not invalidated since: a change committed after the fetch's snapshot is always
// announced after the token was taken. While the listener is down the cache is off (no reads,
// no writes) because invalidations could be missed; it is emptied before it goes on again.
export class RowCache<V> {
  /**
   * Two generations instead of a strict LRU (a Map delete + set on every hit cost ~9% of the
   * api's CPU on the timeline benchmark): hits in `young` are a plain lookup; a hit in `old`
   * moves the row to `young`; when `young` is full, `old` is dropped and `young` becomes it. So
   * at most maxEntries rows are held, and a row used since the last turnover survives it.
   */
  private young = new Map<string, V>()
  private old = new Map<string, V>()
  /** key → epoch of its latest invalidation (bounded: see invalidate) */
  private readonly invalidatedAt = new Map<string, number>()
  private epoch = 0
  /** fetches whose token is older than this store nothing (after clear or a trim) */
  private floor = 0
  private live = false
  hits = 0
  misses = 0

  constructor(
    readonly name: string,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.young.size + this.old.size
  }

  get enabled(): boolean {
    return this.live && this.maxEntries > 0
  }

  /** The cached row, or undefined (also when the cache is off). Counts as a use (LRU). */
  get(key: string): V | undefined {
    if (!this.enabled) return undefined
    let v = this.young.get(key)
    if (v === undefined) {
      v = this.old.get(key)
      if (v === undefined) {
        this.misses++
        return undefined
      }
      this.old.delete(key)
      this.put(key, v)
    }
    this.hits++
    return v
  }

  /** Take before querying; pass to `set` with the rows the query returned. */
  token(): number {
    return this.epoch
  }

  set(key: string, value: V, token: number): void {
    if (!this.enabled || token < this.floor) return
    const inv = this.invalidatedAt.get(key)
    if (inv !== undefined && inv > token) return
    this.old.delete(key)
    this.put(key, value)
  }

  private put(key: string, value: V): void {
    if (!this.young.has(key) && this.young.size >= Math.ceil(this.maxEntries / 2)) {
      this.old = this.young
      this.young = new Map()
    }
    this.young.set(key, value)
  }

  invalidate(keys: Iterable<string>): void {
    this.epoch++
    for (const key of keys) {
      this.young.delete(key)
      this.old.delete(key)
      this.invalidatedAt.set(key, this.epoch)
    }
    // Only fetches in flight need the marks; when there are many, forget them all and refuse
    // every fetch that started before now instead.
    if (this.invalidatedAt.size > INVALIDATION_MARKS) {
      this.invalidatedAt.clear()
      this.floor = this.epoch + 1
      this.epoch++
    }
  }

  /** Forget everything, including what fetches in flight would store. */
  clear(): void {
    this.young.clear()
    this.old.clear()
    this.invalidatedAt.clear()
    this.epoch++
    this.floor = this.epoch
  }

  /** The listener is up (true: emptied and on) or down (false: off until it is back). */
  setLive(live: boolean): void {
    this.clear()
    this.live = live
  }
}

const INVALIDATION_MARKS = 50_000
