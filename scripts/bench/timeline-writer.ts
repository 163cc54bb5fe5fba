// The timeline benchmark's live writer (scripts/bench/timeline.ts starts it): the real indexer
// in an App of its own writes BENCH_WRITE_RATE ops/s into the benchmark's schema until
// SIGTERM — 40% posts and 10% reposts by accounts drawn with the follows' popularity (the
// most followed post most), 50% likes on dataset posts by accounts outside it — then deletes
// what it wrote (through the indexer, so counters come back) and prints one JSON line.
import { performance } from 'node:perf_hooks'
import { App } from '../../src/app.js'
import { envToConfig } from '../../src/config.js'
import type { IndexItem } from '../../src/ingest/indexer.js'
import type { IndexOp } from '../../src/ingest/ops.js'
import { tidFor } from './ingest-events.js'

const env = process.env
const RATE = Number(env.BENCH_WRITE_RATE ?? 20)
const AUTHORS = Number(env.BENCH_WRITER_AUTHORS ?? 50_000)
const POSTS_PER_AUTHOR = Number(env.BENCH_WRITER_POSTS_PER_AUTHOR ?? 80)
const CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'

const authorDid = (idx: number) => `did:plc:bench${String(idx).padStart(16, '0')}`
/** the dataset's follow popularity: rank = ⌊A^u⌋ − 1 */
const popularAuthor = () => authorDid(Math.floor(Math.exp(Math.random() * Math.log(AUTHORS))) - 1)
const datasetPost = () => ({
  uri: `at://${authorDid(Math.floor(Math.random() * AUTHORS))}/app.bsky.feed.post/p${1 + Math.floor(Math.random() * POSTS_PER_AUTHOR)}`,
  cid: CID,
})

async function main() {
  const app = new App(
    envToConfig({
      NODE_ENV: 'production',
      LOG_LEVEL: 'error',
      ROLES: 'backfill',
      PORT: '0',
      HOST: '127.0.0.1',
      APPVIEW_DID: 'did:web:bench-writer.appview.test',
      DATABASE_URL: env.BENCH_WRITER_DATABASE_URL ?? 'postgres://127.0.0.1:5432/appview_bench',
      DATABASE_SCHEMA: env.BENCH_WRITER_SCHEMA ?? 'bench_timeline',
      REDIS_URL: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    }),
  )
  await app.start()
  const indexer = app.ctx!.indexer
  const written: string[] = []
  const counts = { posts: 0, reposts: 0, likes: 0 }
  const batchMs: number[] = []
  let clock = 0
  const op = (did: string, collection: string, record: Record<string, unknown>): IndexOp => {
    const rkey = tidFor(Date.now() * 1000, clock++)
    const uri = `at://${did}/${collection}/${rkey}`
    written.push(uri)
    return { kind: 'create', uri, did, collection, rkey, cid: CID, rev: rkey, record: { $type: collection, ...record } }
  }
  let stopped = false
  process.once('SIGTERM', () => (stopped = true))
  const started = performance.now()
  let owed = 0
  let last = started
  process.stdout.write('writing\n')
  while (!stopped) {
    await new Promise((r) => setTimeout(r, 100))
    const now = performance.now()
    owed += (RATE * (now - last)) / 1000
    last = now
    const batch: IndexItem[] = []
    for (; owed >= 1; owed--) {
      const createdAt = new Date().toISOString()
      const x = Math.random()
      let o: IndexOp
      if (x < 0.4) {
        o = op(popularAuthor(), 'app.bsky.feed.post', { text: 'live post during the benchmark', createdAt })
        counts.posts++
      } else if (x < 0.5) {
        o = op(popularAuthor(), 'app.bsky.feed.repost', { subject: datasetPost(), createdAt })
        counts.reposts++
      } else {
        const liker = `did:plc:benchliker${String(Math.floor(Math.random() * 1e6)).padStart(10, '0')}`
        o = op(liker, 'app.bsky.feed.like', { subject: datasetPost(), createdAt })
        counts.likes++
      }
      batch.push({ op: o, ctx: { source: 'jetstream', timeUs: Date.now() * 1000 } })
    }
    if (batch.length > 0) {
      const t = performance.now()
      await indexer.applyBatch(batch)
      batchMs.push(performance.now() - t)
    }
  }
  const seconds = (performance.now() - started) / 1000
  const deletes: IndexItem[] = written.map((uri) => {
    const [did, collection, rkey] = uri.slice('at://'.length).split('/') as [string, string, string]
    return { op: { kind: 'delete', uri, did, collection, rkey, rev: tidFor(Date.now() * 1000, clock++) }, ctx: { source: 'jetstream' } }
  })
  for (let i = 0; i < deletes.length; i += 500) await indexer.applyBatch(deletes.slice(i, i + 500))
  await app.destroy()
  batchMs.sort((a, b) => a - b)
  const total = counts.posts + counts.reposts + counts.likes
  process.stdout.write(
    `${JSON.stringify({ ...counts, opsPerSecond: Number((total / seconds).toFixed(1)), batchP99Ms: Number((batchMs[Math.floor(batchMs.length * 0.99)] ?? 0).toFixed(1)) })}\n`,
  )
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
