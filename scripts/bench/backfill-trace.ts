// Timeline trace of the history walk for `npm run bench:backfill` (BENCH_TRACE=1): for each
// page, when its fetch ran (request sent → response headers → body read → JSON parsed), when
// it was validated, and when it was written (applyBatch: transaction begin → commit, and the
// round trips inside it); plus, over the history window, the CPU of this process (AppView +
// benchmark), of the PDS process and of this process's Postgres backends, the machine's idle
// time, and how busy this process's event loop was. Instruments by wrapping prototypes in
// this process only (nothing in src/ changes).
import { readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { PdsClient } from '../../src/backfill/pds-client.js'
import { Indexer } from '../../src/ingest/indexer.js'

type Span = { t0: number; t1: number }
interface PageTrace {
  fetch?: Span & { headers?: number; body?: number; parse?: Span }
  validate?: Span
  write?: Span & { queries: Span[] }
}

let active: { did: string; origin: number } | undefined
let pages: PageTrace[] = []
let fetchIdx = 0
let validateIdx = 0
let writeIdx = 0
let floorFetches: number[] = []
let floorDid: string | undefined
let currentWrite: (Span & { queries: Span[] }) | undefined
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
  // Time to headers / body: through the global fetch (the dev-local-network path uses it).
  const fetch0 = globalThis.fetch
  globalThis.fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input)
    const span = url.includes('com.atproto.repo.listRecords') && active && url.includes(encodeURIComponent(active.did)) ? reqSpans.shift() : undefined
    const res = await fetch0(input, init)
    if (!span) return res
    span.headers = performance.now()
    // readLimited reads the body through its reader: time the last chunk instead.
    const body = res.body
    if (body) {
      const getReader = body.getReader.bind(body)
      ;(body as { getReader: unknown }).getReader = () => {
        const reader = getReader()
        const read = reader.read.bind(reader)
        ;(reader as { read: unknown }).read = async () => {
          const r = await read()
          if (r.done) {
            span.body = performance.now()
            parsing = span
          }
          return r
        }
        return reader
      }
    }
    return res
  }
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
    const span = { t0: performance.now(), t1: 0, queries: [] as Span[] }
    ;(pages[writeIdx++] ??= {}).write = span
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
    fetchIdx = validateIdx = writeIdx = 0
    const origin = performance.now()
    active = { did, origin }
    const p0 = await procs()
    const c0: Record<string, number> = {}
    for (const [k, ps] of Object.entries(p0)) c0[k] = ps.reduce((a, p) => a + cpuTicks(p), 0)
    const m0 = machineTicks()
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
        const p1 = await procs()
        const wall = performance.now() - origin
        active = undefined
        const cpu: Record<string, number> = {}
        // Processes that appeared during the window count from zero.
        for (const [k, ps] of Object.entries(p1)) cpu[k] = (ps.reduce((a, p) => a + cpuTicks(p), 0) - (c0[k] ?? 0)) * 10
        report(pages, origin, wall, cpu, { busy: (m1.busy - m0.busy) * 10, idle: (m1.idle - m0.idle) * 10 }, elu.utilization)
      },
    }
  })()
}

const med = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN)
const f1 = (x: number) => x.toFixed(1)
const f2 = (x: number) => x.toFixed(2)

function report(
  pages: PageTrace[],
  origin: number,
  wall: number,
  cpu: Record<string, number>,
  machine: { busy: number; idle: number },
  elu: number,
): void {
  const n = pages.length
  const full = pages.filter((p) => p.fetch?.t1 && p.validate && p.write?.t1)
  const d = (s: Span | undefined) => (s ? s.t1 - s.t0 : NaN)
  const firstFetch = pages[0]?.fetch?.t0 ?? origin
  const lastWrite = pages.at(-1)?.write?.t1 ?? origin
  const walk = lastWrite - firstFetch
  console.log(`trace: ${n} pages; window ${f1(wall)} ms (from the follow), walk ${f1(walk)} ms (first fetch sent → last page committed), first fetch at +${f1(firstFetch - origin)} ms, probe saw all at +${f1(wall)} ms`)
  const fetchMs = full.map((p) => d(p.fetch))
  const toHeaders = full.map((p) => (p.fetch!.headers ?? NaN) - p.fetch!.t0)
  const bodyMs = full.map((p) => (p.fetch!.body ?? NaN) - (p.fetch!.headers ?? NaN))
  const parseMs = full.map((p) => d(p.fetch!.parse))
  const afterParse = full.map((p) => p.fetch!.t1 - (p.fetch!.parse?.t1 ?? NaN))
  const validateMs = full.map((p) => d(p.validate))
  const writeMs = full.map((p) => d(p.write))
  const queries = full.map((p) => p.write!.queries.length)
  const inQueries = full.map((p) => p.write!.queries.reduce((a, q) => a + (q.t1 - q.t0), 0))
  // The walk's critical path: page N+1's write waits for its fetch+validation or for page N's write.
  let waitedForFetch = 0
  let waitedForFetchMs = 0
  const gaps: number[] = []
  const overlap: number[] = []
  for (let i = 1; i < full.length; i++) {
    const prev = full[i - 1]!.write!
    const cur = full[i]!
    const gap = cur.write!.t0 - prev.t1
    gaps.push(gap)
    const ready = cur.validate!.t1
    if (ready > prev.t1) {
      waitedForFetch++
      waitedForFetchMs += ready - prev.t1
    }
    // How much of this page's fetch ran while the previous write did.
    overlap.push(Math.max(0, Math.min(cur.fetch!.t1, prev.t1) - Math.max(cur.fetch!.t0, prev.t0)))
  }
  const fetchStartLag = full.slice(1).map((p, i) => p.fetch!.t0 - full[i]!.fetch!.t1)
  console.log(
    `  per page (median): fetch ${f2(med(fetchMs))} ms (to headers ${f2(med(toHeaders))}, body ${f2(med(bodyMs))}, JSON.parse ${f2(med(parseMs))}, parse→listRecords resolved ${f2(med(afterParse))}), validate ${f2(med(validateMs))}, write ${f2(med(writeMs))} (${med(queries)} round trips, ${f2(med(inQueries))} ms in them)`,
  )
  console.log(
    `  critical path: write N+1 starts ${f2(med(gaps))} ms (median) after write N commits; ${waitedForFetch}/${full.length - 1} pages were not validated when the previous write committed (waited ${f1(waitedForFetchMs)} ms in all); fetch N+1 sent ${f2(med(fetchStartLag))} ms after fetch N resolved; overlap of fetch N+1 with write N ${f2(med(overlap))} ms`,
  )
  const sum = (xs: number[]) => xs.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0)
  console.log(
    `  sums: fetch ${f1(sum(fetchMs))} ms, validate ${f1(sum(validateMs))}, write ${f1(sum(writeMs))}, JSON.parse ${f1(sum(parseMs))}; gaps between writes ${f1(sum(gaps))} ms`,
  )
  const cpuLine = Object.entries(cpu)
    .map(([k, v]) => `${k} ${v} ms (${f2(v / Math.max(1, n))}/page)`)
    .join(', ')
  console.log(
    `  CPU over the window: ${cpuLine}; machine busy ${machine.busy} ms, idle ${machine.idle} ms of ${f1(wall * 2)} core-ms; this event loop ${f1(elu * 100)}% busy`,
  )
  if (process.env.BENCH_TRACE === 'pages') {
    console.log('  page: fetch [t0 → headers → body → parsed → t1] validate [t0 t1] write [t0 t1] (ms from the follow)')
    for (const [i, p] of pages.entries()) {
      const r = (x: number | undefined) => (x === undefined ? '-' : f1(x - origin))
      console.log(
        `  ${String(i).padStart(3)}: fetch [${r(p.fetch?.t0)} → ${r(p.fetch?.headers)} → ${r(p.fetch?.body)} → ${r(p.fetch?.parse?.t1)} → ${r(p.fetch?.t1)}] validate [${r(p.validate?.t0)} ${r(p.validate?.t1)}] write [${r(p.write?.t0)} ${r(p.write?.t1)}] q ${p.write?.queries.map((q) => f2(q.t1 - q.t0)).join(' ') ?? ''}`,
      )
    }
  }
}
