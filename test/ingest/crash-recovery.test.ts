// SIGKILL mid-stream: the real process (src/bin.ts, ROLES=ingest) is killed while it is
// committing batches, restarted, and must end with exactly the database of a run that never
// crashed — no lost event, no duplicate, equal counters — because the cursor is committed in
// the same transaction as the writes and every replayed write is idempotent.
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { TEST_DATABASE_URL, TEST_REDIS_URL, uniqueSchema } from '../_util/config.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { startIngest } from '../_util/ingest.js'
import {
  accountEvent,
  createEvent,
  deleteEvent,
  followEvent,
  identityEvent,
  likeEvent,
  postEvent,
  postUri,
  repostEvent,
} from '../_util/jetstream-events.js'
import { TestJetstream, type JetstreamEventInput } from '../_util/jetstream-server.js'
import { spawnAppview, type Exited } from '../_util/spawn-appview.js'

const LOCALS = ['did:plc:crashlocalaaaaaaaaaaaaaa', 'did:plc:crashlocalbbbbbbbbbbbbbb']
const AUTHORS = Array.from({ length: 6 }, (_, i) => `did:plc:crashauthor${'abcdef'[i]}aaaaaaaaaaaa`)
const STRANGERS = Array.from({ length: 20 }, (_, i) => `did:plc:crashstranger${String.fromCharCode(97 + i)}aaaaaaaaaa`)

/** Deterministic pseudo-random choice (so a failure reproduces). */
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
}

/** A stream exercising every path: tracking via follows, counters, notifications, deletes. */
function workload(count: number): JetstreamEventInput[] {
  const rand = rng(7)
  const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)]
  const events: JetstreamEventInput[] = []
  const posts: Array<{ did: string; rkey: string }> = []
  const deletable: Array<{ did: string; collection: string; rkey: string }> = []
  for (const l of LOCALS) for (const a of AUTHORS) events.push(followEvent(l, a))
  while (events.length < count) {
    const x = rand()
    const actor = rand() < 0.6 ? pick(AUTHORS) : rand() < 0.5 ? pick(LOCALS) : pick(STRANGERS)
    if (x < 0.3 || posts.length === 0) {
      const e = postEvent(actor, { text: `post ${events.length}` })
      posts.push({ did: actor, rkey: e.commit!.rkey })
      events.push(e)
    } else if (x < 0.65) {
      const p = pick(posts)
      const e = likeEvent(actor, postUri(p.did, p.rkey))
      deletable.push({ did: actor, collection: 'app.bsky.feed.like', rkey: e.commit!.rkey })
      events.push(e)
    } else if (x < 0.8) {
      const p = pick(posts)
      const e = repostEvent(actor, postUri(p.did, p.rkey))
      deletable.push({ did: actor, collection: 'app.bsky.feed.repost', rkey: e.commit!.rkey })
      events.push(e)
    } else if (x < 0.86) {
      events.push(followEvent(pick(STRANGERS), pick(LOCALS)))
    } else if (x < 0.93 && deletable.length > 0) {
      const d = deletable.splice(Math.floor(rand() * deletable.length), 1)[0]
      events.push(deleteEvent(d.did, d.collection, d.rkey))
    } else if (x < 0.96) {
      const p = pick(posts)
      events.push(deleteEvent(p.did, 'app.bsky.feed.post', p.rkey))
    } else if (x < 0.98) {
      events.push(createEvent({ did: pick(AUTHORS), collection: 'app.bsky.actor.profile', rkey: 'self', record: { displayName: `name ${events.length}` } }))
    } else if (x < 0.99) {
      const a = pick(AUTHORS)
      events.push(identityEvent(a, `${a.slice(8, 20)}.test`))
    } else {
      events.push(accountEvent(pick(AUTHORS), true))
    }
  }
  return events
}

// Columns that record when *we* did something (wall clock of the run), not what the stream said.
const VOLATILE = new Set(['indexed_at', 'updated_at', 'tracked_at', 'tracked_seq', 'deleted_at', 'id'])
const TABLES: Array<[string, string, string[]]> = [
  ['actor', 'did', []],
  ['post', 'uri', []],
  ['repost', 'uri', []],
  ['like', 'uri', []],
  ['follow', 'uri', []],
  ['block', 'uri', []],
  ['feed_item', 'uri', []],
  ['tombstone', 'uri', []],
  ['notification', 'recipient_did, record_uri, reason', []],
  ['tracked_did', 'did', ['backfill_state', 'backfill_error', 'backfill_horizon', 'backfill_progress', 'records_indexed', 'backfill_started_at', 'backfill_completed_at']],
  ['local_user', 'did', ['created_at', 'onboarding_state', 'onboarding_error', 'onboarded_at']],
  ['ingest_state', 'id', []],
]

async function snapshot(t: TestApp): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {}
  for (const [table, order, skip] of TABLES) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by ${sql.raw(order)}`.execute(t.db)
    out[table] = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !VOLATILE.has(k) && !skip.includes(k))))
  }
  return out
}

async function prepare(schema: string, cursor: number, roles = 'api'): Promise<TestApp> {
  const t = await createTestApp({ ROLES: roles, DATABASE_SCHEMA: schema })
  for (const l of LOCALS) await t.ctx.indexer.trackLocalUser(l, 'operator')
  await t.db.insertInto('ingest_state').values({ id: 'jetstream', cursor_time_us: cursor }).execute()
  return t
}

async function cursorOf(t: TestApp): Promise<number> {
  const row = await t.db.selectFrom('ingest_state').select('cursor_time_us').where('id', '=', 'jetstream').executeTakeFirst()
  return Number(row?.cursor_time_us ?? 0)
}

async function until(cond: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const opened: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const close of opened.reverse()) await close().catch(() => {})
})

describe('ingest crash recovery', () => {
  it('after SIGKILL mid-stream and a restart, the database equals that of a run that never crashed', async () => {
    const js = await TestJetstream.start()
    opened.push(() => js.close())
    const events = workload(1_500)
    const startCursor = Date.now() * 1000 - 1
    const crashSchema = uniqueSchema('crash')
    const crashed = await prepare(crashSchema, startCursor)
    opened.push(() => crashed.close())

    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      PORT: '0',
      HOST: '127.0.0.1',
      ROLES: 'ingest',
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: crashSchema,
      REDIS_URL: TEST_REDIS_URL,
      JETSTREAM_URL: js.url,
      JETSTREAM_COMPRESS: 'true',
      INGEST_BATCH_SIZE: '20',
      INGEST_BATCH_MS: '10',
    }
    const first = spawnAppview(env)
    opened.push(async () => first.child.kill('SIGKILL'))
    await js.waitForConnections(1)

    // Feed the stream in chunks and kill the process once half of it is committed: the kill
    // lands mid-stream by construction, while batches are being written.
    const half = Math.floor(events.length / 2)
    let pushed = 0
    let killedAt = 0
    let exit: Exited | undefined
    while (pushed < events.length) {
      const chunk = js.push(...events.slice(pushed, pushed + 25))
      pushed += chunk.length
      if (!exit && pushed >= half) {
        const target = js.log[half - 1].time_us
        await until(async () => (await cursorOf(crashed)) >= target, 'half the stream committed')
        first.child.kill('SIGKILL')
        exit = await first.exited
        killedAt = await cursorOf(crashed)
      }
      await new Promise((r) => setTimeout(r, 2))
    }
    expect(exit?.signal).toBe('SIGKILL')
    const last = js.log[js.log.length - 1].time_us
    expect(killedAt).toBeGreaterThanOrEqual(js.log[half - 1].time_us)
    expect(killedAt).toBeLessThan(last)

    const second = spawnAppview(env)
    opened.push(async () => second.child.kill('SIGKILL'))
    await until(async () => (await cursorOf(crashed)) >= last, 'the restarted process to catch up')
    second.child.kill('SIGTERM')
    const stopped = await second.exited
    expect(stopped.code).toBe(0)

    // The reference: one uninterrupted run over the same stream.
    const reference = await prepare(uniqueSchema('nocrash'), startCursor, 'api,ingest')
    opened.push(() => reference.close())
    const consumer = await startIngest(reference, { urls: [js.url] })
    await consumer.waitForCursor(last, 60_000)
    await consumer.destroy()

    const [got, want] = [await snapshot(crashed), await snapshot(reference)]
    for (const [table] of TABLES) expect(got[table], table).toEqual(want[table])
    // The stream really did exercise the paths whose counters could double.
    expect(want.post.length).toBeGreaterThan(100)
    expect(want.like.length).toBeGreaterThan(50)
    expect(want.notification.length).toBeGreaterThan(10)
    expect(want.tombstone.length).toBeGreaterThan(10)
  })
})
