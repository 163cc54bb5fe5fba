import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IndexOp } from '../../src/ingest/ops.js'
import { jobIdForDid } from '../../src/queue.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { block, del, follow, items, like, mention, newDid, post, quote, reply, repost, write } from '../_util/index-ops.js'

/** Poll a condition (no fixed sleeps): resolves as soon as it holds, fails after `ms`. */
async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

let ingest: TestApp
beforeAll(async () => {
  ingest = await createTestApp({ ROLES: 'ingest' })
})
afterAll(async () => {
  await ingest?.close()
})

const apply = (app: TestApp, ops: IndexOp[]) => app.ctx.indexer.applyBatch(items(ops))

describe('live filter', () => {
  it('keeps tracked authors and interactions with local users, and drops the rest', async () => {
    const filter = ingest.ctx.liveFilter
    const me = newDid()
    const followed = newDid()
    const stranger = newDid()
    await ingest.ctx.indexer.trackLocalUser(me, 'operator')
    await apply(ingest, [follow(me, followed)])

    const mine = post(me)
    const theirs = post(followed)
    const unrelated = post(newDid())
    const keep: Array<[string, IndexOp]> = [
      ['a local user’s own post', mine],
      ['a followed account’s post', theirs],
      ['a followed account’s like of anything', like(followed, unrelated)],
      ['a like of a local user’s post', like(stranger, mine)],
      ['a repost of a local user’s post', repost(stranger, mine)],
      ['a reply to a local user’s post', reply(stranger, mine)],
      ['a reply in a thread a local user started', reply(stranger, unrelated, mine)],
      ['a quote of a local user’s post', quote(stranger, mine)],
      [
        'a quote with media of a local user’s post',
        post(stranger, {
          embed: {
            $type: 'app.bsky.embed.recordWithMedia',
            record: { $type: 'app.bsky.embed.record', record: { uri: mine.uri, cid: mine.cid } },
            media: { $type: 'app.bsky.embed.external', external: { uri: 'https://x.example', title: '', description: '' } },
          },
        }),
      ],
      ['a mention of a local user', mention(stranger, me)],
      ['a follow of a local user', follow(stranger, me)],
      ['a block of a local user', block(stranger, me)],
      ['an identity event of a followed account', { kind: 'identity', did: followed }],
      ['an account event of a local user', { kind: 'account', did: me, active: false, status: 'deactivated' }],
      ['a followed account’s delete', del(theirs.uri)],
    ]
    const drop: Array<[string, IndexOp]> = [
      ['a stranger’s post', unrelated],
      ['a like of a followed account’s post (not a local user’s)', like(stranger, theirs)],
      ['a reply to a stranger', reply(stranger, unrelated)],
      ['a follow of a followed account', follow(stranger, followed)],
      ['a block of someone else', block(stranger, followed)],
      ['a stranger’s identity event', { kind: 'identity', did: stranger }],
      ['a stranger’s account event', { kind: 'account', did: stranger, active: true }],
      ['a stranger’s delete', del(`at://${stranger}/app.bsky.feed.like/3kabcdefghij2`)],
      ['a record of a collection we do not index', write(stranger, 'app.bsky.graph.listitem', { subject: me })],
      ['a garbage record', { ...post(stranger), record: null } as IndexOp],
      ['not even an op', null as unknown as IndexOp],
    ]
    for (const [what, op] of keep) expect(filter.wants(op), what).toBe(true)
    for (const [what, op] of drop) expect(filter.wants(op), what).toBe(false)

    // The operator sees the filter's size on /metrics.
    const metrics = await ingest.ctx.metrics.text()
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1])
    expect(gauge('appview_tracked_dids')).toBe(filter.trackedCount)
    expect(gauge('appview_tracked_dids')).toBeGreaterThanOrEqual(2)
    expect(gauge('appview_local_users')).toBe(filter.localUserCount)
  })

  it('lets through the deletes of strangers whose interactions with a local user are stored', async () => {
    const filter = ingest.ctx.liveFilter
    const me = newDid()
    const stranger = newDid()
    await ingest.ctx.indexer.trackLocalUser(me, 'request')
    const mine = post(me)
    const l = like(stranger, mine)
    expect(filter.wants(del(l.uri))).toBe(false)
    await apply(ingest, [mine, l])
    expect(filter.wants(del(l.uri))).toBe(true)
    // …so the unlike removes the notification.
    await apply(ingest, [del(l.uri)])
    const notifs = await ingest.db.selectFrom('notification').select('id').where('recipient_did', '=', me).execute()
    expect(notifs).toEqual([])
  })
})

describe('tracking', () => {
  it('a local user’s follow tracks the followee at once and enqueues one backfill; the last unfollow untracks', async () => {
    const { indexer, liveFilter, backfillQueue } = ingest.ctx
    const me = newDid()
    const friend = newDid()
    const target = newDid()
    await indexer.trackLocalUser(me, 'request')
    await indexer.trackLocalUser(friend, 'request')
    const f1 = follow(me, target)
    const res = await apply(ingest, [f1])
    expect(res.newlyTracked).toEqual([target])
    // In the filter before applyBatch returned: the very next event from the target is kept.
    expect(liveFilter.isTracked(target)).toBe(true)
    expect(liveFilter.wants(post(target))).toBe(true)
    const row = await ingest.db.selectFrom('tracked_did').select('did').where('did', '=', target).executeTakeFirst()
    expect(row).toEqual({ did: target })
    const job = await backfillQueue.getJob(jobIdForDid(target))
    expect(job?.data).toEqual({ did: target, reason: 'follow' })

    // A second follower, and the same follow replayed: nothing new to track or enqueue.
    const f2 = follow(friend, target)
    expect((await apply(ingest, [f1, f2])).newlyTracked).toEqual([])

    const targetPost = post(target)
    await apply(ingest, [targetPost])
    await apply(ingest, [del(f1.uri)])
    expect(liveFilter.isTracked(target)).toBe(true)
    await apply(ingest, [del(f2.uri)])
    expect(liveFilter.isTracked(target)).toBe(false)
    expect(liveFilter.wants(post(target))).toBe(false)
    expect(await ingest.db.selectFrom('tracked_did').select('did').where('did', '=', target).execute()).toEqual([])
    // Its posts stay.
    expect(await ingest.db.selectFrom('post').select('uri').where('uri', '=', targetPost.uri).execute()).toHaveLength(1)
    await job?.remove().catch(() => {})
  })

  it('a stranger’s follow does not track anyone, and unfollowing a local user keeps them tracked', async () => {
    const { indexer, liveFilter } = ingest.ctx
    const me = newDid()
    const other = newDid()
    const stranger = newDid()
    await indexer.trackLocalUser(me, 'operator')
    await indexer.trackLocalUser(other, 'operator')
    const f = follow(stranger, newDid())
    expect((await apply(ingest, [f])).newlyTracked).toEqual([])
    const mf = follow(me, other)
    await apply(ingest, [mf])
    await apply(ingest, [del(mf.uri)])
    expect(liveFilter.isTracked(other)).toBe(true)
    expect(liveFilter.isLocalUser(other)).toBe(true)
  })

  it('a backfilled follow of a user who became local later still tracks the followee', async () => {
    const { indexer, liveFilter } = ingest.ctx
    const later = newDid()
    const target = newDid()
    await indexer.trackLocalUser(newDid(), 'operator')
    const f = follow(later, target)
    await apply(ingest, [f]) // stored while `later` was nobody in particular (e.g. interacting)
    expect(liveFilter.isTracked(target)).toBe(false)
    await indexer.trackLocalUser(later, 'request')
    const res = await indexer.applyBatch([{ op: { ...f, rev: undefined }, ctx: { source: 'backfill' } }])
    expect(res.newlyTracked).toEqual([target])
    expect(liveFilter.isTracked(target)).toBe(true)
    await (await ingest.ctx.backfillQueue.getJob(jobIdForDid(target)))?.remove().catch(() => {})
  })
})

describe('tracking decisions', () => {
  it('come from Postgres, not from how soon this process heard of a new local user', async () => {
    // A user made local by another process whose NOTIFY has not arrived here yet.
    const newcomer = newDid()
    const target = newDid()
    await ingest.db.insertInto('local_user').values({ did: newcomer, added_by: 'request' }).execute()
    expect(ingest.ctx.liveFilter.isLocalUser(newcomer)).toBe(false)
    const f = follow(newcomer, target)
    const res = await ingest.ctx.indexer.applyBatch([{ op: { ...f, rev: undefined }, ctx: { source: 'backfill' } }])
    expect(res.newlyTracked).toEqual([target])
    expect(ingest.ctx.liveFilter.isTracked(target)).toBe(true)
    await (await ingest.ctx.backfillQueue.getJob(jobIdForDid(target)))?.remove().catch(() => {})
  })
})

describe('across processes', () => {
  it('a tracking change made by another process reaches this one, and waitForLiveFilter proves it', async () => {
    // A second App on the same schema running only the backfill role (another process).
    const other = await createTestApp({ ROLES: 'backfill', DATABASE_SCHEMA: ingest.cfg.db.schema })
    try {
      const me = newDid()
      const target = newDid()
      await other.ctx.indexer.trackLocalUser(me, 'request')
      await until(() => ingest.ctx.liveFilter.isLocalUser(me), 10_000, 'the local user to reach the ingest filter')

      const f = follow(me, target)
      const res = await other.ctx.indexer.applyBatch(items([f]))
      expect(res.newlyTracked).toEqual([target])
      expect(other.ctx.liveFilter.isTracked(target)).toBe(true)
      // Track before list: once this returns, the ingest process keeps the target's events.
      expect(await other.ctx.liveFilter.waitForLiveFilter(target)).toBe('acknowledged')
      expect(ingest.ctx.liveFilter.isTracked(target)).toBe(true)

      await other.ctx.indexer.applyBatch(items([del(f.uri)]))
      await until(() => !ingest.ctx.liveFilter.isTracked(target), 10_000, 'the untrack to reach the ingest filter')
      await (await other.ctx.backfillQueue.getJob(jobIdForDid(target)))?.remove().catch(() => {})
    } finally {
      await other.app.destroy()
    }
  })

  it('the filter reloads and keeps listening after its LISTEN connection is cut', async () => {
    const other = await createTestApp({ ROLES: 'api', DATABASE_SCHEMA: ingest.cfg.db.schema })
    try {
      const channel = ingest.ctx.liveFilter.channel
      const { rows } = await sql<{ n: number }>`
        select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
        where query = ${`listen "${channel}"`}
      `.execute(other.db)
      expect(rows[0]!.n).toBeGreaterThan(0)
      const me = newDid()
      await other.ctx.indexer.trackLocalUser(me, 'operator')
      await until(() => ingest.ctx.liveFilter.isLocalUser(me), 15_000, 'the filter to catch up after reconnecting')
      expect(await other.ctx.liveFilter.waitForLiveFilter(newDid())).toBe('acknowledged')
    } finally {
      await other.app.destroy()
    }
  })

  it('waitForLiveFilter does not wait when no ingest process runs', async () => {
    const lone = await createTestApp({ ROLES: 'backfill' })
    try {
      const me = newDid()
      await lone.ctx.indexer.trackLocalUser(me, 'operator')
      expect(await lone.ctx.liveFilter.waitForLiveFilter(me)).toBe('no-ingest-running')
    } finally {
      await lone.close()
    }
  })

  it('an ingest process that stopped clears its heartbeat, so waiters do not wait for it', async () => {
    const second = await createTestApp({ ROLES: 'ingest' })
    const waiter = await createTestApp({ ROLES: 'backfill', DATABASE_SCHEMA: second.cfg.db.schema })
    try {
      expect(await waiter.ctx.liveFilter.waitForLiveFilter(newDid())).toBe('acknowledged')
      await second.app.destroy()
      expect(await waiter.ctx.liveFilter.waitForLiveFilter(newDid())).toBe('no-ingest-running')
    } finally {
      await waiter.app.destroy()
      await second.close()
    }
  })
})
