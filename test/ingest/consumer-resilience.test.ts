// The consumer when things go wrong: a silent socket (watchdog), a dead instance
// (failover), an outage longer than Jetstream's retention (gap), a failing database
// transaction (retry with backoff, nothing lost or doubled).
import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { IngestConsumer } from '../../src/ingest/consumer.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { metricValue, startIngest } from '../_util/ingest.js'
import { postEvent, postUri } from '../_util/jetstream-events.js'
import { TestJetstream } from '../_util/jetstream-server.js'

let t: TestApp
let local: string
const running: Array<{ stop: () => Promise<void> }> = []

beforeAll(async () => {
  t = await createTestApp({ ROLES: 'api,ingest', JETSTREAM_COMPRESS: 'false' })
  local = 'did:plc:resiliencelocaluser2222'
  await t.ctx.indexer.trackLocalUser(local, 'operator')
})
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop()
})
afterAll(async () => {
  await t?.close()
})

async function server(): Promise<TestJetstream> {
  const js = await TestJetstream.start()
  running.push({ stop: () => js.close() })
  return js
}

async function ingest(urls: string[], opts: Parameters<typeof startIngest>[1]['jetstream'] = {}, onApp = false) {
  const c = await startIngest(t, { urls, jetstream: opts, onApp })
  running.push({ stop: () => c.destroy() })
  return c
}

async function postsOf(did: string, text: string) {
  return t.db.selectFrom('post').select('uri').where('author_did', '=', did).where(sql`record->>'text'`, '=', text).execute()
}

async function reconnects(c: IngestConsumer, reason: string): Promise<number> {
  const m = await c.metrics.reconnects.get()
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0
}

async function until(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('ingest resilience', () => {
  it('records a gap when the stored cursor is older than the retention window, and shows it in /ready and /metrics', async () => {
    const staleCursor = (Date.now() - 48 * 3600 * 1000) * 1000
    await t.db
      .insertInto('ingest_state')
      .values({ id: 'jetstream', cursor_time_us: staleCursor })
      .onConflict((oc) => oc.column('id').doUpdateSet({ cursor_time_us: staleCursor }))
      .execute()
    const js = await server()
    // Jetstream only has the recent past: the replay starts at its oldest event.
    const [first] = js.push(postEvent(local, { text: 'first after outage' }))
    const c = await ingest([js.url], { retentionHours: 24 }, true)
    const conn = await js.waitForConnections(1)
    expect(conn.cursor).toBe(staleCursor - 10_000_000)
    await c.waitForCursor(first.time_us)

    const gaps = await t.db.selectFrom('ingest_gap').selectAll().where('closed_at', 'is', null).execute()
    expect(gaps.map((g) => [Number(g.from_time_us), Number(g.to_time_us)])).toEqual([[staleCursor, first.time_us]])
    expect(await postsOf(local, 'first after outage')).toHaveLength(1)

    const ready = (await (await fetch(`${t.app.url}/ready`)).json()) as { checks: { ingest: { openGaps: unknown[]; cursorTimeUs: number } } }
    expect(ready.checks.ingest.openGaps).toEqual([
      expect.objectContaining({ fromTimeUs: staleCursor, toTimeUs: first.time_us }),
    ])
    expect(ready.checks.ingest.cursorTimeUs).toBe(first.time_us)
    expect(metricValue(await t.app.metrics.text(), 'appview_ingest_open_gaps')).toBe(1)
    await t.db.updateTable('ingest_gap').set({ closed_at: new Date() }).execute()
  })

  it('reconnects when the socket goes silent (watchdog) and resumes at cursor − rewind', async () => {
    const js = await server()
    const c = await ingest([js.url], { watchdogSeconds: 1, rewindSeconds: 10 })
    await js.waitForConnections(1)
    const [before] = js.push(postEvent(local, { text: 'before silence' }))
    await c.waitForCursor(before.time_us)
    js.goSilent()
    const [during] = js.push(postEvent(local, { text: 'sent into the silence' }))
    const second = await js.waitForConnections(2)
    expect(second.cursor).toBe(before.time_us - 10_000_000)
    await c.waitForCursor(during.time_us)
    expect(await postsOf(local, 'sent into the silence')).toHaveLength(1)
    expect(await reconnects(c, 'watchdog')).toBe(1)
  })

  it('fails over to the second URL when the first refuses, and back when the second dies', async () => {
    const a = await server()
    const b = await server()
    a.refuse = true
    const c = await ingest([a.url, b.url])
    await b.waitForConnections(1)
    const [viaB] = b.push(postEvent(local, { text: 'via the second instance' }))
    await c.waitForCursor(viaB.time_us)
    expect(await postsOf(local, 'via the second instance')).toHaveLength(1)

    a.refuse = false
    b.refuse = true
    b.dropConnections()
    await a.waitForConnections(1)
    const [viaA] = a.push(postEvent(local, { text: 'back on the first' }))
    await c.waitForCursor(viaA.time_us)
    expect(await postsOf(local, 'back on the first')).toHaveLength(1)
    expect(await reconnects(c, 'connect_failed')).toBeGreaterThanOrEqual(1)
  })

  it('stops reading the socket while the database is down, so the queue stays bounded, and loses nothing', async () => {
    const js = await server()
    const c = await ingest([js.url], { batchSize: 5 })
    await js.waitForConnections(1)
    await sql`alter table feed_item rename to feed_item_away`.execute(t.db)
    let renamedBack = false
    try {
      const burst = js.push(...Array.from({ length: 2_000 }, (_, i) => postEvent(local, { text: `burst ${i}` })))
      await until(async () => (await c.metrics.batchFailures.get()).values[0].value >= 3, 'failed attempts')
      // 4 batches of 5 are queued at most, plus what the socket had already read when paused.
      expect(c.uncommittedCount).toBeGreaterThanOrEqual(20)
      expect(c.uncommittedCount).toBeLessThan(400)
      await sql`alter table feed_item_away rename to feed_item`.execute(t.db)
      renamedBack = true
      await c.waitForCursor(burst[burst.length - 1].time_us, 60_000)
      const n = await t.db.selectFrom('post').select(sql<string>`count(*)`.as('n')).where('author_did', '=', local).where(sql`record->>'text'`, 'like', 'burst %').executeTakeFirstOrThrow()
      expect(Number(n.n)).toBe(2_000)
    } finally {
      if (!renamedBack) await sql`alter table feed_item_away rename to feed_item`.execute(t.db)
    }
  })

  it('processAll() commits what was received without waiting for the batch time', async () => {
    const js = await server()
    const c = await ingest([js.url], { batchMs: 60_000 })
    await js.waitForConnections(1)
    const [e] = js.push(postEvent(local, { text: 'flushed on demand' }))
    await until(() => c.uncommittedCount === 1, 'the event to be received')
    expect(c.committedCursor ?? 0).toBeLessThan(e.time_us)
    await c.processAll()
    expect(c.committedCursor).toBe(e.time_us)
    expect(c.uncommittedCount).toBe(0)
    expect(await postsOf(local, 'flushed on demand')).toHaveLength(1)
  })

  it('retries a batch whose transaction fails and commits it once the database recovers', async () => {
    const js = await server()
    const c = await ingest([js.url])
    await js.waitForConnections(1)
    await sql`alter table feed_item rename to feed_item_away`.execute(t.db)
    let renamedBack = false
    try {
      const [e] = js.push(postEvent(local, { text: 'written during an outage' }))
      await until(async () => (await c.metrics.batchFailures.get()).values[0].value >= 2, 'two failed attempts')
      expect(c.committedCursor ?? 0).toBeLessThan(e.time_us)
      await sql`alter table feed_item_away rename to feed_item`.execute(t.db)
      renamedBack = true
      await c.waitForCursor(e.time_us)
      const rows = await postsOf(local, 'written during an outage')
      expect(rows).toEqual([{ uri: postUri(local, e.commit!.rkey) }])
      const feed = await t.db.selectFrom('feed_item').select('uri').where('uri', '=', rows[0].uri).execute()
      expect(feed).toHaveLength(1)
      const state = await t.db.selectFrom('ingest_state').select('cursor_time_us').where('id', '=', 'jetstream').executeTakeFirstOrThrow()
      expect(Number(state.cursor_time_us)).toBe(e.time_us)
    } finally {
      if (!renamedBack) await sql`alter table feed_item_away rename to feed_item`.execute(t.db)
    }
  })
})
