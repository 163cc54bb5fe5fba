// End to end through a real PDS configured with our AppView (bskyAppViewUrl/Did): users
// write on their PDS, the firehose reaches our ingest through a local Jetstream, and the
// client reads app.bsky.* THROUGH the PDS, which proxies with a service-auth JWT it minted.
// Every answer the client gets is checked against the official lexicons.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IngestConsumer } from '../../src/ingest/consumer.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { startIngest } from '../_util/ingest.js'
import { TestJetstream } from '../_util/jetstream-server.js'
import {
  createFollow,
  createPost,
  deleteRecord,
  type FirehoseBridge,
  TestNetwork,
  type TestAccount,
  waitFor,
  waitForIndexed,
} from '../_util/network.js'
import { assertLexiconValid } from './_harness.js'

describe('read API through a real PDS', () => {
  let net: TestNetwork
  let js: TestJetstream
  let t: TestApp
  let consumer: IngestConsumer
  let bridge: FirehoseBridge
  let alice: TestAccount
  let bob: TestAccount
  let carol: TestAccount

  beforeAll(async () => {
    net = await TestNetwork.start({ appview: true })
    js = await TestJetstream.start()
    t = await createTestApp({ ...net.appviewEnv(), ROLES: 'api' })
    consumer = await startIngest(t, { urls: [js.url] })
    bridge = await net.startBridge((e) => {
      js.push(e)
    })
    alice = await net.createAccount('alice')
    bob = await net.createAccount('bob')
    carol = await net.createAccount('carol')
  })
  afterAll(async () => {
    await bridge?.close()
    await consumer?.destroy()
    await t?.close()
    await js?.close()
    await net?.close()
  })

  const timeline = async (who: TestAccount) => {
    const res = await who.agent.app.bsky.feed.getTimeline({ limit: 50 })
    assertLexiconValid('app.bsky.feed.getTimeline', res.data)
    return res.data.feed
  }

  it("admits a user on their first request and answers with a valid (empty) timeline", async () => {
    const feed = await timeline(alice)
    expect(feed).toEqual([])
    const row = await t.db.selectFrom('local_user').select('did').where('did', '=', alice.did).executeTakeFirst()
    expect(row?.did).toBe(alice.did)
  })

  it('posts, replies, quotes, reposts and likes appear hydrated in the timeline', async () => {
    const follow = await createFollow(alice, bob.did)
    await waitForIndexed(t.db, [follow.uri])
    // bob is tracked once alice follows him; carol never is
    await waitFor(() => t.ctx.liveFilter.isTracked(bob.did))

    const carolPost = await createPost(carol, 'carol says hi')
    const hello = await bob.agent.post({ text: 'hello from bob' })
    const replyToCarol = await bob.agent.post({
      text: 'bob answers carol',
      reply: { root: carolPost, parent: carolPost },
    })
    const quote = await bob.agent.post({
      text: 'bob quotes carol',
      embed: { $type: 'app.bsky.embed.record', record: { uri: carolPost.uri, cid: carolPost.cid } },
    })
    const external = await bob.agent.post({
      text: 'a link',
      embed: {
        $type: 'app.bsky.embed.external',
        external: { uri: 'https://example.com/article', title: 'An article', description: 'About things' },
      },
    })
    const repost = await bob.agent.repost(carolPost.uri, carolPost.cid)
    const like = await alice.agent.like(hello.uri, hello.cid)
    await waitForIndexed(t.db, [hello.uri, replyToCarol.uri, quote.uri, external.uri, repost.uri, like.uri])

    const feed = await timeline(alice)
    const byUri = (uri: string, reposted = false) =>
      feed.find((i) => i.post.uri === uri && !!i.reason === reposted)

    const helloItem = byUri(hello.uri)!
    expect(helloItem.post.author.handle).toBe('bob.test')
    expect(helloItem.post.author.viewer?.following).toBe(follow.uri)
    expect(helloItem.post.likeCount).toBe(1)
    expect(helloItem.post.viewer?.like).toBe(like.uri)

    const replyItem = byUri(replyToCarol.uri)!
    const parent = replyItem.reply!.parent as any
    expect(parent.$type).toBe('app.bsky.feed.defs#postView')
    expect(parent.record.text).toBe('carol says hi')
    expect(parent.author.handle).toBe('carol.test')

    const quoteItem = byUri(quote.uri)!
    const embed = quoteItem.post.embed as any
    expect(embed.$type).toBe('app.bsky.embed.record#view')
    expect(embed.record.$type).toBe('app.bsky.embed.record#viewRecord')
    expect(embed.record.value.text).toBe('carol says hi')

    const extItem = byUri(external.uri)!
    expect((extItem.post.embed as any).$type).toBe('app.bsky.embed.external#view')
    expect((extItem.post.embed as any).external.title).toBe('An article')

    const repostItem = byUri(carolPost.uri, true)!
    expect((repostItem.reason as any).$type).toBe('app.bsky.feed.defs#reasonRepost')
    expect((repostItem.reason as any).by.did).toBe(bob.did)

    // newest first
    const times = feed.map((i) => (i.reason as any)?.indexedAt ?? i.post.indexedAt)
    expect([...times].sort().reverse()).toEqual(times)
  })

  it('serves profiles, author feeds, posts, threads, likes and reposts through the PDS', async () => {
    const profile = await alice.agent.getProfile({ actor: 'bob.test' })
    assertLexiconValid('app.bsky.actor.getProfile', profile.data)
    expect(profile.data.did).toBe(bob.did)
    expect(profile.data.followersCount).toBe(1)
    expect(profile.data.postsCount).toBeGreaterThanOrEqual(4)
    expect(profile.data.viewer?.following).toBeDefined()

    const authorFeed = await alice.agent.getAuthorFeed({ actor: bob.did, filter: 'posts_no_replies' })
    assertLexiconValid('app.bsky.feed.getAuthorFeed', authorFeed.data)
    expect(authorFeed.data.feed.length).toBeGreaterThan(0)
    expect(authorFeed.data.feed.every((i) => !(i.post.record as any).reply)).toBe(true)

    const mine = (await alice.agent.getAuthorFeed({ actor: bob.did })).data.feed
    const hello = mine.find((i) => (i.post.record as any).text === 'hello from bob')!.post

    const posts = await alice.agent.getPosts({ uris: [hello.uri] })
    assertLexiconValid('app.bsky.feed.getPosts', posts.data)
    expect(posts.data.posts.map((p) => p.uri)).toEqual([hello.uri])

    const likes = await alice.agent.getLikes({ uri: hello.uri })
    assertLexiconValid('app.bsky.feed.getLikes', likes.data)
    expect(likes.data.likes.map((l) => l.actor.did)).toEqual([alice.did])

    const reply = await alice.agent.post({ text: 'alice replies', reply: { root: { uri: hello.uri, cid: hello.cid }, parent: { uri: hello.uri, cid: hello.cid } } })
    await waitForIndexed(t.db, [reply.uri])
    const thread = await alice.agent.getPostThread({ uri: hello.uri })
    assertLexiconValid('app.bsky.feed.getPostThread', thread.data)
    const replies = (thread.data.thread as any).replies
    expect(replies.map((r: any) => r.post.uri)).toEqual([reply.uri])

    const v2 = await alice.agent.app.bsky.unspecced.getPostThreadV2({ anchor: reply.uri })
    assertLexiconValid('app.bsky.unspecced.getPostThreadV2', v2.data)
    expect(v2.data.thread.map((i) => [i.uri, i.depth])).toEqual([
      [hello.uri, -1],
      [reply.uri, 0],
    ])

    const actorLikes = await alice.agent.getActorLikes({ actor: alice.did })
    assertLexiconValid('app.bsky.feed.getActorLikes', actorLikes.data)
    expect(actorLikes.data.feed.map((i) => i.post.uri)).toEqual([hello.uri])

    const follows = await alice.agent.getFollows({ actor: alice.did })
    assertLexiconValid('app.bsky.graph.getFollows', follows.data)
    expect(follows.data.follows.map((f) => f.did)).toEqual([bob.did])
  })

  it('a deleted post and an unfollow leave the timeline', async () => {
    const doomed = await bob.agent.post({ text: 'about to be deleted' })
    await waitForIndexed(t.db, [doomed.uri])
    expect((await timeline(alice)).map((i) => i.post.uri)).toContain(doomed.uri)
    await deleteRecord(bob, doomed.uri)
    await waitFor(async () => !(await t.db.selectFrom('post').select('uri').where('uri', '=', doomed.uri).executeTakeFirst()))
    expect((await timeline(alice)).map((i) => i.post.uri)).not.toContain(doomed.uri)

    const follows = await alice.agent.app.bsky.graph.follow.list({ repo: alice.did })
    for (const f of follows.records) await deleteRecord(alice, f.uri)
    await waitFor(async () => !(await t.db.selectFrom('follow').select('uri').where('author_did', '=', alice.did).executeTakeFirst()))
    const left = await timeline(alice)
    expect(left.filter((i) => i.post.author.did === bob.did && !i.reason)).toEqual([])
    expect(left.filter((i) => (i.reason as any)?.by?.did === bob.did)).toEqual([])
  })

  it("atproto-repo-rev is the rev of the viewer's newest commit that came through the stream, a delete included", async () => {
    await timeline(alice) // admitted (and so tracked) whatever ran before
    const collection = 'app.bsky.feed.post'
    const created = await alice.agent.com.atproto.repo.createRecord({
      repo: alice.did,
      collection,
      record: { $type: collection, text: 'which rev am I?', createdAt: new Date().toISOString() },
    })
    await waitForIndexed(t.db, [created.data.uri])
    const postRev = created.data.commit!.rev
    // What the PDS receives from us (and splices the viewer's newer records after) …
    const direct = async () => {
      const { data } = await alice.agent.com.atproto.server.getServiceAuth({ aud: t.cfg.service.did, lxm: 'app.bsky.feed.getTimeline' })
      const res = await fetch(`${t.app.url}/xrpc/app.bsky.feed.getTimeline?limit=1`, { headers: { authorization: `Bearer ${data.token}` } })
      expect(res.status).toBe(200)
      return res.headers.get('atproto-repo-rev')
    }
    expect(await direct()).toBe(postRev)
    // … and what the client sees through the PDS.
    expect((await alice.agent.app.bsky.feed.getTimeline({ limit: 1 })).headers['atproto-repo-rev']).toBe(postRev)

    // A newer commit that leaves no record behind moves it on too.
    const deleted = await alice.agent.com.atproto.repo.deleteRecord({
      repo: alice.did,
      collection,
      rkey: created.data.uri.split('/').pop()!,
    })
    await waitFor(() => t.db.selectFrom('tombstone').select('uri').where('uri', '=', created.data.uri).executeTakeFirst())
    const deleteRev = deleted.data.commit!.rev
    expect(deleteRev > postRev).toBe(true)
    expect(await direct()).toBe(deleteRev)
  })
})
