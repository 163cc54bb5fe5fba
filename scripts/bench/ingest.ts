// npm run bench:ingest [-- --events 1000000]
//
// Live ingest end to end on this machine: a local websocket server (child process) replays
// synthetic Jetstream traffic (zstd, the network's mix, Zipf popularity over 3M DIDs) into
// the real consumer → live filter → indexer → Postgres, with 1,000 local users following
// ~300 each of 50,000 tracked accounts. Reports events/s received → committed, the
// parse-only rate of the same stream, batch commit latency, peak RSS, database growth.
//
// Uses its own Postgres schema (dropped at the end) and Redis database 9 (backfill jobs the
// seeding enqueues must not reach test workers); DATABASE_URL / REDIS_URL override the hosts.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { sql } from 'kysely'
import { Registry } from 'prom-client'
import { WebSocket } from 'ws'
import { App } from '../../src/app.js'
import { envToConfig } from '../../src/config.js'
import { Database, type Db } from '../../src/db/database.js'
import { createLogger } from '../../src/logger.js'
import { IngestConsumer } from '../../src/ingest/consumer.js'
import type { IndexItem } from '../../src/ingest/indexer.js'
import { decompressJetstreamFrame, zstdDecoderName } from '../../src/ingest/jetstream/zstd.js'
import { MAX_EVENT_BYTES, parseFrame } from '../../src/ingest/parse.js'
import { projectRoot } from '../../src/util/project-root.js'
import { DEFAULT_POPULATION as POP, didForRank, rng, tidFor } from './ingest-events.js'
import { storageModel, type SizeMap } from './storage-model.js'
import { TOMBSTONE_REPLAY_MARGIN_HOURS } from '../../src/ingest/prune.js'

const args = process.argv.slice(2)
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const EVENTS = arg('events', 1_000_000)
const BATCH = arg('batch', 1000)
const SCHEMA = `bench_ingest_${randomBytes(4).toString('hex')}`
const CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'
const log = (...m: unknown[]) => console.log(new Date().toISOString().slice(11, 19), ...m)

async function main(): Promise<void> {
  const cfg = envToConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/appview_bench',
    DATABASE_SCHEMA: SCHEMA,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/9',
    ROLES: 'ingest',
    INGEST_BATCH_SIZE: String(BATCH),
  })
  // ---- population ---------------------------------------------------------------------
  // Written with bulk SQL before the App starts (its live filter then loads it): through the
  // indexer, 300,000 follows take ~5 minutes here, and only the stream is being measured.
  log(`seeding ${POP.localCount} local users following ~${POP.followsPerLocal} of ${POP.trackedCount} accounts`)
  const t0 = Date.now()
  const seedDb = await Database.connect(cfg.db, createLogger({ env: 'production', logLevel: 'warn' }))
  await seedPopulation(seedDb.db)
  await seedDb.close()
  log(`seeded in ${((Date.now() - t0) / 1000).toFixed(0)} s`)

  const app = new App(cfg)
  await app.start()
  const ctx = app.ctx!
  let server: ReturnType<typeof spawn> | undefined
  try {
    // ---- stream -----------------------------------------------------------------------
    const startUs = Date.now() * 1000 - EVENTS // time_us = startUs + i, ending about now
    await ctx.db.db.insertInto('ingest_state').values({ id: 'jetstream', cursor_time_us: startUs }).execute()
    log(`generating ${EVENTS.toLocaleString('en')} events in the server process`)
    server = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot(), 'scripts/bench/ingest-server.ts'), String(EVENTS), String(startUs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const ready = await new Promise<string>((resolve, reject) => {
      server!.stdout!.on('data', (d: Buffer) => {
        const line = d.toString()
        if (line.startsWith('ready')) resolve(line.trim())
      })
      server!.on('exit', (code) => reject(new Error(`server exited with ${code}`)))
    })
    const [, port, rawBytes, zstdBytes] = ready.split(' ').map(Number)
    const url = `ws://127.0.0.1:${port}/subscribe`
    log(`server ready: mean event ${(rawBytes / EVENTS).toFixed(0)} B raw, ${(zstdBytes / EVENTS).toFixed(0)} B zstd`)

    const sizeBefore = await schemaBytes(ctx.db.db)
    const tablesBefore = await tableSizes(ctx.db.db)
    const commitMs: number[] = []
    const timedIndexer = {
      applyBatch: async (items: IndexItem[], opts?: { cursor?: { id: string; timeUs: number } }) => {
        const s = process.hrtime.bigint()
        const r = await ctx.indexer.applyBatch(items, opts)
        commitMs.push(Number(process.hrtime.bigint() - s) / 1e6)
        return r
      },
    }
    const registry = new Registry()
    const consumer = new IngestConsumer({
      cfg: { ...cfg.jetstream, urls: [url], compress: true },
      db: ctx.db.db,
      log: ctx.log.child({ component: 'ingest' }),
      registry,
      indexer: timedIndexer,
      filter: ctx.liveFilter,
    })
    let peakRss = process.memoryUsage().rss
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50)
    const lastUs = startUs + EVENTS - 1
    // Actor rows when half the stream is committed: is the rate of new actors steady, or
    // falling as the stream names DIDs already known? (storage model, storage-model.ts)
    let actorsAtHalf: { events: number; rows: number } | undefined
    const e2eStart = process.hrtime.bigint()
    await consumer.start()
    let lastReport = Date.now()
    while ((consumer.committedCursor ?? 0) < lastUs) {
      await new Promise((r) => setTimeout(r, 50))
      const committed = (consumer.committedCursor ?? startUs) - startUs
      if (!actorsAtHalf && committed >= EVENTS / 2) {
        const rows = await countRows(ctx.db.db, 'actor')
        actorsAtHalf = { events: (consumer.committedCursor ?? startUs) - startUs, rows }
      }
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now()
        const done = (consumer.committedCursor ?? startUs) - startUs
        const m = process.memoryUsage()
        log(`  ${done.toLocaleString('en')} events committed, rss ${(m.rss / 1e6).toFixed(0)} MB (heap ${(m.heapUsed / 1e6).toFixed(0)}/${(m.heapTotal / 1e6).toFixed(0)} MB, external ${((m.external + m.arrayBuffers) / 1e6).toFixed(0)} MB)`)
      }
    }
    const e2eSeconds = Number(process.hrtime.bigint() - e2eStart) / 1e9
    clearInterval(sampler)
    await consumer.destroy()
    const sizeAfter = await schemaBytes(ctx.db.db)
    const reusable = await mergeGinPendingLists(ctx.db.db)
    const tablesAfter = await tableSizes(ctx.db.db)
    const { rows: tables } = await sql<{ name: string; mb: number; rows: string }>`
      select c.relname as name, round(pg_total_relation_size(c.oid) / 1e6)::int as mb, c.reltuples::bigint::text as rows
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${SCHEMA} and c.relkind = 'r' order by pg_total_relation_size(c.oid) desc limit 8`.execute(ctx.db.db)
    log('largest tables after the stream (incl. indexes; follow/actor/tracked_did include the seeded population):')
    for (const t of tables) log(`  ${t.name}: ${t.mb} MB, ~${t.rows} rows`)
    await logRelationBreakdown(ctx.db.db)

    const total = (name: string) => registry.getSingleMetric(name)!.get().then((m) => m.values.reduce((s, v) => s + v.value, 0))
    const received = await total('appview_ingest_events_received_total')
    const indexed = await total('appview_ingest_events_indexed_total')
    const filtered = await total('appview_ingest_events_filtered_total')
    const skipped = await total('appview_ingest_events_skipped_total')

    // ---- parse-only floor: the same stream, decode + parse, nothing else ----------------
    const parseRate = await parseOnly(url, startUs)
    server.kill('SIGTERM')

    // ---- 30-day model: each table by how it grows (storage-model.ts) --------------------
    const model = storageModel({
      before: tablesBefore,
      after: tablesAfter,
      events: EVENTS,
      eventsPerDay: 480 * 86_400,
      horizonDays: cfg.backfill.days || 30,
      tombstoneHorizonDays: (cfg.jetstream.retentionHours + TOMBSTONE_REPLAY_MARGIN_HOURS) / 24,
      reusable,
      vacuumSlack: 0.02, // autovacuum_vacuum_scale_factor of the pruned tables (0075)
    })
    for (const [table, bytes] of reusable) log(`GIN pending list of ${table} merged after the stream: ${(bytes / 1e6).toFixed(1)} MB of pages free for reuse`)
    log('30-day model (MB grown in the run; MB per million events charged per day; days; MB charged once; GB):')
    for (const l of model.lines) {
      log(`  ${l.table.padEnd(13)} ${l.kind.padEnd(9)} +${l.rowsAdded} rows, ${l.beforeMB.toFixed(1)} → ${l.afterMB.toFixed(1)} MB (+${l.grownMB.toFixed(1)}); ${l.perMillionMB.toFixed(1)} MB/M × ${l.days} d + ${l.onceMB.toFixed(1)} MB once = ${l.thirtyDaysGB.toFixed(1)} GB`)
    }
    const actorsBefore = tablesBefore.get('actor')?.rows ?? 0
    const actorsAfter = tablesAfter.get('actor')?.rows ?? 0
    const newActors = actorsAtHalf
      ? {
          firstHalfPerMillion: Math.round((actorsAtHalf.rows - actorsBefore) / (actorsAtHalf.events / 1e6)),
          secondHalfPerMillion: Math.round((actorsAfter - actorsAtHalf.rows) / ((EVENTS - actorsAtHalf.events) / 1e6)),
        }
      : undefined

    const sorted = [...commitMs].sort((a, b) => a - b)
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
    const growth = sizeAfter - sizeBefore
    const perMillion = growth / (EVENTS / 1e6)
    const perDay = perMillion * (480 * 86_400) / 1e6
    const report = {
      events: EVENTS,
      zstdDecoder: zstdDecoderName(),
      trackedDids: Number((await ctx.db.db.selectFrom('tracked_did').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n),
      batchSize: BATCH,
      endToEndEventsPerSecond: Math.round(EVENTS / e2eSeconds),
      endToEndSeconds: Number(e2eSeconds.toFixed(1)),
      parseOnlyEventsPerSecond: Math.round(parseRate),
      received,
      kept: indexed,
      filtered,
      skipped,
      keptRatio: Number((indexed / received).toFixed(4)),
      batches: commitMs.length,
      // Share of the run spent inside indexer.applyBatch (the rest overlaps with receiving).
      shareOfTimeInBatchCommits: Number((commitMs.reduce((a, b) => a + b, 0) / 1000 / e2eSeconds).toFixed(2)),
      batchCommitMs: { p50: round(q(0.5)), p90: round(q(0.9)), p99: round(q(0.99)), max: round(sorted[sorted.length - 1]) },
      peakRssMB: Math.round(peakRss / 1e6),
      dbGrowthMB: Math.round(growth / 1e6),
      dbGrowthPerMillionEventsMB: Math.round(perMillion / 1e6),
      dbGrowthPerDayAt480evsGB: Number((perDay / 1e9).toFixed(2)),
      dbGrowth30DaysGB: Number(((perDay * 30) / 1e9).toFixed(1)),
      newActorsPerMillionEvents: newActors,
      // The 30-day steady state by table kind (storage-model.ts); the target is ≤ 100 GB.
      model30DaysGB: Number(model.thirtyDaysGB.toFixed(1)),
      modelPerMillionEventsMB: Number(model.perMillionMB.toFixed(1)),
    }
    console.log(JSON.stringify(report, null, 2))
  } finally {
    server?.kill('SIGTERM')
    const schema = cfg.db.schema
    await ctx.backfillQueue.obliterate({ force: true }).catch(() => {})
    await app.destroy()
    const admin = await Database.connect({ ...cfg.db, schema: 'public' }, app.log, { migrate: false })
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin.db)
    await admin.close()
  }
}

/** Local users, tracked accounts, 300k follows and the counters they imply, in bulk. */
async function seedPopulation(db: Db): Promise<void> {
  const rand = rng(7)
  const followTime = rng(11) // its own sequence: the population drawn with `rand` stays the same
  const locals = Array.from({ length: POP.localCount }, (_, i) => didForRank(POP.trackedFrom + i))
  const followed = new Set<number>()
  const nowUs = Date.now() * 1000
  let seq = 0
  // Each follow made at its own time (over the year before), as real ones are: a common time
  // would let the (author, sort_at) and (subject, sort_at) indexes deduplicate.
  let rows: { uri: string[]; author: string[]; subject: string[]; rev: string[]; at: string[] } = { uri: [], author: [], subject: [], rev: [], at: [] }
  const flush = async () => {
    if (rows.uri.length === 0) return
    await sql`
      insert into follow (uri, cid, author_did, rev, subject_did, created_at, sort_at)
      select u, ${CID}, a, r, s, ts, ts
      from unnest(${rows.uri}::text[], ${rows.author}::text[], ${rows.rev}::text[], ${rows.subject}::text[], ${rows.at}::timestamptz[])
        as t(u, a, r, s, ts)`.execute(db)
    rows = { uri: [], author: [], subject: [], rev: [], at: [] }
  }
  for (const did of locals) {
    const chosen = new Set<number>()
    while (chosen.size < POP.followsPerLocal) chosen.add(POP.trackedFrom + Math.floor(rand() * POP.trackedCount))
    for (const rank of chosen) {
      followed.add(rank)
      const rkey = tidFor(nowUs - 86_400e6 + seq, seq++)
      rows.uri.push(`at://${did}/app.bsky.graph.follow/${rkey}`)
      rows.author.push(did)
      rows.rev.push(rkey)
      rows.subject.push(didForRank(rank))
      rows.at.push(new Date(Date.now() - 86_400_000 - Math.floor(followTime() * 365 * 86_400_000)).toISOString())
    }
    if (rows.uri.length >= 50_000) await flush()
  }
  await flush()
  const tracked = [...new Set([...locals, ...[...followed].map(didForRank)])]
  await sql`insert into local_user (did, added_by, onboarding_state) select unnest(${locals}::text[]), 'operator', 'complete'`.execute(db)
  await sql`insert into tracked_did (did, backfill_state) select unnest(${tracked}::text[]), 'complete'`.execute(db)
  await sql`
    insert into actor (did, followers_count, follows_count)
    select d, coalesce(fr.n, 0), coalesce(fg.n, 0)
    from unnest(${tracked}::text[]) as d
    left join (select subject_did, count(*)::int n from follow group by subject_did) fr on fr.subject_did = d
    left join (select author_did, count(*)::int n from follow group by author_did) fg on fg.author_did = d`.execute(db)
  await sql`analyze`.execute(db)
}

function round(n: number): number {
  return Number(n.toFixed(1))
}

/** Bytes of every table and index in the benchmark schema. */
async function schemaBytes(db: import('../../src/db/database.js').Db): Promise<number> {
  const { rows } = await sql<{ bytes: string }>`
    select coalesce(sum(pg_total_relation_size(c.oid)), 0)::text as bytes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${SCHEMA} and c.relkind in ('r', 'm')`.execute(db)
  return Number(rows[0].bytes)
}

/**
 * Merge every GIN index's pending list into the index (autovacuum's job in a deployment; it
 * is off here) and return, per table, the bytes of the pending-list pages freed by it.
 */
async function mergeGinPendingLists(db: Db): Promise<Map<string, number>> {
  const { rows } = await sql<{ tbl: string; pages: string }>`
    select t.relname as tbl, gin_clean_pending_list(i.oid)::text as pages
    from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
    join pg_namespace n on n.oid = i.relnamespace join pg_am am on am.oid = i.relam
    where n.nspname = ${SCHEMA} and am.amname = 'gin'`.execute(db)
  const out = new Map<string, number>()
  for (const r of rows) out.set(r.tbl, (out.get(r.tbl) ?? 0) + Number(r.pages) * 8192)
  return out
}

/** Each table's bytes (heap, TOAST, indexes) and exact row count. */
async function tableSizes(db: Db): Promise<SizeMap> {
  const { rows } = await sql<{ name: string; bytes: string }>`
    select c.relname as name, pg_total_relation_size(c.oid)::text as bytes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${SCHEMA} and c.relkind = 'r'`.execute(db)
  const out: SizeMap = new Map()
  for (const r of rows) out.set(r.name, { bytes: Number(r.bytes), rows: await countRows(db, r.name) })
  return out
}

async function countRows(db: Db, table: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(db)
  return Number(rows[0]!.n)
}

/**
 * Where the bytes are: per table its heap (with TOAST) and each index, the row count and
 * bytes per row, so storage work can see which relation to cut.
 */
async function logRelationBreakdown(db: import('../../src/db/database.js').Db): Promise<void> {
  await sql`analyze`.execute(db)
  const { rows } = await sql<{ tbl: string; rel: string; kind: string; bytes: string; tuples: string }>`
    select t.relname as tbl, t.relname as rel, 'heap' as kind,
           (pg_total_relation_size(t.oid) - pg_indexes_size(t.oid))::text as bytes, greatest(t.reltuples, 0)::bigint::text as tuples
    from pg_class t join pg_namespace n on n.oid = t.relnamespace
    where n.nspname = ${SCHEMA} and t.relkind = 'r'
    union all
    select t.relname, i.relname, 'index', pg_relation_size(i.oid)::text, greatest(t.reltuples, 0)::bigint::text
    from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    where n.nspname = ${SCHEMA} and t.relkind = 'r'`.execute(db)
  const byTable = new Map<string, typeof rows>()
  for (const r of rows) byTable.set(r.tbl, [...(byTable.get(r.tbl) ?? []), r])
  const total = (rs: typeof rows) => rs.reduce((s, r) => s + Number(r.bytes), 0)
  const tables = [...byTable.entries()].sort((a, b) => total(b[1]) - total(a[1])).slice(0, 12)
  log('relation breakdown (MB; bytes per row):')
  for (const [name, rs] of tables) {
    const tuples = Math.max(1, Number(rs[0]!.tuples))
    log(`  ${name}: ${(total(rs) / 1e6).toFixed(1)} MB total, ${rs[0]!.tuples} rows, ${Math.round(total(rs) / tuples)} B/row`)
    for (const r of rs) log(`    ${r.kind === 'heap' ? 'heap' : r.rel}: ${(Number(r.bytes) / 1e6).toFixed(1)} MB (${Math.round(Number(r.bytes) / tuples)} B/row)`)
  }
}

/** Decode + parse every frame of the stream once; the rate no consumer can beat. */
async function parseOnly(url: string, startUs: number): Promise<number> {
  const ws = new WebSocket(`${url}?compress=true&cursor=${startUs}`, { perMessageDeflate: false, maxPayload: 16 << 20 })
  let n = 0
  let ok = 0
  const started = process.hrtime.bigint()
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      const parsed = parseFrame(decompressJetstreamFrame(data, MAX_EVENT_BYTES))
      if (parsed.ok) ok++
      if (++n === EVENTS) resolve()
    })
    ws.on('error', reject)
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  ws.terminate()
  if (ok !== EVENTS) console.warn(`parse-only: ${EVENTS - ok} frames did not parse`)
  return EVENTS / seconds
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
