// Indexer benchmark (`npm run bench:indexer`): how many already-filtered ops per second the
// one indexer commits, in batches with the cursor, against real Postgres. The ingest target
// (≥ 20,000 events/s end to end with ~15% kept) needs ≥ 3,000 written ops/s from here.
//
// Population: 50,000 tracked DIDs, the first 1,000 of them local users (tracked_did and
// local_user seeded with SQL, then a fresh App loads them into its live filter). The op
// stream is what the live filter keeps: tracked authors with Zipf activity in the network's
// mix (≈69% likes, 12% posts, 10% reposts, 6% follows, 3% deletes/profiles/blocks), likes and
// reposts hitting posts stored earlier in the run (counters move) or elsewhere, replies and
// likes touching local users (notifications). Then the same stream again: a full replay,
// which must change nothing (exactly-once), measured as its own rate.
//
//   BENCH_OPS=200000 BENCH_BATCH=1000 npm run bench:indexer
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { App } from '../../src/app.js'
import { envToConfig } from '../../src/config.js'
import type { IndexItem } from '../../src/ingest/indexer.js'
import type { IndexOp, RecordWriteOp } from '../../src/ingest/ops.js'
import { didForRank, rng, tidFor, zipf } from './ingest-events.js'

const OPS = Number(process.env.BENCH_OPS ?? 200_000)
const BATCH = Number(process.env.BENCH_BATCH ?? 1000)
const TRACKED = 50_000
const LOCAL = 1_000
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://127.0.0.1:5432/appview_bench'
const CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'

function config(schema: string) {
  return envToConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ROLES: 'ingest',
    DATABASE_URL,
    DATABASE_SCHEMA: schema,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  })
}

/** The filtered op stream, deterministic for a seed. */
function generate(count: number, startUs: number): IndexItem[] {
  const rand = rng(7)
  const author = zipf(TRACKED, 1.0, rand)
  const posts: string[] = []
  const likes: string[] = []
  const follows: string[] = []
  const out: IndexItem[] = []
  const pickPost = () =>
    posts.length > 0 && rand() < 0.6
      ? posts[Math.floor(Math.pow(rand(), 2) * posts.length)]!
      : `at://${didForRank(100_000 + Math.floor(rand() * 2_000_000))}/app.bsky.feed.post/${tidFor(startUs - 1e9)}`
  for (let i = 0; i < count; i++) {
    const timeUs = startUs + i * 50
    const did = didForRank(author())
    const rkey = tidFor(timeUs, i)
    const createdAt = new Date(timeUs / 1000).toISOString()
    const write = (collection: string, record: object): RecordWriteOp => ({
      kind: 'create',
      uri: `at://${did}/${collection}/${rkey}`,
      did,
      collection,
      rkey,
      cid: CID,
      rev: rkey,
      record: { $type: collection, ...record },
    })
    const del = (uri: string): IndexOp => {
      const [d, collection, k] = uri.slice(5).split('/') as [string, string, string]
      return { kind: 'delete', uri, did: d, collection, rkey: k, rev: tidFor(timeUs, i) }
    }
    const x = rand()
    let op: IndexOp
    if (x < 0.69) {
      op = write('app.bsky.feed.like', { createdAt, subject: { uri: pickPost(), cid: CID } })
      likes.push(op.uri)
    } else if (x < 0.81) {
      const parent = rand() < 0.3 ? pickPost() : undefined
      op = write('app.bsky.feed.post', {
        text: `post ${i} with some words in it, like the network's posts`,
        langs: ['en'],
        createdAt,
        ...(parent ? { reply: { root: { uri: parent, cid: CID }, parent: { uri: parent, cid: CID } } } : {}),
      })
      posts.push(op.uri)
    } else if (x < 0.91) {
      op = write('app.bsky.feed.repost', { createdAt, subject: { uri: pickPost(), cid: CID } })
    } else if (x < 0.97) {
      if (follows.length > 0 && rand() < 0.15) op = del(follows.splice(Math.floor(rand() * follows.length), 1)[0]!)
      else {
        // Subjects are tracked already: the bench must not enqueue backfills into the shared queue.
        op = write('app.bsky.graph.follow', { createdAt, subject: didForRank(Math.floor(rand() * TRACKED)) })
        follows.push(op.uri)
      }
    } else {
      const y = rand()
      if (y < 0.5 && likes.length > 0) op = del(likes.splice(Math.floor(rand() * likes.length), 1)[0]!)
      else if (y < 0.8) {
        const profile = 'app.bsky.actor.profile'
        const record = { $type: profile, displayName: `n${i}` }
        op = { kind: 'update', uri: `at://${did}/${profile}/self`, did, collection: profile, rkey: 'self', cid: CID, rev: rkey, record }
      } else op = write('app.bsky.graph.block', { createdAt, subject: didForRank(TRACKED + Math.floor(rand() * 1e6)) })
    }
    out.push({ op, ctx: { source: 'jetstream', timeUs } })
  }
  return out
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function run(app: App, stream: IndexItem[]) {
  const latencies: number[] = []
  const totals = { indexed: 0, unchanged: 0, skipped: 0, notifications: 0 }
  let peakRss = process.memoryUsage().rss
  const started = performance.now()
  for (let i = 0; i < stream.length; i += BATCH) {
    const batch = stream.slice(i, i + BATCH)
    const t0 = performance.now()
    const res = await app.ctx!.indexer.applyBatch(batch, {
      cursor: { id: 'bench', timeUs: (batch.at(-1)!.ctx.timeUs ?? 0) },
    })
    latencies.push(performance.now() - t0)
    totals.indexed += res.indexed
    totals.unchanged += res.unchanged
    totals.skipped += res.skipped
    totals.notifications += res.notifications
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
  }
  const seconds = (performance.now() - started) / 1000
  const sorted = [...latencies].sort((a, b) => a - b)
  const perBatchRates = latencies.map((ms, i) => Math.min(BATCH, stream.length - i * BATCH) / (ms / 1000)).sort((a, b) => a - b)
  return {
    ops: stream.length,
    seconds: Number(seconds.toFixed(1)),
    opsPerSecond: Math.round(stream.length / seconds),
    medianBatchOpsPerSecond: Math.round(percentile(perBatchRates, 50)),
    batchMs: { p50: Math.round(percentile(sorted, 50)), p99: Math.round(percentile(sorted, 99)), max: Math.round(sorted.at(-1)!) },
    peakRssMb: Math.round(peakRss / 1e6),
    ...totals,
  }
}

async function main() {
  const schema = `bench_${randomBytes(4).toString('hex')}`
  const seedApp = new App(config(schema))
  await seedApp.start()
  const db = seedApp.ctx!.db.db
  await sql`
    insert into tracked_did (did, backfill_state)
    select d, 'complete' from unnest(${Array.from({ length: TRACKED }, (_, r) => didForRank(r))}::text[]) d
  `.execute(db)
  await sql`
    insert into local_user (did, added_by)
    select d, 'operator' from unnest(${Array.from({ length: LOCAL }, (_, r) => didForRank(r))}::text[]) d
  `.execute(db)
  await seedApp.destroy()

  const app = new App(config(schema))
  await app.start()
  try {
    const stream = generate(OPS, Date.now() * 1000 - OPS * 50)
    const first = await run(app, stream)
    const replay = await run(app, stream)
    const size = await sql<{ bytes: string }>`
      select sum(pg_total_relation_size(format('%I.%I', schemaname, tablename)))::text as bytes
      from pg_tables where schemaname = ${schema}
    `.execute(app.ctx!.db.db)
    const bytes = Number(size.rows[0]!.bytes)
    console.log(
      JSON.stringify(
        {
          machine: `${(await import('node:os')).cpus().length} cores`,
          batchSize: BATCH,
          first,
          replay,
          replayChangedNothing: replay.indexed === 0,
          databaseMb: Math.round(bytes / 1e6),
          bytesPerWrittenOp: Math.round(bytes / Math.max(1, first.indexed)),
        },
        null,
        2,
      ),
    )
  } finally {
    await app.destroy()
    const { Database } = await import('../../src/db/database.js')
    const cleanup = await Database.connect({ url: DATABASE_URL, schema: 'public', poolSize: 1 }, app.log, { migrate: false })
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(cleanup.db)
    await cleanup.close()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
