// The read path's row cache must never show a row as it was before a committed change:
// changes through this process's indexer are visible on the very next read; changes by
// anyone else (another process, plain SQL) as soon as their notification arrives; while the
// invalidation channel is down nothing is served from memory.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CachedRows } from '../../src/hydration/row-source.js'
import { RowCache } from '../../src/hydration/row-cache.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { backfillItems, del, items, like, newDid, post, profile, repost } from '../_util/index-ops.js'

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
})
