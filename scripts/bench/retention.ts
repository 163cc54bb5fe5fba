// Retention benchmark (`npm run bench:retention`): what a prune costs, and how long any one of
// its statements holds rows (ingest waits at most that long on retention).
//
//   dataset   BENCH_SCALE × (500,000 posts, 30% of them replies to older posts; 1,000,000
//             likes; 100,000 reposts with their feed items; 200,000 notifications; 50,000
//             tombstones), spread evenly over 60 days, by 20,000 authors of whom 1,000 are
//             local users. Rebuilt with bulk SQL before every run (pruning is destructive).
//   measured  through Indexer-equivalent pruneOlderThan (src/ingest/prune.ts):
//               1. first run after enabling retention: cutoff now − 30 days (half the data)
//               2. the hourly run after it: cutoff one hour later (1/720 of what is left)
//               3. a run with nothing to prune (the fixed cost: walking every author)
//             rows removed per table, wall time, rows/s, and per-statement p50/p99/max.
//
// Env: BENCH_DATABASE_URL (default postgres://127.0.0.1:5432/appview_bench), BENCH_SCALE (1).
import { performance } from 'node:perf_hooks'
import { sql } from 'kysely'
import pino from 'pino'
import { Database } from '../../src/db/database.js'
import { pruneOlderThan, type PruneResult } from '../../src/ingest/prune.js'

const env = process.env
const DB_URL = env.BENCH_DATABASE_URL ?? 'postgres://127.0.0.1:5432/appview_bench'
const SCHEMA = 'bench_retention'
const SCALE = Number(env.BENCH_SCALE ?? 1)
const POSTS = Math.round(500_000 * SCALE)
const LIKES = Math.round(1_000_000 * SCALE)
const REPOSTS = Math.round(100_000 * SCALE)
const NOTIFICATIONS = Math.round(200_000 * SCALE)
const TOMBSTONES = Math.round(50_000 * SCALE)
const AUTHORS = 20_000
const LOCAL = 1_000
const SPAN_DAYS = 60
const DAY_MS = 86_400_000
const log = pino({ level: 'warn' })

const did = (i: string) => sql.raw(`'did:plc:r' || lpad((${i})::text, 23, '0')`)

async function seed(db: Database) {
  const k = db.db
  const t0 = performance.now()
  for (const table of ['post', '"like"', 'repost', 'feed_item', 'notification', 'tombstone', 'local_user']) {
    await sql.raw(`truncate ${table}`).execute(k)
  }
  const span = sql.raw(`interval '${SPAN_DAYS} days'`)
  // author of row i: i % AUTHORS; authors 0..LOCAL-1 are local users
  await sql`insert into local_user (did, added_by) select ${did('i')}, 'operator' from generate_series(0::bigint, ${LOCAL - 1}) i`.execute(k)
  // post i at now − span·i/N (older with i); 30% reply to an older post i + 1 + (i·7919 mod 5000)
  await sql`
    insert into post (uri, cid, author_did, created_at, sort_at, record, reply_parent_uri, reply_root_uri)
    select 'at://' || ${did(`i % ${AUTHORS}`)} || '/app.bsky.feed.post/p' || i, 'bafyreicid', ${did(`i % ${AUTHORS}`)},
      now() - ${span} * i / ${POSTS}, now() - ${span} * i / ${POSTS},
      jsonb_build_object('$type', 'app.bsky.feed.post', 'text', 'text ' || i),
      r.parent, r.parent
    from generate_series(0::bigint, ${POSTS - 1}) i,
      lateral (select case when i % 10 < 3 and i + 1 + (i * 7919) % 5000 < ${POSTS}
        then 'at://' || ${did(`(i + 1 + (i * 7919) % 5000) % ${AUTHORS}`)} || '/app.bsky.feed.post/p' || (i + 1 + (i * 7919) % 5000)
        end as parent) r`.execute(k)
  await sql`insert into feed_item (uri, type, post_uri, originator_did, sort_at)
    select uri, 'post', null, author_did, sort_at from post`.execute(k)
  await sql`
    insert into repost (uri, cid, author_did, subject_uri, subject_cid, created_at, sort_at)
    select 'at://' || ${did(`i % ${AUTHORS}`)} || '/app.bsky.feed.repost/r' || i, 'bafyreicid', ${did(`i % ${AUTHORS}`)},
      'at://' || ${did(`((i * 31) % ${POSTS}) % ${AUTHORS}`)} || '/app.bsky.feed.post/p' || ((i * 31) % ${POSTS}), 'bafyreicid',
      now() - ${span} * i / ${REPOSTS}, now() - ${span} * i / ${REPOSTS}
    from generate_series(0::bigint, ${REPOSTS - 1}) i`.execute(k)
  await sql`insert into feed_item (uri, type, post_uri, originator_did, sort_at)
    select uri, 'repost', subject_uri, author_did, sort_at from repost`.execute(k)
  await sql`
    insert into "like" (uri, author_did, subject_uri, subject_cid, created_at, sort_at, by_local)
    select 'at://' || ${did(`i % ${AUTHORS}`)} || '/app.bsky.feed.like/l' || i, ${did(`i % ${AUTHORS}`)},
      'at://' || ${did(`((i * 17) % ${POSTS}) % ${AUTHORS}`)} || '/app.bsky.feed.post/p' || ((i * 17) % ${POSTS}), 'bafyreicid',
      now() - ${span} * i / ${LIKES}, now() - ${span} * i / ${LIKES}, i % ${AUTHORS} < ${LOCAL}
    from generate_series(0::bigint, ${LIKES - 1}) i`.execute(k)
  await sql`
    insert into notification (recipient_did, author_did, reason, record_uri, record_cid, sort_at)
    select ${did(`i % ${LOCAL}`)}, ${did(`${LOCAL} + i % ${AUTHORS - LOCAL}`)}, 'like',
      'at://x/app.bsky.feed.like/n' || i, 'bafyreicid', now() - ${span} * i / ${NOTIFICATIONS}
    from generate_series(0::bigint, ${NOTIFICATIONS - 1}) i`.execute(k)
  await sql`
    insert into tombstone (uri, author_did, deleted_at)
    select 'at://' || ${did(`i % ${AUTHORS}`)} || '/app.bsky.feed.post/gone' || i, ${did(`i % ${AUTHORS}`)},
      now() - ${span} * i / ${TOMBSTONES}
    from generate_series(0::bigint, ${TOMBSTONES - 1}) i`.execute(k)
  await sql`vacuum analyze`.execute(k)
  console.log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!
}

async function measure(db: Database, label: string, cutoff: Date): Promise<PruneResult> {
  const statements: number[] = []
  const t0 = performance.now()
  const res = await pruneOlderThan(db.db, cutoff, {
    onChunk: (table, _rows, ms) => {
      if (table !== 'feed_item') statements.push(ms)
    },
  })
  const s = (performance.now() - t0) / 1000
  const total = Object.values(res.removed).reduce((a, b) => a + b, 0)
  console.log(
    `${label.padEnd(34)} ${s.toFixed(2).padStart(7)} s  ${String(total).padStart(8)} rows  ` +
      `${(total / s).toFixed(0).padStart(7)} rows/s  statements ${statements.length} ` +
      `p50 ${pct(statements, 0.5).toFixed(1)} ms p99 ${pct(statements, 0.99).toFixed(1)} ms max ${Math.max(0, ...statements).toFixed(1)} ms`,
  )
  console.log(`  removed ${JSON.stringify(res.removed)}`)
  return res
}

async function main() {
  const db = await Database.connect({ url: DB_URL, schema: SCHEMA, poolSize: 2 }, log)
  try {
    await seed(db)
    const now = Date.now()
    await measure(db, 'first run (30 of 60 days)', new Date(now - 30 * DAY_MS))
    await measure(db, 'hourly run (next hour)', new Date(now - 30 * DAY_MS + 3_600_000))
    await measure(db, 'run with nothing to prune', new Date(now - 30 * DAY_MS + 3_600_000))
    const left = await sql<{ t: string; n: string }>`
      select 'post' as t, count(*)::text as n from post union all select 'like', count(*)::text from "like"
      union all select 'repost', count(*)::text from repost union all select 'notification', count(*)::text from notification
      union all select 'tombstone', count(*)::text from tombstone`.execute(db.db)
    console.log(`left: ${left.rows.map((r) => `${r.t} ${r.n}`).join(', ')}`)
  } finally {
    await db.close()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
