// Backfill against a real PDS + PLC: a followee's history, onboarding, races with the live
// stream, and a PDS that fails (behind a fault-injecting proxy).
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { enqueueBackfill } from '../../src/backfill/enqueue.js'
import { Onboarding } from '../../src/backfill/onboarding.js'
import {
  createFollow,
  createPost,
  createRepost,
  deleteRecord,
  seedPosts,
  setProfile,
  waitFor,
  type TestAccount,
} from '../_util/network.js'
import { startBackfillEnv, type BackfillEnv } from './harness.js'

const DAY = 24 * 3600 * 1000

describe('backfill', () => {
  let env: BackfillEnv
  let reader: TestAccount

  beforeAll(async () => {
    env = await startBackfillEnv({ faultProxy: true, retry: { attempts: 2, backoffMs: 50 } })
    reader = await env.net.createAccount('ureader')
    const admitted = await env.app.ctx.onboarding.admit(reader.did, 'operator')
    expect(admitted).toEqual({ admitted: true, created: true })
    await env.settle()
  })
  afterAll(async () => {
    await env?.close()
  })

  const db = () => env.app.db
  const tracked = (did: string) =>
    db().selectFrom('tracked_did').selectAll().where('did', '=', did).executeTakeFirst()
  const proxy = () => env.net.proxy!

  it('a followed account with history: its posts and reposts appear, in createdAt order', async () => {
    const other = await env.net.createAccount('uother')
    const otherPosts = [
      await createPost(other, 'something worth reposting', { createdAt: new Date(Date.now() - 20 * DAY).toISOString() }),
      await createPost(other, 'and this too', { createdAt: new Date(Date.now() - 19 * DAY).toISOString() }),
    ]
    const author = await env.net.createAccount('uhistorian')
    await setProfile(author, { displayName: 'The Historian' })
    // 230 posts, one an hour, ending 2 days ago (3 listRecords pages), plus two reposts
    // whose own times fall between the posts.
    const posts = await seedPosts(author, 230, { start: new Date(Date.now() - 2 * DAY - 230 * 3600_000), stepMs: 3600_000 })
    const reposts = [
      await createRepost(author, otherPosts[0]!, new Date(Date.now() - 2 * DAY - 100.5 * 3600_000).toISOString()),
      await createRepost(author, otherPosts[1]!, new Date(Date.now() - 2 * DAY - 5.5 * 3600_000).toISOString()),
    ]
    await env.settle()
    expect(await db().selectFrom('post').select('uri').where('author_did', '=', author.did).execute()).toHaveLength(0)

    await createFollow(reader, author.did)
    await env.settle()

    const items = await db()
      .selectFrom('feed_item')
      .select(['uri', 'type', 'sort_at'])
      .where('originator_did', '=', author.did)
      .orderBy('sort_at', 'desc')
      .orderBy('uri', 'desc')
      .execute()
    const expected = [...posts, ...reposts].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    expect(items.map((i) => i.uri)).toEqual(expected.map((p) => p.uri))
    expect(items.filter((i) => i.type === 'repost')).toHaveLength(2)
    const state = await tracked(author.did)
    expect(state?.backfill_state).toBe('complete')
    expect(state?.backfill_error).toBeNull()
    expect(state?.records_indexed).toBeGreaterThanOrEqual(233)
    expect(state?.backfill_completed_at).toBeInstanceOf(Date)
    const actor = await db().selectFrom('actor').selectAll().where('did', '=', author.did).executeTakeFirst()
    expect(actor?.display_name).toBe('The Historian')
    expect(actor?.handle).toBe('uhistorian.test')
    expect(actor?.posts_count).toBe(230)
  })

  it('onboarding a user with follows (more than one page) backfills every followee and their own posts', async () => {
    const followees: TestAccount[] = []
    const followeePosts: string[] = []
    for (const name of ['ufa', 'ufb', 'ufc']) {
      const f = await env.net.createAccount(name)
      followees.push(f)
      for (const p of await seedPosts(f, 12, { prefix: name })) followeePosts.push(p.uri)
    }
    const newbie = await env.net.createAccount('unewbie')
    for (const f of followees) await createFollow(newbie, f.did)
    // 100+ more follows of DIDs nobody can resolve: the listing needs a second page, and
    // those backfills fail for good without blocking anything else.
    const ghostWrites = Array.from({ length: 100 }, (_, i) => ({
      $type: 'com.atproto.repo.applyWrites#create' as const,
      collection: 'app.bsky.graph.follow',
      value: {
        $type: 'app.bsky.graph.follow',
        subject: `did:plc:${'ghost'.padEnd(20, 'a')}${String(i).padStart(4, '0')}`,
        createdAt: new Date().toISOString(),
      },
    }))
    await newbie.agent.com.atproto.repo.applyWrites({ repo: newbie.did, writes: ghostWrites })
    const own = await seedPosts(newbie, 7, { prefix: 'mine' })
    await env.settle()

    expect(await env.app.ctx.onboarding.admit(newbie.did, 'request')).toEqual({ admitted: true, created: true })
    await env.settle()

    const follows = await db().selectFrom('follow').select('subject_did').where('author_did', '=', newbie.did).execute()
    expect(follows).toHaveLength(103)
    const stored = await db()
      .selectFrom('post')
      .select('uri')
      .where('uri', 'in', [...followeePosts, ...own.map((p) => p.uri)])
      .execute()
    expect(stored).toHaveLength(followeePosts.length + own.length)
    const user = await db().selectFrom('local_user').selectAll().where('did', '=', newbie.did).executeTakeFirst()
    expect(user?.onboarding_state).toBe('complete')
    for (const f of followees) expect((await tracked(f.did))?.backfill_state).toBe('complete')
    const ghost = await tracked(`did:plc:${'ghost'.padEnd(20, 'a')}0007`)
    expect(ghost?.backfill_state).toBe('failed')
    expect(ghost?.backfill_error).toMatch(/not found/i)
  })

  it('a post created while the backfill is listing (and delivered by the stream) is stored once', async () => {
    const author = await env.net.createAccount('uracer')
    await seedPosts(author, 20)
    await env.settle()
    const held = proxy().hold(`listRecords?repo=${encodeURIComponent(author.did)}`, 'request')
    await createFollow(reader, author.did)
    await held.arrived
    // Tracked before listing: the stream keeps this post while the listing is on hold …
    const during = await createPost(author, 'posted mid-backfill')
    await env.bridge.caughtUp()
    const last = env.js.log[env.js.log.length - 1]!
    await env.ingest.waitForCursor(last.time_us)
    expect(await db().selectFrom('post').select('uri').where('uri', '=', during.uri).executeTakeFirst()).toBeDefined()
    // … and the listing, released now, returns it again.
    held.release()
    await env.settle()
    const rows = await db().selectFrom('post').select('uri').where('author_did', '=', author.did).execute()
    expect(rows).toHaveLength(21)
    const items = await db().selectFrom('feed_item').select('uri').where(sql`coalesce(post_uri, uri)`, '=', during.uri).execute()
    expect(items).toHaveLength(1)
    const actor = await db().selectFrom('actor').select('posts_count').where('did', '=', author.did).executeTakeFirst()
    expect(actor?.posts_count).toBe(21)
  })

  it('a post deleted while the backfill page is in flight does not come back', async () => {
    const author = await env.net.createAccount('udeleter')
    const posts = await seedPosts(author, 10)
    const doomed = posts[9]! // newest: on the first page
    await env.settle()
    const held = proxy().hold(`listRecords?repo=${encodeURIComponent(author.did)}&collection=app.bsky.feed.post`, 'response')
    await createFollow(reader, author.did)
    await held.arrived // the PDS has answered with the post in the page; not delivered yet
    await deleteRecord(author, doomed.uri)
    await env.bridge.caughtUp()
    await env.ingest.waitForCursor(env.js.log[env.js.log.length - 1]!.time_us)
    held.release()
    await env.settle()
    expect(await db().selectFrom('post').select('uri').where('uri', '=', doomed.uri).executeTakeFirst()).toBeUndefined()
    expect(await db().selectFrom('feed_item').select('uri').where('uri', '=', doomed.uri).executeTakeFirst()).toBeUndefined()
    const rows = await db().selectFrom('post').select('uri').where('author_did', '=', author.did).execute()
    expect(rows).toHaveLength(9)
    expect((await tracked(author.did))?.backfill_state).toBe('complete')
  })

  it('the PDS answering 500 (then 200) is retried and the backfill completes', async () => {
    const author = await env.net.createAccount('uflaky')
    const posts = await seedPosts(author, 15)
    await env.settle()
    const before = proxy().count(`listRecords?repo=${encodeURIComponent(author.did)}`)
    proxy().failNext(`listRecords?repo=${encodeURIComponent(author.did)}`, 2, 500)
    await createFollow(reader, author.did)
    await env.settle()
    expect(proxy().count(`listRecords?repo=${encodeURIComponent(author.did)}`) - before).toBeGreaterThanOrEqual(4)
    const rows = await db().selectFrom('post').select('uri').where('author_did', '=', author.did).execute()
    expect(rows.map((r) => r.uri).sort()).toEqual(posts.map((p) => p.uri).sort())
    const state = await tracked(author.did)
    expect(state?.backfill_state).toBe('complete')
    expect(state?.backfill_error).toBeNull()
  })

  it('a job that fails mid-walk resumes from the page it reached when retried', async () => {
    const author = await env.net.createAccount('uresumer')
    const posts = await seedPosts(author, 250)
    await env.settle()
    const listing = `listRecords?repo=${encodeURIComponent(author.did)}&collection=app.bsky.feed.post`
    // Every attempt the PDS client makes at the second page fails: the first job attempt gives up there.
    proxy().failNext(`${listing}&limit=100&cursor=`, 4, 502)
    await createFollow(reader, author.did)
    await env.settle()
    const requests = env.net.proxy!.requests.filter((r) => r.includes(listing))
    // Page 1 was listed once: the retry started from the saved cursor, not from the top.
    expect(requests.filter((r) => !r.includes('cursor='))).toHaveLength(1)
    expect(requests.length).toBe(1 + 4 + 2) // page 1, four failures at page 2, then pages 2 and 3
    const rows = await db().selectFrom('post').select('uri').where('author_did', '=', author.did).execute()
    expect(rows.map((r) => r.uri).sort()).toEqual(posts.map((p) => p.uri).sort())
    const state = await tracked(author.did)
    expect(state?.backfill_state).toBe('complete')
    expect(state?.records_indexed).toBe(250)
    expect(state?.backfill_progress).toBeNull()
  })

  it('a 429 with Retry-After is waited out and then completed', async () => {
    const author = await env.net.createAccount('uratelimited')
    await seedPosts(author, 5)
    await env.settle()
    proxy().failNext(`listRecords?repo=${encodeURIComponent(author.did)}`, 1, 429, {
      retryAfter: '1',
      body: JSON.stringify({ error: 'RateLimitExceeded', message: 'slow down' }),
    })
    const started = Date.now()
    await createFollow(reader, author.did)
    await env.settle()
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
    expect((await tracked(author.did))?.backfill_state).toBe('complete')
    expect(await db().selectFrom('post').select('uri').where('author_did', '=', author.did).execute()).toHaveLength(5)
  })

  it('the PDS down: the job fails after its retries and the DID’s state says why', async () => {
    const user = await env.net.createAccount('ustranded')
    await env.settle()
    const onboarding = new Onboarding({
      db: db(),
      admission: env.app.cfg.admission,
      tracker: env.app.ctx.indexer,
      queue: env.app.ctx.backfillQueue,
      log: env.app.ctx.log,
      retry: { attempts: 2, backoffMs: 50 },
    })
    await proxy().down()
    try {
      expect(await onboarding.admit(user.did, 'operator')).toEqual({ admitted: true, created: true })
      const state = await waitFor(
        async () => {
          const s = await tracked(user.did)
          return s?.backfill_state === 'failed' ? s : undefined
        },
        { timeoutMs: 30_000, message: 'the backfill never failed' },
      )
      expect(state.backfill_error).toMatch(/ECONNREFUSED|unreachable|refused/i)
      const local = await db().selectFrom('local_user').selectAll().where('did', '=', user.did).executeTakeFirst()
      expect(local?.onboarding_state).toBe('failed')
      // BullMQ moves the job to failed just after the processor has stored why.
      const job = await waitFor(
        async () => {
          const j = await env.app.ctx.backfillQueue.getJob(encodeURIComponent(user.did))
          return (await j?.getState()) === 'failed' ? j : undefined
        },
        { timeoutMs: 10_000, message: 'the job never reached the failed state' },
      )
      expect(job.attemptsMade).toBe(2)
    } finally {
      await proxy().up()
    }
    // The operator retries once the PDS is back: it completes.
    await onboarding.enqueueOnboarding(user.did)
    await env.settle()
    expect((await tracked(user.did))?.backfill_state).toBe('complete')
  })

  it('skips and counts malformed records without failing the backfill', async () => {
    const author = await env.net.createAccount('umalformed')
    const good = await seedPosts(author, 3)
    // The PDS stores what it is told when validation is off: a post whose text is a number.
    await author.agent.com.atproto.repo.createRecord({
      repo: author.did,
      collection: 'app.bsky.feed.post',
      record: { $type: 'app.bsky.feed.post', text: 42, createdAt: new Date().toISOString() },
      validate: false,
    })
    await env.settle()
    const malformedBefore = await metricValue('appview_backfill_records_malformed_total', { collection: 'app.bsky.feed.post' })
    await createFollow(reader, author.did)
    await env.settle()
    const rows = await db().selectFrom('post').select('uri').where('author_did', '=', author.did).execute()
    expect(rows.map((r) => r.uri).sort()).toEqual(good.map((p) => p.uri).sort())
    expect((await tracked(author.did))?.backfill_state).toBe('complete')
    expect(await metricValue('appview_backfill_records_malformed_total', { collection: 'app.bsky.feed.post' })).toBe(
      malformedBefore + 1,
    )
  })

  async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
    const metric = env.app.ctx.metrics.registry.getSingleMetric(name)
    const values = (await metric!.get()).values
    const v = values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val))
    return v?.value ?? 0
  }

  it('exposes jobs by state, records indexed, errors by reason and per-host in-flight requests', async () => {
    const text = await env.app.ctx.metrics.text()
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN)
    expect(value(/^appview_backfill_records_indexed_total\{collection="app.bsky.feed.post"\} (\d+)$/m)).toBeGreaterThan(300)
    expect(value(/^appview_backfill_jobs\{state="failed"\} (\d+)$/m)).toBeGreaterThanOrEqual(1)
    expect(value(/^appview_backfill_jobs\{state="completed"\} (\d+)$/m)).toBeGreaterThanOrEqual(5)
    expect(value(/^appview_backfill_errors_total\{reason="unreachable"\} (\d+)$/m)).toBeGreaterThanOrEqual(2)
    expect(value(/^appview_backfill_errors_total\{reason="identity"\} (\d+)$/m)).toBeGreaterThanOrEqual(100)
    expect(text).toMatch(new RegExp(`^appview_pds_requests_in_flight\\{host="${new URL(env.net.pdsUrl).host}"\\} 0$`, 'm'))
    expect(value(/^appview_pds_retries_total\{reason="http_500"\} (\d+)$/m)).toBeGreaterThanOrEqual(2)
  })

  it('a second request for a DID already queued does not duplicate the job', async () => {
    const queue = env.app.ctx.backfillQueue
    const did = 'did:plc:duplicatecheckaaaaaaaaa'
    await queue.pause()
    try {
      const target = { queue, db: env.app.ctx.db.db }
      await enqueueBackfill(target, { did, reason: 'follow' })
      await enqueueBackfill(target, { did, reason: 'follow' })
      await enqueueBackfill(target, { did, reason: 'operator' })
      const jobs = (await queue.getJobs(['waiting', 'prioritized'])).filter((j) => j.data.did === did)
      expect(jobs).toHaveLength(1)
      await jobs[0]!.remove()
    } finally {
      await queue.resume()
    }
  })
})
