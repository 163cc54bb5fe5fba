// Retention: removing what has aged past the history horizon (BACKFILL_DAYS). Part of the
// indexer module (the one writer of record tables); Indexer.pruneOlderThan is the entry point
// and src/ingest/retention.ts runs it periodically.
//
// Pruning is not a delete. A pruned record did not stop existing in its author's repo, so:
//   - counters of the rows that remain (like/repost/reply/quote counts, posts_count) stay
//     as they are: they describe the network, not what we happen to keep;
//   - no tombstone is written (a record that comes back is welcome, it is simply old);
//   - no notification is created or withdrawn beyond the old ones removed by age.
//
// What goes, per table, when its time is older than the cutoff:
//   repost        not by a local user (with its feed item)
//   post          not by a local user, not the subject of a repost still in a feed, and not
//                 the parent, root or quoted post of a stored post (with its feed item).
//                 Reposts are pruned first, so a post reposted only long ago goes in the same
//                 run; an old thread goes leaf first, a level per run. Keeping what kept posts
//                 point at matters twice: the app drops a Following-feed reply whose parent is
//                 not a full postView (an orphan), and a pruned post fetched again for display
//                 would be counted again (its parent's reply_count, its author's posts_count)
//                 every time it came back. A reply that arrives after its parent was pruned
//                 shows #notFoundPost, or the on-demand fetch loads the parent again (once: the
//                 reply then keeps it).
//   like          not by a local user
//   notification  any (a local user's inbox keeps the same horizon)
//   tombstone     deleted_at older than tombstoneCutoff(): the replay window plus margin (see there)
// Local users' own posts, reposts and likes stay whatever their age: their history is theirs.
// Follows, blocks, profiles and actors are state, not history, and are never pruned.
//
// How: every pruned table has an index led by its author (or recipient) column with the time
// second. The distinct keys are walked in batches with a loose index scan (a recursive CTE
// that hops from key to key), and each batch is pruned with `key = any(batch) and time <
// cutoff` — an index range per key — in statements of at most `chunkSize` rows. Each
// statement is its own short transaction, and rows another transaction holds are skipped
// (`skip locked`, taken next run), so ingest never waits long on retention. This costs no
// extra index (storage is the constraint this exists for) and touches only the keys present.
import { performance } from 'node:perf_hooks'
import { sql, type RawBuilder } from 'kysely'
import type { Db } from '../db/database.js'

export const PRUNE_TABLES = ['repost', 'post', 'like', 'notification', 'tombstone'] as const
export type PruneTable = (typeof PRUNE_TABLES)[number]
/** Rows removed per table; `feed_item` counts the feed items that went with posts/reposts. */
export type PruneCounts = Record<PruneTable | 'feed_item', number>

export interface PruneOptions {
  /** Tombstones older than this go (default: the cutoff); see tombstoneCutoff(). */
  tombstonesBefore?: Date
  /** Stop between statements when aborted; what was pruned so far stays pruned. */
  signal?: AbortSignal
  /** Most rows one statement deletes. */
  chunkSize?: number
  /** Distinct authors (recipients) per batch. */
  keyBatch?: number
  /** Called after every statement that removed rows (metrics), with its duration. */
  onChunk?: (table: PruneTable | 'feed_item', rows: number, ms: number) => void
}

export interface PruneResult {
  removed: PruneCounts
  aborted: boolean
}

const DEFAULT_CHUNK = 5_000
const DEFAULT_KEY_BATCH = 500

/**
 * Extra time a tombstone outlives Jetstream's announced retention. A tombstone only has to
 * outlive anything that could bring its record back:
 *   - a stream replay or rewind replays at most the retention window (plan for 24 h; the v2
 *     RFD says 36 h and third parties report ~72 h, hence 48 h on top);
 *   - a backfill (and gap repair) lists the PDS's current records, so a deleted record comes
 *     back only from a page fetched before the delete and applied moments later — well
 *     inside that window;
 *   - an on-demand fetch asks the PDS, which no longer has the record.
 * Nothing else writes records. So a tombstone goes once it is older than the replay window +
 * margin, whatever the history horizon: kept for the horizon (30 days) it would hold ten
 * times as many rows and protect nothing more (docs/BENCHMARKS.md, "Storage target"). Past
 * that window a tombstone is only a memo that a post is gone (the hydrator then does not ask
 * the PDS for it; a repost of it gets no feed item): without it the post is asked for once
 * more, the PDS says it is gone, and that is indexed as a delete again (a new tombstone, and
 * the reposts' feed items go with it).
 */
export const TOMBSTONE_REPLAY_MARGIN_HOURS = 48

export function tombstoneCutoff(retentionHours: number, now: Date = new Date()): Date {
  return new Date(now.getTime() - (retentionHours + TOMBSTONE_REPLAY_MARGIN_HOURS) * 3_600_000)
}

interface Target {
  table: PruneTable
  key: 'author_did' | 'recipient_did'
  time: 'sort_at' | 'deleted_at'
  pk: 'uri' | 'id'
  /** Local users' own records stay. */
  keepLocal: boolean
  /** Further condition on `t` for a row to be prunable. */
  extra?: RawBuilder<unknown>
  /** Feed items share the record's uri and go with it. */
  feedItems: boolean
  /** Only rows matching this are walked and pruned (the predicate of the index walked). */
  keyFilter?: RawBuilder<unknown>
}

// Each an index lookup: repost_subject_sort_idx, post_reply_parent_idx, post_reply_root_idx,
// post_embed_record_sort_idx. A stored repost is a repost in feeds (its feed item is written
// and removed with it; only a repost of an already deleted post has none, and that post is
// not stored).
const notReferenced = sql`not exists (
    select 1 from repost r where r.subject_uri = t.uri
  ) and not exists (select 1 from post c where c.reply_parent_uri = t.uri)
  and not exists (select 1 from post c where c.reply_root_uri = t.uri)
  and not exists (select 1 from post c where c.embed_record_uri = t.uri)`

// In this order: reposts before posts (a post stays while a kept repost shows it).
const TARGETS: Target[] = [
  { table: 'repost', key: 'author_did', time: 'sort_at', pk: 'uri', keepLocal: true, feedItems: true },
  {
    table: 'post',
    key: 'author_did',
    time: 'sort_at',
    pk: 'uri',
    keepLocal: true,
    extra: notReferenced,
    feedItems: true,
  },
  // Local users' likes are flagged by_local and stay; the others have their own (author, time)
  // index (migrations/0070).
  {
    table: 'like',
    key: 'author_did',
    time: 'sort_at',
    pk: 'uri',
    keepLocal: true,
    feedItems: false,
    keyFilter: sql`not by_local`,
  },
  { table: 'notification', key: 'recipient_did', time: 'sort_at', pk: 'id', keepLocal: false, feedItems: false },
  { table: 'tombstone', key: 'author_did', time: 'deleted_at', pk: 'uri', keepLocal: false, feedItems: false },
]

export async function pruneOlderThan(db: Db, cutoff: Date, opts: PruneOptions = {}): Promise<PruneResult> {
  if (!(cutoff instanceof Date) || Number.isNaN(cutoff.getTime())) throw new Error('pruneOlderThan: invalid cutoff')
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK
  const keyBatch = opts.keyBatch ?? DEFAULT_KEY_BATCH
  const removed: PruneCounts = { repost: 0, post: 0, like: 0, notification: 0, tombstone: 0, feed_item: 0 }
  const aborted = () => opts.signal?.aborted === true
  for (const target of TARGETS) {
    const before = target.table === 'tombstone' ? (opts.tombstonesBefore ?? cutoff) : cutoff
    let after = ''
    for (;;) {
      if (aborted()) return { removed, aborted: true }
      const keys = await nextKeys(db, target, after, keyBatch)
      if (keys.length === 0) break
      after = keys[keys.length - 1]!
      for (;;) {
        if (aborted()) return { removed, aborted: true }
        const started = performance.now()
        const { rows, items } = await retryOnConflict(() => pruneChunk(db, target, keys, before, chunkSize))
        const ms = performance.now() - started
        removed[target.table] += rows
        removed.feed_item += items
        if (rows > 0) opts.onChunk?.(target.table, rows, ms)
        if (items > 0) opts.onChunk?.('feed_item', items, ms)
        if (rows < chunkSize) break
      }
    }
  }
  return { removed, aborted: false }
}

/** The next `n` distinct keys of the target's table after `after`, by a loose index scan. */
async function nextKeys(db: Db, target: Target, after: string, n: number): Promise<string[]> {
  const table = sql.table(target.table)
  const key = sql.ref(target.key)
  const filter = target.keyFilter ? sql`and ${target.keyFilter}` : sql``
  const { rows } = await sql<{ v: string }>`
    with recursive k(v) as (
      (select ${key} from ${table} where ${key} > ${after} ${filter} order by ${key} limit 1)
      union all
      select (select ${key} from ${table} where ${key} > k.v ${filter} order by ${key} limit 1) from k where k.v is not null
    )
    select v from k where v is not null limit ${n}
  `.execute(db)
  return rows.map((r) => r.v)
}

async function pruneChunk(
  db: Db,
  target: Target,
  keys: string[],
  before: Date,
  chunkSize: number,
): Promise<{ rows: number; items: number }> {
  const table = sql.table(target.table)
  const key = sql.ref(`t.${target.key}`)
  const time = sql.ref(`t.${target.time}`)
  const pk = sql.ref(target.pk)
  const keepLocal = target.keepLocal
    ? sql`and not exists (select 1 from local_user lu where lu.did = ${key})`
    : sql``
  const extra = target.extra ? sql`and ${target.extra}` : sql``
  const filter = target.keyFilter ? sql`and ${target.keyFilter}` : sql``
  const items = target.feedItems
    ? sql`, items as (delete from feed_item where uri in (select uri from del) returning 1)`
    : sql``
  const itemCount = target.feedItems ? sql`(select count(*) from items)::int` : sql`0`
  const { rows } = await sql<{ rows: number; items: number }>`
    with victims as (
      select t.${pk} as pk from ${table} t
      where ${key} = any(${keys}::text[]) and ${time} < ${before}
        ${filter} ${keepLocal} ${extra}
      limit ${chunkSize}
      for update of t skip locked
    ), del as (
      delete from ${table} where ${pk} in (select pk from victims) returning ${pk}
    )${items}
    select (select count(*) from del)::int as rows, ${itemCount} as items
  `.execute(db)
  return rows[0]!
}

/** A deadlock with a concurrent batch aborts our statement: it is simply run again. */
async function retryOnConflict<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      const code = (err as { code?: unknown })?.code
      if ((code !== '40P01' && code !== '40001') || attempt >= 5) throw err
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 80))
    }
  }
}
