// The read API keeps each viewer's state answers (likes, reposts, follows of them, blocks,
// mutes, bookmarks, thread mutes, activity subscriptions) for the accounts and posts it has
// shown them (src/hydration/row-source.ts viewerStateRows; migrations/0140 announces 'v').
// It must never show a viewer's state as it was before a committed change: the indexer's
// writes on the very next read, anyone else's once their notification arrives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ViewerStateRow } from '../../src/dataplane/viewer.js'
import type { CachedRows } from '../../src/hydration/row-source.js'
import { createBookmark } from '../../src/state/bookmarks.js'
import { muteActor, muteThread, unmuteActor } from '../../src/state/mutes.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { backfillItems, block, del, follow, items, like, newDid, post, profile, repost } from '../_util/index-ops.js'
import { sql } from 'kysely'

let t: TestApp
let rows: CachedRows
beforeAll(async () => {
  t = await createTestApp()
  rows = t.app.readApi!.rows!
  expect(rows).toBeDefined()
})
afterAll(async () => {
  await t?.close()
})

const apply = (ops: Parameters<typeof items>[0]) => t.ctx.indexer.applyBatch(items(ops, { startUs: Date.now() * 1000 }))

/** A local viewer, an author they see, and one of the author's posts (all indexed). */
async function scene() {
  const viewer = newDid()
  const author = newDid()
  await t.ctx.indexer.trackLocalUser(viewer, 'operator')
  const p = post(author, { text: 'seen by the viewer' })
  await t.ctx.indexer.applyBatch(backfillItems([p, profile(author, { displayName: 'Author' })]))
  const read = async () => {
    const s = await t.ctx.hydrator.hydratePosts([p.uri], viewer)
    return { post: s.postViewers.value(p.uri) ?? {}, author: s.profileViewers.value(author) ?? {} }
  }
  return { viewer, author, p, read }
}

describe('viewer state held in the read API', () => {
  it('answers a second read of the same posts and accounts from memory', async () => {
    const { viewer, author, p, read } = await scene()
    const first = await read()
    expect(rows.viewerStates.get(viewer)?.has(p.uri)).toBe(true)
    expect(rows.viewerStates.get(viewer)?.has(author)).toBe(true)
    const hits = rows.viewerStates.hits
    expect(await read()).toEqual(first)
    expect(rows.viewerStates.hits).toBeGreaterThan(hits)
  })

  it("the viewer's likes and reposts, follows of the viewer and blocks either way show on the very next read", async () => {
    const { viewer, author, p, read } = await scene()
    expect(await read()).toEqual({ post: { bookmarked: false, threadMuted: false }, author: { muted: false } })

    const liked = like(viewer, p)
    const reposted = repost(viewer, p)
    await apply([liked, reposted])
    expect((await read()).post).toMatchObject({ like: liked.uri, repost: reposted.uri })
    await apply([del(liked.uri)])
    expect((await read()).post.like).toBeUndefined()

    const followsViewer = follow(author, viewer)
    await apply([followsViewer])
    expect((await read()).author.followedBy).toBe(followsViewer.uri)

    const blocksViewer = block(author, viewer)
    await apply([blocksViewer])
    expect((await read()).author.blockedBy).toBe(true)
    const blocked = block(viewer, author)
    await apply([blocked])
    expect((await read()).author.blocking).toBe(blocked.uri)
    await apply([del(blocksViewer.uri), del(blocked.uri)])
    const after = (await read()).author
    expect(after.blockedBy).toBeFalsy()
    expect(after.blocking).toBeUndefined()
  })

  it('mutes, bookmarks and thread mutes written by another connection show once their notification arrives', async () => {
    const { viewer, author, p, read } = await scene()
    expect(await read()).toMatchObject({ post: { bookmarked: false, threadMuted: false }, author: { muted: false } })
    // the app's main pool, as the procedures write (not the indexer): no sync of its own
    await muteActor(t.db, viewer, author)
    await createBookmark(t.db, viewer, p.uri, p.cid)
    await muteThread(t.db, viewer, p.uri)
    await sql`insert into activity_subscription (subscriber_did, subject_did, post, reply, created_at, updated_at)
      values (${viewer}, ${author}, true, false, now(), now())`.execute(t.db)
    await rows.listener.sync() // every notification committed before this is applied
    expect(await read()).toMatchObject({
      post: { bookmarked: true, threadMuted: true },
      author: { muted: true, activitySubscription: { post: true, reply: false } },
    })
    await unmuteActor(t.db, viewer, author)
    await rows.listener.sync()
    expect((await read()).author.muted).toBe(false)
  })

  it('an answer read while its viewer was announced is not kept', async () => {
    const viewer = newDid()
    let loads = 0
    const load = async (dids: string[]): Promise<ViewerStateRow[]> => {
      loads++
      // a change to this viewer's state commits while the query runs
      rows.viewerStates.invalidate([viewer])
      return dids.map((d) => ({ kind: 'followedBy', key: d, uri: `at://${d}/app.bsky.graph.follow/x`, post: null, reply: null }))
    }
    const account = newDid()
    expect(await rows.viewerStateRows(viewer, [account], [], load)).toHaveLength(1)
    await rows.viewerStateRows(viewer, [account], [], load)
    expect(loads).toBe(2)
    // without a change meanwhile, the answer is kept
    await rows.viewerStateRows(viewer, [account], [], async (dids) => (loads++, dids.map((d) => ({ kind: 'followedBy', key: d, uri: 'u', post: null, reply: null }))))
    await rows.viewerStateRows(viewer, [account], [], load)
    expect(loads).toBe(3)
  })
})
