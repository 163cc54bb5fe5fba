import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IndexItem } from '../../src/ingest/indexer.js'
import type { IndexOp } from '../../src/ingest/ops.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import {
  backfillItems,
  block,
  cidOf,
  del,
  follow,
  items,
  like,
  mention,
  newDid,
  post,
  profile,
  quote,
  ref,
  reply,
  repost,
  tid,
  write,
  POST,
} from '../_util/index-ops.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ ROLES: 'ingest' })
})
afterAll(async () => {
  await t?.close()
})

const apply = (its: IndexItem[], cursor?: { id: string; timeUs: number }) => t.ctx.indexer.applyBatch(its, { cursor })
const ops = (list: IndexOp[], startUs = Date.now() * 1000) => items(list, { startUs })

async function postRow(uri: string) {
  // text is read from the record (no column of its own: migrations/0100)
  return t.db.selectFrom('post').selectAll().select(sql<string>`record->>'text'`.as('text')).where('uri', '=', uri).executeTakeFirst()
}
async function actor(did: string) {
  return t.db.selectFrom('actor').selectAll().where('did', '=', did).executeTakeFirst()
}
async function feedItems(postUri: string) {
  // A post item stores post_uri null (its own uri: migrations/0100); readers coalesce.
  return t.db.selectFrom('feed_item').selectAll().where(sql`coalesce(post_uri, uri)`, '=', postUri).orderBy('uri').execute()
}
async function notifications(recipient: string) {
  return t.db
    .selectFrom('notification')
    .select(['recipient_did', 'author_did', 'reason', 'reason_subject', 'record_uri'])
    .where('recipient_did', '=', recipient)
    .orderBy('record_uri')
    .orderBy('reason')
    .execute()
}

/** Everything the indexer writes about some DIDs, minus bookkeeping clocks. */
async function snapshot(dids: string[]) {
  const tables = {
    actor: sql`select did, handle, display_name, profile_cid, followers_count, follows_count, posts_count, status from actor where did = any(${dids}) order by did`,
    post: sql`select uri, cid, rev, record->>'text' as text, created_at, indexed_at, sort_at, reply_parent_uri, embed_record_uri, like_count, repost_count, reply_count, quote_count from post where author_did = any(${dids}) order by uri`,
    repost: sql`select uri, subject_uri, sort_at from repost where author_did = any(${dids}) order by uri`,
    like: sql`select uri, subject_uri, sort_at from "like" where author_did = any(${dids}) order by uri`,
    follow: sql`select uri, subject_did from follow where author_did = any(${dids}) order by uri`,
    feed_item: sql`select uri, type, post_uri, sort_at from feed_item where originator_did = any(${dids}) order by uri`,
    tombstone: sql`select uri, rev from tombstone where author_did = any(${dids}) order by uri`,
    notification: sql`select recipient_did, author_did, reason, record_uri, sort_at from notification where author_did = any(${dids}) order by record_uri, reason`,
  }
  const out: Record<string, unknown[]> = {}
  for (const [name, q] of Object.entries(tables)) out[name] = (await q.execute(t.db)).rows
  return out
}

describe('exactly-once effect', () => {
  it('gives the same rows and counters when a batch is applied again, or replayed from a rewind', async () => {
    const local = newDid()
    const alice = newDid()
    const bob = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    const p1 = post(alice, { text: 'first' })
    const p2 = post(alice, { text: 'second' })
    const list: IndexOp[] = [
      p1,
      p2,
      like(bob, p1),
      like(local, p1),
      repost(bob, p1),
      reply(bob, p1),
      quote(bob, p2),
      follow(bob, alice),
      follow(alice, local),
      like(alice, post(local)),
      profile(alice, { displayName: 'Alice' }),
    ]
    const batch = ops(list, 1_700_000_000_000_000)
    const first = await apply(batch)
    expect(first).toMatchObject({ indexed: list.length, unchanged: 0, skipped: 0 })
    const dids = [local, alice, bob]
    const before = await snapshot(dids)
    expect((await postRow(p1.uri))!).toMatchObject({ like_count: 2, repost_count: 1, reply_count: 1, quote_count: 0 })
    expect((await postRow(p2.uri))!).toMatchObject({ quote_count: 1 })
    expect(await actor(alice)).toMatchObject({ posts_count: 2, followers_count: 1, follows_count: 1 })

    // Delivered twice (at-least-once), then a rewind replays the second half again.
    const again = await apply(batch)
    expect(again).toMatchObject({ indexed: 0, unchanged: list.length, skipped: 0, notifications: 0 })
    await apply(batch.slice(Math.floor(batch.length / 2)))
    expect(await snapshot(dids)).toEqual(before)
  })

  it('stores a record seen by the stream and by a backfill page once', async () => {
    const alice = newDid()
    const p = post(alice)
    await apply(ops([p]))
    const res = await apply(backfillItems([p]))
    expect(res).toMatchObject({ indexed: 0, unchanged: 1 })
    expect(await actor(alice)).toMatchObject({ posts_count: 1 })
    expect(await feedItems(p.uri)).toHaveLength(1)
  })
})

describe('bulk runs and op-by-op', () => {
  /** One scenario, parameterised by its DIDs; rkeys, revs and CIDs fixed so two runs compare. */
  const keys = Array.from({ length: 40 }, () => tid())
  function scenario(me: string, a: string, b: string): IndexOp[] {
    let k = 0
    const at = () => ({ rkey: keys[k]!, rev: keys[k]!, cid: cidOf(`${keys[k++]}`) })
    const mine = post(me, { createdAt: '2025-01-01T00:00:00.000Z' }, at())
    const p = post(a, { createdAt: '2025-01-01T00:00:01.000Z' }, at())
    const early = like(b, p, at()) // before the post it likes, in the same batch
    const r1 = reply(b, p, p, at())
    const r2 = reply(a, r1, p, at())
    const fwd = follow(a, b, at())
    const back = follow(b, a, at())
    const rp = repost(b, mine, at())
    const unliked = like(a, p, at())
    return [
      early,
      mine,
      r2, // a reply before its parent
      p,
      r1,
      like(a, mine, at()),
      rp,
      unliked,
      quote(b, p, at()),
      mention(b, me, at()),
      fwd,
      back,
      follow(b, b, at()),
      follow(a, me, at()),
      block(b, me, at()),
      p, // the same create twice in one batch
      del(early.uri, keys[k++]),
      del(rp.uri, keys[k++]),
      del(unliked.uri, keys[k++]),
      del(fwd.uri, keys[k++]), // an unfollow by someone who is not a local user goes in bulk
      profile(a, { displayName: 'A' }, { rev: keys[k], cid: cidOf(keys[k++]) }),
      { kind: 'account', did: b, active: false, status: 'deactivated' },
      { kind: 'account', did: b, active: true },
    ]
  }

  it('give the same rows, whether a batch goes in bulk or is re-run op by op after a rejected op', async () => {
    const [meA, aA, bA, meB, aB, bB] = Array.from({ length: 6 }, () => newDid())
    await t.ctx.indexer.trackLocalUser(meA!, 'operator')
    await t.ctx.indexer.trackLocalUser(meB!, 'operator')
    const start = 1_760_000_000_000_000
    const bulk = await apply(items(scenario(meA!, aA!, bA!), { startUs: start }))
    // The same ops plus one the database refuses (a NUL byte): the batch is re-run op by op.
    const poisoned = [...scenario(meB!, aB!, bB!), post(aB!, { text: 'nul \u0000' })]
    const isolated = await apply(items(poisoned, { startUs: start }))
    expect(isolated.skippedByReason).toEqual({ db_rejected: 1 })
    expect({ ...isolated, skipped: 0, skippedByReason: {} }).toEqual(bulk)

    // created_at comes from the builders' clock (createdAt = now), the rest from the ops.
    const stripped = async (dids: string[]) =>
      JSON.stringify(await snapshot(dids), (key, value) => (key === 'created_at' ? undefined : value))
    const a = await stripped([meA!, aA!, bA!])
    const b = (await stripped([meB!, aB!, bB!]))
      .replaceAll(meB!, meA!)
      .replaceAll(aB!, aA!)
      .replaceAll(bB!, bA!)
    // Rows are ordered by DID/URI, which the renaming reorders: compare each table as a set.
    const asSets = (json: string) =>
      Object.fromEntries(
        Object.entries(JSON.parse(json) as Record<string, unknown[]>).map(([k, rows]) => [
          k,
          rows.map((r) => JSON.stringify(r)).sort(),
        ]),
      )
    expect(asSets(b)).toEqual(asSets(a))
    // And the scenario's own expectations.
    expect(await actor(aA!)).toMatchObject({ posts_count: 2, followers_count: 1, follows_count: 1, display_name: 'A' })
    expect(await actor(bA!)).toMatchObject({ posts_count: 3, followers_count: 1, follows_count: 2, status: 'active' })
    expect(await postRow(`at://${aA}/app.bsky.feed.post/${keys[1]}`)).toMatchObject({ like_count: 0, reply_count: 1, quote_count: 1 })
    expect((await notifications(meA!)).map((n) => n.reason).sort()).toEqual(['follow', 'like', 'mention'])
    expect(await feedItems(`at://${meA}/app.bsky.feed.post/${keys[0]}`)).toHaveLength(1) // the repost's is gone
  })
})

describe('deletes win', () => {
  it('a delete that arrives before its create leaves a tombstone no later create passes', async () => {
    const alice = newDid()
    const createRev = tid()
    const p = post(alice, {}, { rev: createRev })
    const res = await apply(ops([del(p.uri, tid())]))
    expect(res).toMatchObject({ unchanged: 1, skipped: 0 })
    // The reordered create (older rev), then a backfill page listed before the delete.
    await apply(ops([p]))
    await apply(backfillItems([p]))
    expect(await postRow(p.uri)).toBeUndefined()
    expect(await feedItems(p.uri)).toHaveLength(0)
    expect((await actor(alice))?.posts_count ?? 0).toBe(0)
  })

  it('a delete after the create removes the post, its feed item, its counters and its notifications', async () => {
    const local = newDid()
    const alice = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    const parent = post(local)
    const r = reply(alice, parent)
    await apply(ops([parent, r]))
    expect((await postRow(parent.uri))!.reply_count).toBe(1)
    expect(await notifications(local)).toEqual([
      { recipient_did: local, author_did: alice, reason: 'reply', reason_subject: parent.uri, record_uri: r.uri },
    ])

    const res = await apply(ops([del(r.uri)]))
    expect(res.indexed).toBe(1)
    expect(await postRow(r.uri)).toBeUndefined()
    expect(await feedItems(r.uri)).toHaveLength(0)
    expect((await postRow(parent.uri))!.reply_count).toBe(0)
    expect(await actor(alice)).toMatchObject({ posts_count: 0 })
    expect(await notifications(local)).toEqual([])

    // A rewind replays the create: still gone.
    await apply(ops([r]))
    expect(await postRow(r.uri)).toBeUndefined()
    expect((await postRow(parent.uri))!.reply_count).toBe(0)
  })

  it('deleting a post takes reposts of it out of every feed', async () => {
    const alice = newDid()
    const bob = newDid()
    const carol = newDid()
    const p = post(alice)
    const rb = repost(bob, p)
    const rc = repost(carol, p)
    await apply(ops([p, rb, rc]))
    expect((await feedItems(p.uri)).map((f) => f.type).sort()).toEqual(['post', 'repost', 'repost'])
    await apply(ops([del(p.uri)]))
    expect(await feedItems(p.uri)).toEqual([])
    // A repost of the deleted post that arrives late does not put it back in a feed.
    await apply(ops([repost(newDid(), p)]))
    expect(await feedItems(p.uri)).toEqual([])
  })

  it('a profile deleted and re-created later (newer rev) is back', async () => {
    const alice = newDid()
    await apply(ops([profile(alice, { displayName: 'One' })]))
    await apply(ops([del(`at://${alice}/app.bsky.actor.profile/self`)]))
    expect(await actor(alice)).toMatchObject({ display_name: null, profile_cid: null })
    await apply(ops([profile(alice, { displayName: 'Two' })]))
    expect(await actor(alice)).toMatchObject({ display_name: 'Two' })
  })
})

describe('counters', () => {
  it('move only when a row really was inserted or deleted', async () => {
    const alice = newDid()
    const bob = newDid()
    const p = post(alice)
    const l = like(bob, p)
    // The like arrives before the post it likes (a backfill of the post comes later).
    await apply(ops([l, l]))
    await apply(backfillItems([p]))
    expect((await postRow(p.uri))!.like_count).toBe(1)
    await apply(ops([l]))
    expect((await postRow(p.uri))!.like_count).toBe(1)
    await apply(ops([del(l.uri), del(l.uri)]))
    expect((await postRow(p.uri))!.like_count).toBe(0)
    // Deleting what was never stored moves nothing.
    await apply(ops([del(like(bob, p).uri)]))
    expect((await postRow(p.uri))!.like_count).toBe(0)

    const f = follow(bob, alice)
    await apply(ops([f, f]))
    expect(await actor(alice)).toMatchObject({ followers_count: 1, posts_count: 1 })
    expect(await actor(bob)).toMatchObject({ follows_count: 1 })
    await apply(ops([del(f.uri)]))
    await apply(ops([del(f.uri)]))
    expect(await actor(alice)).toMatchObject({ followers_count: 0 })
    expect(await actor(bob)).toMatchObject({ follows_count: 0 })
  })

  it('stay exact when a post and what points at it are written by concurrent transactions', async () => {
    // Live ingest and a backfill worker run at once: the post arrives in one transaction, a
    // like, a repost and a reply of it in others, all in flight together.
    const alice = newDid()
    const bob = newDid()
    const posts = Array.from({ length: 40 }, () => post(alice))
    await Promise.all(
      posts.flatMap((p) => [
        t.ctx.indexer.applyBatch(backfillItems([p])),
        apply(ops([like(bob, p)])),
        apply(ops([repost(bob, p)])),
        apply(ops([reply(bob, p)])),
      ]),
    )
    const { rows } = await sql<{ wrong: number }>`
      select count(*)::int as wrong from post p
      where p.uri = any(${posts.map((p) => p.uri)})
        and (p.like_count <> 1 or p.repost_count <> 1 or p.reply_count <> 1)
    `.execute(t.db)
    expect(rows[0]!.wrong).toBe(0)
    expect(await actor(alice)).toMatchObject({ posts_count: 40 })
  })

  it('a backfilled page of one author holds one counter lock, not one per post', async () => {
    // The counter lock is per post author (lockPostCounters): a 100-post page takes one.
    const alice = newDid()
    const page = Array.from({ length: 100 }, () => post(alice))
    let locks = -1
    await t.ctx.indexer.applyBatch(backfillItems(page), {
      inTransaction: async (tx) => {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()
        `.execute(tx)
        locks = rows[0]!.n
      },
    })
    expect(locks).toBe(1)
    expect(await actor(alice)).toMatchObject({ posts_count: 100 })
  })

  it('a self-follow counts once on each side', async () => {
    const alice = newDid()
    await apply(ops([follow(alice, alice)]))
    expect(await actor(alice)).toMatchObject({ followers_count: 1, follows_count: 1 })
  })
})

describe('stale revs', () => {
  it('an update older than the stored record is ignored; a newer one replaces it', async () => {
    const alice = newDid()
    const older = tid()
    const middle = tid()
    const newer = tid()
    await apply(ops([profile(alice, { displayName: 'Middle' }, { rev: middle })]))
    const stale = await apply(ops([profile(alice, { displayName: 'Old' }, { rev: older, kind: 'update' })]))
    expect(stale).toMatchObject({ unchanged: 1, indexed: 0 })
    expect((await actor(alice))!.display_name).toBe('Middle')
    // Same rev again (a replay) is not newer either.
    await apply(ops([profile(alice, { displayName: 'Replay' }, { rev: middle, kind: 'update' })]))
    expect((await actor(alice))!.display_name).toBe('Middle')
    await apply(ops([profile(alice, { displayName: 'New' }, { rev: newer, kind: 'update' })]))
    expect((await actor(alice))!.display_name).toBe('New')
    // A backfilled copy (no rev) never overwrites what is stored.
    await apply(backfillItems([profile(alice, { displayName: 'Listed' })]))
    expect((await actor(alice))!.display_name).toBe('New')
  })

  it('a post update keeps its first-seen sort key and its counters', async () => {
    const alice = newDid()
    const bob = newDid()
    const rkey = tid()
    const v1 = post(alice, { text: 'v1' }, { rkey })
    await apply(items([v1, like(bob, v1)], { startUs: 1_700_000_000_000_000 }))
    const before = (await postRow(v1.uri))!
    const v2 = post(alice, { text: 'v2' }, { rkey, kind: 'update' })
    await apply(items([v2], { startUs: 1_800_000_000_000_000 }))
    const after = (await postRow(v1.uri))!
    expect(after).toMatchObject({ text: 'v2', like_count: 1, cid: v2.cid })
    expect(after.sort_at).toEqual(before.sort_at)
    expect(await feedItems(v1.uri)).toHaveLength(1)
    expect(await actor(alice)).toMatchObject({ posts_count: 1 })
    // Reposts of an updated post stay in feeds.
    const r = repost(bob, v1)
    await apply(ops([r]))
    await apply(ops([post(alice, { text: 'v3' }, { rkey, kind: 'update' })]))
    expect((await feedItems(v1.uri)).map((f) => f.type).sort()).toEqual(['post', 'repost'])
  })
})

describe('sort key', () => {
  it('a post claiming a future date sorts at the time it was first seen', async () => {
    const alice = newDid()
    const seenUs = Date.now() * 1000
    const future = post(alice, { createdAt: '2099-01-01T00:00:00.000Z' })
    const old = post(alice, { createdAt: '2024-05-01T10:00:00.000Z' })
    await apply(items([future, old], { startUs: seenUs }))
    const f = (await postRow(future.uri))!
    expect(f.sort_at.getTime()).toBe(Math.floor(seenUs / 1000))
    expect(f.created_at.toISOString()).toBe('2099-01-01T00:00:00.000Z')
    // A backfilled (older) post sorts at its own date.
    expect((await postRow(old.uri))!.sort_at.toISOString()).toBe('2024-05-01T10:00:00.000Z')
    const [item] = await feedItems(future.uri)
    expect(item!.sort_at.getTime()).toBe(Math.floor(seenUs / 1000))
  })

  it('an unparseable or absurd createdAt falls back to first-seen, and the record is kept', async () => {
    const alice = newDid()
    const seenUs = 1_750_000_000_000_000
    const garbage = post(alice, { createdAt: 'yesterday-ish' })
    const ancient = post(alice, { createdAt: '1970-01-01T00:00:00.000Z' })
    const res = await apply(items([garbage, ancient], { startUs: seenUs }))
    expect(res).toMatchObject({ indexed: 2, skipped: 0 })
    const g = (await postRow(garbage.uri))!
    expect(g.sort_at.getTime()).toBe(seenUs / 1000)
    expect(g.created_at.getTime()).toBe(seenUs / 1000)
    // The stored record passes the lexicon again (views return it as is).
    expect((g.record as { createdAt: string }).createdAt).toBe(new Date(seenUs / 1000).toISOString())
    const a = (await postRow(ancient.uri))!
    expect(a.sort_at.getTime()).toBe(seenUs / 1000 + 1)
  })

  it('a repost sorts by its own time', async () => {
    const alice = newDid()
    const bob = newDid()
    const p = post(alice, { createdAt: '2024-01-01T00:00:00.000Z' })
    const r = write(bob, 'app.bsky.feed.repost', { subject: { uri: p.uri, cid: p.cid }, createdAt: '2025-02-02T00:00:00.000Z' })
    await apply(backfillItems([p, r]))
    const rows = await feedItems(p.uri)
    expect(rows.find((x) => x.type === 'repost')!.sort_at.toISOString()).toBe('2025-02-02T00:00:00.000Z')
  })
})

describe('bad input', () => {
  it('skips and counts what can never be indexed while the rest of the batch commits', async () => {
    const alice = newDid()
    const good1 = post(alice, { text: 'kept 1' })
    const good2 = post(alice, { text: 'kept 2' })
    const noText = write(alice, POST, { createdAt: new Date().toISOString() }) // text is required
    const tooLong = post(alice, { text: 'x'.repeat(3001) }) // over maxGraphemes/maxLength
    const wrongType = { ...post(alice), record: { $type: 'app.bsky.feed.like', text: 'x', createdAt: new Date().toISOString() } }
    const badDid = { ...post(alice), did: 'did:nope', uri: 'at://did:nope/app.bsky.feed.post/3k' }
    const uriMismatch = { ...post(alice), uri: `at://${newDid()}/app.bsky.feed.post/${tid()}` }
    const badRkey = post(alice, {}, { rkey: 'has space' })
    const badCid = post(alice, {}, { cid: 'not-a-cid' })
    const unknown = write(alice, 'com.example.thing', { createdAt: new Date().toISOString() })
    const handleSubject = write(alice, 'app.bsky.feed.like', {
      subject: { uri: 'at://alice.example.com/app.bsky.feed.post/3k', cid: cidOf() },
      createdAt: new Date().toISOString(),
    })
    const badFollow = write(alice, 'app.bsky.graph.follow', { subject: 'not a did', createdAt: new Date().toISOString() })
    const notAnObject = { ...post(alice), record: 'hello' }
    const nul = post(alice, { text: 'nul \u0000 byte' }) // valid lexicon, Postgres refuses it
    const res = await apply(
      ops([
        noText,
        good1,
        tooLong,
        wrongType,
        badDid,
        uriMismatch,
        badRkey,
        badCid,
        unknown,
        handleSubject,
        badFollow,
        notAnObject as IndexOp,
        nul,
        good2,
      ] as IndexOp[]),
      { id: 'jetstream', timeUs: 42 },
    )
    expect(res.indexed).toBe(2)
    expect(res.skipped).toBe(12)
    expect(res.skippedByReason).toEqual({
      invalid_record: 5, // missing text, too long, wrong $type, follow subject not a DID, not an object
      invalid_did: 1,
      invalid_uri: 1,
      invalid_rkey: 1,
      invalid_cid: 1,
      unknown_collection: 1,
      invalid_subject: 1, // at://<handle>/… subject
      db_rejected: 1,
    })
    expect(await postRow(good1.uri)).toBeDefined()
    expect(await postRow(good2.uri)).toBeDefined()
    expect(await postRow(nul.uri)).toBeUndefined()
    expect(await actor(alice)).toMatchObject({ posts_count: 2 })
    // The cursor committed with the writes, even through the op-by-op re-run.
    const state = await t.db.selectFrom('ingest_state').selectAll().where('id', '=', 'jetstream').executeTakeFirst()
    expect(state?.cursor_time_us).toBe('42')

    const metrics = await t.ctx.metrics.text()
    expect(metrics).toMatch(/appview_indexer_skipped_total\{reason="invalid_record"\} [1-9]/)
    expect(metrics).toMatch(/appview_indexer_skipped_total\{reason="db_rejected"\} [1-9]/)
    expect(metrics).toMatch(/appview_indexer_records_total\{collection="app.bsky.feed.post",operation="create"\} [1-9]/)
  })

  it('never fails the batch for ops that are not even objects', async () => {
    const alice = newDid()
    const good = post(alice)
    const res = await t.ctx.indexer.applyBatch([
      { op: null as unknown as IndexOp, ctx: { source: 'jetstream' } },
      { op: { kind: 'explode', did: alice } as unknown as IndexOp, ctx: { source: 'jetstream' } },
      { op: good, ctx: { source: 'jetstream' } },
    ])
    expect(res).toMatchObject({ indexed: 1, skipped: 2 })
  })
})

describe('notifications', () => {
  it('one per interaction with a local user, none for their own actions, gone on delete', async () => {
    const me = newDid()
    const alice = newDid()
    await t.ctx.indexer.trackLocalUser(me, 'request')
    const mine = post(me)
    const l = like(alice, mine)
    const r = repost(alice, mine)
    const f = follow(alice, me)
    const q = quote(alice, mine)
    const m = mention(alice, me)
    const rep = reply(alice, mine)
    // Mentioning someone in a reply to them: one notification (mention wins, as in bsky).
    const mentionRecord = mention(alice, me).record as Record<string, unknown>
    const both = { ...reply(alice, mine), record: { ...mentionRecord, reply: { root: ref(mine), parent: ref(mine) } } }
    const ownLike = like(me, mine)
    const ownReply = reply(me, mine)
    const list = [mine, l, r, f, q, m, rep, both, ownLike, ownReply] as IndexOp[]
    const res = await apply(ops(list))
    expect(res.notifications).toBe(7)
    await apply(ops(list)) // replayed: still one each
    const got = await notifications(me)
    expect(got.map((n) => [n.record_uri, n.reason])).toEqual(
      [
        [l.uri, 'like'],
        [r.uri, 'repost'],
        [f.uri, 'follow'],
        [q.uri, 'quote'],
        [m.uri, 'mention'],
        [rep.uri, 'reply'],
        [both.uri, 'mention'],
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)),
    )
    expect(got.every((n) => n.author_did === alice)).toBe(true)
    expect(got.find((n) => n.reason === 'like')!.reason_subject).toBe(mine.uri)

    await apply(ops([del(l.uri), del(f.uri), del(q.uri)]))
    const left = (await notifications(me)).map((n) => n.reason).sort()
    expect(left).toEqual(['mention', 'mention', 'reply', 'repost'])
  })

  it('a reply deep in a local user’s thread notifies the root author too', async () => {
    const me = newDid()
    const alice = newDid()
    const bob = newDid()
    await t.ctx.indexer.trackLocalUser(me, 'request')
    const root = post(me)
    const mid = reply(alice, root)
    const deep = reply(bob, mid, root)
    await apply(ops([root, mid, deep]))
    const got = await notifications(me)
    expect(got.map((n) => [n.author_did, n.reason, n.reason_subject])).toEqual(
      expect.arrayContaining([
        [alice, 'reply', root.uri],
        [bob, 'reply', root.uri],
      ]),
    )
    expect(got).toHaveLength(2)
  })
})

describe('identity and account events', () => {
  it('updates the handle from the event, or through the injected resolver when it has none', async () => {
    const alice = newDid()
    await apply(ops([{ kind: 'identity', did: alice, handle: 'Alice.Example.com' }]))
    expect((await actor(alice))!.handle).toBe('alice.example.com')
    // No handle and no resolver: left as it is.
    await apply(ops([{ kind: 'identity', did: alice }]))
    expect((await actor(alice))!.handle).toBe('alice.example.com')
    const asked: string[] = []
    t.ctx.indexer.setHandleResolver(async (did) => {
      asked.push(did)
      return 'alice2.example.com'
    })
    try {
      await apply(ops([{ kind: 'identity', did: alice }]))
      expect(asked).toEqual([alice])
      expect((await actor(alice))!.handle).toBe('alice2.example.com')
      t.ctx.indexer.setHandleResolver(async () => 'handle.invalid')
      await apply(ops([{ kind: 'identity', did: alice }]))
      expect((await actor(alice))!.handle).toBeNull()
      t.ctx.indexer.setHandleResolver(async () => {
        throw new Error('PLC is down')
      })
      await apply(ops([{ kind: 'identity', did: alice, handle: 'back.example.com' }, { kind: 'identity', did: alice }]))
      expect((await actor(alice))!.handle).toBe('back.example.com')
    } finally {
      t.ctx.indexer.setHandleResolver(undefined)
    }
  })

  it('deactivation keeps the content and reactivation restores the status', async () => {
    const alice = newDid()
    const p = post(alice)
    await apply(ops([p, profile(alice)]))
    await apply(ops([{ kind: 'account', did: alice, active: false, status: 'deactivated' }]))
    expect((await actor(alice))!.status).toBe('deactivated')
    expect(await postRow(p.uri)).toBeDefined()
    expect(await feedItems(p.uri)).toHaveLength(1)
    await apply(ops([{ kind: 'account', did: alice, active: false, status: 'takendown' }]))
    expect((await actor(alice))!.status).toBe('takendown')
    await apply(ops([{ kind: 'account', did: alice, active: true }]))
    expect(await actor(alice)).toMatchObject({ status: 'active', posts_count: 1, display_name: 'Someone' })
    expect(await postRow(p.uri)).toBeDefined()
  })
})

describe('blocks', () => {
  it('stores and removes blocks idempotently', async () => {
    const alice = newDid()
    const bob = newDid()
    const b = block(alice, bob)
    await apply(ops([b, b]))
    expect(await t.db.selectFrom('block').select('subject_did').where('uri', '=', b.uri).execute()).toEqual([
      { subject_did: bob },
    ])
    await apply(ops([del(b.uri)]))
    expect(await t.db.selectFrom('block').select('uri').where('uri', '=', b.uri).execute()).toEqual([])
  })
})

describe('repo rev', () => {
  // actor.repo_rev is what getTimeline sends as atproto-repo-rev: the PDS splices in the
  // viewer's records newer than it, so it must be the newest commit indexed, never older.
  it('keeps the newest commit rev per DID: deletes count, older replays and rev-less backfills do not move it back', async () => {
    const alice = newDid()
    const [r1, r2, r3, r4] = [tid(), tid(), tid(), tid()]
    const p1 = post(alice, {}, { rev: r1 })
    const p2 = post(alice, {}, { rev: r3 })
    // Out of order in one batch: the greater rev wins.
    await apply(ops([p2, p1]))
    expect((await actor(alice))!.repo_rev).toBe(r3)
    // A rewind replays an older commit; a backfilled record has no rev.
    await apply(ops([post(alice, {}, { rev: r2 })]))
    await apply(backfillItems([post(alice, {}, { rev: null })]))
    expect((await actor(alice))!.repo_rev).toBe(r3)
    // The newest commit deletes a record: the rev still moves on.
    await apply(ops([del(p1.uri, r4)]))
    expect((await actor(alice))!.repo_rev).toBe(r4)
  })

  it('a delete by an account we never stored does not create an actor row for it', async () => {
    const stranger = newDid()
    await apply(ops([del(`at://${stranger}/app.bsky.feed.like/${tid()}`)]))
    expect(await actor(stranger)).toBeUndefined()
  })
})

describe('backfill pages (inTransaction, deferFlush)', () => {
  // A backfill saves its progress in the page's own transaction and lets the page commit
  // without waiting for the WAL flush: a crash then loses the newest pages and their progress
  // together, and the resumed job lists them again.
  it('what inTransaction writes commits with the page, or neither does; it gets the page counts', async () => {
    const alice = newDid()
    const good = [post(alice, {}, { rev: null }), post(alice, {}, { rev: null })]
    const bad = { ...post(alice, {}, { rev: null }), cid: 'not-a-cid' }
    await expect(
      t.ctx.indexer.applyBatch(backfillItems(good), {
        inTransaction: async () => {
          throw new Error('progress could not be saved')
        },
      }),
    ).rejects.toThrow('progress could not be saved')
    expect(await postRow(good[0]!.uri)).toBeUndefined()

    const seen: Array<{ indexed: number; skipped: number }> = []
    const res = await t.ctx.indexer.applyBatch(backfillItems([...good, bad]), {
      inTransaction: async (tx, counts) => {
        seen.push(counts)
        // Visible to the hook: the page's rows are written in the same transaction.
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from post where author_did = ${alice}`.execute(tx)
        expect(rows[0]!.n).toBe(2)
      },
    })
    expect(res).toMatchObject({ indexed: 2, skipped: 1 })
    expect(seen).toEqual([{ indexed: 2, skipped: 1 }])
    // Again: nothing new, and the hook says so.
    await t.ctx.indexer.applyBatch(backfillItems(good), { inTransaction: async (_tx, counts) => void seen.push(counts) })
    expect(seen[1]).toEqual({ indexed: 0, skipped: 0 })
  })

  it('deferFlush commits a page without waiting for the flush, but a batch that changes tracking synchronously', async () => {
    // What counts is the setting in force when the transaction commits (the indexer sends it
    // last, with the commit): a deferred constraint trigger runs at commit and records it.
    await sql`create table commit_setting (uri text, v text)`.execute(t.db)
    await sql`create function record_commit_setting() returns trigger language plpgsql as $$
      begin
        insert into commit_setting values (new.uri, current_setting('synchronous_commit'));
        return null;
      end $$`.execute(t.db)
    await sql`create constraint trigger post_commit_setting after insert on post
      deferrable initially deferred for each row execute function record_commit_setting()`.execute(t.db)
    await sql`create constraint trigger follow_commit_setting after insert on follow
      deferrable initially deferred for each row execute function record_commit_setting()`.execute(t.db)
    try {
      const setting = async (its: IndexItem[], deferFlush: boolean) => {
        await t.ctx.indexer.applyBatch(its, { deferFlush, inTransaction: async () => {} })
        const uri = (its[0]!.op as { uri: string }).uri
        const { rows } = await sql<{ v: string }>`select v from commit_setting where uri = ${uri}`.execute(t.db)
        return rows.map((r) => r.v)
      }
      // The server's own setting (on, unless an operator turned it off for the whole server).
      const current = async () =>
        (await sql<{ v: string }>`select current_setting('synchronous_commit') as v`.execute(t.db)).rows[0]!.v
      const serverDefault = await current()
      const alice = newDid()
      expect(await setting(backfillItems([post(alice, {}, { rev: null })]), true)).toEqual(['off'])
      expect(await setting(backfillItems([post(alice, {}, { rev: null })]), false)).toEqual([serverDefault])
      // A local user's follow tracks its subject: the live filter and a backfill job act on it
      // right after the commit, so it must be durable first.
      const local = newDid()
      await t.ctx.indexer.trackLocalUser(local, 'operator')
      expect(await setting(backfillItems([follow(local, newDid(), { rev: null })]), true)).toEqual([serverDefault])
      // A deferred page that fails rolls back as a whole, and the connection it used is fine.
      const failing = backfillItems([post(alice, {}, { rev: null })])
      await expect(
        t.ctx.indexer.applyBatch(failing, {
          deferFlush: true,
          inTransaction: async () => {
            throw new Error('progress could not be saved')
          },
        }),
      ).rejects.toThrow('progress could not be saved')
      expect(await postRow((failing[0]!.op as { uri: string }).uri)).toBeUndefined()
      // The setting is the transaction's own: the connections are back to the server's.
      for (let i = 0; i < 4; i++) expect(await current()).toBe(serverDefault)
    } finally {
      await sql`drop trigger post_commit_setting on post`.execute(t.db)
      await sql`drop trigger follow_commit_setting on follow`.execute(t.db)
      await sql`drop function record_commit_setting()`.execute(t.db)
      await sql`drop table commit_setting`.execute(t.db)
    }
  })
})
