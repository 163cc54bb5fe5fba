// Likes and reposts carry by_local (migrations/0070): their author indexes hold only local
// users' rows, and the viewer's own likes/reposts are read through them. A DID's likes and
// reposts stored before it became local must become the viewer's own the moment it does.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getActorLikesPage, getViewerPostStates } from '../../src/dataplane/interactions.js'
import { getViewerStateRows, viewerStateFromRows } from '../../src/dataplane/viewer.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { items, like, newDid, post, repost } from '../_util/index-ops.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ ROLES: 'ingest' })
})
afterAll(async () => {
  await t?.close()
})

const flags = async (table: 'like' | 'repost', uri: string) =>
  (await sql<{ by_local: boolean }>`select by_local from ${sql.table(table)} where uri = ${uri}`.execute(t.db)).rows[0]
    ?.by_local

describe('by_local on likes and reposts', () => {
  it('is set for a local user, not for others, and set later when the author becomes local', async () => {
    const local = newDid()
    const other = newDid()
    const author = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    const p = post(author, { text: 'liked by both' })
    const mine = like(local, p)
    const theirs = like(other, p)
    const myRepost = repost(local, p)
    const theirRepost = repost(other, p)
    await t.ctx.indexer.applyBatch(items([p, mine, theirs, myRepost, theirRepost]))

    expect(await flags('like', mine.uri)).toBe(true)
    expect(await flags('like', theirs.uri)).toBe(false)
    expect(await flags('repost', myRepost.uri)).toBe(true)
    expect(await flags('repost', theirRepost.uri)).toBe(false)
    expect((await getViewerPostStates(t.db, local, [p.uri])).get(p.uri)).toEqual({ like: mine.uri, repost: myRepost.uri })
    expect((await getActorLikesPage(t.db, local, 10)).map((r) => r.uri)).toEqual([mine.uri])

    // `other` signs in: what it liked and reposted before is its own from then on
    await t.ctx.indexer.trackLocalUser(other, 'request')
    expect(await flags('like', theirs.uri)).toBe(true)
    expect(await flags('repost', theirRepost.uri)).toBe(true)
    expect((await getViewerPostStates(t.db, other, [p.uri])).get(p.uri)).toEqual({ like: theirs.uri, repost: theirRepost.uri })
    expect(viewerStateFromRows(await getViewerStateRows(t.db, other, [], [p.uri]), []).posts.get(p.uri)).toEqual({ like: theirs.uri, repost: theirRepost.uri })
    expect((await getActorLikesPage(t.db, other, 10)).map((r) => r.uri)).toEqual([theirs.uri])
    // and p still counts both
    const counts = await t.db.selectFrom('post').select(['like_count', 'repost_count']).where('uri', '=', p.uri).executeTakeFirstOrThrow()
    expect(counts).toEqual({ like_count: 2, repost_count: 2 })
  })
})
