// The read surface beyond the timeline, seeded through the indexer: profiles, author feeds
// (every filter, pins), posts with every embed kind, threads v1/v2, likes, reposts, quotes,
// actor likes, follows, getRecord, resolveHandle; hidden (deactivated) and blocked accounts;
// bad input → 400 naming it. Every 200 answer is validated against the official lexicons.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPost, type TestAccount } from '../_util/network.js'
import { block, cidOf, del, follow, like, newDid, post, profile, quote, reply, repost } from '../_util/index-ops.js'
import { ReadApiHarness } from './_harness.js'

const IMG = 'https://img.example.test/img'
const VID = 'https://video.example.test/watch'

function blob(mimeType = 'image/jpeg') {
  return { $type: 'blob', ref: { $link: cidOf() }, mimeType, size: 1234 }
}

describe('read endpoints', () => {
  let h: ReadApiHarness
  let alice: TestAccount
  let bob: TestAccount
  let carol: TestAccount

  beforeAll(async () => {
    h = await ReadApiHarness.start({ IMAGE_CDN_URL: IMG, VIDEO_CDN_URL: VID })
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

  describe('profiles', () => {
    it('getProfile: counts, CDN avatar/banner, pinned post and the viewer relationship', async () => {
      const avatar = blob()
      const banner = blob()
      const pinned = post(bob.did, { text: 'pin me' })
      await h.index(
        pinned,
        profile(bob.did, {
          displayName: 'Bob B.',
          description: 'about bob',
          avatar,
          banner,
          pinnedPost: { uri: pinned.uri, cid: pinned.cid },
          createdAt: '2024-01-01T00:00:00.000Z',
        }),
      )
      const aliceFollowsBob = follow(alice.did, bob.did)
      const bobFollowsAlice = follow(bob.did, alice.did)
      await h.index(aliceFollowsBob, bobFollowsAlice, follow(carol.did, bob.did))

      const p = await h.ok('app.bsky.actor.getProfile', { actor: 'bob.test' }, alice)
      expect(p.did).toBe(bob.did)
      expect(p.handle).toBe('bob.test')
      expect(p.displayName).toBe('Bob B.')
      expect(p.description).toBe('about bob')
      expect(p.avatar).toBe(`${IMG}/avatar/plain/${bob.did}/${avatar.ref.$link}@jpeg`)
      expect(p.banner).toBe(`${IMG}/banner/plain/${bob.did}/${banner.ref.$link}@jpeg`)
      expect(p.followersCount).toBe(2)
      expect(p.followsCount).toBe(1)
      expect(p.postsCount).toBe(1)
      expect(p.pinnedPost).toEqual({ uri: pinned.uri, cid: pinned.cid })
      expect(p.viewer.following).toBe(aliceFollowsBob.uri)
      expect(p.viewer.followedBy).toBe(bobFollowsAlice.uri)

      const byDid = await h.ok('app.bsky.actor.getProfile', { actor: bob.did })
      expect(byDid.handle).toBe('bob.test')
      expect(byDid.viewer).toBeUndefined()
    })

    it('getProfile: unknown actor and malformed actor are 400s naming the problem', async () => {
      const unknown = await h.call('app.bsky.actor.getProfile', { actor: 'nobody.test' })
      expect(unknown.status).toBe(400)
      expect(unknown.body.message).toMatch(/not found/i)
      const malformed = await h.call('app.bsky.actor.getProfile', { actor: 'not a handle!' })
      expect(malformed.status).toBe(400)
      expect(malformed.body.error).toBe('InvalidRequest')
      expect(malformed.body.message).toMatch(/actor/)
      const missing = await h.call('app.bsky.actor.getProfile', {})
      expect(missing.status).toBe(400)
      expect(missing.body.message).toMatch(/actor/)
    })

    it('getProfiles: in order asked, unknown ones left out', async () => {
      const res = await h.ok('app.bsky.actor.getProfiles', { actors: [carol.did, 'bob.test', newDid()] })
      expect(res.profiles.map((p: any) => p.did)).toEqual([carol.did, bob.did])
    })

    it('getFollows / getFollowers: newest first, with subject, paged', async () => {
      const dan = newDid()
      const erin = newDid()
      await h.index(follow(carol.did, dan), follow(carol.did, erin))
      const follows = await h.ok('app.bsky.graph.getFollows', { actor: carol.did, limit: 2 })
      expect(follows.subject.did).toBe(carol.did)
      expect(follows.follows.map((f: any) => f.did)).toEqual([erin, dan])
      expect(follows.cursor).toBeDefined()
      const rest = await h.ok('app.bsky.graph.getFollows', { actor: carol.did, limit: 2, cursor: follows.cursor })
      expect(rest.follows.map((f: any) => f.did)).toEqual([bob.did])
      expect(rest.cursor).toBeUndefined()

      const followers = await h.ok('app.bsky.graph.getFollowers', { actor: 'bob.test' }, alice)
      expect(followers.subject.did).toBe(bob.did)
      expect(followers.followers.map((f: any) => f.did).sort()).toEqual([alice.did, carol.did].sort())
    })
  })

  describe('posts and embeds', () => {
    it('images, video, external, record and recordWithMedia embeds with CDN URLs and $type', async () => {
      const img = blob()
      const vid = blob('video/mp4')
      const thumb = blob()
      const images = post(bob.did, {
        text: 'images',
        embed: { $type: 'app.bsky.embed.images', images: [{ image: img, alt: 'a cat', aspectRatio: { width: 4, height: 3 } }] },
      })
      const video = post(bob.did, {
        text: 'video',
        embed: { $type: 'app.bsky.embed.video', video: vid, alt: 'a clip', aspectRatio: { width: 16, height: 9 } },
      })
      const external = post(bob.did, {
        text: 'link',
        embed: {
          $type: 'app.bsky.embed.external',
          external: { uri: 'https://example.com/a', title: 'T', description: 'D', thumb },
        },
      })
      const quoted = quote(carol.did, images) // carol quotes bob's image post
      const withMedia = post(alice.did, {
        text: 'quote with media',
        embed: {
          $type: 'app.bsky.embed.recordWithMedia',
          record: { $type: 'app.bsky.embed.record', record: { uri: quoted.uri, cid: quoted.cid } },
          media: { $type: 'app.bsky.embed.images', images: [{ image: img, alt: '' }] },
        },
      })
      await h.index(images, video, external, quoted, withMedia)

      const { posts } = await h.ok(
        'app.bsky.feed.getPosts',
        { uris: [images.uri, video.uri, external.uri, quoted.uri, withMedia.uri] },
        alice,
      )
      expect(posts.map((p: any) => p.uri)).toEqual([images.uri, video.uri, external.uri, quoted.uri, withMedia.uri])
      const [pi, pv, pe, pq, pm] = posts
      const cid = img.ref.$link
      expect(pi.embed).toEqual({
        $type: 'app.bsky.embed.images#view',
        images: [
          {
            thumb: `${IMG}/feed_thumbnail/plain/${bob.did}/${cid}@jpeg`,
            fullsize: `${IMG}/feed_fullsize/plain/${bob.did}/${cid}@jpeg`,
            alt: 'a cat',
            aspectRatio: { width: 4, height: 3 },
          },
        ],
      })
      expect(pi.quoteCount).toBe(1)
      expect(pv.embed.$type).toBe('app.bsky.embed.video#view')
      expect(pv.embed.cid).toBe(vid.ref.$link)
      expect(pv.embed.playlist).toBe(`${VID}/${encodeURIComponent(bob.did)}/${vid.ref.$link}/playlist.m3u8`)
      expect(pe.embed.$type).toBe('app.bsky.embed.external#view')
      expect(pe.embed.external.thumb).toBe(`${IMG}/feed_thumbnail/plain/${bob.did}/${thumb.ref.$link}@jpeg`)
      expect(pq.embed.$type).toBe('app.bsky.embed.record#view')
      expect(pq.embed.record.$type).toBe('app.bsky.embed.record#viewRecord')
      expect(pq.embed.record.uri).toBe(images.uri)
      expect(pq.embed.record.author.handle).toBe('bob.test')
      // the quoted post's own embed is shown one level down
      expect(pq.embed.record.embeds[0].$type).toBe('app.bsky.embed.images#view')
      expect(pm.embed.$type).toBe('app.bsky.embed.recordWithMedia#view')
      expect(pm.embed.record.record.uri).toBe(quoted.uri)
      expect(pm.embed.media.$type).toBe('app.bsky.embed.images#view')
      expect(pm.embed.media.images[0].thumb).toBe(`${IMG}/feed_thumbnail/plain/${alice.did}/${cid}@jpeg`)
    })

    it('a quote of a deleted post shows #viewNotFound; viewer like/repost are set', async () => {
      const gone = post(carol.did, { text: 'gone soon' })
      const q = quote(bob.did, gone)
      await h.index(gone, q)
      await h.index(del(gone.uri))
      const l = like(alice.did, q)
      const r = repost(alice.did, q)
      await h.index(l, r)
      const { posts } = await h.ok('app.bsky.feed.getPosts', { uris: [q.uri] }, alice)
      expect(posts[0].embed.record).toEqual({ $type: 'app.bsky.embed.record#viewNotFound', uri: gone.uri, notFound: true })
      expect(posts[0].viewer.like).toBe(l.uri)
      expect(posts[0].viewer.repost).toBe(r.uri)
      expect(posts[0].likeCount).toBe(1)
      expect(posts[0].repostCount).toBe(1)
    })

    it('getPosts rejects malformed URIs with 400 naming uris', async () => {
      const res = await h.call('app.bsky.feed.getPosts', { uris: ['https://example.com/not-at'] })
      expect(res.status).toBe(400)
      expect(res.body.message).toMatch(/uris/)
    })

    it('getLikes, getRepostedBy and getQuotes list who interacted, newest first', async () => {
      const target = post(bob.did, { text: 'popular' })
      await h.index(target)
      const likers = [newDid(), newDid(), newDid()]
      const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString()
      for (const [i, d] of likers.entries()) {
        const l = like(d, target)
        ;(l.record as any).createdAt = minutesAgo(10 - i) // likers[2] is the newest
        await h.index(l)
      }
      await h.index(repost(carol.did, target), repost(alice.did, target))
      const q1 = quote(carol.did, target)
      ;(q1.record as any).createdAt = minutesAgo(5)
      const q2 = quote(alice.did, target)
      ;(q2.record as any).createdAt = minutesAgo(4)
      await h.index(q1, q2)

      const likes = await h.ok('app.bsky.feed.getLikes', { uri: target.uri, limit: 2 })
      expect(likes.uri).toBe(target.uri)
      expect(likes.likes.map((l: any) => l.actor.did)).toEqual([likers[2], likers[1]])
      const more = await h.ok('app.bsky.feed.getLikes', { uri: target.uri, limit: 2, cursor: likes.cursor })
      expect(more.likes.map((l: any) => l.actor.did)).toEqual([likers[0]])
      expect(more.cursor).toBeUndefined()

      const reposts = await h.ok('app.bsky.feed.getRepostedBy', { uri: target.uri })
      expect(reposts.repostedBy.map((a: any) => a.did).sort()).toEqual([alice.did, carol.did].sort())

      const quotes = await h.ok('app.bsky.feed.getQuotes', { uri: target.uri })
      expect(quotes.posts.map((p: any) => p.uri)).toEqual([q2.uri, q1.uri])
    })
  })

  describe('author feeds', () => {
    let dora: string
    const uris: Record<string, string> = {}
    beforeAll(async () => {
      dora = newDid()
      const base = Date.now() - 3_600_000
      const at = (m: number) => new Date(base + m * 60_000).toISOString()
      const top = post(dora, { text: 'top', createdAt: at(1) })
      const selfThread = reply(dora, top, top, {})
      ;(selfThread.record as any).createdAt = at(2)
      const other = post(carol.did, { text: 'carol', createdAt: at(0) })
      const replyOther = reply(dora, other)
      ;(replyOther.record as any).createdAt = at(3)
      const media = post(dora, {
        text: 'pic',
        createdAt: at(4),
        embed: { $type: 'app.bsky.embed.images', images: [{ image: blob(), alt: '' }] },
      })
      const vid = post(dora, {
        text: 'clip',
        createdAt: at(5),
        embed: { $type: 'app.bsky.embed.video', video: blob('video/mp4') },
      })
      const rp = repost(dora, other)
      ;(rp.record as any).createdAt = at(6)
      await h.index(other, top, selfThread, replyOther, media, vid, rp, profile(dora, { pinnedPost: { uri: top.uri, cid: top.cid } }))
      Object.assign(uris, { top: top.uri, selfThread: selfThread.uri, replyOther: replyOther.uri, media: media.uri, vid: vid.uri, rp: rp.uri, other: other.uri })
    })

    const feedOf = async (params: Record<string, any>) => {
      const res = await h.ok('app.bsky.feed.getAuthorFeed', { actor: dora, ...params })
      return res.feed.map((i: any) => (i.reason?.$type === 'app.bsky.feed.defs#reasonRepost' ? `repost:${i.post.uri}` : i.post.uri))
    }

    it('posts_with_replies (default): everything, newest first', async () => {
      expect(await feedOf({})).toEqual([`repost:${uris.other}`, uris.vid, uris.media, uris.replyOther, uris.selfThread, uris.top])
    })
    it('posts_no_replies', async () => {
      expect(await feedOf({ filter: 'posts_no_replies' })).toEqual([`repost:${uris.other}`, uris.vid, uris.media, uris.top])
    })
    it('posts_and_author_threads keeps self-threads, drops replies to others', async () => {
      expect(await feedOf({ filter: 'posts_and_author_threads' })).toEqual([
        `repost:${uris.other}`,
        uris.vid,
        uris.media,
        uris.selfThread,
        uris.top,
      ])
    })
    it('posts_with_media and posts_with_video', async () => {
      expect(await feedOf({ filter: 'posts_with_media' })).toEqual([uris.media])
      expect(await feedOf({ filter: 'posts_with_video' })).toEqual([uris.vid])
    })
    it('includePins puts the pinned post first with reasonPin, on the first page only', async () => {
      const res = await h.ok('app.bsky.feed.getAuthorFeed', { actor: dora, includePins: true, limit: 3 })
      expect(res.feed[0].post.uri).toBe(uris.top)
      expect(res.feed[0].reason).toEqual({ $type: 'app.bsky.feed.defs#reasonPin' })
      const next = await h.ok('app.bsky.feed.getAuthorFeed', { actor: dora, includePins: true, limit: 3, cursor: res.cursor })
      expect(next.feed.some((i: any) => i.reason?.$type === 'app.bsky.feed.defs#reasonPin')).toBe(false)
    })
    it('an unknown filter is a 400 naming filter', async () => {
      const res = await h.call('app.bsky.feed.getAuthorFeed', { actor: dora, filter: 'everything' })
      expect(res.status).toBe(400)
      expect(res.body.message).toMatch(/filter/)
    })
  })

  describe('threads', () => {
    let root: ReturnType<typeof post>, a1: ReturnType<typeof post>, a2: ReturnType<typeof post>
    let b1: ReturnType<typeof post>, c1: ReturnType<typeof post>
    beforeAll(async () => {
      const base = Date.now() - 1_800_000
      const at = (m: number) => new Date(base + m * 60_000).toISOString()
      root = post(bob.did, { text: 'root', createdAt: at(0) })
      a1 = reply(carol.did, root)
      ;(a1.record as any).createdAt = at(1)
      a2 = reply(alice.did, root)
      ;(a2.record as any).createdAt = at(2)
      b1 = reply(bob.did, a1, root)
      ;(b1.record as any).createdAt = at(3)
      c1 = reply(carol.did, b1, root)
      ;(c1.record as any).createdAt = at(4)
      await h.index(root, a1, a2, b1, c1)
    })

    it('getPostThread v1: parents nested up, replies nested down, limited by depth', async () => {
      const { thread } = await h.ok('app.bsky.feed.getPostThread', { uri: b1.uri })
      expect(thread.$type).toBe('app.bsky.feed.defs#threadViewPost')
      expect(thread.post.uri).toBe(b1.uri)
      expect(thread.parent.post.uri).toBe(a1.uri)
      expect(thread.parent.parent.post.uri).toBe(root.uri)
      expect(thread.replies.map((r: any) => r.post.uri)).toEqual([c1.uri])

      const fromRoot = await h.ok('app.bsky.feed.getPostThread', { uri: root.uri, depth: 1 })
      expect(fromRoot.thread.replies.map((r: any) => r.post.uri)).toEqual([a1.uri, a2.uri])
      expect(fromRoot.thread.replies[0].replies).toBeUndefined()
    })

    it('getPostThread v1: unknown post → 400 NotFound; malformed uri → 400 naming uri', async () => {
      const missing = await h.call('app.bsky.feed.getPostThread', { uri: `at://${bob.did}/app.bsky.feed.post/3kaaaaaaaaaaa` })
      expect(missing.status).toBe(400)
      expect(missing.body.error).toBe('NotFound')
      const bad = await h.call('app.bsky.feed.getPostThread', { uri: 'at:/broken' })
      expect(bad.status).toBe(400)
      expect(bad.body.message).toMatch(/uri/)
    })

    it('getPostThreadV2: flat items with depth, opThread, sort and branching factor', async () => {
      const { thread, hasOtherReplies } = await h.ok('app.bsky.unspecced.getPostThreadV2', { anchor: root.uri })
      expect(hasOtherReplies).toBe(false)
      expect(thread.map((i: any) => [i.uri, i.depth])).toEqual([
        [root.uri, 0],
        [a1.uri, 1],
        [b1.uri, 2],
        [c1.uri, 3],
        [a2.uri, 1],
      ])
      expect(thread[0].value.$type).toBe('app.bsky.unspecced.defs#threadItemPost')
      expect(thread[0].value.opThread).toBe(true)
      expect(thread[1].value.opThread).toBe(false)

      const newest = await h.ok('app.bsky.unspecced.getPostThreadV2', { anchor: root.uri, sort: 'newest', below: 1 })
      expect(newest.thread.map((i: any) => i.uri)).toEqual([root.uri, a2.uri, a1.uri])
      expect(newest.thread[2].value.moreReplies).toBe(1)

      const mid = await h.ok('app.bsky.unspecced.getPostThreadV2', { anchor: b1.uri })
      expect(mid.thread.map((i: any) => [i.uri, i.depth])).toEqual([
        [root.uri, -2],
        [a1.uri, -1],
        [b1.uri, 0],
        [c1.uri, 1],
      ])
      const noParents = await h.ok('app.bsky.unspecced.getPostThreadV2', { anchor: b1.uri, above: false })
      expect(noParents.thread[0].uri).toBe(b1.uri)
      expect(noParents.thread[0].value.moreParents).toBe(true)
    })

    it("fetches ancestors we do not store from their authors' PDSes, hop by hop", async () => {
      const top = await createPost(carol, 'carol starts, only on her PDS')
      const mid = await createPost(carol, 'carol continues, only on her PDS', {
        reply: { root: { uri: top.uri, cid: top.cid }, parent: { uri: top.uri, cid: top.cid } },
      })
      const leaf = post(bob.did, {
        text: 'bob joins',
        reply: { root: { uri: top.uri, cid: top.cid }, parent: { uri: mid.uri, cid: mid.cid } },
      })
      await h.index(leaf)
      const { thread } = await h.ok('app.bsky.feed.getPostThread', { uri: leaf.uri })
      expect(thread.parent.post.uri).toBe(mid.uri)
      expect(thread.parent.post.record.text).toBe('carol continues, only on her PDS')
      expect(thread.parent.parent.post.uri).toBe(top.uri)
      expect(thread.parent.parent.post.author.handle).toBe('carol.test')
      const v2 = await h.ok('app.bsky.unspecced.getPostThreadV2', { anchor: leaf.uri })
      expect(v2.thread.map((i: any) => [i.uri, i.depth])).toEqual([
        [top.uri, -2],
        [mid.uri, -1],
        [leaf.uri, 0],
      ])
    })

    it('getPostThreadV2: an anchor we do not hold is #threadItemNotFound (the composer polls for it)', async () => {
      const anchor = `at://${bob.did}/app.bsky.feed.post/3kzzzzzzzzzzz`
      const { thread } = await h.ok('app.bsky.unspecced.getPostThreadV2', { anchor })
      expect(thread).toEqual([{ uri: anchor, depth: 0, value: { $type: 'app.bsky.unspecced.defs#threadItemNotFound' } }])
    })
  })

  describe('hidden and blocked accounts', () => {
    it("a deactivated account's content is not shown; reactivation brings it back", async () => {
      const frank = newDid()
      const p = post(frank, { text: 'frank speaks' })
      const r = reply(bob.did, p)
      await h.index(p, r, { kind: 'account', did: frank, active: false, status: 'deactivated' })
      expect((await h.ok('app.bsky.feed.getPosts', { uris: [p.uri] })).posts).toEqual([])
      const profileRes = await h.call('app.bsky.actor.getProfile', { actor: frank })
      expect(profileRes.status).toBe(400)
      expect(profileRes.body.error).toBe('AccountDeactivated')
      const thread = await h.ok('app.bsky.feed.getPostThread', { uri: r.uri })
      expect(thread.thread.parent).toEqual({ $type: 'app.bsky.feed.defs#notFoundPost', uri: p.uri, notFound: true })

      await h.index({ kind: 'account', did: frank, active: true })
      expect((await h.ok('app.bsky.feed.getPosts', { uris: [p.uri] })).posts.map((x: any) => x.uri)).toEqual([p.uri])
    })

    it('blocks: blocked parents show as #blockedPost, blocked author feeds are refused', async () => {
      const gina = newDid()
      const p = post(gina, { text: 'gina' })
      const r = reply(bob.did, p)
      await h.index(p, r, block(alice.did, gina))
      const thread = await h.ok('app.bsky.feed.getPostThread', { uri: r.uri }, alice)
      expect(thread.thread.parent.$type).toBe('app.bsky.feed.defs#blockedPost')
      expect(thread.thread.parent.author.did).toBe(gina)
      expect((await h.ok('app.bsky.feed.getPosts', { uris: [p.uri] }, alice)).posts).toEqual([])
      const feed = await h.call('app.bsky.feed.getAuthorFeed', { actor: gina }, alice)
      expect(feed.status).toBe(400)
      expect(feed.body.error).toBe('BlockedActor')
      // anonymous readers are not affected by alice's block
      expect((await h.ok('app.bsky.feed.getPosts', { uris: [p.uri] })).posts).toHaveLength(1)
    })
  })

  describe('actor likes, getRecord, resolveHandle', () => {
    it("getActorLikes: the viewer's own likes, newest first; someone else's → 400", async () => {
      const p1 = post(carol.did, { text: 'liked 1' })
      const p2 = post(bob.did, { text: 'liked 2' })
      await h.index(p1, p2)
      await h.index(like(carol.did, p2))
      await h.index(like(alice.did, p1))
      await h.index(like(alice.did, p2))
      const mine = await h.ok('app.bsky.feed.getActorLikes', { actor: alice.did, limit: 2 }, alice)
      expect(mine.feed.map((i: any) => i.post.uri)).toEqual([p2.uri, p1.uri])
      const theirs = await h.call('app.bsky.feed.getActorLikes', { actor: carol.did }, alice)
      expect(theirs.status).toBe(400)
      const anon = await h.call('app.bsky.feed.getActorLikes', { actor: alice.did })
      expect(anon.status).toBe(401)
    })

    it('com.atproto.repo.getRecord: ours from the database, others fetched from the PDS', async () => {
      const p = post(bob.did, { text: 'stored here' })
      await h.index(p)
      const rkey = p.uri.split('/').pop()!
      const ours = await h.ok('com.atproto.repo.getRecord', { repo: bob.did, collection: 'app.bsky.feed.post', rkey })
      expect(ours).toEqual({ uri: p.uri, cid: p.cid, value: p.record })

      const remote = await createPost(carol, 'only on the PDS')
      const remoteRes = await h.ok('com.atproto.repo.getRecord', {
        repo: 'carol.test',
        collection: 'app.bsky.feed.post',
        rkey: remote.uri.split('/').pop()!,
      })
      expect(remoteRes.cid).toBe(remote.cid)
      expect(remoteRes.value.text).toBe('only on the PDS')

      const missing = await h.call('com.atproto.repo.getRecord', { repo: carol.did, collection: 'app.bsky.feed.post', rkey: '3kaaaaaaaaaab' })
      expect(missing.status).toBe(400)
      expect(missing.body.error).toBe('RecordNotFound')
      const noRepo = await h.call('com.atproto.repo.getRecord', { repo: newDid(), collection: 'app.bsky.feed.post', rkey: '3kaaaaaaaaaab' })
      expect(noRepo.status).toBe(400)
      expect(noRepo.body.error).toBe('RecordNotFound')
      const bad = await h.call('com.atproto.repo.getRecord', { repo: carol.did, collection: 'not an nsid', rkey: 'x' })
      expect(bad.status).toBe(400)
      expect(bad.body.message).toMatch(/collection/)
    })

    it('com.atproto.repo.getRecord: a repo whose DID document cannot be fetched right now is UpstreamFailure (502), not RecordNotFound', async () => {
      // The other side of "an unknown repo is 400": a did:web whose host refuses connections may
      // well hold the record, so the answer must not tell the PDS it does not exist.
      const closed = http.createServer()
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()))
      const port = (closed.address() as AddressInfo).port
      await new Promise((r) => closed.close(r))
      const down = await h.call('com.atproto.repo.getRecord', {
        repo: `did:web:localhost%3A${port}`,
        collection: 'app.bsky.feed.post',
        rkey: '3kaaaaaaaaaab',
      })
      expect(down.status).toBe(502)
      expect(down.body.error).toBe('UpstreamFailure')
    })

    it('com.atproto.identity.resolveHandle: known and resolvable handles; unknown → HandleNotFound', async () => {
      expect((await h.ok('com.atproto.identity.resolveHandle', { handle: 'bob.test' })).did).toBe(bob.did)
      const unknown = await h.call('com.atproto.identity.resolveHandle', { handle: 'nobody-here.test' })
      expect(unknown.status).toBe(400)
      expect(unknown.body.error).toBe('HandleNotFound')
      const bad = await h.call('com.atproto.identity.resolveHandle', { handle: '-bad-' })
      expect(bad.status).toBe(400)
      expect(bad.body.message).toMatch(/handle/)
    })
  })
})
