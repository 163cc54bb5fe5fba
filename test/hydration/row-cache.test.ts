// The read path's row cache must never show a row as it was before a committed change:
// changes through this process's indexer are visible on the very next read; changes by
// anyone else (another process, plain SQL) as soon as their notification arrives; while the
// invalidation channel is down nothing is served from memory.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CachedRows } from '../../src/hydration/row-source.js'
import { RowCache } from '../../src/hydration/row-cache.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { getTimelineSkeleton } from '../../src/dataplane/feeds.js'
import { backfillItems, del, follow, items, like, newDid, post, profile, repost } from '../_util/index-ops.js'

describe('RowCache', () => {
  it('stores a fetched row only when its key was not invalidated after the fetch began', () => {
    const cache = new RowCache<string>('t', 10)
    cache.setLive(true)
    const before = cache.token()
    cache.invalidate(['a']) // a change committed while the fetch was running
    cache.set('a', 'old a', before)
    cache.set('b', 'b', before)
    expect(cache.get('a')).toBeUndefined()
    expect(cache.get('b')).toBe('b')
    const after = cache.token()
    cache.set('a', 'new a', after)
    expect(cache.get('a')).toBe('new a')
  })

  it('is off while not live, and what was fetched before going live is never stored', () => {
    const cache = new RowCache<string>('t', 10)
    const token = cache.token()
    cache.set('a', 'a', token)
    expect(cache.get('a')).toBeUndefined()
    cache.setLive(true)
    cache.set('a', 'a', token)
    expect(cache.get('a')).toBeUndefined()
    cache.set('a', 'a', cache.token())
    expect(cache.get('a')).toBe('a')
    cache.setLive(false)
    expect(cache.get('a')).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('keeps at most its size, dropping the least recently used', () => {
    const cache = new RowCache<number>('t', 3)
    cache.setLive(true)
    for (const k of ['a', 'b', 'c']) cache.set(k, 1, cache.token())
    cache.get('a')
    cache.set('d', 1, cache.token())
    expect(cache.size).toBe(3)
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('a')).toBe(1)
  })
})

describe('row cache in the read API', () => {
  let t: TestApp
  let rows: CachedRows
  const author = newDid()
  const fan = newDid()
  const viewer = newDid()

  beforeAll(async () => {
    t = await createTestApp()
    rows = t.app.readApi!.rows!
    expect(rows).toBeDefined()
  })
  afterAll(async () => {
    await t?.close()
  })

  const hydrate = async (uri: string) => (await t.ctx.hydrator.hydratePosts([uri], viewer)).posts.value(uri)

  it('a like, repost or delete through the indexer shows on the very next read', async () => {
    const p = post(author, { text: 'cached' })
    await t.ctx.indexer.applyBatch(backfillItems([p, profile(author, { displayName: 'Before' })]))
    expect((await hydrate(p.uri))?.like_count).toBe(0)
    await hydrate(p.uri)
    expect(rows.posts.get(p.uri)).toBeDefined() // the second read came from memory
    const metrics = await t.ctx.metrics.registry.metrics()
    const hits = /appview_row_cache_lookups_total\{table="posts",result="hit"\} (\d+)/.exec(metrics)
    expect(Number(hits?.[1])).toBeGreaterThan(0)
    expect(metrics).toMatch(/appview_row_cache_live 1/)

    await t.ctx.indexer.applyBatch(backfillItems([like(fan, p)]))
    expect((await hydrate(p.uri))?.like_count).toBe(1)
    const r = repost(fan, p)
    await t.ctx.indexer.applyBatch(backfillItems([r]))
    expect((await hydrate(p.uri))?.repost_count).toBe(1)

    const state = await t.ctx.hydrator.hydrateProfiles([author], viewer)
    expect(state.actors.value(author)?.display_name).toBe('Before')
    await t.ctx.indexer.applyBatch(items([profile(author, { displayName: 'After' }, { kind: 'update' })]))
    expect((await t.ctx.hydrator.hydrateProfiles([author], viewer)).actors.value(author)?.display_name).toBe('After')

    await t.ctx.indexer.applyBatch(backfillItems([del(p.uri)]))
    expect(await hydrate(p.uri)).toBeUndefined() // deleted: not shown (it was a row just before)
  })

  it('a change made by another connection (another process, plain SQL) is dropped when its notification arrives', async () => {
    const p = post(author, { text: 'changed elsewhere' })
    await t.ctx.indexer.applyBatch(backfillItems([p]))
    await hydrate(p.uri)
    expect(rows.posts.get(p.uri)?.like_count).toBe(0)
    // the app's main pool: not the indexer, so no sync; like any other writer's commit
    await sql`update post set like_count = 41 where uri = ${p.uri}`.execute(t.db)
    await rows.listener.sync() // every notification committed before this is applied
    expect(rows.posts.get(p.uri)).toBeUndefined()
    expect((await hydrate(p.uri))?.like_count).toBe(41)
  })

  it('a key too long for one notification still drops the row (and never fails the write)', async () => {
    // longer than any valid AT-URI: written with plain SQL, as only a stray writer could
    const p = { uri: `at://did:web:${'a'.repeat(3600)}.example/app.bsky.feed.post/long` }
    await sql`insert into post (uri, cid, author_did, created_at, sort_at, record)
      values (${p.uri}, 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm', ${author}, now(), now(),
        ${JSON.stringify({ $type: 'app.bsky.feed.post', text: 'long key', createdAt: new Date().toISOString() })}::jsonb)`.execute(t.db)
    expect((await hydrate(p.uri))?.like_count).toBe(0)
    expect(rows.posts.get(p.uri)).toBeDefined()
    await sql`update post set like_count = 3 where uri = ${p.uri}`.execute(t.db)
    await rows.listener.sync()
    expect((await hydrate(p.uri))?.like_count).toBe(3)
  })

  it('while the LISTEN connection is down nothing is served from memory; it comes back empty', async () => {
    const p = post(author, { text: 'listener cut' })
    await t.ctx.indexer.applyBatch(backfillItems([p]))
    await hydrate(p.uri)
    expect(rows.posts.size).toBeGreaterThan(0)
    const pid = rows.listener.backendPid
    expect(pid).toBeTypeOf('number')
    await sql`select pg_terminate_backend(${pid}::int)`.execute(t.db)
    for (let i = 0; i < 100 && rows.posts.enabled; i++) await new Promise((r) => setTimeout(r, 20))
    expect(rows.posts.enabled).toBe(false)
    expect(rows.posts.size).toBe(0)
    // a change now (nobody listening) must not be hidden by a stale row after the reconnect
    await sql`update post set like_count = 7 where uri = ${p.uri}`.execute(t.db)
    for (let i = 0; i < 300 && !rows.posts.enabled; i++) await new Promise((r) => setTimeout(r, 20))
    expect(rows.posts.enabled).toBe(true)
    expect((await hydrate(p.uri))?.like_count).toBe(7)
  })

  describe('timeline sources in memory (whom the viewer follows, accounts\' newest items)', () => {
    const reader = newDid()
    const quiet = newDid() // posted long ago, then again
    const busy = newDid()
    const later = newDid() // followed later

    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString()
    const page = async (cursor?: { sortAt: string; uri: string }, sources = t.ctx.hydrator.timelineSources) =>
      getTimelineSkeleton(t.db, reader, 5, cursor, sources)
    async function allPages(sources = t.ctx.hydrator.timelineSources) {
      const out: string[] = []
      let cursor: { sortAt: string; uri: string } | undefined
      for (let i = 0; i < 50; i++) {
        const rows = await page(cursor, sources)
        out.push(...rows.slice(0, 5).map((r) => r.uri))
        if (rows.length <= 5) return out
        cursor = { sortAt: rows[4]!.sortKey, uri: rows[4]!.uri }
      }
      throw new Error('did not end')
    }

    it('pages are the same as the plain query, and a write shows on the next read', async () => {
      expect(t.ctx.hydrator.timelineSources).toBeDefined()
      const old = post(quiet, { text: 'months ago', createdAt: hoursAgo(24 * 20) })
      const recent = Array.from({ length: 12 }, (_, i) => post(busy, { text: `busy ${i}`, createdAt: hoursAgo(i) }))
      await t.ctx.indexer.applyBatch(backfillItems([follow(reader, quiet), follow(reader, busy), old, ...recent]))
      // first page in the first (6 h) window: the quiet account's newest item is older, so it
      // is remembered and the account is not searched
      expect((await page()).map((r) => r.uri)).toEqual(recent.slice(0, 6).map((p) => p.uri))
      expect(t.app.readApi!.rows!.newestItem.get(quiet)).toBeLessThan(Date.now() - 24 * 3_600_000)
      // the quiet account posts now: first on the very next page, not skipped as "inactive"
      const fresh = post(quiet, { text: 'back again' })
      await t.ctx.indexer.applyBatch(items([fresh]))
      expect((await page())[0]!.uri).toBe(fresh.uri)
      const plain = await allPages(undefined)
      expect(plain).toHaveLength(14)
      expect(await allPages()).toEqual(plain)
      // a backfilled post far in the past lands between pages it belongs to
      const backfilled = post(quiet, { text: 'backfilled', createdAt: hoursAgo(24 * 10) })
      await t.ctx.indexer.applyBatch(backfillItems([backfilled]))
      const withBackfill = await allPages()
      expect(withBackfill).toEqual(await allPages(undefined))
      expect(withBackfill).toContain(backfilled.uri)
    })

    it('a follow or unfollow changes the sources on the next read, by the indexer or any other writer', async () => {
      const p = post(later, { text: 'by the account followed later', createdAt: hoursAgo(30) })
      await t.ctx.indexer.applyBatch(backfillItems([p]))
      expect(await allPages()).not.toContain(p.uri)
      const f = follow(reader, later)
      await t.ctx.indexer.applyBatch(items([f]))
      expect(await allPages()).toContain(p.uri)
      await t.ctx.indexer.applyBatch(items([del(f.uri)]))
      expect(await allPages()).not.toContain(p.uri)
      // a follow written by another connection: visible once its notification is in
      await sql`insert into follow (uri, cid, author_did, subject_did, created_at, sort_at)
        values (${f.uri + 'x'}, ${f.cid}, ${reader}, ${later}, now(), now())`.execute(t.db)
      await t.app.readApi!.rows!.listener.sync()
      expect(await allPages()).toContain(p.uri)
    })
  })
})

