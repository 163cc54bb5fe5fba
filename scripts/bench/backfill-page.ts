// What one backfilled page costs the AppView (`npx tsx scripts/bench/backfill-page.ts`): the
// history benchmark's walk with a PDS that answers instantly from memory. A fresh App (own
// schema) runs backfillRepo (the real one: indexer, progress, pipelining) over PAGES pages of
// 100 plain posts by one tracked DID, and reports the time per page and the statements each
// page sends to Postgres (every pg query() call is one round trip). Env: BENCH_PAGES (100),
// BENCH_PASSES (3; each pass a new DID, the median pass is reported). Besides wall time (which
// on a shared 2-core box mostly says how busy it was) it reports CPU time per page: this
// process's, and that of the Postgres backends serving it (found by application_name).
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { sql } from 'kysely'
import { App } from '../../src/app.js'
import { envToConfig } from '../../src/config.js'
import { backfillRepo } from '../../src/backfill/backfill-repo.js'
import type { ListRecordsPage } from '../../src/backfill/pds-client.js'
import { didForRank, tidFor } from './ingest-events.js'

const PAGES = Number(process.env.BENCH_PAGES ?? 100)
const PASSES = Number(process.env.BENCH_PASSES ?? 3)
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://127.0.0.1:5432/appview_bench'
const CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'
const APP_NAME = `bench_page_${randomBytes(4).toString('hex')}`
process.env.PGAPPNAME = APP_NAME // every pool of this process: its backends are ours

/** CPU ms (user + system) of processes, from /proc/<pid>/stat (clock ticks of 10 ms). */
function cpuMsOf(pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
      ticks += Number(rest[11]) + Number(rest[12])
    } catch {
      // gone
    }
  }
  return ticks * 10
}

// Count every statement the process sends (pool clients are pg.Client instances).
let statements = 0
const texts = new Map<string, { n: number; ms: number }>()
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++
  const t = args[0]
  const text = typeof t === 'string' ? t : (t as { text?: string } | undefined)?.text ?? '?'
  const key = text.replace(/\s+/g, ' ').slice(0, 70)
  const entry = texts.get(key) ?? { n: 0, ms: 0 }
  texts.set(key, entry)
  entry.n++
  // Wall time from sending to the answer (round trip + server work + waiting for this thread).
  const t0 = performance.now()
  const res = query.apply(this, args)
  if (res && typeof (res as Promise<unknown>).then === 'function') {
    ;(res as Promise<unknown>).then(
      () => (entry.ms += performance.now() - t0),
      () => (entry.ms += performance.now() - t0),
    )
  }
  return res
} as never

/** listRecords pages of the DID's posts, newest first, as a PDS returns them. */
function pages(did: string, startUs: number): ListRecordsPage[] {
  const out: ListRecordsPage[] = []
  let n = PAGES * 100
  for (let p = 0; p < PAGES; p++) {
    const records = []
    for (let j = 0; j < 100; j++, n--) {
      const us = startUs + n * 60_000_000
      const rkey = tidFor(us, n)
      const value = { $type: 'app.bsky.feed.post', text: `history ${n}`, createdAt: new Date(us / 1000).toISOString() }
      records.push({ uri: `at://${did}/app.bsky.feed.post/${rkey}`, cid: CID, value })
    }
    out.push({ records, malformed: 0, cursor: p < PAGES - 1 ? String(p + 1) : undefined })
  }
  return out
}

async function main() {
  const schema = `bench_${randomBytes(4).toString('hex')}`
  const app = new App(
    envToConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ROLES: 'ingest',
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    }),
  )
  await app.start()
  const db = app.ctx!.db.db
  try {
    // A local user follows every author (as in the benchmark), so they are tracked.
    const reader = didForRank(0)
    await app.ctx!.indexer.trackLocalUser(reader, 'operator')
    const results: Array<{
      ms: number
      perPageMs: number
      nodeCpuPerPageMs: number
      pgCpuPerPageMs: number
      statementsPerPage: number
    }> = []
    const backends = async () =>
      (await sql<{ pid: number }>`select pid from pg_stat_activity where application_name = ${APP_NAME}`.execute(db)).rows.map((r) => r.pid)
    for (let pass = 0; pass < PASSES; pass++) {
      const did = didForRank(1000 + pass)
      await sql`insert into tracked_did (did, backfill_state) values (${did}, 'running')`.execute(db)
      const work = pages(did, Date.now() * 1000 - PAGES * 100 * 60_000_000)
      const pds = {
        // JSON round trip: fresh objects, as a parsed HTTP response would be; answered in a
        // later turn of the event loop, as a response from the network is (not in the
        // caller's own microtask run).
        listRecords: async (_did: string, collection: string, opts?: { cursor?: string }) => {
          await new Promise((resolve) => setImmediate(resolve))
          return collection === 'app.bsky.feed.post'
            ? (JSON.parse(JSON.stringify(work[Number(opts?.cursor ?? 0)])) as ListRecordsPage)
            : { records: [], malformed: 0 }
        },
        getRecord: async () => null,
      }
      const deps = {
        db,
        pds,
        indexer: app.ctx!.indexer,
        liveFilter: { waitForLiveFilter: async () => 'in-process' },
        log: app.log,
        days: 0,
      }
      statements = 0
      texts.clear()
      const pids = await backends()
      const pg0 = cpuMsOf(pids)
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      await backfillRepo(deps, { did })
      const ms = performance.now() - t0
      const cpu = process.cpuUsage(cpu0)
      // A backend the pool opened during the pass counts from zero.
      const pids1 = await backends()
      const pgMs = cpuMsOf(pids1) - pg0
      results.push({
        ms: Math.round(ms),
        perPageMs: Number((ms / PAGES).toFixed(2)),
        nodeCpuPerPageMs: Number(((cpu.user + cpu.system) / 1000 / PAGES).toFixed(2)),
        pgCpuPerPageMs: Number((pgMs / PAGES).toFixed(2)),
        statementsPerPage: statements / PAGES,
      })
      const n = await sql<{ n: number }>`select count(*)::int as n from post where author_did = ${did}`.execute(db)
      if (n.rows[0]!.n !== PAGES * 100) throw new Error(`stored ${n.rows[0]!.n} posts`)
    }
    const sorted = [...results].sort((a, b) => a.ms - b.ms)
    console.log(JSON.stringify({ pages: PAGES, passes: results, median: sorted[Math.floor(sorted.length / 2)] }, null, 2))
    console.log('statements of the last pass, by text (count × mean wall time per call):')
    for (const [k, v] of [...texts.entries()].sort((a, b) => b[1].ms - a[1].ms)) {
      console.log(`  ${String(v.n).padStart(5)} × ${(v.ms / v.n).toFixed(2).padStart(6)} ms  ${k}`)
    }
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
