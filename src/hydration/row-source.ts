// Where the hydrator gets post, repost and actor rows: straight from Postgres, or through the
// row cache (row-cache.ts) that the read API runs. Same rows either way; the cached source
// only skips the queries for rows it holds, so a request still makes a fixed number of
// queries (at most one per kind), never one per item.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Config } from '../config.js'
import type { Db } from '../db/database.js'
import { type ActorRow, getActors } from '../dataplane/actors.js'
import { getFollowsOf, getNewestItemTimes, type TimelineSources } from '../dataplane/feeds.js'
import { getPostsWithReferences, getReposts, type PostRow, type RepostRow } from '../dataplane/posts.js'
import type { ViewerStateRow } from '../dataplane/viewer.js'
import type { Logger } from '../logger.js'
import { RowCache } from './row-cache.js'
import { RowChangeListener, type ChangeSubscriber } from './row-change-listener.js'
import { TimelineCache } from './timeline-cache.js'

export interface RowSource {
  /** Posts and what a feed shows with them (getPostsWithReferences' three levels). */
  postsWithReferences(db: Db, uris: string[]): Promise<PostRow[]>
  reposts(db: Db, uris: string[]): Promise<RepostRow[]>
  actors(db: Db, dids: string[]): Promise<ActorRow[]>
  /** The timeline's sources, when held in memory (else the skeleton reads them in its query). */
  timeline?: TimelineSources
  /**
   * The viewer-state query's rows (getViewerStateRows) for these accounts and posts, from the
   * answers held for the viewer where there are any; `load` queries the rest.
   */
  viewerStateRows?(
    viewer: string,
    dids: string[],
    uris: string[],
    load: (dids: string[], uris: string[]) => Promise<ViewerStateRow[]>,
  ): Promise<ViewerStateRow[]>
}

export const directRows: RowSource = {
  postsWithReferences: getPostsWithReferences,
  reposts: getReposts,
  actors: getActors,
}

export interface CachedRowsOptions {
  dbCfg: Config['db']
  log: Logger
  /** rows kept per table; 0 = no caching */
  maxEntries: number
}

export class CachedRows implements RowSource {
  readonly posts: RowCache<PostRow>
  readonly repostRows: RowCache<RepostRow>
  readonly actorRows: RowCache<ActorRow>
  /** viewer → whom they follow (subject → the newest follow record's uri) */
  readonly followsBy: RowCache<Map<string, string>>
  /** account → an upper bound of its newest feed item's sort_at (ms), null = none */
  readonly newestItem: RowCache<number | null>
  /** viewers' newest timeline items (the skeleton of their first pages) */
  readonly timelines: TimelineCache
  /**
   * viewer → the viewer-state rows of each account and post already asked about (an empty
   * list: asked, nothing there), dropped whole on a 'v' announcement for the viewer
   */
  readonly viewerStates: RowCache<Map<string, ViewerStateRow[]>>
  readonly listener: RowChangeListener
  readonly timeline: TimelineSources

  constructor(opts: CachedRowsOptions) {
    this.posts = new RowCache('posts', opts.maxEntries)
    this.repostRows = new RowCache('reposts', opts.maxEntries)
    this.actorRows = new RowCache('actors', opts.maxEntries)
    // a follow set is a few hundred entries: keep fewer of them
    this.followsBy = new RowCache('follows', Math.max(1, Math.ceil(opts.maxEntries / 20)))
    this.newestItem = new RowCache('newest_items', opts.maxEntries)
    // a held timeline is up to a few hundred items: one per 50 rows of the other caches
    this.timelines = new TimelineCache({ maxViewers: Math.ceil(opts.maxEntries / 50) })
    // up to MAX_VIEWER_STATE_KEYS answers per viewer, for at least as many viewers as held
    // timelines: the row cache's two generations keep between half and all of its size, so
    // twice that many
    this.viewerStates = new RowCache('viewer_states', Math.ceil(opts.maxEntries / 25))
    const timelines = this.timelines
    // the held timelines hear two kinds of announcement: feed items ('l') and follows ('f')
    const timelineSubscriber = (invalidate: (keys: string[]) => void): ChangeSubscriber => ({
      invalidate,
      clear: () => timelines.clear(),
      setLive: (live) => timelines.setLive(live),
      get size() {
        return timelines.size
      },
    })
    const feedItemsOf = timelineSubscriber((keys) => timelines.accountsChanged(keys))
    const followsOf = timelineSubscriber((keys) => timelines.followsChanged(keys))
    this.listener = new RowChangeListener({
      dbCfg: opts.dbCfg,
      log: opts.log,
      caches: {
        p: [this.posts],
        r: [this.repostRows],
        a: [this.actorRows],
        f: [this.followsBy, followsOf],
        l: [this.newestItem, feedItemsOf],
        v: [this.viewerStates],
      } as Record<string, ChangeSubscriber[]>,
    })
    this.timeline = {
      follows: (db, viewer) => this.follows(db, viewer),
      newest: (db, dids) => this.newest(db, dids),
      pages: this.timelines,
    }
  }

  /** Whom `viewer` follows: subject DID → uri of the newest follow record. */
  async follows(db: Db, viewer: string): Promise<Map<string, string>> {
    const token = this.followsBy.token()
    const cached = this.followsBy.get(viewer)
    if (cached) return cached
    const map = await getFollowsOf(db, viewer)
    this.followsBy.set(viewer, map, token)
    return map
  }

  /** Per account, an upper bound of its newest feed item's sort_at (ms since epoch), or null. */
  async newest(db: Db, dids: string[]): Promise<Map<string, number | null>> {
    const token = this.newestItem.token()
    const out = new Map<string, number | null>()
    const missing: string[] = []
    for (const did of dids) {
      const v = this.newestItem.get(did)
      if (v === undefined) missing.push(did)
      else out.set(did, v)
    }
    if (missing.length > 0) {
      for (const [did, v] of await getNewestItemTimes(db, missing)) {
        out.set(did, v)
        this.newestItem.set(did, v, token)
      }
    }
    return out
  }

  async viewerStateRows(
    viewer: string,
    dids: string[],
    uris: string[],
    load: (dids: string[], uris: string[]) => Promise<ViewerStateRow[]>,
  ): Promise<ViewerStateRow[]> {
    const token = this.viewerStates.token()
    const held = this.viewerStates.get(viewer)
    const out: ViewerStateRow[] = []
    const missingDids: string[] = []
    const missingUris: string[] = []
    for (const [keys, missing] of [
      [dids, missingDids],
      [uris, missingUris],
    ] as const) {
      for (const key of keys) {
        const rows = held?.get(key)
        if (rows) out.push(...rows)
        else missing.push(key)
      }
    }
    if (missingDids.length === 0 && missingUris.length === 0) return out
    const fresh = await load(missingDids, missingUris)
    out.push(...fresh)
    const answers = new Map<string, ViewerStateRow[]>()
    for (const key of [...missingDids, ...missingUris]) answers.set(key, [])
    for (const row of fresh) answers.get(row.key)?.push(row)
    // Added to the held map in place when it is still held (set() below refuses a map whose
    // viewer was announced since the token; a dropped map is no longer reachable anyway).
    const map = held && held.size + answers.size <= MAX_VIEWER_STATE_KEYS ? held : new Map<string, ViewerStateRow[]>()
    for (const [key, rows] of answers) map.set(key, rows)
    this.viewerStates.set(viewer, map, token)
    return out
  }

  start(): Promise<void> {
    return this.listener.start()
  }

  destroy(): Promise<void> {
    return this.listener.destroy()
  }

  /**
   * Walks the reference tree through the cache (posts; their reply parents, roots and quoted
   * posts; quotes of those, two levels down) and loads whatever it lacks in one query, which
   * expands the same three levels below each missing post.
   */
  async postsWithReferences(db: Db, uris: string[]): Promise<PostRow[]> {
    const token = this.posts.token()
    const found = new Map<string, PostRow>()
    const missing = new Set<string>()
    let level: Array<string | null> = uris
    for (let depth = 0; depth < 4 && level.length > 0; depth++) {
      const next: Array<string | null> = []
      for (const uri of level) {
        if (!uri || found.has(uri) || missing.has(uri)) continue
        const row = this.posts.get(uri)
        if (!row) {
          missing.add(uri)
          continue
        }
        found.set(uri, row)
        if (depth === 0) next.push(row.reply_parent_uri, row.reply_root_uri)
        if (depth < 3) next.push(row.embed_record_uri)
      }
      level = next
    }
    if (missing.size > 0) {
      for (const row of await getPostsWithReferences(db, [...missing])) {
        if (!found.has(row.uri)) found.set(row.uri, row)
        this.posts.set(row.uri, row, token)
      }
    }
    return [...found.values()]
  }

  reposts(db: Db, uris: string[]): Promise<RepostRow[]> {
    return cachedByKey(this.repostRows, uris, (keys) => getReposts(db, keys), (r) => r.uri)
  }

  actors(db: Db, dids: string[]): Promise<ActorRow[]> {
    return cachedByKey(this.actorRows, dids, (keys) => getActors(db, keys), (r) => r.did)
  }
}

/** answers held per viewer before their map starts afresh (a few pages of accounts and posts) */
const MAX_VIEWER_STATE_KEYS = 2_000

async function cachedByKey<V>(
  cache: RowCache<V>,
  keys: string[],
  load: (keys: string[]) => Promise<V[]>,
  keyOf: (row: V) => string,
): Promise<V[]> {
  const token = cache.token()
  const out: V[] = []
  const missing: string[] = []
  for (const key of keys) {
    const row = cache.get(key)
    if (row) out.push(row)
    else missing.push(key)
  }
  if (missing.length > 0) {
    for (const row of await load(missing)) {
      out.push(row)
      cache.set(keyOf(row), row, token)
    }
  }
  return out
}

/** Hit/miss counters and sizes on /metrics, sampled on scrape. */
export function registerRowCacheMetrics(rows: CachedRows, registry: Registry): void {
  const caches = [rows.posts, rows.repostRows, rows.actorRows, rows.followsBy, rows.newestItem, rows.timelines, rows.viewerStates] as Array<{
    name: string
    hits: number
    misses: number
    size: number
  }>
  new Counter({
    name: 'appview_row_cache_lookups_total',
    help: 'Read-path row cache lookups by table and result (hit, miss)',
    labelNames: ['table', 'result'],
    registers: [registry],
    collect() {
      this.reset()
      for (const c of caches) {
        this.inc({ table: c.name, result: 'hit' }, c.hits)
        this.inc({ table: c.name, result: 'miss' }, c.misses)
      }
    },
  })
  new Counter({
    name: 'appview_timeline_cache_rereads_total',
    help: 'Held timelines brought up to date by rereading the accounts whose feed items changed',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(rows.timelines.rereads)
    },
  })
  new Gauge({
    name: 'appview_row_cache_rows',
    help: 'Rows held by the read-path row cache, by table',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      for (const c of caches) this.set({ table: c.name }, c.size)
    },
  })
  new Gauge({
    name: 'appview_row_cache_live',
    help: '1 while the row cache is on (its invalidation listener is connected), else 0',
    registers: [registry],
    collect() {
      this.set(rows.posts.enabled ? 1 : 0)
    },
  })
}
