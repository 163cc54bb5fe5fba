// app.bsky.feed.getTimeline against real Postgres, seeded through the indexer, with genuine
// service-auth tokens from a real PDS. Every answer is validated against the official lexicons.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPost, type TestAccount, waitFor } from '../_util/network.js'
import { del, follow, newDid, post, repost, reply, tid } from '../_util/index-ops.js'
import { ReadApiHarness } from './_harness.js'

const TL = 'app.bsky.feed.getTimeline'

describe('getTimeline', () => {
  let h: ReadApiHarness
  let alice: TestAccount
  let bob: TestAccount
  let carol: TestAccount

  beforeAll(async () => {
    h = await ReadApiHarness.start()
    alice = await h.net.createAccount('alice')
    bob = await h.net.createAccount('bob')
    carol = await h.net.createAccount('carol')
    await h.index(
      { kind: 'identity', did: alice.did, handle: 'alice.test' },
      { kind: 'identity', did: bob.did, handle: 'bob.test' },
      { kind: 'identity', did: carol.did, handle: 'carol.test' },
    )
  })
  afterAll(async () => {
    await h?.close()
  })

  it('needs a service-auth token: 401 AuthenticationRequired without one', async () => {
    const res = await h.call(TL)
    expect(res.status).toBe(401)
    expect(res.body.error).toBe('AuthenticationRequired')
  })

  it("shows the viewer's own posts and those of accounts they follow, newest first, nobody else's", async () => {
    const f = follow(alice.did, bob.did)
    const own = post(alice.did, { text: 'mine', createdAt: ago(50) })
    const b1 = post(bob.did, { text: 'bob one', createdAt: ago(40) })
    const b2 = post(bob.did, { text: 'bob two', createdAt: ago(30) })
    const c1 = post(carol.did, { text: 'carol, not followed', createdAt: ago(20) })
    await h.index(f, own, b1, b2, c1)

    const res = await h.call(TL, {}, alice)
    expect(res.status).toBe(200)
    const uris = res.body.feed.map((i: any) => i.post.uri)
    expect(uris).toEqual([b2.uri, b1.uri, own.uri])
    const first = res.body.feed[0]
    expect(first.post.record.text).toBe('bob two')
    expect(first.post.author.handle).toBe('bob.test')
    // the app's Following tuner shows replies only from authors with viewer.following
    expect(first.post.author.viewer.following).toBe(f.uri)
    expect(res.body.cursor).toBeUndefined()
  })

  it('shows reposts by followed accounts with reasonRepost, sorted by the repost time', async () => {
    const old = post(carol.did, { text: 'old carol post', createdAt: ago(600) })
    const rp = repost(bob.did, old)
    ;(rp.record as any).createdAt = ago(1)
    await h.index(old, rp)
    const { feed } = await h.ok(TL, {}, alice)
    expect(feed[0].post.uri).toBe(old.uri)
    expect(feed[0].reason.$type).toBe('app.bsky.feed.defs#reasonRepost')
    expect(feed[0].reason.by.did).toBe(bob.did)
    expect(feed[0].reason.uri).toBe(rp.uri)
    expect(feed[0].post.repostCount).toBe(1)
  })

  it('a future-dated post does not pin the top', async () => {
    const future = post(bob.did, { text: 'from the future', createdAt: '2099-01-01T00:00:00.000Z' })
    await h.index(future)
    const later = post(bob.did, { text: 'written after it' })
    await h.index(later)
    const { feed } = await h.ok(TL, { limit: 5 }, alice)
    const uris = feed.map((i: any) => i.post.uri)
    expect(uris[0]).toBe(later.uri)
    expect(uris.indexOf(future.uri)).toBe(1)
  })

  it('a deleted post leaves the timeline, and so do reposts of it', async () => {
    const target = post(carol.did, { text: 'will be deleted', createdAt: ago(5) })
    const own = post(bob.did, { text: 'bob will delete this', createdAt: ago(4) })
    const rp = repost(bob.did, target)
    await h.index(target, own, rp)
    let uris = (await h.ok(TL, { limit: 10 }, alice)).feed.map((i: any) => i.post.uri)
    expect(uris).toContain(target.uri)
    expect(uris).toContain(own.uri)

    await h.index(del(target.uri), del(own.uri))
    uris = (await h.ok(TL, { limit: 100 }, alice)).feed.map((i: any) => i.post.uri)
    expect(uris).not.toContain(target.uri)
    expect(uris).not.toContain(own.uri)
  })

  it("an unfollow removes that account's items", async () => {
    const f = follow(alice.did, carol.did)
    const c = post(carol.did, { text: 'carol, now followed', createdAt: ago(3) })
    await h.index(f, c)
    let uris = (await h.ok(TL, { limit: 100 }, alice)).feed.map((i: any) => i.post.uri)
    expect(uris).toContain(c.uri)
    await h.index(del(f.uri))
    uris = (await h.ok(TL, { limit: 100 }, alice)).feed.map((i: any) => i.post.uri)
    expect(uris).not.toContain(c.uri)
    expect(uris.length).toBeGreaterThan(0)
  })

  it("hydrates a reply whose parent is by an untracked account from the parent's PDS", async () => {
    const dave = await h.net.createAccount('dave')
    const parent = await createPost(dave, 'dave, on his own PDS, never indexed here')
    const r = post(bob.did, {
      text: 'bob replies to dave',
      reply: { root: { uri: parent.uri, cid: parent.cid }, parent: { uri: parent.uri, cid: parent.cid } },
    })
    await h.index(r)
    const { feed } = await h.ok(TL, { limit: 3 }, alice)
    const item = feed.find((i: any) => i.post.uri === r.uri)
    expect(item.reply.parent.$type).toBe('app.bsky.feed.defs#postView')
    expect(item.reply.parent.uri).toBe(parent.uri)
    expect(item.reply.parent.cid).toBe(parent.cid)
    expect(item.reply.parent.record.text).toBe('dave, on his own PDS, never indexed here')
    expect(item.reply.parent.author.did).toBe(dave.did)
    expect(item.reply.parent.author.handle).toBe('dave.test')
    expect(item.reply.root.uri).toBe(parent.uri)
    // cached: stored through the indexer, so the next request needs no fetch
    const stored = await h.db.selectFrom('post').select('uri').where('uri', '=', parent.uri).executeTakeFirst()
    expect(stored?.uri).toBe(parent.uri)
  })

  it('a reply whose parent is gone carries #notFoundPost', async () => {
    const ghost = `at://${bob.did}/app.bsky.feed.post/${tid()}`
    const r = post(bob.did, {
      text: 'reply to a deleted post',
      reply: {
        root: { uri: ghost, cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' },
        parent: { uri: ghost, cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' },
      },
    })
    await h.index(del(ghost), r)
    const { feed } = await h.ok(TL, { limit: 3 }, alice)
    const item = feed.find((i: any) => i.post.uri === r.uri)
    expect(item.reply.parent).toEqual({ $type: 'app.bsky.feed.defs#notFoundPost', uri: ghost, notFound: true })
  })

  it('replies in the timeline carry full parent and root postViews and the grandparent author', async () => {
    const root = post(alice.did, { text: 'root', createdAt: ago(2) })
    const mid = reply(carol.did, root)
    const leaf = reply(bob.did, mid, root)
    await h.index(root, mid, leaf)
    const { feed } = await h.ok(TL, { limit: 5 }, alice)
    const item = feed.find((i: any) => i.post.uri === leaf.uri)
    expect(item.reply.parent.uri).toBe(mid.uri)
    expect(item.reply.parent.author.did).toBe(carol.did)
    expect(item.reply.root.uri).toBe(root.uri)
    expect(item.reply.grandparentAuthor.did).toBe(alice.did)
  })

  it("carries the atproto-repo-rev of the viewer's newest indexed commit", async () => {
    const rev = tid()
    await h.index(post(alice.did, { text: 'with a rev' }, { rev }))
    const res = await h.call(TL, { limit: 1 }, alice)
    expect(res.headers.get('atproto-repo-rev')).toBe(rev)
  })

  it('pages through 1,000 items that share createdAt values: each exactly once, in order', async () => {
    const erin = await h.net.createAccount('erin')
    const authors = [newDid(), newDid(), newDid()]
    const ops = []
    const base = Date.now() - 3_600_000
    for (let i = 0; i < 1000; i++) {
      // 10 distinct timestamps: 100 items share each one
      const createdAt = new Date(base + (i % 10) * 1000).toISOString()
      ops.push(post(authors[i % 3]!, { text: `item ${i}`, createdAt }))
    }
    await h.index(...authors.map((a) => follow(erin.did, a)))
    for (let i = 0; i < ops.length; i += 250) await h.index(...ops.slice(i, i + 250))

    const expected = [...ops]
      .sort((a, b) => {
        const ta = (a.record as any).createdAt
        const tb = (b.record as any).createdAt
        return ta < tb ? 1 : ta > tb ? -1 : a.uri < b.uri ? 1 : -1
      })
      .map((o) => o.uri)

    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const res = await h.ok(TL, { limit: 37, cursor }, erin)
      seen.push(...res.feed.map((i: any) => i.post.uri))
      cursor = res.cursor
      pages++
    } while (cursor && pages < 100)
    expect(new Set(seen).size).toBe(1000)
    expect(seen).toEqual(expected)
    expect(pages).toBe(Math.ceil(1000 / 37))
  })

  it('finds items far older than the first search window, across pages (sparse follows)', async () => {
    const fay = await h.net.createAccount('fay')
    const quiet = newDid()
    const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString()
    const old = [3, 40, 200, 700].map((d) => post(quiet, { text: `${d} days ago`, createdAt: daysAgo(d) }))
    await h.index(follow(fay.did, quiet), ...old)
    const first = await h.ok(TL, { limit: 2 }, fay)
    expect(first.feed.map((i: any) => i.post.uri)).toEqual([old[0]!.uri, old[1]!.uri])
    const second = await h.ok(TL, { limit: 2, cursor: first.cursor }, fay)
    expect(second.feed.map((i: any) => i.post.uri)).toEqual([old[2]!.uri, old[3]!.uri])
    expect(second.cursor).toBeUndefined()
    // a busier timeline later: the remembered (wide) window still returns the newest first
    const fresh = post(quiet, { text: 'fresh' })
    await h.index(fresh)
    expect((await h.ok(TL, { limit: 1 }, fay)).feed[0].post.uri).toBe(fresh.uri)
  })

  it('rejects a malformed cursor or limit with 400 InvalidRequest naming it', async () => {
    const bad = await h.call(TL, { cursor: 'not-a-cursor!' }, alice)
    expect(bad.status).toBe(400)
    expect(bad.body.error).toBe('InvalidRequest')
    expect(bad.body.message).toMatch(/cursor/)
    const forged = await h.call(TL, { cursor: Buffer.from('yesterday::x').toString('base64url') }, alice)
    expect(forged.status).toBe(400)
    const big = await h.call(TL, { limit: 101 }, alice)
    expect(big.status).toBe(400)
    expect(big.body.message).toMatch(/limit/)
    const nan = await h.call(TL, { limit: 'ten' as any }, alice)
    expect(nan.status).toBe(400)
    expect(nan.body.message).toMatch(/limit/)
  })

  it('keeps working while a parent PDS is unreachable (answer within the fetch budget)', async () => {
    const nowhere = newDid() // not in the PLC directory: identity resolution fails
    const ghostParent = `at://${nowhere}/app.bsky.feed.post/${tid()}`
    const cid = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'
    const r = post(bob.did, { text: 'reply into the void', reply: { root: { uri: ghostParent, cid }, parent: { uri: ghostParent, cid } } })
    await h.index(r)
    const { feed } = await waitFor(async () => h.ok(TL, { limit: 3 }, alice))
    const item = feed.find((i: any) => i.post.uri === r.uri)
    expect(item.reply.parent.$type).toBe('app.bsky.feed.defs#notFoundPost')
  })
})

function ago(minutes: number): string {
  return new Date(Date.now() - minutes * 60_000).toISOString()
}
