// The 30-day storage model of the ingest benchmark (docs/BENCHMARKS.md, "Storage target").
//
// A benchmark run measures how much each table grew while it indexed N events. A 30-day
// deployment is not simply 30 days of that growth, because tables grow in different ways:
//   - history, pruned at the horizon (src/ingest/prune.ts): posts, feed items, reposts, likes,
//     notifications. Steady state = horizon × daily growth, plus what waits for a vacuum
//     before its space is reused (vacuumSlack: 2% with migrations/0075).
//   - tombstones: pruned at their own, shorter horizon (the replay window plus margin,
//     prune.ts tombstoneCutoff), so steady state = that many days of growth.
//   - state that is never pruned and grows with the stream: follows and blocks. Counted for
//     every day of the 30 (it keeps growing past them, slowly, bounded by the tracked graph).
//   - actors: a row per DID we have seen. New rows are counted for every day too (an upper
//     bound: the stream keeps naming DIDs already known, so the rate falls; the benchmark
//     reports the rate in each half of the run). The rest of the actor table's growth is
//     counter and repo-rev updates of rows that exist: dead row versions and index entries
//     that vacuum reclaims, so that part is bounded and counted once, not per day.
//   - everything else (tracked_did, local_user, cursors …) is sized by the population: once.
//   - GIN pending lists (full-text indexes): bounded by gin_pending_list_limit, their pages
//     reused once merged; the benchmark merges them after the stream and charges them once.
// Follows and blocks are charged what the run added to them. A new actor row is charged
// what an actor row cost before the stream (the seeded rows: inserted, never updated).

export interface TableSize {
  bytes: number
  rows: number
}

export type SizeMap = Map<string, TableSize>

export const HISTORY_TABLES = ['post', 'feed_item', 'repost', 'like', 'notification'] as const
export const STATE_TABLES = ['follow', 'block'] as const

export interface StorageModelInput {
  before: SizeMap
  after: SizeMap
  events: number
  eventsPerDay: number
  horizonDays: number
  tombstoneHorizonDays: number
  /**
   * Bytes per table that are free after the run but stay in the files: the pages of GIN
   * pending lists, merged into their index by gin_clean_pending_list once the stream is done
   * (what autovacuum does in a deployment; it is off on the benchmark machine). A pending
   * list is bounded (gin_pending_list_limit, 4 MB) and its pages are reused: charged once.
   */
  reusable?: Map<string, number>
  /**
   * Pruned space waits for a vacuum before it is reused: the pruned tables vacuum when this
   * share of their rows is dead (migrations/0075), so they hold up to that much more.
   */
  vacuumSlack: number
}

export interface StorageLine {
  table: string
  kind: 'history' | 'tombstone' | 'state' | 'actor' | 'bounded'
  rowsAdded: number
  beforeMB: number
  afterMB: number
  grownMB: number
  /** what the model charges per million events (history, tombstones, state, new actors) */
  perMillionMB: number
  /** days of that the 30-day steady state holds */
  days: number
  /** charged once, whatever the time (bounded tables, actor churn) */
  onceMB: number
  thirtyDaysGB: number
}

export function storageModel(m: StorageModelInput): { lines: StorageLine[]; perMillionMB: number; thirtyDaysGB: number } {
  const perMillion = (bytes: number) => bytes / (m.events / 1e6) / 1e6
  const millionsPerDay = m.eventsPerDay / 1e6
  const lines: StorageLine[] = []
  const names = new Set([...m.before.keys(), ...m.after.keys()])
  for (const table of names) {
    const b = m.before.get(table) ?? { bytes: 0, rows: 0 }
    const a = m.after.get(table) ?? { bytes: 0, rows: 0 }
    const grown = a.bytes - b.bytes
    const rowsAdded = a.rows - b.rows
    let kind: StorageLine['kind']
    let charged = 0 // bytes per run charged per day of the steady state
    let once = 0
    let days = 0
    const reusable = Math.min(Math.max(0, grown), m.reusable?.get(table) ?? 0)
    if ((HISTORY_TABLES as readonly string[]).includes(table)) {
      kind = 'history'
      charged = (grown - reusable) * (1 + m.vacuumSlack)
      once = reusable
      days = m.horizonDays
    } else if (table === 'tombstone') {
      kind = 'tombstone'
      charged = grown * (1 + m.vacuumSlack)
      days = m.tombstoneHorizonDays
    } else if ((STATE_TABLES as readonly string[]).includes(table)) {
      // What adding the stream's rows to the existing graph cost (rows, their index entries
      // and the page splits they caused).
      kind = 'state'
      charged = grown
      days = 30
    } else if (table === 'actor') {
      // New rows at the size per row of the rows that existed before the stream (inserted
      // once, never updated: a new row's cost); the remainder of the growth is updates of
      // existing rows (dead versions, index entries of non-HOT updates), which vacuum
      // reclaims: bounded, charged once.
      kind = 'actor'
      const perRow = b.rows > 0 ? b.bytes / b.rows : a.rows > 0 ? a.bytes / a.rows : 0
      charged = Math.min(grown, Math.max(0, rowsAdded) * perRow)
      once = Math.max(0, grown - charged)
      days = 30
    } else {
      kind = 'bounded'
      once = Math.max(0, grown)
    }
    const perM = perMillion(charged)
    const thirtyDaysGB = (perM * millionsPerDay * days + once / 1e6) / 1e3
    if (grown === 0 && rowsAdded === 0) continue
    lines.push({ table, kind, rowsAdded, beforeMB: b.bytes / 1e6, afterMB: a.bytes / 1e6, grownMB: grown / 1e6, perMillionMB: perM, days, onceMB: once / 1e6, thirtyDaysGB })
  }
  lines.sort((x, y) => y.thirtyDaysGB - x.thirtyDaysGB)
  const thirtyDaysGB = lines.reduce((s, l) => s + l.thirtyDaysGB, 0)
  // The per-million figure that, held for 30 days, gives the same total (comparable with the
  // "≤ 80 MB per million events" form of the target).
  const perMillionMB = (thirtyDaysGB * 1e3) / (millionsPerDay * 30)
  return { lines, perMillionMB, thirtyDaysGB }
}
