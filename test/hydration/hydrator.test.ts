// Hydration issues a bounded number of queries per request, whatever the number of items:
// 5 feed items and 100 feed items (posts, reposts, replies, quotes) stay under one bound.
import { lexicons } from '@atproto/api'
import { type KyselyPlugin, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FeedItemRow } from '../../src/dataplane/feeds.js'
import { getTimelineSkeleton } from '../../src/dataplane/feeds.js'
import { Hydrator } from '../../src/hydration/hydrator.js'
import { appSurfaceViewerState } from '../../src/state/viewer-extension.js'
import { Views } from '../../src/views/index.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { cidOf, follow, newDid, post, quote, reply, repost } from '../_util/index-ops.js'

describe('Hydrator', () => {
  let t: TestApp
  const viewer = newDid()
  const authors = Array.from({ length: 10 }, () => newDid())

  beforeAll(async () => {
    t = await createTestApp()
    const ops = [...authors.map((a) => follow(viewer, a))]
    for (let i = 0; i < 40; i++) {
      const a = authors[i % authors.length]!
      const p = post(a, { text: `post ${i}` })
      ops.push(p, reply(authors[(i + 1) % authors.length]!, p), quote(authors[(i + 2) % authors.length]!, p))
      ops.push(repost(authors[(i + 3) % authors.length]!, p))
    }
    const res = await t.ctx.indexer.applyBatch(ops.map((op) => ({ op, ctx: { source: 'backfill' as const } })))
    expect(res.skipped).toBe(0)
  })
  afterAll(async () => {
    await t?.close()
  })

  function counting() {
    let queries = 0
    const plugin: KyselyPlugin = {
      transformQuery: (args) => {
        queries++
        return args.node
      },
      transformResult: async (args) => args.result,
    }
    const db = t.db.withPlugin(plugin)
    const hydrator = new Hydrator({ db })
    return { hydrator, db, count: () => queries }
  }

  async function hydrateCount(items: FeedItemRow[]) {
    const { hydrator, count } = counting()
    const state = await hydrator.hydrateFeedItems(items, viewer, { fetchMissing: false })
    return { queries: count(), state }
  }

  it("another module's viewer state (mutes, bookmarks) joins the viewer-state query: no extra round trip", async () => {
    const items = (await getTimelineSkeleton(t.db, viewer, 20)).slice(0, 20)
    const plain = counting()
    await plain.hydrator.hydrateFeedItems(items, viewer, { fetchMissing: false })
    const extended = counting()
    extended.hydrator.extend(appSurfaceViewerState(extended.db))
    const bookmarked = items[0]!.postUri
    const muted = items[1]!.originatorDid
    await sql`insert into bookmark (owner_did, subject_uri, subject_cid) values (${viewer}, ${bookmarked}, ${cidOf()})`.execute(t.db)
    await sql`insert into mute_actor (muter_did, subject_did) values (${viewer}, ${muted})`.execute(t.db)
    const state = await extended.hydrator.hydrateFeedItems(items, viewer, { fetchMissing: false })
    expect(extended.count()).toBe(plain.count())
    expect(state.postViewers.get(bookmarked)).toMatchObject({ bookmarked: true, threadMuted: false })
    // another post (a repost item can show the bookmarked post again)
    const other = items.find((i) => i.postUri !== bookmarked)!.postUri
    expect(state.postViewers.get(other)).toMatchObject({ bookmarked: false })
    expect(state.profileViewers.get(muted)).toMatchObject({ muted: true, following: expect.any(String) })
    await sql`delete from bookmark where owner_did = ${viewer}`.execute(t.db)
    await sql`delete from mute_actor where muter_did = ${viewer}`.execute(t.db)
  })

  it('loads 5 or 100 feed items within the same fixed number of queries', async () => {
    const items = await getTimelineSkeleton(t.db, viewer, 100)
    expect(items.length).toBe(101) // limit + 1: there are more
    const small = await hydrateCount(items.slice(0, 5))
    const large = await hydrateCount(items.slice(0, 100))
    // a fixed bound whatever the item count (a step with nothing to load is skipped, so a
    // small page can need fewer): posts, reposts, reply refs, quotes ×2, tombstones, actors,
    // relationships, viewer likes/reposts
    const BOUND = 10
    expect(small.queries).toBeLessThanOrEqual(BOUND)
    expect(large.queries).toBeLessThanOrEqual(BOUND)
    // posts, actors, viewer state at least (the timeline skeleton brings the repost rows)
    expect(large.queries).toBeGreaterThanOrEqual(3)
    expect(items.slice(0, 100).some((i) => i.repost)).toBe(true)

    // and the state is complete: every item presents
    const views = new Views({ imageUrl: 'https://cdn.example/img', videoUrl: 'https://video.example/watch' })
    const presented = items.slice(0, 100).map((i) => views.feedViewPost(large.state, i))
    expect(presented.every((v) => v !== undefined)).toBe(true)
    const withReply = presented.find((v) => v?.reply)
    expect((withReply!.reply as any).parent.$type).toBe('app.bsky.feed.defs#postView')
  })

  it('shows quoted feed generators through an extension, lexicon-valid; unknown ones as #viewNotFound', async () => {
    const creator = authors[0]!
    const genUri = `at://${creator}/app.bsky.feed.generator/cats`
    const unknownUri = `at://${creator}/app.bsky.graph.list/nobody-knows`
    const q1 = post(authors[1]!, { text: 'try this feed', embed: { $type: 'app.bsky.embed.record', record: { uri: genUri, cid: cidOf('gen') } } })
    const q2 = post(authors[1]!, { text: 'and this list', embed: { $type: 'app.bsky.embed.record', record: { uri: unknownUri, cid: cidOf('list') } } })
    await t.ctx.indexer.applyBatch([q1, q2].map((op) => ({ op, ctx: { source: 'backfill' as const } })))

    const { hydrator } = counting()
    const asked: string[][] = []
    hydrator.extend({
      async records(_viewer, uris) {
        asked.push(uris)
        const view = {
          $type: 'app.bsky.feed.defs#generatorView',
          uri: genUri,
          cid: cidOf('gen'),
          did: 'did:web:feeds.example.com',
          creator: { did: creator, handle: 'creator.test' },
          displayName: 'Cats',
          indexedAt: new Date().toISOString(),
        }
        return new Map(uris.filter((u) => u === genUri).map((u) => [u, view]))
      },
    })
    const state = await hydrator.hydratePosts([q1.uri, q2.uri], null)
    // one call for both (in no particular order: the posts' query has none)
    expect(asked.map((uris) => [...uris].sort())).toEqual([[genUri, unknownUri].sort()])
    const views = new Views({ imageUrl: 'https://cdn.example/img', videoUrl: 'https://video.example/watch' })
    const posts = [views.postView(state, q1.uri), views.postView(state, q2.uri)]
    expect((posts[0]!.embed as any).record.$type).toBe('app.bsky.feed.defs#generatorView')
    expect((posts[0]!.embed as any).record.displayName).toBe('Cats')
    expect((posts[1]!.embed as any).record).toEqual({ $type: 'app.bsky.embed.record#viewNotFound', uri: unknownUri, notFound: true })
    expect(() => lexicons.assertValidXrpcOutput('app.bsky.feed.getPosts', { posts })).not.toThrow()
  })

  it('marks posts it looked up and did not find as known-missing (null)', async () => {
    const { hydrator } = counting()
    const ghost = `at://${newDid()}/app.bsky.feed.post/3kaaaaaaaaaaa`
    const state = await hydrator.hydratePosts([ghost], null)
    expect(state.posts.has(ghost)).toBe(true)
    expect(state.posts.get(ghost)).toBeNull()
  })
})
