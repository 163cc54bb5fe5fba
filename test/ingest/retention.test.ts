// Retention: what ages past the BACKFILL_DAYS horizon is pruned (src/ingest/prune.ts) by the
// retention component (src/ingest/retention.ts), against real Postgres, with a real PLC + PDS
// for the timeline check (genuine service-auth tokens, lexicon-validated answers).
import { sql } from 'kysely'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppContext } from '../../src/app.js'
import type { RecordWriteOp } from '../../src/ingest/ops.js'
import { tombstoneCutoff } from '../../src/ingest/prune.js'
import { Retention, retentionComponent } from '../../src/ingest/retention.js'
import { ReadApiHarness } from '../api/_harness.js'
import { testConfig } from '../_util/config.js'
import { del, follow, like, newDid, post, quote, reply, repost } from '../_util/index-ops.js'
import { createPost, waitFor, type TestAccount } from '../_util/network.js'

const DAY = 24 * 3_600_000
const daysAgo = (d: number) => new Date(Date.now() - d * DAY).toISOString()
/** The op with its record's createdAt set (so its sort_at) to `iso`. */
const at = (op: RecordWriteOp, iso: string): RecordWriteOp => {
  ;(op.record as Record<string, unknown>).createdAt = iso
  return op
}

let h: ReadApiHarness
let alice: TestAccount // local user
let retention: Retention
let registry: Registry

beforeAll(async () => {
  h = await ReadApiHarness.start({ ROLES: 'api,ingest', BACKFILL_DAYS: '30' })
  alice = await h.net.createAccount('alice')
  await h.t.ctx.indexer.trackLocalUser(alice.did, 'operator')
  registry = new Registry()
  retention = new Retention({
    db: h.t.ctx.db,
    indexer: h.t.ctx.indexer,
    registry,
    log: h.t.ctx.log,
    days: h.t.cfg.backfill.days,
    retentionHours: h.t.cfg.jetstream.retentionHours,
  })
  await retention.start()
}, 120_000)
afterAll(async () => {
  await retention?.destroy()
  await h?.close()
})

const db = () => h.t.db
const exists = async (table: 'post' | 'repost' | 'like' | 'feed_item' | 'tombstone', uri: string) =>
  (await db().selectFrom(table).select('uri').where('uri', '=', uri).executeTakeFirst()) !== undefined
const countAll = async (table: string) =>
  Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db())).rows[0]!.n)

describe('retention', () => {
  const bob = newDid() // tracked (alice follows bob)
  const stranger = newDid() // untracked: only interactions with alice are stored

  function build() {
    // alice's own history, old: stays whatever its age
    const aliceOld = at(post(alice.did, { text: 'alice, long ago' }), daysAgo(60))
    const bobOldPost = at(post(bob, { text: 'bob, long ago' }), daysAgo(45))
    const aliceOldLike = at(like(alice.did, bobOldPost), daysAgo(44))
    const bobReposted = at(post(bob, { text: 'old, reposted by alice' }), daysAgo(50))
    const aliceOldRepost = at(repost(alice.did, bobReposted), daysAgo(40))
    // interactions with alice's old post, all old: pruned, but her post's counters stay
    const bobOldLikeOfAlice = at(like(bob, aliceOld), daysAgo(40))
    const bobOldRepostOfAlice = at(repost(bob, aliceOld), daysAgo(40))
    const strangerOldReply = at(reply(stranger, aliceOld), daysAgo(39))
    const bobOldQuote = at(quote(bob, aliceOld), daysAgo(38))
    // recent: stays
    const bobNew = at(post(bob, { text: 'bob, this week' }), daysAgo(2))
    const bobNewReplyToOld = at(reply(bob, bobOldPost), daysAgo(1))
    const strangerNewLikeOfAlice = at(like(stranger, aliceOld), daysAgo(1))
    const bobNewLike = at(like(bob, bobNew), daysAgo(1))
    // deleted records: one tombstone made old below, one recent
    const bobGoneLongAgo = at(post(bob, { text: 'deleted long ago' }), daysAgo(35))
    const bobGoneRecently = at(post(bob, { text: 'deleted today' }), daysAgo(3))
    // an old thread nothing recent points at: goes leaf first, a level per run
    const oldThreadRoot = at(post(bob, { text: 'old thread' }), daysAgo(45))
    const oldThreadReply = at(reply(stranger, oldThreadRoot), daysAgo(44))
    return { aliceOld, bobOldPost, aliceOldLike, bobReposted, aliceOldRepost, bobOldLikeOfAlice, bobOldRepostOfAlice, strangerOldReply, bobOldQuote, bobNew, bobNewReplyToOld, strangerNewLikeOfAlice, bobNewLike, bobGoneLongAgo, bobGoneRecently, oldThreadRoot, oldThreadReply }
  }
  let o: ReturnType<typeof build>

  let before: { aliceOld: any; bobPostsCount: number; maxNotification: number }
  let run: Awaited<ReturnType<Retention['runNow']>>

  beforeAll(async () => {
    o = build()
    await h.index(follow(alice.did, bob, {}), { kind: 'identity', did: alice.did, handle: 'alice.test' })
    await h.index(
      o.aliceOld,
      o.bobOldPost,
      o.aliceOldLike,
      o.bobReposted,
      o.aliceOldRepost,
      o.bobOldLikeOfAlice,
      o.bobOldRepostOfAlice,
      o.strangerOldReply,
      o.bobOldQuote,
      o.bobNew,
      o.bobNewReplyToOld,
      o.strangerNewLikeOfAlice,
      o.bobNewLike,
      o.bobGoneLongAgo,
      o.bobGoneRecently,
      o.oldThreadRoot,
      o.oldThreadReply,
    )
    await h.index(del(o.bobGoneLongAgo.uri), del(o.bobGoneRecently.uri))
    await sql`update tombstone set deleted_at = now() - interval '40 days' where uri = ${o.bobGoneLongAgo.uri}`.execute(
      db(),
    )
    const aliceRow = await db().selectFrom('post').selectAll().where('uri', '=', o.aliceOld.uri).executeTakeFirstOrThrow()
    expect(aliceRow).toMatchObject({ like_count: 2, repost_count: 1, reply_count: 1, quote_count: 1 })
    const bobActor = await db().selectFrom('actor').select('posts_count').where('did', '=', bob).executeTakeFirstOrThrow()
    const maxN = await sql<{ m: string | null }>`select max(id) as m from notification`.execute(db())
    before = { aliceOld: aliceRow, bobPostsCount: bobActor.posts_count, maxNotification: Number(maxN.rows[0]!.m) }
    expect(await countAll('notification')).toBeGreaterThanOrEqual(5)

    run = await retention.runNow()
  })

  it('removes posts, reposts, likes and their feed items older than the horizon; newer ones stay', async () => {
    expect(run.outcome).toBe('pruned')
    const pruned = [o.bobOldRepostOfAlice, o.bobOldLikeOfAlice, o.strangerOldReply, o.bobOldQuote, o.oldThreadReply]
    for (const gone of pruned) {
      const table = gone.collection.endsWith('.like') ? 'like' : gone.collection.endsWith('.repost') ? 'repost' : 'post'
      expect(await exists(table, gone.uri), `${gone.uri} pruned`).toBe(false)
      expect(await exists('feed_item', gone.uri)).toBe(false)
    }
    for (const kept of [o.bobNew, o.bobNewReplyToOld, o.bobOldPost, o.oldThreadRoot]) {
      expect(await exists('post', kept.uri)).toBe(true)
      expect(await exists('feed_item', kept.uri)).toBe(true)
    }
    expect(await exists('like', o.strangerNewLikeOfAlice.uri)).toBe(true)
    expect(await exists('like', o.bobNewLike.uri)).toBe(true)
    if (run.outcome !== 'pruned') throw new Error('unreachable')
    expect(run.result.removed).toMatchObject({ post: 3, repost: 1, like: 1, feed_item: 4, tombstone: 1 })
  })

  it('keeps an old post while a stored post replies to it; an old thread goes leaf first', async () => {
    // bobOldPost is the parent and root of a recent reply: kept (checked above). The old
    // thread's root had only its old reply, pruned in the first run; the next run takes it.
    expect(await exists('post', o.oldThreadReply.uri)).toBe(false)
    expect(await exists('post', o.oldThreadRoot.uri)).toBe(true)
    const next = await retention.runNow()
    if (next.outcome !== 'pruned') throw new Error(`expected a run, got ${next.outcome}`)
    expect(next.result.removed).toMatchObject({ post: 1, feed_item: 1, repost: 0, like: 0, notification: 0 })
    expect(await exists('post', o.oldThreadRoot.uri)).toBe(false)
    expect(await exists('post', o.bobOldPost.uri)).toBe(true)
  })

  it("keeps the local user's own posts, likes and reposts whatever their age (and the post she reposted)", async () => {
    expect(await exists('post', o.aliceOld.uri)).toBe(true)
    expect(await exists('feed_item', o.aliceOld.uri)).toBe(true)
    expect(await exists('like', o.aliceOldLike.uri)).toBe(true)
    expect(await exists('repost', o.aliceOldRepost.uri)).toBe(true)
    expect(await exists('feed_item', o.aliceOldRepost.uri)).toBe(true)
    // the subject of a repost still in a feed stays with it
    expect(await exists('post', o.bobReposted.uri)).toBe(true)
  })

  it('is not a delete: counters stay, no tombstones, no notifications', async () => {
    const aliceRow = await db().selectFrom('post').selectAll().where('uri', '=', o.aliceOld.uri).executeTakeFirstOrThrow()
    expect(aliceRow).toMatchObject({ like_count: 2, repost_count: 1, reply_count: 1, quote_count: 1 })
    const bobActor = await db().selectFrom('actor').select('posts_count').where('did', '=', bob).executeTakeFirstOrThrow()
    expect(bobActor.posts_count).toBe(before.bobPostsCount)
    for (const gone of [o.bobOldRepostOfAlice, o.bobOldLikeOfAlice, o.strangerOldReply, o.oldThreadReply]) {
      expect(await exists('tombstone', gone.uri)).toBe(false)
    }
    const maxN = await sql<{ m: string | null }>`select max(id) as m from notification`.execute(db())
    expect(Number(maxN.rows[0]!.m)).toBe(before.maxNotification)
    // alice's old notifications (like, repost, reply, quote) are gone, the recent like stays
    const notes = await db()
      .selectFrom('notification')
      .select(['reason', 'record_uri'])
      .where('recipient_did', '=', alice.did)
      .execute()
    expect(notes).toEqual([{ reason: 'like', record_uri: o.strangerNewLikeOfAlice.uri }])
  })

  it('prunes old tombstones; a recent one still stops a replayed create', async () => {
    expect(await exists('tombstone', o.bobGoneLongAgo.uri)).toBe(false)
    expect(await exists('tombstone', o.bobGoneRecently.uri)).toBe(true)
    await h.index(o.bobGoneRecently)
    expect(await exists('post', o.bobGoneRecently.uri)).toBe(false)
  })

  it('a second run finds nothing more to prune; metrics count what was pruned', async () => {
    const again = await retention.runNow()
    if (again.outcome !== 'pruned') throw new Error(`expected a run, got ${again.outcome}`)
    expect(Object.values(again.result.removed).every((n) => n === 0)).toBe(true)
    const text = await registry.metrics()
    expect(text).toContain('appview_retention_pruned_rows_total{table="post"} 4')
    expect(text).toContain('appview_retention_pruned_rows_total{table="feed_item"} 5')
    expect(text).toMatch(/appview_retention_last_run_timestamp_seconds \d/)
  })

  it('the timeline after pruning is lexicon-valid; a kept reply shows its kept old parent', async () => {
    // ReadApiHarness.call validates every 200 answer against the official lexicons.
    const { feed } = await h.ok('app.bsky.feed.getTimeline', { limit: 50 }, alice)
    const item = feed.find((i: any) => i.post.uri === o.bobNewReplyToOld.uri)
    expect(item, 'the kept reply is in the timeline').toBeDefined()
    // a full postView: the app drops a Following-feed reply whose parent is not one
    expect(item.reply.parent.$type).toBe('app.bsky.feed.defs#postView')
    expect(item.reply.parent.uri).toBe(o.bobOldPost.uri)
    expect(item.reply.root.uri).toBe(o.bobOldPost.uri)
    const uris = feed.map((i: any) => i.post.uri)
    expect(uris).toContain(o.bobNew.uri)
    expect(uris).toContain(o.aliceOld.uri)
    expect(uris).not.toContain(o.oldThreadRoot.uri)
  })

  it('a reply to a post pruned before it arrived shows the parent as notFound when it cannot be fetched', async () => {
    // bob has no PDS: the pruned thread root cannot be fetched again.
    const late = at(reply(bob, o.oldThreadRoot), daysAgo(0))
    await h.index(late)
    const { feed } = await h.ok('app.bsky.feed.getTimeline', { limit: 50 }, alice)
    const item = feed.find((i: any) => i.post.uri === late.uri)
    expect(item, 'the reply is in the timeline').toBeDefined()
    const notFound = { $type: 'app.bsky.feed.defs#notFoundPost', uri: o.oldThreadRoot.uri, notFound: true }
    expect(item.reply).toEqual({ root: notFound, parent: notFound })
  })

  it("…and fetched again when its author's PDS still has it, then kept", async () => {
    const carol = await h.net.createAccount('carol')
    const old = await createPost(carol, 'carol, long ago', { createdAt: daysAgo(50) })
    const parentOp = post(carol.did, { text: 'carol, long ago', createdAt: old.createdAt }, {
      rkey: old.uri.split('/').pop()!,
      cid: old.cid,
    })
    await h.index(parentOp)
    const res = await retention.runNow()
    if (res.outcome !== 'pruned') throw new Error(`expected a run, got ${res.outcome}`)
    expect(res.result.removed.post).toBe(1)
    expect(await exists('post', parentOp.uri)).toBe(false)

    const answer = at(reply(bob, parentOp), daysAgo(0))
    await h.index(answer)
    // The fetch finishes in the background; the timeline is valid meanwhile and then shows it.
    const item = await waitFor(async () => {
      const { feed } = await h.ok('app.bsky.feed.getTimeline', { limit: 50 }, alice)
      const it = feed.find((i: any) => i.post.uri === answer.uri)
      return it?.reply?.parent?.$type === 'app.bsky.feed.defs#postView' ? it : undefined
    })
    expect(item.reply.parent.uri).toBe(parentOp.uri)
    expect(item.reply.parent.record.text).toBe('carol, long ago')
    // stored again, and now kept: the stored reply points at it
    await retention.runNow()
    expect(await exists('post', parentOp.uri)).toBe(true)
  })

  it('runs in one process at a time: while another holds the lock, a run is skipped', async () => {
    const other = h.t.ctx.db.db.connection()
    await other.execute(async (conn) => {
      await sql`select pg_advisory_lock(hashtext('appview.retention'), hashtext(current_schema()))`.execute(conn)
      try {
        expect((await retention.runNow()).outcome).toBe('locked')
      } finally {
        await sql`select pg_advisory_unlock(hashtext('appview.retention'), hashtext(current_schema()))`.execute(conn)
      }
    })
    expect((await retention.runNow()).outcome).toBe('pruned')
  })

  it('prunes in bounded chunks across many authors, and stops between chunks when aborted', async () => {
    const authors = [newDid(), newDid(), newDid()]
    const old = authors.flatMap((a) => [0, 1, 2, 3].map((i) => at(post(a, { text: `old ${i}` }), daysAgo(31 + i))))
    // untracked authors: index as from a backfill of someone who is then no longer tracked
    await h.t.ctx.indexer.applyBatch(old.map((op) => ({ op, ctx: { source: 'fetch' as const } })))
    const stored = await db().selectFrom('post').select('uri').where('author_did', 'in', authors).execute()
    expect(stored).toHaveLength(12)

    const cutoff = new Date(Date.now() - 30 * DAY)
    const stop = new AbortController()
    stop.abort()
    const aborted = await h.t.ctx.indexer.pruneOlderThan(cutoff, { signal: stop.signal })
    expect(aborted.aborted).toBe(true)
    expect(await db().selectFrom('post').select('uri').where('author_did', 'in', authors).execute()).toHaveLength(12)

    const chunks: number[] = []
    const res = await h.t.ctx.indexer.pruneOlderThan(cutoff, {
      chunkSize: 3,
      keyBatch: 2,
      onChunk: (table, n) => table === 'post' && chunks.push(n),
    })
    expect(res.removed.post).toBe(12)
    expect(Math.max(...chunks)).toBeLessThanOrEqual(3)
    expect(await db().selectFrom('post').select('uri').where('author_did', 'in', authors).execute()).toHaveLength(0)
  })

  it('BACKFILL_DAYS=0 keeps everything: the component never prunes', async () => {
    const ancient = at(post(bob, { text: 'from 2010' }), '2010-01-01T00:00:00.000Z')
    await h.index(ancient)
    const ctx = { ...h.t.ctx, cfg: testConfig({ BACKFILL_DAYS: '0' }), metrics: { registry: new Registry() } }
    const keepAll = retentionComponent(ctx as unknown as AppContext)
    await keepAll.start()
    try {
      expect((await keepAll.runNow()).outcome).toBe('disabled')
    } finally {
      await keepAll.destroy()
    }
    expect(await exists('post', ancient.uri)).toBe(true)
  })

  it('tombstones outlive the replay window plus margin, not the history horizon', () => {
    const now = new Date('2026-06-30T00:00:00Z')
    // 24 h of Jetstream retention + 48 h margin, whatever BACKFILL_DAYS is
    expect(tombstoneCutoff(24, now)).toEqual(new Date(now.getTime() - 3 * DAY))
    expect(tombstoneCutoff(72, now)).toEqual(new Date(now.getTime() - 5 * DAY))
  })

  it('a tombstone older than the replay window goes even inside the horizon; a younger one still stops a replay', async () => {
    const gone = post(bob, { text: 'deleted four days ago' })
    const fresh = post(bob, { text: 'deleted two days ago' })
    await h.index(gone, fresh)
    await h.index(del(gone.uri), del(fresh.uri))
    await sql`update tombstone set deleted_at = now() - interval '4 days' where uri = ${gone.uri}`.execute(db())
    await sql`update tombstone set deleted_at = now() - interval '2 days' where uri = ${fresh.uri}`.execute(db())
    const again = await retention.runNow()
    if (again.outcome !== 'pruned') throw new Error(`expected a run, got ${again.outcome}`)
    expect(again.result.removed.tombstone).toBe(1)
    expect(await exists('tombstone', gone.uri)).toBe(false)
    // inside the replay window (24 h + 48 h) a replayed create is still stopped
    expect(await exists('tombstone', fresh.uri)).toBe(true)
    await h.index(fresh)
    expect(await exists('post', fresh.uri)).toBe(false)
  })
})
