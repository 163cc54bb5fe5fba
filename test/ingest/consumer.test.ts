// Live ingest end to end: TestJetstream (zstd frames) → consumer → live filter → indexer →
// Postgres, asserting what a user of the instance would see in the database.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IngestConsumer } from '../../src/ingest/consumer.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { metricValue, startIngest } from '../_util/ingest.js'
import {
  blockEvent,
  createEvent,
  deleteEvent,
  fakeCid,
  followEvent,
  likeEvent,
  nextTid,
  postEvent,
  postUri,
  repostEvent,
} from '../_util/jetstream-events.js'
import { TestJetstream, type JetstreamEventInput } from '../_util/jetstream-server.js'

let js: TestJetstream
let t: TestApp
let consumer: IngestConsumer
let didSeq = 0
const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
function newDid(): string {
  let s = ''
  let n = Date.now() * 1000 + didSeq++ * 7919 + Math.floor(Math.random() * 1e6)
  for (let i = 0; i < 24; i++) {
    s += B32[n % 32]
    n = Math.floor(n / 32) + i * 31 + didSeq
  }
  return `did:plc:${s}`
}

async function pushAndCommit(...events: JetstreamEventInput[]) {
  const stored = js.push(...events)
  await consumer.waitForCursor(stored[stored.length - 1].time_us)
  return stored
}

/** A marker event nobody keeps: once it is committed, everything before it is too. */
async function sync(): Promise<void> {
  await pushAndCommit(postEvent(newDid(), { text: 'marker' }))
}

beforeAll(async () => {
  js = await TestJetstream.start()
  t = await createTestApp({ ROLES: 'api,ingest', JETSTREAM_COMPRESS: 'true', JETSTREAM_REWIND_SECONDS: '10' })
  consumer = await startIngest(t, { urls: [js.url], onApp: true })
  await js.waitForConnections(1)
})

afterAll(async () => {
  await consumer?.destroy()
  await t?.close()
  await js?.close()
})

describe('ingest consumer', () => {
  it('subscribes with zstd compression and decodes the frames', async () => {
    expect(js.connections[0].compress).toBe(true)
    const local = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    const [e] = await pushAndCommit(postEvent(local, { text: 'compressed hello' }))
    const row = await t.db.selectFrom('post').select([sql<string>`record->>'text'`.as('text'), 'author_did']).where('uri', '=', postUri(local, e.commit!.rkey)).executeTakeFirst()
    expect(row).toEqual({ text: 'compressed hello', author_did: local })
  })

  it('keeps interactions with local users and drops the rest', async () => {
    const local = newDid()
    const stranger = newDid()
    const other = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    const [localPost] = await pushAndCommit(postEvent(local, { text: 'mine' }))
    const localPostUri = postUri(local, localPost.commit!.rkey)
    const otherPostUri = postUri(other, nextTid())
    const strongRef = { uri: localPostUri, cid: localPost.commit!.cid }
    const filteredBefore = await t.app.metrics.text()

    await pushAndCommit(
      likeEvent(stranger, localPostUri), // kept: likes a local user's post
      likeEvent(stranger, otherPostUri), // dropped
      repostEvent(stranger, otherPostUri), // dropped
      followEvent(stranger, local), // kept: follows a local user
      followEvent(stranger, other), // dropped
      blockEvent(stranger, local), // kept: blocks a local user
      postEvent(stranger, { text: 'unrelated' }), // dropped
      postEvent(stranger, { text: 'a reply', extra: { reply: { root: strongRef, parent: strongRef } } }), // kept
      postEvent(stranger, {
        text: '@local hi',
        extra: { facets: [{ index: { byteStart: 0, byteEnd: 6 }, features: [{ $type: 'app.bsky.richtext.facet#mention', did: local }] }] },
      }), // kept: mentions a local user
    )

    const count = async (table: 'like' | 'repost' | 'follow' | 'block' | 'post') =>
      (await t.db.selectFrom(table).select('uri').where('author_did', '=', stranger).execute()).length
    expect(await count('like')).toBe(1)
    expect(await count('repost')).toBe(0)
    expect(await count('follow')).toBe(1)
    expect(await count('block')).toBe(1)
    expect(await count('post')).toBe(2)
    const reasons = await t.db
      .selectFrom('notification')
      .select('reason')
      .where('recipient_did', '=', local)
      .where('author_did', '=', stranger)
      .execute()
    expect(reasons.map((r) => r.reason).sort()).toEqual(['follow', 'like', 'mention', 'reply'])

    const after = await t.app.metrics.text()
    const filtered = (kind: string, text: string) => metricValue(text, 'appview_ingest_events_filtered_total', { kind })
    expect(filtered('app.bsky.feed.like', after) - filtered('app.bsky.feed.like', filteredBefore)).toBe(1)
    expect(filtered('app.bsky.feed.repost', after) - filtered('app.bsky.feed.repost', filteredBefore)).toBe(1)
    expect(filtered('app.bsky.graph.follow', after) - filtered('app.bsky.graph.follow', filteredBefore)).toBe(1)
    expect(filtered('app.bsky.feed.post', after) - filtered('app.bsky.feed.post', filteredBefore)).toBe(1)
  })

  it('indexes a followee exactly once under duplicates, reordering and a dropped connection (rewind replay)', async () => {
    const local = newDid()
    const author = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    await pushAndCommit(followEvent(local, author))
    expect(t.ctx.liveFilter.isTracked(author)).toBe(true)

    js.duplicate = true
    js.reorder = true
    const posts = await pushAndCommit(...Array.from({ length: 5 }, (_, i) => postEvent(author, { text: `post ${i}` })))
    const [p0, p1] = posts.map((p) => ({ uri: postUri(author, p.commit!.rkey), cid: p.commit!.cid }))
    await pushAndCommit(
      createEvent({ did: local, collection: 'app.bsky.feed.like', record: { subject: p0, createdAt: new Date().toISOString() } }),
      createEvent({ did: local, collection: 'app.bsky.feed.like', record: { subject: p1, createdAt: new Date().toISOString() } }),
      createEvent({ did: local, collection: 'app.bsky.feed.repost', record: { subject: p0, createdAt: new Date().toISOString() } }),
    )
    js.duplicate = false
    js.reorder = false

    // Drop the connection: the consumer resumes at committed cursor − rewind and replays all of it.
    const committed = consumer.committedCursor!
    const before = js.connections.length
    js.dropConnections()
    const resumed = await js.waitForConnections(before + 1)
    expect(resumed.cursor).toBe(committed - 10_000_000)
    await sync()

    const stored = await t.db
      .selectFrom('post')
      .select(['uri', 'like_count', 'repost_count'])
      .where('author_did', '=', author)
      .orderBy('uri')
      .execute()
    expect(stored).toHaveLength(5)
    const byUri = new Map(stored.map((p) => [p.uri, p]))
    expect(byUri.get(p0.uri)).toMatchObject({ like_count: 1, repost_count: 1 })
    expect(byUri.get(p1.uri)).toMatchObject({ like_count: 1, repost_count: 0 })
    const feed = await t.db.selectFrom('feed_item').select(['type', 'originator_did']).where('originator_did', 'in', [author, local]).execute()
    expect(feed.filter((f) => f.originator_did === author && f.type === 'post')).toHaveLength(5)
    expect(feed.filter((f) => f.originator_did === local && f.type === 'repost')).toHaveLength(1)
    const actors = await t.db.selectFrom('actor').select(['did', 'posts_count', 'followers_count', 'follows_count']).where('did', 'in', [author, local]).execute()
    const a = new Map(actors.map((r) => [r.did, r]))
    expect(a.get(author)).toMatchObject({ posts_count: 5, followers_count: 1 })
    expect(a.get(local)).toMatchObject({ follows_count: 1 })
  })

  it("keeps a followee's post that arrives in the same burst as the local user's follow", async () => {
    const local = newDid()
    const author = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    const [, post] = await pushAndCommit(followEvent(local, author), postEvent(author, { text: 'right after the follow' }))
    const rows = await t.db.selectFrom('post').select('uri').where('author_did', '=', author).execute()
    expect(rows).toEqual([{ uri: postUri(author, post.commit!.rkey) }])
  })

  it('judges what follows a new follow of an account already tracked without waiting for its commit; after an unfollow it waits', async () => {
    const [first, second, third] = [newDid(), newDid(), newDid()]
    const author = newDid()
    for (const did of [first, second, third]) await t.ctx.indexer.trackLocalUser(did, 'operator')
    const [followed] = await pushAndCommit(followEvent(first, author))
    const batches = async () => metricValue(await t.app.metrics.text(), 'appview_ingest_batch_commit_seconds_count')
    // The second follow changes nothing the filter knows: the author's post after it is
    // judged on arrival and both commit in one batch.
    const before = await batches()
    const [, kept] = await pushAndCommit(followEvent(second, author), postEvent(author, { text: 'after the second follow' }))
    expect(await batches()).toBe(before + 1)
    // Behind a pending unfollow the same kind of follow waits for it: both followers leave
    // (the author is untracked), then a third follows again and the post after it is kept.
    const secondFollow = (await t.db.selectFrom('follow').select('uri').where('author_did', '=', second).executeTakeFirstOrThrow()).uri
    const [, , , again] = await pushAndCommit(
      deleteEvent(first, 'app.bsky.graph.follow', followed.commit!.rkey),
      deleteEvent(second, 'app.bsky.graph.follow', secondFollow.split('/').pop()!),
      followEvent(third, author),
      postEvent(author, { text: 'after the third follow' }),
    )
    const rows = await t.db.selectFrom('post').select('uri').where('author_did', '=', author).orderBy('uri').execute()
    expect(rows.map((r) => r.uri).sort()).toEqual([postUri(author, kept.commit!.rkey), postUri(author, again.commit!.rkey)].sort())
    expect(t.ctx.liveFilter.isTracked(author)).toBe(true)
  })

  it("applies a stranger's like and unlike of a local user's post arriving together as a pair", async () => {
    const local = newDid()
    const stranger = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    const [p] = await pushAndCommit(postEvent(local, { text: 'like me, or not' }))
    const like = likeEvent(stranger, postUri(local, p.commit!.rkey))
    await pushAndCommit(like, deleteEvent(stranger, 'app.bsky.feed.like', like.commit!.rkey))
    const likes = await t.db.selectFrom('like').select('uri').where('author_did', '=', stranger).execute()
    expect(likes).toEqual([])
    const post = await t.db.selectFrom('post').select('like_count').where('uri', '=', postUri(local, p.commit!.rkey)).executeTakeFirstOrThrow()
    expect(post.like_count).toBe(0)
  })

  it('lets a delete that arrives before its create win, and deletes after a create', async () => {
    const local = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    const early = postEvent(local, { text: 'deleted before it was created' })
    const late = postEvent(local, { text: 'created, then deleted' })
    await pushAndCommit(deleteEvent(local, 'app.bsky.feed.post', early.commit!.rkey), early, late)
    await pushAndCommit(deleteEvent(local, 'app.bsky.feed.post', late.commit!.rkey))
    const posts = await t.db.selectFrom('post').select('uri').where('author_did', '=', local).execute()
    expect(posts).toEqual([])
    const feed = await t.db.selectFrom('feed_item').select('uri').where('originator_did', '=', local).execute()
    expect(feed).toEqual([])
    const tombstones = await t.db.selectFrom('tombstone').select('uri').where('author_did', '=', local).orderBy('uri').execute()
    expect(tombstones.map((r) => r.uri).sort()).toEqual([postUri(local, early.commit!.rkey), postUri(local, late.commit!.rkey)].sort())
  })

  it('does not let a future-dated post sort above the present', async () => {
    const local = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    const nextYear = new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString()
    const [future] = await pushAndCommit(postEvent(local, { text: 'from the future', createdAt: nextYear }))
    const [later] = await pushAndCommit(postEvent(local, { text: 'honest and later' }))
    const rows = await t.db.selectFrom('feed_item').select(['uri', 'sort_at']).where('originator_did', '=', local).orderBy('sort_at', 'desc').execute()
    expect(rows.map((r) => r.uri)).toEqual([postUri(local, later.commit!.rkey), postUri(local, future.commit!.rkey)])
    expect(rows[1].sort_at.getTime()).toBeLessThanOrEqual(Date.now())
    expect(rows[1].sort_at.getTime()).toBeLessThanOrEqual(Math.ceil(future.time_us / 1000))
  })

  it('counts garbage frames by reason, skips them and keeps going', async () => {
    const metrics = () => t.app.metrics.text()
    const skipped = (text: string, reason: string) => metricValue(text, 'appview_ingest_events_skipped_total', { reason })
    const before = await metrics()
    const local = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    js.sendGarbage(
      'this is not json',
      Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), // binary but not zstd
      JSON.stringify({ did: 'did:plc:x', kind: 'commit' }), // no time_us
      JSON.stringify({ did: 'not a did', time_us: Date.now() * 1000, kind: 'commit', commit: {} }),
      JSON.stringify({ did: local, time_us: Date.now() * 1000, kind: 'labels' }),
      JSON.stringify({ did: local, time_us: Date.now() * 1000, kind: 'commit', commit: { rev: nextTid(), operation: 'create', collection: 'com.example.thing', rkey: nextTid(), record: {}, cid: fakeCid() } }),
      JSON.stringify({ did: local, time_us: Date.now() * 1000, kind: 'commit', commit: { rev: nextTid(), operation: 'create', collection: 'app.bsky.feed.post', rkey: 'bad/rkey', record: {}, cid: fakeCid() } }),
      JSON.stringify({ ...postEvent(local, { text: 'x'.repeat(2 * 1024 * 1024) }), time_us: Date.now() * 1000 }),
    )
    // An invalid record (fails the lexicon) from a tracked author: the indexer skips it.
    const [bad] = js.push(createEvent({ did: local, collection: 'app.bsky.feed.post', record: { text: 42 } }))
    const [good] = await pushAndCommit(postEvent(local, { text: 'still flowing' }))
    const after = await metrics()
    for (const reason of ['invalid_json', 'decompress_failed', 'invalid_time_us', 'invalid_did', 'unknown_kind', 'unknown_collection', 'invalid_rkey', 'oversized']) {
      expect(skipped(after, reason) - skipped(before, reason), reason).toBe(1)
    }
    const posts = await t.db.selectFrom('post').select(['uri', sql<string>`record->>'text'`.as('text')]).where('author_did', '=', local).execute()
    expect(posts).toEqual([{ uri: postUri(local, good.commit!.rkey), text: 'still flowing' }])
    expect(posts.some((p) => p.uri === postUri(local, bad.commit!.rkey))).toBe(false)
  })

  it('reports the committed cursor, lag and connection in /ready and /metrics', async () => {
    await sync()
    const res = await fetch(`${t.app.url}/ready`)
    const body = (await res.json()) as { ready: boolean; checks: Record<string, Record<string, unknown>> }
    expect(res.status).toBe(200)
    const ingest = body.checks.ingest
    expect(ingest.ok).toBe(true)
    expect(ingest.connected).toBe(true)
    expect(ingest.cursorTimeUs).toBe(consumer.committedCursor)
    expect(ingest.lagSeconds).toBeLessThan(5)
    expect(ingest.openGaps).toEqual([])
    const text = await t.app.metrics.text()
    expect(metricValue(text, 'appview_ingest_cursor_time_us')).toBe(consumer.committedCursor)
    expect(metricValue(text, 'appview_ingest_connected')).toBe(1)
    expect(metricValue(text, 'appview_ingest_open_gaps')).toBe(0)
    expect(metricValue(text, 'appview_ingest_batch_commit_seconds_count')).toBeGreaterThan(0)
    expect(metricValue(text, 'appview_ingest_reconnects_total', { reason: 'closed' })).toBeGreaterThanOrEqual(1)
  })
})
