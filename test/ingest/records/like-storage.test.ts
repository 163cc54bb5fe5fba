// Which likes are stored (src/ingest/records/like.ts, storage policy): likes no view can ever
// show are dropped; every like a user can see — counts, getLikes, notifications, their own
// likes — is kept, through the bulk path (creates) and the single path (updates) alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IndexOp } from '../../../src/ingest/ops.js'
import { createTestApp, type TestApp } from '../../_util/app.js'
import { backfillItems, del, follow, items, like, newDid, post, reply, write } from '../../_util/index-ops.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ ROLES: 'ingest' })
})
afterAll(async () => {
  await t?.close()
})

const apply = (list: IndexOp[]) => t.ctx.indexer.applyBatch(items(list, { startUs: Date.now() * 1000 }))
const storedLike = async (uri: string) =>
  (await t.db.selectFrom('like').select('uri').where('uri', '=', uri).executeTakeFirst()) !== undefined
const likeCount = async (uri: string) =>
  (await t.db.selectFrom('post').select('like_count').where('uri', '=', uri).executeTakeFirstOrThrow()).like_count

/** A local user and an account they follow (tracked, not local). */
async function community() {
  const local = newDid()
  const friend = newDid()
  await t.ctx.indexer.trackLocalUser(local, 'operator')
  await apply([follow(local, friend)])
  expect(t.ctx.liveFilter.isTracked(friend)).toBe(true)
  expect(t.ctx.liveFilter.isLocalUser(friend)).toBe(false)
  return { local, friend }
}

describe('like storage policy', () => {
  it("drops a followed account's like of a post nobody here can see, through both write paths", async () => {
    const { friend } = await community()
    const stranger = newDid()
    const unseen = post(stranger) // never stored: the stranger is not tracked
    const created = like(friend, unseen)
    const updated = like(friend, unseen, { kind: 'update' })
    const res = await apply([created, updated])
    expect(res.skipped).toBe(0)
    expect(res.indexed).toBe(0)
    expect(await storedLike(created.uri)).toBe(false)
    expect(await storedLike(updated.uri)).toBe(false)
    // Its unlike is harmless: nothing to remove, no counter goes below zero.
    const unlike = await apply([del(created.uri)])
    expect(unlike).toMatchObject({ skipped: 0, indexed: 0, unchanged: 1 })
  })

  it('keeps every like a user can see: of stored posts, of local posts, by local users, of non-posts', async () => {
    const { local, friend } = await community()
    const stranger = newDid()
    // A stranger's reply to the local user is stored (it touches a local user).
    const localPost = post(local)
    const strangerReply = reply(stranger, localPost)
    await apply([localPost, strangerReply])
    const ofStoredPost = like(friend, strangerReply)
    const ofLocalPost = like(stranger, localPost)
    const byLocal = like(local, post(newDid()))
    const generator = `at://${stranger}/app.bsky.feed.generator/cool`
    const ofGenerator = write(friend, 'app.bsky.feed.like', {
      subject: { uri: generator, cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' },
      createdAt: new Date().toISOString(),
    })
    const res = await apply([ofStoredPost, ofLocalPost, byLocal, ofGenerator])
    expect(res.indexed).toBe(4)
    for (const l of [ofStoredPost, ofLocalPost, byLocal, ofGenerator]) expect(await storedLike(l.uri)).toBe(true)
    expect(await likeCount(strangerReply.uri)).toBe(1)
    expect(await likeCount(localPost.uri)).toBe(1)
    // The local user sees the stranger's like in notifications.
    const n = await t.db.selectFrom('notification').select(['reason', 'record_uri']).where('recipient_did', '=', local).where('reason', '=', 'like').execute()
    expect(n).toEqual([{ reason: 'like', record_uri: ofLocalPost.uri }])
  })

  it("keeps likes of a followed account's post that is not stored yet, so its count is right once backfilled", async () => {
    const { friend } = await community()
    const { friend: followed } = await community()
    const older = post(followed) // the backfill has not reached it yet
    const l1 = like(friend, older)
    const res = await apply([l1])
    expect(res.indexed).toBe(1)
    await t.ctx.indexer.applyBatch(backfillItems([older]))
    expect(await likeCount(older.uri)).toBe(1)
  })
})
