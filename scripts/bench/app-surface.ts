// App-surface benchmark (`npm run bench:app-surface`): the read queries behind the
// notifications screen (and its 30 s unread-badge poll) and search, at a size well past one
// community's, each next to its floor.
//
//   dataset   100,000 actors (handles, display names), 300,000 posts of 8-20 words drawn
//             from a 5,000-word vocabulary (Zipf-ish: a few very common words, a long tail)
//             plus one rare word in 30 posts; one local user with 50,000 notifications from
//             5,000 accounts (all six reasons, with their like/repost/follow records), who
//             mutes 100 of them, blocks 50, is blocked by 20, muted 20 threads and follows 300.
//             Loaded once with bulk SQL into its own schema, reused by later runs.
//   measured  the dataplane functions the handlers call (src/dataplane/notifications.ts,
//             search.ts), sequentially, median and p95 of BENCH_RUNS runs after a warm-up:
//               - listNotifications first page (limit 50) and a page 10,000 deep
//               - getUnreadCount with everything unread (50,000) and with 1 day unread
//               - searchPostsV2 recent/top for a common word, a rare word, two words
//               - searchActorsTypeahead (prefix, followed first)
//   floor     the same page/count without the mute/block/thread/preference filters
//             (notifications), and a bare tsquery count (search).
//
// Env: BENCH_DATABASE_URL (default postgres://127.0.0.1:5432/appview_bench), BENCH_RUNS (50),
// BENCH_REBUILD=1 (regenerate the dataset).
import { performance } from 'node:perf_hooks'
import { sql } from 'kysely'
import pino from 'pino'
import { Database } from '../../src/db/database.js'
import { countUnread, listNotificationRows, encodeNotificationCursor } from '../../src/dataplane/notifications.js'
import { searchActorDids, searchPostUris } from '../../src/dataplane/search.js'

const env = process.env
const DB_URL = env.BENCH_DATABASE_URL ?? 'postgres://127.0.0.1:5432/appview_bench'
const SCHEMA = 'bench_app_surface'
const RUNS = Number(env.BENCH_RUNS ?? 50)
const ME = 'did:plc:benchlocaluser0000000000'
const log = pino({ level: 'warn' })

async function seed(db: Database) {
  const k = db.db
  const have = await sql<{ n: string }>`select count(*)::text as n from actor`.execute(k)
  if (Number(have.rows[0]!.n) > 0 && env.BENCH_REBUILD !== '1') return false
  console.log('building dataset (once) …')
  const t0 = performance.now()
  for (const table of ['actor', 'post', '"like"', 'repost', 'follow', 'block', 'notification', 'mute_actor', 'mute_thread', 'local_user']) {
    await sql.raw(`truncate ${table}`).execute(k)
  }
  await sql`insert into local_user (did, added_by) values (${ME}, 'operator')`.execute(k)
  // actors: user<i>.bsky.social, display name "<Word> <Word>"
  await sql`
    insert into actor (did, handle, display_name, followers_count)
    select 'did:plc:a' || lpad(i::text, 23, '0'), 'user' || i || '.bsky.social',
      initcap(md5(i::text)::text) || ' ' || initcap(substr(md5((i * 7)::text), 1, 6)), (i * 7919) % 5000
    from generate_series(1, 100000) i`.execute(k)
  // vocabulary: w1..w5000; word rank drawn as floor(5000 ^ random()) (heavy head)
  await sql`
    insert into post (uri, cid, author_did, created_at, sort_at, record, like_count, repost_count)
    select 'at://did:plc:a' || lpad((1 + i % 100000)::text, 23, '0') || '/app.bsky.feed.post/p' || i,
      'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
      'did:plc:a' || lpad((1 + i % 100000)::text, 23, '0'),
      now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval,
      jsonb_build_object('$type', 'app.bsky.feed.post', 'text', t.text, 'createdAt', now()),
      i % 50, i % 7
    from generate_series(1, 300000) i
    cross join lateral (
      select string_agg('w' || floor(power(5000, random()))::int, ' ') ||
        case when i % 10000 = 0 then ' quokka' else '' end as text
      from generate_series(1, 8 + (i % 13)) w where i > 0
    ) t`.execute(k)
  // notifications for ME: 50,000 from 5,000 authors, the six reasons
  await sql`
    insert into notification (recipient_did, author_did, reason, reason_subject, record_uri, record_cid, sort_at, indexed_at)
    select ${ME}, 'did:plc:a' || lpad((1 + i % 5000)::text, 23, '0'),
      (array['like','repost','follow','reply','quote','mention'])[1 + i % 6],
      case when i % 6 in (0, 1, 3, 4) then 'at://' || ${ME} || '/app.bsky.feed.post/mine' || (i % 500) end,
      'at://did:plc:a' || lpad((1 + i % 5000)::text, 23, '0') || '/' ||
        (array['app.bsky.feed.like','app.bsky.feed.repost','app.bsky.graph.follow','app.bsky.feed.post','app.bsky.feed.post','app.bsky.feed.post'])[1 + i % 6]
        || '/n' || i,
      'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
      now() - (i * 30 || ' seconds')::interval, now() - (i * 30 || ' seconds')::interval
    from generate_series(1, 50000) i`.execute(k)
  await sql`
    insert into mute_actor (muter_did, subject_did, created_at)
    select ${ME}, 'did:plc:a' || lpad((i * 37)::text, 23, '0'), now() from generate_series(1, 100) i`.execute(k)
  await sql`
    insert into block (uri, cid, author_did, subject_did, created_at, sort_at)
    select 'at://' || ${ME} || '/app.bsky.graph.block/b' || i, 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
      ${ME}, 'did:plc:a' || lpad((i * 41)::text, 23, '0'), now(), now() from generate_series(1, 50) i`.execute(k)
  await sql`
    insert into block (uri, cid, author_did, subject_did, created_at, sort_at)
    select 'at://did:plc:a' || lpad((i * 43)::text, 23, '0') || '/app.bsky.graph.block/x', 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
      'did:plc:a' || lpad((i * 43)::text, 23, '0'), ${ME}, now(), now() from generate_series(1, 20) i`.execute(k)
  await sql`
    insert into mute_thread (muter_did, root_uri, created_at)
    select ${ME}, 'at://' || ${ME} || '/app.bsky.feed.post/mine' || i, now() from generate_series(1, 20) i`.execute(k)
  await sql`
    insert into follow (uri, cid, author_did, subject_did, created_at, sort_at)
    select 'at://' || ${ME} || '/app.bsky.graph.follow/f' || i, 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
      ${ME}, 'did:plc:a' || lpad((i * 331)::text, 23, '0'), now(), now() from generate_series(1, 300) i`.execute(k)
  await sql`analyze`.execute(k)
  console.log(`dataset built in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  return true
}

async function measure(name: string, fn: () => Promise<unknown>): Promise<{ name: string; median: number; p95: number }> {
  for (let i = 0; i < 3; i++) await fn()
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now()
    await fn()
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  const r = { name, median: times[Math.floor(times.length / 2)]!, p95: times[Math.floor(times.length * 0.95)]! }
  console.log(`${name.padEnd(58)} median ${r.median.toFixed(2).padStart(8)} ms   p95 ${r.p95.toFixed(2).padStart(8)} ms`)
  return r
}

async function main() {
  const db = await Database.connect({ url: DB_URL, schema: SCHEMA, poolSize: 4 }, log)
  try {
    await seed(db)
    const k = db.db
    const filter = { perReason: {} }
    const deepRows = await listNotificationRows(k, ME, 10_000, undefined, filter)
    const deepCursor = encodeNotificationCursor(deepRows[deepRows.length - 2]!)
    const dayAgo = new Date(Date.now() - 24 * 3600 * 1000)

    console.log(`\nnotifications (1 user, 50,000 notifications; ${RUNS} runs each)`)
    const page = await measure('listNotifications page 1 (limit 50, all filters)', () => listNotificationRows(k, ME, 50, undefined, filter))
    const pageFloor = await measure('  floor: same page, no filters', () =>
      sql`select id, sort_at from notification where recipient_did = ${ME} order by sort_at desc, id desc limit 51`.execute(k),
    )
    await measure('listNotifications 10,000 deep (cursor)', () => listNotificationRows(k, ME, 50, deepCursor, filter))
    await measure('listNotifications reasons=[like] + include:follows for replies', () =>
      listNotificationRows(k, ME, 50, undefined, { reasons: ['like'], perReason: { reply: 'follows' } }),
    )
    const all = await measure('getUnreadCount, never seen (counts all 50,000)', () => countUnread(k, ME, undefined, filter))
    const allFloor = await measure('  floor: count(*) without filters', () =>
      sql`select count(*) from notification where recipient_did = ${ME}`.execute(k),
    )
    await measure('getUnreadCount, last day unread (~2,900)', () => countUnread(k, ME, dayAgo, filter))

    console.log(`\nsearch (300,000 posts, 100,000 actors; ${RUNS} runs each)`)
    for (const [label, query] of [
      ['common word', 'w2'],
      ['rare word (30 hits)', 'quokka'],
      ['two mid words', 'w40 w41'],
    ] as const) {
      await measure(`searchPostsV2 recent, ${label}`, () => searchPostUris(k, { query, sort: 'recent' }, 25))
      await measure(`searchPostsV2 top, ${label}`, () => searchPostUris(k, { query, sort: 'top' }, 25))
      await measure(`  floor: count of tsquery matches, ${label}`, () =>
        sql`select count(*) from post where to_tsvector('simple', record->>'text') @@ websearch_to_tsquery('simple', ${query})`.execute(k),
      )
    }
    await measure('searchActorsTypeahead "user12" (viewer follows 300)', () => searchActorDids(k, 'user12', ME, 8, 0))
    await measure('searchActors display-name prefix "a" (offset 0)', () => searchActorDids(k, 'a', ME, 25, 0))
    console.log(
      `\nratios: notifications page ${(page.median / pageFloor.median).toFixed(1)}× floor, ` +
        `unread count ${(all.median / allFloor.median).toFixed(1)}× floor`,
    )
  } finally {
    await db.close()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
