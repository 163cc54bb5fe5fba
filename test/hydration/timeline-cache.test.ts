// Timelines held in memory (src/hydration/timeline-cache.ts) must page exactly like the
// plain skeleton query — every item once, in order — whatever was written since they were
// loaded: new posts and reposts, deletes, backfilled old items in the middle of the held
// range, follows and unfollows, by this process's indexer (visible on the very next read) or
// by any other writer (visible once its announcement arrives).
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FeedItemRow, getTimelineSkeleton } from '../../src/dataplane/feeds.js'
import type { KeysetCursor } from '../../src/dataplane/pagination.js'
import type { CachedRows } from '../../src/hydration/row-source.js'
import { TimelineCache, type TimelineLoader } from '../../src/hydration/timeline-cache.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { backfillItems, del, follow, items, newDid, post, repost } from '../_util/index-ops.js'

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString()

describe('timelines held in memory, in the read API', () => {
  let t: TestApp
  let rows: CachedRows
  const reader = newDid()
  const a = newDid()
  const b = newDid()
  const c = newDid() // followed later

  beforeAll(async () => {
    t = await createTestApp()
    rows = t.app.readApi!.rows!
    // 620 items: more than the first load (150), the extensions (100 each) and the bound (500)
    const ops = [follow(reader, a), follow(reader, b)]
    for (let i = 0; i < 300; i++) {
      ops.push(post(a, { text: `a ${i}`, createdAt: minutesAgo(2 * i + 1) }))
      ops.push(post(b, { text: `b ${i}`, createdAt: minutesAgo(2 * i + 2) }))
    }
    for (let i = 0; i < 20; i++) ops.push(post(c, { text: `c ${i}`, createdAt: minutesAgo(7 * i + 3) }))
    await t.ctx.indexer.applyBatch(backfillItems(ops))
  })
  afterAll(async () => {
    await t?.close()
  })

  const cached = () => t.ctx.hydrator.timelineSources
  /** every page of the reader's timeline (limit 50), as the skeleton rows' visible fields */
  async function allPages(sources = cached(), limit = 50) {
    const out: Array<Omit<FeedItemRow, 'repost'>> = []
    let cursor: KeysetCursor | undefined
    for (let i = 0; i < 100; i++) {
      const page = await getTimelineSkeleton(t.db, reader, limit, cursor, sources)
      out.push(...page.slice(0, limit).map(({ repost: _r, ...item }) => item))
      if (page.length <= limit) return out
      cursor = { sortAt: page[limit - 1]!.sortKey, uri: page[limit - 1]!.uri }
    }
    throw new Error('did not end')
  }
  const plain = () => allPages(undefined)

  it('pages from memory equal the plain query, first page to last, and later reads come from memory', async () => {
    const expected = await plain()
    expect(expected).toHaveLength(600)
    expect(await allPages()).toEqual(expected)
    expect(rows.timelines.size).toBe(1)
    const hits = rows.timelines.hits
    // the held range grew past its bound (500 items, checked before each extension of 100):
    // the pages within it are answered from memory now
    expect(await allPages()).toEqual(expected)
    expect(rows.timelines.hits - hits).toBe(10)
    // other page sizes cut the same list
    expect((await allPages(cached(), 7)).map((i) => i.uri)).toEqual(expected.map((i) => i.uri))
  })

  it('a new post, a repost and deletes through the indexer show on the very next read', async () => {
    await allPages()
    const fresh = post(a, { text: 'just now' })
    await t.ctx.indexer.applyBatch(items([fresh]))
    let page = await getTimelineSkeleton(t.db, reader, 50, undefined, cached())
    expect(page[0]!.uri).toBe(fresh.uri)

    const [, mid] = await plain().then((all) => [all[0], all[120]!])
    const r = repost(b, { uri: mid!.postUri, cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' } as never)
    await t.ctx.indexer.applyBatch(items([r]))
    page = await getTimelineSkeleton(t.db, reader, 50, undefined, cached())
    expect(page[0]).toMatchObject({ uri: r.uri, type: 'repost', postUri: mid!.postUri, originatorDid: b })
    expect(await allPages()).toEqual(await plain())

    // deleting the repost, a post inside the held range and the post at its far end
    const before = await allPages()
    await t.ctx.indexer.applyBatch(items([del(r.uri), del(before[200]!.uri), del(before[499]!.uri)]))
    const after = await allPages()
    expect(after.map((i) => i.uri)).not.toContain(r.uri)
    expect(after.map((i) => i.uri)).not.toContain(before[200]!.uri)
    expect(after.map((i) => i.uri)).not.toContain(before[499]!.uri)
    expect(after).toEqual(await plain())
  })

  it('readers who follow the same account all see its new post and delete (one shared reread)', async () => {
    const others = [newDid(), newDid()]
    await t.ctx.indexer.applyBatch(items(others.flatMap((o) => [follow(o, a), follow(o, b)])))
    const first = (viewer: string) => getTimelineSkeleton(t.db, viewer, 50, undefined, cached())
    for (const o of [reader, ...others]) await first(o)
    const fresh = post(a, { text: 'seen by all' })
    await t.ctx.indexer.applyBatch(items([fresh]))
    const rereads = rows.timelines.rereads
    for (const o of [reader, ...others]) expect((await first(o))[0]!.uri).toBe(fresh.uri)
    expect(rows.timelines.rereads - rereads).toBe(3)
    await t.ctx.indexer.applyBatch(items([del(fresh.uri)]))
    for (const o of [reader, ...others]) expect((await first(o)).map((i) => i.uri)).not.toContain(fresh.uri)
    expect(await allPages()).toEqual(await plain())
  })

  it('a backfilled old post lands in place inside the held range, and past its end', async () => {
    await allPages()
    const inside = post(b, { text: 'backfilled inside', createdAt: minutesAgo(100.5) })
    const beyond = post(a, { text: 'backfilled beyond', createdAt: minutesAgo(1150.5) })
    await t.ctx.indexer.applyBatch(backfillItems([inside, beyond]))
    const all = await allPages()
    expect(all).toEqual(await plain())
    expect(all.map((i) => i.uri)).toContain(inside.uri)
    expect(all.map((i) => i.uri)).toContain(beyond.uri)
  })

  it('a follow or unfollow changes the held timeline on the next read, by the indexer or any other writer', async () => {
    await allPages()
    const f = follow(reader, c)
    await t.ctx.indexer.applyBatch(items([f]))
    let all = await allPages()
    expect(all.filter((i) => i.originatorDid === c)).toHaveLength(20)
    expect(all).toEqual(await plain())
    await t.ctx.indexer.applyBatch(items([del(f.uri)]))
    all = await allPages()
    expect(all.filter((i) => i.originatorDid === c)).toHaveLength(0)
    // another connection follows: held timelines change once its announcement is in
    await sql`insert into follow (uri, cid, author_did, subject_did, created_at, sort_at)
      values (${f.uri + 'x'}, ${f.cid}, ${reader}, ${c}, now(), now())`.execute(t.db)
    await rows.listener.sync()
    expect((await allPages()).filter((i) => i.originatorDid === c)).toHaveLength(20)
  })

  it('feed items written or deleted by another connection show once the announcement arrives', async () => {
    const all = await allPages()
    const gone = all[3]!
    await sql`delete from feed_item where uri = ${gone.uri}`.execute(t.db)
    await rows.listener.sync()
    expect((await allPages()).map((i) => i.uri)).not.toContain(gone.uri)
    await sql`insert into feed_item (uri, type, post_uri, originator_did, sort_at)
      select ${gone.uri}, ${gone.type}, ${gone.postUri}, ${gone.originatorDid}, ${gone.sortKey}::timestamptz`.execute(t.db)
    await rows.listener.sync()
    expect(await allPages()).toEqual(all)
  })

  it('while the LISTEN connection is down no timeline is served from memory', async () => {
    await allPages()
    expect(rows.timelines.size).toBeGreaterThan(0)
    const pid = rows.listener.backendPid
    await sql`select pg_terminate_backend(${pid}::int)`.execute(t.db)
    for (let i = 0; i < 100 && rows.timelines.enabled; i++) await new Promise((r) => setTimeout(r, 20))
    expect(rows.timelines.enabled).toBe(false)
    expect(rows.timelines.size).toBe(0)
    // written while nobody listens: must show after the reconnect
    const p = post(a, { text: 'while deaf' })
    await t.ctx.indexer.applyBatch(items([p]))
    expect((await getTimelineSkeleton(t.db, reader, 50, undefined, cached()))[0]!.uri).toBe(p.uri)
    for (let i = 0; i < 300 && !rows.timelines.enabled; i++) await new Promise((r) => setTimeout(r, 20))
    expect(rows.timelines.enabled).toBe(true)
    expect(await allPages()).toEqual(await plain())
  })
})

describe('TimelineCache races', () => {
  /** a timeline in memory: items of accounts, answering like the skeleton query */
  function store(initial: Array<{ account: string; at: number }>) {
    const data: FeedItemRow[] = initial.map(({ account, at }) => item(account, at))
    const calls: string[] = []
    let gate: Promise<void> = Promise.resolve()
    const sorted = () => [...data].sort((x, y) => (x.sortKey < y.sortKey ? 1 : x.sortKey > y.sortKey ? -1 : x.uri < y.uri ? 1 : -1))
    const loader: TimelineLoader = {
      async page(limit, cursor) {
        calls.push(`page ${limit}`)
        const snapshot = sorted()
        await gate
        return snapshot.filter((i) => !cursor || i.sortKey < cursor.sortAt).slice(0, limit + 1)
      },
      async accountsSince(ranges) {
        calls.push(`since ${ranges.map((r) => r.account).join(',')}`)
        const snapshot = sorted()
        await gate
        return snapshot.filter((i) => ranges.some((r) => r.account === i.originatorDid && (!r.since || i.sortKey >= r.since.sortAt)))
      },
    }
    return {
      data,
      calls,
      loader,
      /** queries started from now on wait for the returned release */
      hold() {
        let release!: () => void
        gate = new Promise((r) => (release = r))
        return () => {
          release()
          gate = Promise.resolve()
        }
      },
    }
  }
  function item(account: string, at: number): FeedItemRow {
    const uri = `at://${account}/app.bsky.feed.post/${at}`
    return { uri, type: 'post', postUri: uri, originatorDid: account, sortKey: new Date(at * 1000).toISOString().replace('Z', '000Z') }
  }
  const follows = new Map([['did:x:a', 'f1'], ['did:x:b', 'f2']])
  const uris = (rows: FeedItemRow[]) => rows.map((r) => r.uri)

  it('an item written while the timeline is first loaded is not lost', async () => {
    const s = store([{ account: 'did:x:a', at: 10 }, { account: 'did:x:b', at: 20 }])
    const cache = new TimelineCache({ maxViewers: 10 })
    cache.setLive(true)
    const release = s.hold()
    const first = cache.read('did:x:v', follows, 10, undefined, s.loader)
    await Promise.resolve()
    s.data.push(item('did:x:a', 30)) // committed after the load's snapshot…
    cache.accountsChanged(['did:x:a']) // …and announced before the load returned
    release()
    // the load's rows miss it; the account is reread before the first answer
    const all = uris([item('did:x:a', 30), item('did:x:b', 20), item('did:x:a', 10)])
    expect(uris(await first)).toEqual(all)
    expect(uris(await cache.read('did:x:v', follows, 10, undefined, s.loader))).toEqual(all)
    expect(s.calls).toEqual(['page 150', 'since did:x:a'])
  })

  it('an item written while an account is reread keeps the account stale', async () => {
    const s = store([{ account: 'did:x:a', at: 10 }, { account: 'did:x:b', at: 20 }])
    const cache = new TimelineCache({ maxViewers: 10 })
    cache.setLive(true)
    await cache.read('did:x:v', follows, 10, undefined, s.loader)
    s.data.push(item('did:x:a', 30))
    cache.accountsChanged(['did:x:a'])
    const release = s.hold()
    const second = cache.read('did:x:v', follows, 10, undefined, s.loader)
    await Promise.resolve()
    s.data.push(item('did:x:a', 40))
    cache.accountsChanged(['did:x:a'])
    release()
    expect(uris(await second)[0]).toBe(item('did:x:a', 30).uri)
    expect(uris(await cache.read('did:x:v', follows, 10, undefined, s.loader))[0]).toBe(item('did:x:a', 40).uri)
    expect(s.calls).toEqual(['page 150', 'since did:x:a', 'since did:x:a'])
  })

  it("one reread of a changed account serves every held timeline that merges it, unless it predates a newer change", async () => {
    const s = store([{ account: 'did:x:a', at: 10 }, { account: 'did:x:b', at: 20 }])
    const cache = new TimelineCache({ maxViewers: 10 })
    cache.setLive(true)
    for (const v of ['v1', 'v2', 'v3']) await cache.read(v, follows, 10, undefined, s.loader)
    s.data.push(item('did:x:a', 30))
    cache.accountsChanged(['did:x:a'])
    const expected = uris([item('did:x:a', 30), item('did:x:b', 20), item('did:x:a', 10)])
    expect(uris(await cache.read('v1', follows, 10, undefined, s.loader))).toEqual(expected)
    expect(uris(await cache.read('v2', follows, 10, undefined, s.loader))).toEqual(expected)
    // a newer change: the shared reread is out of date for whoever is marked by it
    s.data.push(item('did:x:a', 40))
    cache.accountsChanged(['did:x:a'])
    expect(uris(await cache.read('v3', follows, 10, undefined, s.loader))).toEqual([item('did:x:a', 40).uri, ...expected])
    expect(uris(await cache.read('v1', follows, 10, undefined, s.loader))).toEqual([item('did:x:a', 40).uri, ...expected])
    expect(s.calls).toEqual(['page 150', 'page 150', 'page 150', 'since did:x:a', 'since did:x:a'])
  })

  it('a new follow set (follows changed) is never answered from the old one', async () => {
    const s = store([{ account: 'did:x:a', at: 10 }])
    const cache = new TimelineCache({ maxViewers: 10 })
    cache.setLive(true)
    await cache.read('did:x:v', follows, 10, undefined, s.loader)
    await cache.read('did:x:v', new Map(follows), 10, undefined, s.loader)
    expect(s.calls).toEqual(['page 150', 'page 150'])
    expect(cache.size).toBe(1)
  })

  it('holds at most maxViewers timelines, dropping the least recently read', async () => {
    const s = store([{ account: 'did:x:a', at: 10 }])
    const cache = new TimelineCache({ maxViewers: 2 })
    cache.setLive(true)
    for (const v of ['v1', 'v2', 'v1', 'v3']) await cache.read(v, follows, 10, undefined, s.loader)
    expect(cache.size).toBe(2)
    s.calls.length = 0
    await cache.read('v1', follows, 10, undefined, s.loader)
    await cache.read('v2', follows, 10, undefined, s.loader)
    expect(s.calls).toEqual(['page 150'])
  })
})
