// Timeline trace of the history walk for `npm run bench:backfill` (BENCH_TRACE=1): for each
// page, when its fetch ran (request sent → body read and decoded → JSON parsed), when
// it was validated, and when it was written (applyBatch: transaction begin → commit, and the
// round trips inside it); plus, over the history window, the CPU of this process (AppView +
// benchmark), of the PDS process and of this process's Postgres backends, the machine's idle
// time, and how busy this process's event loop was. Instruments by wrapping prototypes in
// this process only (nothing in src/ changes).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { PdsClient } from '../../src/backfill/pds-client.js'
import type { GetLike } from '../../src/identity/guarded-get.js'
import { Identity } from '../../src/identity/identity.js'
import { Indexer } from '../../src/ingest/indexer.js'

type Span = { t0: number; t1: number }
interface PageTrace {
  /** body: the response read and decoded (the guarded GET resolved). */
  fetch?: Span & { body?: number; parse?: Span }
  validate?: Span
  /** The write (transaction) that took this page; several pages may share one. */
  write?: WriteTrace
}
type WriteTrace = Span & { queries: Span[]; records: number; index: number }

let active: { did: string; origin: number } | undefined
let pages: PageTrace[] = []
let fetchIdx = 0
let validateIdx = 0
let floorFetches: number[] = []
let floorDid: string | undefined
let currentWrite: WriteTrace | undefined
let writes: WriteTrace[] = []
let recordsWritten = 0
/** The request being parsed (JSON.parse of a body), when inside a traced fetch. */
let parsing: PageTrace['fetch'] | undefined

export function installTrace(): void {
  const listRecords = PdsClient.prototype.listRecords
  PdsClient.prototype.listRecords = async function (this: PdsClient, did, collection, opts) {
    if (floorDid === did && collection === 'app.bsky.feed.post') {
      const t0 = performance.now()
      const res = await listRecords.call(this, did, collection, opts)
      floorFetches.push(performance.now() - t0)
      return res
    }
    if (!active || did !== active.did || collection !== 'app.bsky.feed.post') return listRecords.call(this, did, collection, opts)
    const page = (pages[fetchIdx++] ??= {})
    const span: NonNullable<PageTrace['fetch']> = { t0: performance.now(), t1: 0 }
    page.fetch = span
    reqSpans.push(span)
    const res = await listRecords.call(this, did, collection, opts)
    span.t1 = performance.now()
    return res
  }
  // Time to the body read: through the identity's guarded GET (the PDS client's transport).
  const getter = Object.getOwnPropertyDescriptor(Identity.prototype, 'get')!.get!
  Object.defineProperty(Identity.prototype, 'get', {
    configurable: true,
    get(this: Identity) {
      const get = getter.call(this) as GetLike
      return async (url: string, opts: Parameters<GetLike>[1]) => {
        const span =
          url.includes('com.atproto.repo.listRecords') && active && url.includes(encodeURIComponent(active.did)) ? reqSpans.shift() : undefined
        const res = await get(url, opts)
        if (span) {
          span.body = performance.now()
          parsing = span
        }
        return res
      }
    },
  })
  const parse = JSON.parse
  JSON.parse = function (text: string, reviver?: Parameters<typeof JSON.parse>[1]) {
    const span = parsing
    if (!span || typeof text !== 'string' || text.length < 10_000) return parse(text, reviver)
    parsing = undefined
    const t0 = performance.now()
    const v = parse(text, reviver)
    span.parse = { t0, t1: performance.now() }
    return v
  } as typeof JSON.parse

  const prepareBatch = Indexer.prototype.prepareBatch
  Indexer.prototype.prepareBatch = function (this: Indexer, items) {
    if (!active || items[0]?.op.kind !== 'create' || (items[0].op as { did?: string }).did !== active.did) {
      return prepareBatch.call(this, items)
    }
    const t0 = performance.now()
    const res = prepareBatch.call(this, items)
    ;(pages[validateIdx++] ??= {}).validate = { t0, t1: performance.now() }
    return res
  }
  const applyBatch = Indexer.prototype.applyBatch
  Indexer.prototype.applyBatch = async function (this: Indexer, items, opts) {
    const first = Array.isArray(items) ? items[0]?.op : items.prepared[0]?.op
    if (!active || !opts?.deferFlush || (first as { did?: string } | undefined)?.did !== active.did) {
      return applyBatch.call(this, items, opts)
    }
    const records = Array.isArray(items) ? items.length : items.size
    const span: WriteTrace = { t0: performance.now(), t1: 0, queries: [], records, index: writes.length }
    writes.push(span)
    // The pages this write takes (100 records each, the last one maybe fewer).
    const first100 = Math.floor(recordsWritten / 100)
    recordsWritten += records
    for (let i = first100; i < Math.ceil(recordsWritten / 100); i++) (pages[i] ??= {}).write ??= span
    currentWrite = span
    try {
      return await applyBatch.call(this, items, opts)
    } finally {
      span.t1 = performance.now()
      currentWrite = undefined
    }
  }
  const query = pg.Client.prototype.query as (...a: unknown[]) => unknown
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const span = currentWrite
    const res = query.apply(this, args)
    if (span && res && typeof (res as Promise<unknown>).then === 'function') {
      const q = { t0: performance.now(), t1: 0 }
      span.queries.push(q)
      ;(res as Promise<unknown>).then(
        () => (q.t1 = performance.now()),
        () => (q.t1 = performance.now()),
      )
    }
    return res
  } as never
}

const reqSpans: Array<NonNullable<PageTrace['fetch']>> = []

/** Floor walk of this DID: time each page. */
export function traceFloor(did: string | undefined): number[] {
  const out = floorFetches
  floorFetches = []
  floorDid = did
  return out
}

function cpuTicks(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
    return Number(rest[11]) + Number(rest[12])
  } catch {
    return 0
  }
}

/** CPU ticks of every process on the machine, with its name. */
function allProcs(): Map<number, { name: string; ticks: number }> {
  const out = new Map<number, { name: string; ticks: number }>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8')
      const name = f.slice(f.indexOf('(') + 1, f.lastIndexOf(')'))
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
      out.set(Number(d), { name, ticks: Number(rest[11]) + Number(rest[12]) })
    } catch {
      // gone
    }
  }
  return out
}

function machineTicks(): { busy: number; idle: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number)
  const idle = line[3]! + line[4]!
  const busy = line.slice(0, 8).reduce((a, b) => a + b, 0) - idle
  return { busy, idle }
}

export interface TraceWindow {
  stop(): Promise<void>
}

/**
 * Starts tracing the walk of `did`'s posts. `pids()` lists the processes to account (this
 * process, the PDS, Postgres backends) — read at start and stop.
 */
export function startTrace(did: string, procs: () => Promise<Record<string, number[]>>): Promise<TraceWindow> {
  return (async () => {
    pages = []
    writes = []
    recordsWritten = 0
    fetchIdx = validateIdx = 0
    const origin = performance.now()
    active = { did, origin }
    const p0 = await procs()
    const c0: Record<string, number> = {}
    for (const [k, ps] of Object.entries(p0)) c0[k] = ps.reduce((a, p) => a + cpuTicks(p), 0)
    const m0 = machineTicks()
    const all0 = allProcs()
    const elu0 = performance.eventLoopUtilization()
    // BENCH_TRACE_PROFILE=<file>: a CPU profile of this process over the window (.cpuprofile).
    const profileTo = process.env.BENCH_TRACE_PROFILE
    let session: Session | undefined
    if (profileTo) {
      session = new Session()
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: 200 })
      await session.post('Profiler.start')
    }
    return {
      async stop() {
        if (session) {
          const { profile } = await session.post('Profiler.stop')
          writeFileSync(profileTo!, JSON.stringify(profile))
          session.disconnect()
        }
        const elu = performance.eventLoopUtilization(elu0)
        const m1 = machineTicks()
        const all1 = allProcs()
        const p1 = await procs()
        const wall = performance.now() - origin
        active = undefined
        const cpu: Record<string, number> = {}
        // Processes that appeared during the window count from zero.
        for (const [k, ps] of Object.entries(p1)) cpu[k] = (ps.reduce((a, p) => a + cpuTicks(p), 0) - (c0[k] ?? 0)) * 10
        // Everything else that ran meanwhile (other engineers' work, Postgres's background
        // processes, the kernel's threads): the busiest few.
        const mine = new Set(Object.values(p1).flat())
        const others = [...all1]
          .filter(([pid]) => !mine.has(pid))
          .map(([pid, v]) => ({ pid, name: v.name, ms: (v.ticks - (all0.get(pid)?.ticks ?? 0)) * 10 }))
          .filter((o) => o.ms > 0)
          .sort((a, b) => b.ms - a.ms)
        const otherMs = others.reduce((a, o) => a + o.ms, 0)
        cpu[`other processes (${others.slice(0, 3).map((o) => `${o.name} ${o.ms}`).join(', ')})`] = otherMs
        report(pages, writes, origin, wall, cpu, { busy: (m1.busy - m0.busy) * 10, idle: (m1.idle - m0.idle) * 10 }, elu.utilization)
      },
    }
  })()
}

const med = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN)
const f1 = (x: number) => x.toFixed(1)
const f2 = (x: number) => x.toFixed(2)

function report(
  pages: PageTrace[],
  writes: WriteTrace[],
  origin: number,
  wall: number,
  cpu: Record<string, number>,
  machine: { busy: number; idle: number },
  elu: number,
): void {
  const n = pages.length
  const d = (s: Span | undefined) => (s ? s.t1 - s.t0 : NaN)
  const fetched = pages.filter((p) => p.fetch?.t1 && p.validate)
  const firstFetch = pages[0]?.fetch?.t0 ?? origin
  const lastWrite = writes.at(-1)?.t1 ?? origin
  const walk = lastWrite - firstFetch
  console.log(
    `trace: ${n} pages in ${writes.length} writes (${f2(recordsWritten / Math.max(1, writes.length) / 100)} pages each); window ${f1(wall)} ms (from the follow), first fetch at +${f1(firstFetch - origin)} ms, walk ${f1(walk)} ms (first fetch sent → last write committed), probe saw all at +${f1(wall)} ms`,
  )
  const fetchMs = fetched.map((p) => d(p.fetch))
  const toBody = fetched.map((p) => (p.fetch!.body ?? NaN) - p.fetch!.t0)
  const parseMs = fetched.map((p) => d(p.fetch!.parse))
  const validateMs = fetched.map((p) => d(p.validate))
  const writeMs = writes.map((w) => d(w))
  const perPageWrite = writes.map((w) => d(w) / (w.records / 100))
  const queries = writes.map((w) => w.queries.length)
  const inQueries = writes.map((w) => w.queries.reduce((a, q) => a + (q.t1 - q.t0), 0))
  // Writer idle: from one commit to the next write's begin (waiting for a validated page).
  const gaps = writes.slice(1).map((w, i) => w.t0 - writes[i]!.t1)
  // Reader: from one page's response to the next request (0 when sent before validating).
  const fetchStartLag = fetched.slice(1).map((p, i) => p.fetch!.t0 - fetched[i]!.fetch!.t1)
  // Time with no request out to the PDS, from the first request to the last response.
  let pdsIdle = 0
  for (let i = 1; i < fetched.length; i++) pdsIdle += Math.max(0, fetched[i]!.fetch!.t0 - fetched[i - 1]!.fetch!.t1)
  const sum = (xs: number[]) => xs.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0)
  console.log(
    `  per page (median): fetch ${f2(med(fetchMs))} ms (to the body read ${f2(med(toBody))}, JSON.parse ${f2(med(parseMs))}), validate ${f2(med(validateMs))}; per write (median): ${f2(med(writeMs))} ms, ${f2(med(perPageWrite))} ms per page, ${med(queries)} round trips, ${f2(med(inQueries))} ms in them`,
  )
  console.log(
    `  writer idle between writes ${f1(sum(gaps))} ms (median gap ${f2(med(gaps))}); next request sent ${f2(med(fetchStartLag))} ms (median) after a response; no request out to the PDS for ${f1(pdsIdle)} ms in all`,
  )
  console.log(`  sums: fetch ${f1(sum(fetchMs))} ms, validate ${f1(sum(validateMs))}, write ${f1(sum(writeMs))}, JSON.parse ${f1(sum(parseMs))}`)
  const cpuLine = Object.entries(cpu)
    .map(([k, v]) => `${k} ${v} ms (${f2(v / Math.max(1, n))}/page)`)
    .join(', ')
  console.log(
    `  CPU over the window: ${cpuLine}; machine busy ${machine.busy} ms, idle ${machine.idle} ms of ${f1(wall * 2)} core-ms; this event loop ${f1(elu * 100)}% busy`,
  )
  if (process.env.BENCH_TRACE === 'pages') {
    console.log('  page: fetch [t0 → body read → parsed → t1] validate [t0 t1] write #n [t0 t1] (ms from the follow)')
    for (const [i, p] of pages.entries()) {
      const r = (x: number | undefined) => (x === undefined ? '-' : f1(x - origin))
      console.log(
        `  ${String(i).padStart(3)}: fetch [${r(p.fetch?.t0)} → ${r(p.fetch?.body)} → ${r(p.fetch?.parse?.t1)} → ${r(p.fetch?.t1)}] validate [${r(p.validate?.t0)} ${r(p.validate?.t1)}] write #${p.write?.index ?? '-'} [${r(p.write?.t0)} ${r(p.write?.t1)}] q ${p.write?.queries.map((q) => f2(q.t1 - q.t0)).join(' ') ?? ''}`,
      )
    }
  }
}
