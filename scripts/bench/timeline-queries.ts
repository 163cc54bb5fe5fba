// Which queries one getTimeline request makes, and what each costs: `npx tsx
// scripts/bench/timeline-queries.ts [requests]` against the timeline benchmark's dataset (build
// it first with `BENCH_LOAD_ONLY=1 npm run bench:timeline`).
//
// Runs the request's own parts in this process, one request at a time, for random users:
// the skeleton (dataplane getTimelineSkeleton), the repo rev, hydration (the real Hydrator on
// a read pool, with the app-surface viewer extension as the API registers it) and the views
// plus JSON. Every query sent through `pg` is counted and timed (wall time, including the
// client's row parsing), keyed by its first characters. Service auth is not part of it (its
// admission check is cached per DID and makes no query on a warm server).
//
// Env: BENCH_DATABASE_URL (default postgres://127.0.0.1:5432/appview_bench).
import { userInfo } from 'node:os'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import pino from 'pino'
import { getTimelineSkeleton } from '../../src/dataplane/feeds.js'
import { createReadDb } from '../../src/dataplane/read-db.js'
import { Hydrator } from '../../src/hydration/hydrator.js'
import { appSurfaceViewerState } from '../../src/state/viewer-extension.js'
import { Views } from '../../src/views/index.js'

const REQUESTS = Number(process.argv[2] ?? 300)
const WARMUP = 50
const url = new URL(process.env.BENCH_DATABASE_URL ?? 'postgres://127.0.0.1:5432/appview_bench')
if (url.username === '') url.username = process.env.PGUSER ?? userInfo().username

const perQuery = new Map<string, number[]>()
let counting = false
const originalQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text?: string }
  const text = typeof first === 'string' ? first : (first?.text ?? '')
  const key = text.replace(/\s+/g, ' ').trim().slice(0, 90)
  const t0 = performance.now()
  const result = originalQuery.apply(this, args)
  if (counting && result instanceof Promise) {
    result.then(
      () => perQuery.set(key, [...(perQuery.get(key) ?? []), performance.now() - t0]),
      () => {},
    )
  }
  return result
} as typeof pg.Client.prototype.query

const log = pino({ level: 'warn' })
const readDb = createReadDb({ url: url.toString(), schema: 'bench_timeline', poolSize: 4 }, log)
const hydrator = new Hydrator({ db: readDb.db })
hydrator.extend(appSurfaceViewerState(readDb.db))
const views = new Views({ imageUrl: 'https://cdn.bsky.app/img', videoUrl: 'https://video.bsky.app/watch' })
const users = (await readDb.db.selectFrom('local_user').select('did').execute()).map((r) => r.did)
if (users.length === 0) throw new Error('no dataset: run BENCH_LOAD_ONLY=1 npm run bench:timeline first')

const stages = new Map<string, number[]>()
const record = (k: string, v: number) => stages.set(k, [...(stages.get(k) ?? []), v])
for (let i = 0; i < WARMUP + REQUESTS; i++) {
  counting = i >= WARMUP
  const viewer = users[Math.floor(Math.random() * users.length)]!
  const t0 = performance.now()
  const items = (await getTimelineSkeleton(readDb.db, viewer, 50)).slice(0, 50)
  const t1 = performance.now()
  await hydrator.repoRev(viewer)
  const t2 = performance.now()
  const state = await hydrator.hydrateFeedItems(items, viewer)
  const t3 = performance.now()
  const body = JSON.stringify({ feed: items.map((item) => views.feedViewPost(state, item)) })
  const t4 = performance.now()
  if (counting) {
    record('skeleton', t1 - t0)
    record('repo rev', t2 - t1)
    record('hydration (queries in parallel)', t3 - t2)
    record('views + JSON', t4 - t3)
    record('response kB', body.length / 1000)
  }
}
// the last promise callbacks
await new Promise((r) => setTimeout(r, 50))

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!
const fmt = (x: number) => x.toFixed(2)
console.log(`${REQUESTS} requests (after ${WARMUP} warm-up), one at a time; medians`)
for (const [k, a] of stages) console.log(`  ${k.padEnd(34)} ${fmt(median(a))}`)
let total = 0
for (const a of perQuery.values()) total += a.length
console.log(`queries per request: ${fmt(total / REQUESTS)}`)
for (const [k, a] of [...perQuery].sort((x, y) => median(y[1]) - median(x[1]))) {
  console.log(`  ${fmt(a.length / REQUESTS)}/req  median ${fmt(median(a))} ms  ${k}`)
}
await readDb.destroy()
