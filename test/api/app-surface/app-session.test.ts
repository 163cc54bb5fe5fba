// The official app against us, end to end: a real PDS configured with our AppView proxies
// every app.bsky.* call (service-auth JWT minted by the PDS), users write on their PDS, the
// firehose reaches our ingest through a local Jetstream. The calls are the ones the app makes
// (v1.132, PROTOCOL.md §A3) with its parameters, and every answer is validated against the
// official lexicons (what the app does: one invalid field drops the whole call).
import { lexicons } from '@atproto/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IngestConsumer } from '../../../src/ingest/consumer.js'
import { createTestApp, type TestApp } from '../../_util/app.js'
import { items, profile as profileOp } from '../../_util/index-ops.js'
import { startIngest } from '../../_util/ingest.js'
import { TestJetstream } from '../../_util/jetstream-server.js'
import {
  createFollow,
  createPost,
  type FirehoseBridge,
  setProfile,
  TestNetwork,
  type TestAccount,
  waitFor,
  waitForIndexed,
} from '../../_util/network.js'

const DISCOVER = 'at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.generator/whats-hot'
const BSKY_MOD = 'did:plc:ar7c4by46qjdydhdevvrndac'

let net: TestNetwork
let js: TestJetstream
let t: TestApp
let consumer: IngestConsumer
let bridge: FirehoseBridge
let alice: TestAccount // the local user
let bob: TestAccount // followed by alice (tracked)
let carol: TestAccount // untracked: only interacts with alice
let dave: TestAccount // untracked, muted by alice
let erin: TestAccount // untracked, blocked by alice
let alicePost: { uri: string; cid: string }

/** A call as the app makes it: through alice's PDS, validated against the lexicons. */
async function call(who: TestAccount, nsid: string, params: Record<string, unknown> = {}, data?: unknown) {
  const res = await who.agent.call(nsid, params as never, data, data ? { encoding: 'application/json' } : undefined)
  const def = lexicons.getDef(nsid) as { output?: { encoding?: string } } | undefined
  if (def?.output?.encoding === 'application/json') {
    expect(() => lexicons.assertValidXrpcOutput(nsid, res.data), `${nsid} must answer a lexicon-valid body`).not.toThrow()
  }
  return res.data as any
}

async function notificationRows(recipient: string, author: string) {
  return t.db
    .selectFrom('notification')
    .select(['reason', 'record_uri'])
    .where('recipient_did', '=', recipient)
    .where('author_did', '=', author)
    .execute()
}

beforeAll(async () => {
  net = await TestNetwork.start({ appview: true })
  js = await TestJetstream.start()
  t = await createTestApp({ ...net.appviewEnv(), ROLES: 'api', FEEDGEN_TIMEOUT_MS: '1500' })
  consumer = await startIngest(t, { urls: [js.url] })
  bridge = await net.startBridge((e) => {
    js.push(e)
  })
  ;[alice, bob, carol, dave, erin] = await Promise.all(
    ['alice', 'bob', 'carol', 'dave', 'erin'].map((n) => net.createAccount(n)),
  )
})
afterAll(async () => {
  await bridge?.close()
  await consumer?.destroy()
  await t?.close()
  await js?.close()
  await net?.close()
})

describe('the app, screen by screen, through a real PDS', () => {
  it('launch: every call the app makes at startup answers validly', async () => {
    // Session resume and the root providers (ageAssurance/data.tsx, LabelDefsProvider,
    // service-config.ts), then the Home tab bar (pinned feeds: Discover by default).
    const age = await call(alice, 'app.bsky.ageassurance.getState', { countryCode: 'US', regionCode: 'CA' })
    expect(age.state.access).toBe('full')
    await call(alice, 'app.bsky.labeler.getServices', { dids: [BSKY_MOD], detailed: true })
    await call(alice, 'app.bsky.unspecced.getConfig')
    const me = await call(alice, 'app.bsky.actor.getProfile', { actor: alice.did })
    expect(me.did).toBe(alice.did)
    // A pinned feed whose generator cannot be resolved (Bluesky's Discover on a network
    // without it) is left out: the Home screen must not spin forever.
    const pinned = await call(alice, 'app.bsky.feed.getFeedGenerators', { feeds: [DISCOVER] })
    expect(pinned.feeds).toEqual([])
    await call(alice, 'app.bsky.feed.getTimeline', { limit: 30 })
    await call(alice, 'app.bsky.feed.getTimeline', { limit: 1 }) // the 60 s poll
    await call(alice, 'app.bsky.notification.listNotifications', { limit: 40 }) // unread badge
    // The Following tab ran out (no cursor): the app appends Discover through getFeed. The
    // PDS looks the generator record up through us (com.atproto.repo.getRecord) and then
    // forwards with aud = the generator's DID; an unresolvable generator must give a valid
    // empty feed, fast (a failing getFeed replaces the whole Following tab with an error).
    const token = await alice.agent.com.atproto.server.getServiceAuth({
      aud: 'did:web:discover.invalid',
      lxm: 'app.bsky.feed.getFeedSkeleton',
    })
    const started = Date.now()
    const res = await fetch(`${t.app.url}/xrpc/app.bsky.feed.getFeed?feed=${encodeURIComponent(DISCOVER)}&limit=30`, {
      headers: { authorization: `Bearer ${token.data.token}` },
    })
    expect(res.status).toBe(200)
    const discover = await res.json()
    expect(() => lexicons.assertValidXrpcOutput('app.bsky.feed.getFeed', discover)).not.toThrow()
    expect(discover).toEqual({ feed: [] })
    expect(Date.now() - started).toBeLessThan(5_000)
    await waitFor(() => t.ctx.liveFilter.isLocalUser(alice.did), { message: 'alice admitted as a local user' })
  })

  it('notifications: a like, repost, reply, quote, mention and follow from an untracked account each notify exactly once', async () => {
    alicePost = await createPost(alice, 'alice posts something')
    await waitForIndexed(t.db, [alicePost.uri])
    const like = await carol.agent.like(alicePost.uri, alicePost.cid)
    const repost = await carol.agent.repost(alicePost.uri, alicePost.cid)
    const reply = await carol.agent.post({ text: 'carol replies', reply: { root: alicePost, parent: alicePost } })
    const quote = await carol.agent.post({
      text: 'carol quotes',
      embed: { $type: 'app.bsky.embed.record', record: alicePost },
    })
    const mentionText = 'hey @alice.test look'
    const mention = await carol.agent.post({
      text: mentionText,
      facets: [
        {
          index: { byteStart: 4, byteEnd: 15 },
          features: [{ $type: 'app.bsky.richtext.facet#mention', did: alice.did }],
        },
      ],
    })
    const follow = await createFollow(carol, alice.did)
    await waitFor(async () => (await notificationRows(alice.did, carol.did)).length >= 6, {
      message: 'six notifications from carol indexed',
    })
    expect(t.ctx.liveFilter.isTracked(carol.did)).toBe(false)

    const res = await call(alice, 'app.bsky.notification.listNotifications', { limit: 40 })
    const fromCarol = res.notifications.filter((n: any) => n.author.did === carol.did)
    expect(fromCarol.map((n: any) => n.reason).sort()).toEqual(['follow', 'like', 'mention', 'quote', 'reply', 'repost'])
    const byReason = Object.fromEntries(fromCarol.map((n: any) => [n.reason, n]))
    expect(byReason.like.uri).toBe(like.uri)
    expect(byReason.like.reasonSubject).toBe(alicePost.uri)
    expect(byReason.repost.uri).toBe(repost.uri)
    expect(byReason.reply.uri).toBe(reply.uri)
    expect(byReason.reply.record.text).toBe('carol replies')
    expect(byReason.quote.uri).toBe(quote.uri)
    expect(byReason.mention.uri).toBe(mention.uri)
    expect(byReason.follow.uri).toBe(follow.uri)
    expect(byReason.follow.author.handle).toBe('carol.test')
    for (const n of fromCarol) expect(n.isRead).toBe(false)
    // none for alice's own actions
    expect(res.notifications.every((n: any) => n.author.did !== alice.did)).toBe(true)

    const unread = await call(alice, 'app.bsky.notification.getUnreadCount')
    expect(unread.count).toBe(6)
    const likesOnly = await call(alice, 'app.bsky.notification.listNotifications', { reasons: ['like'] })
    expect(likesOnly.notifications.map((n: any) => n.uri)).toEqual([like.uri])

    // Paging: one at a time, every notification once, in order.
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await call(alice, 'app.bsky.notification.listNotifications', { limit: 1, cursor })
      seen.push(...page.notifications.map((n: any) => n.uri))
      cursor = page.cursor
    } while (cursor)
    expect(seen).toEqual(res.notifications.map((n: any) => n.uri))

    // Opening the notifications screen marks everything read.
    const seenAt = new Date().toISOString()
    await call(alice, 'app.bsky.notification.updateSeen', {}, { seenAt })
    const after = await call(alice, 'app.bsky.notification.listNotifications', { limit: 40 })
    expect(after.seenAt).toBe(seenAt)
    expect(after.notifications.every((n: any) => n.isRead)).toBe(true)
    expect((await call(alice, 'app.bsky.notification.getUnreadCount')).count).toBe(0)
  })

  it("a muted account's interactions do not notify; a blocked account's neither", async () => {
    await call(alice, 'app.bsky.graph.muteActor', {}, { actor: dave.did })
    const mutes = await call(alice, 'app.bsky.graph.getMutes')
    expect(mutes.mutes.map((m: any) => m.did)).toEqual([dave.did])
    expect(mutes.mutes[0].viewer.muted).toBe(true)

    await alice.agent.app.bsky.graph.block.create(
      { repo: alice.did },
      { subject: erin.did, createdAt: new Date().toISOString() },
    )
    await waitFor(async () => (await call(alice, 'app.bsky.graph.getBlocks')).blocks.length === 1, {
      message: 'block indexed',
    })

    const daveLike = await dave.agent.like(alicePost.uri, alicePost.cid)
    const daveReply = await dave.agent.post({ text: 'dave replies', reply: { root: alicePost, parent: alicePost } })
    const daveFollow = await createFollow(dave, alice.did)
    const erinLike = await erin.agent.like(alicePost.uri, alicePost.cid)
    await waitFor(async () => (await notificationRows(alice.did, dave.did)).length >= 3, {
      message: "dave's interactions indexed",
    })
    await waitFor(async () => (await notificationRows(alice.did, erin.did)).length >= 1, {
      message: "erin's like indexed",
    })

    const res = await call(alice, 'app.bsky.notification.listNotifications', { limit: 40 })
    const uris = res.notifications.map((n: any) => n.uri)
    for (const hidden of [daveLike.uri, daveReply.uri, daveFollow.uri, erinLike.uri]) expect(uris).not.toContain(hidden)
    expect(uris).toHaveLength(6)
    expect((await call(alice, 'app.bsky.notification.getUnreadCount')).count).toBe(0)

    // Unmuting brings dave's notifications back.
    await call(alice, 'app.bsky.graph.unmuteActor', {}, { actor: 'dave.test' })
    const unmuted = await call(alice, 'app.bsky.notification.listNotifications', { limit: 40 })
    expect(unmuted.notifications.map((n: any) => n.uri)).toEqual(expect.arrayContaining([daveLike.uri, daveReply.uri]))
    expect((await call(alice, 'app.bsky.graph.getMutes')).mutes).toEqual([])
  })

  it('mutes and blocks change what the timeline and the thread show', async () => {
    const follow = await createFollow(alice, bob.did)
    await waitForIndexed(t.db, [follow.uri])
    await waitFor(() => t.ctx.liveFilter.isTracked(bob.did))
    const bobPost = await createPost(bob, 'bob on the timeline')
    await waitForIndexed(t.db, [bobPost.uri])
    const inTimeline = async () =>
      (await call(alice, 'app.bsky.feed.getTimeline', { limit: 30 })).feed.some((i: any) => i.post.uri === bobPost.uri)
    expect(await inTimeline()).toBe(true)

    await call(alice, 'app.bsky.graph.muteActor', {}, { actor: bob.did })
    expect(await inTimeline()).toBe(false)
    const profile = await call(alice, 'app.bsky.actor.getProfile', { actor: bob.did })
    expect(profile.viewer.muted).toBe(true)
    await call(alice, 'app.bsky.graph.unmuteActor', {}, { actor: bob.did })
    expect(await inTimeline()).toBe(true)

    // Thread of alice's post: carol's reply is there; muting carol marks it muted (the app
    // folds it away); erin (blocked) replies and her reply is not shown at all.
    const erinReply = await erin.agent.post({ text: 'erin replies', reply: { root: alicePost, parent: alicePost } })
    await waitForIndexed(t.db, [erinReply.uri])
    await call(alice, 'app.bsky.graph.muteActor', {}, { actor: carol.did })
    const thread = await call(alice, 'app.bsky.unspecced.getPostThreadV2', {
      anchor: alicePost.uri,
      above: true,
      below: 10,
      branchingFactor: 10,
      sort: 'top',
    })
    const carolItem = thread.thread.find((i: any) => i.value.post?.author?.did === carol.did)
    expect(carolItem?.value.mutedByViewer).toBe(true)
    expect(thread.thread.some((i: any) => i.uri === erinReply.uri && i.value.$type === 'app.bsky.unspecced.defs#threadItemPost')).toBe(false)
    await call(alice, 'app.bsky.unspecced.getPostThreadOtherV2', { anchor: alicePost.uri })
    await call(alice, 'app.bsky.graph.unmuteActor', {}, { actor: carol.did })

    // A reply whose parent is by a blocked account: the parent is shown as blocked, in the
    // timeline (#blockedPost) and in the thread (#threadItemBlocked).
    const erinPost = await createPost(erin, 'erin starts a thread')
    const bobAnswer = await bob.agent.post({ text: 'bob answers erin', reply: { root: erinPost, parent: erinPost } })
    await waitForIndexed(t.db, [bobAnswer.uri])
    const timeline = await call(alice, 'app.bsky.feed.getTimeline', { limit: 30 })
    const answerItem = timeline.feed.find((i: any) => i.post.uri === bobAnswer.uri)
    expect(answerItem?.reply?.parent.$type).toBe('app.bsky.feed.defs#blockedPost')
    const answerThread = await call(alice, 'app.bsky.unspecced.getPostThreadV2', { anchor: bobAnswer.uri, above: true, below: 6 })
    const parentItem = answerThread.thread.find((i: any) => i.depth === -1)
    expect(parentItem?.value.$type).toBe('app.bsky.unspecced.defs#threadItemBlocked')

    // Muting the thread hides replies, likes and reposts in it from notifications.
    const before = await call(alice, 'app.bsky.notification.listNotifications', { limit: 40 })
    expect(before.notifications.some((n: any) => n.reason === 'reply')).toBe(true)
    await call(alice, 'app.bsky.graph.muteThread', {}, { root: alicePost.uri })
    const muted = await call(alice, 'app.bsky.notification.listNotifications', { limit: 40 })
    expect(muted.notifications.map((n: any) => n.reason).sort()).toEqual(['follow', 'follow', 'mention'])
    const posts = await call(alice, 'app.bsky.feed.getPosts', { uris: [alicePost.uri] })
    expect(posts.posts[0].viewer.threadMuted).toBe(true)
    await call(alice, 'app.bsky.graph.unmuteThread', {}, { root: alicePost.uri })
    expect((await call(alice, 'app.bsky.feed.getPosts', { uris: [alicePost.uri] })).posts[0].viewer.threadMuted).toBe(false)
  })

  it('profile screen: every tab answers', async () => {
    await call(alice, 'app.bsky.actor.getProfile', { actor: bob.did })
    for (const filter of ['posts_and_author_threads', 'posts_with_replies', 'posts_with_media', 'posts_with_video']) {
      await call(alice, 'app.bsky.feed.getAuthorFeed', {
        actor: bob.did,
        filter,
        includePins: filter === 'posts_and_author_threads',
        limit: 30,
      })
    }
    await call(alice, 'app.bsky.feed.getActorLikes', { actor: alice.did, limit: 30 })
    await call(alice, 'app.bsky.feed.getActorFeeds', { actor: bob.did, limit: 30 })
    await call(alice, 'app.bsky.graph.getActorStarterPacks', { actor: bob.did, limit: 30 })
    await call(alice, 'app.bsky.graph.getKnownFollowers', { actor: bob.did, limit: 5 })
    await call(alice, 'app.bsky.graph.getFollowers', { actor: bob.did, limit: 30 })
    await call(alice, 'app.bsky.graph.getFollows', { actor: alice.did, limit: 30 })
    await call(alice, 'app.bsky.graph.getSuggestedFollowsByActor', { actor: bob.did })

    // Lists tab: bob's lists are read from his repo.
    const list = await bob.agent.app.bsky.graph.list.create(
      { repo: bob.did },
      { name: 'Friends', purpose: 'app.bsky.graph.defs#curatelist', createdAt: new Date().toISOString() },
    )
    await bob.agent.app.bsky.graph.listitem.create(
      { repo: bob.did },
      { subject: carol.did, list: list.uri, createdAt: new Date().toISOString() },
    )
    const lists = await call(alice, 'app.bsky.graph.getLists', { actor: bob.did, limit: 50 })
    expect(lists.lists.map((l: any) => l.name)).toEqual(['Friends'])
    const one = await call(alice, 'app.bsky.graph.getList', { list: list.uri, limit: 50 })
    expect(one.list.listItemCount).toBe(1)
    expect(one.items.map((i: any) => i.subject.did)).toEqual([carol.did])
    // Muting the list mutes its members (carol): her notifications go, and come back.
    const fromCarol = async () =>
      (await call(alice, 'app.bsky.notification.listNotifications', { limit: 40 })).notifications.filter(
        (n: any) => n.author.did === carol.did,
      ).length
    expect(await fromCarol()).toBeGreaterThan(0)
    await call(alice, 'app.bsky.graph.muteActorList', {}, { list: list.uri })
    const listMutes = await call(alice, 'app.bsky.graph.getListMutes')
    expect(listMutes.lists.map((l: any) => l.uri)).toEqual([list.uri])
    expect(listMutes.lists[0].viewer.muted).toBe(true)
    expect(await fromCarol()).toBe(0)
    expect((await call(alice, 'app.bsky.actor.getProfile', { actor: carol.did })).viewer.muted).toBe(true)
    expect((await call(alice, 'app.bsky.graph.getMutes')).mutes).toEqual([]) // direct mutes only
    await call(alice, 'app.bsky.graph.unmuteActorList', {}, { list: list.uri })
    expect((await call(alice, 'app.bsky.graph.getListMutes')).lists).toEqual([])
    expect(await fromCarol()).toBeGreaterThan(0)
    await expect(
      call(alice, 'app.bsky.graph.muteActorList', {}, { list: `at://${bob.did}/app.bsky.graph.list/nonexistent` }),
    ).rejects.toMatchObject({ status: 400 })
    await call(alice, 'app.bsky.graph.getListsWithMembership', { actor: bob.did, limit: 50 })

    // A pinned list feed: the members' posts this instance stores (all of bob's, he is
    // tracked; carol's only where they touch alice), newest first, nobody else's.
    await bob.agent.app.bsky.graph.listitem.create(
      { repo: bob.did },
      { subject: bob.did, list: list.uri, createdAt: new Date().toISOString() },
    )
    const listFeed = await call(alice, 'app.bsky.feed.getListFeed', { list: list.uri, limit: 100 })
    const stored = await t.db
      .selectFrom('post')
      .select('uri')
      .where('author_did', 'in', [bob.did, carol.did])
      .orderBy('sort_at', 'desc')
      .orderBy('uri', 'desc')
      .execute()
    expect(listFeed.feed.map((i: any) => i.post.uri)).toEqual(stored.map((r) => r.uri))

    // A starter pack made of that list.
    const pack = await bob.agent.com.atproto.repo.createRecord({
      repo: bob.did,
      collection: 'app.bsky.graph.starterpack',
      record: { $type: 'app.bsky.graph.starterpack', name: 'Start here', list: list.uri, createdAt: new Date().toISOString() },
    })
    const packs = await call(alice, 'app.bsky.graph.getActorStarterPacks', { actor: bob.did, limit: 30 })
    expect(packs.starterPacks.map((p: any) => p.uri)).toEqual([pack.data.uri])
    const packView = await call(alice, 'app.bsky.graph.getStarterPack', { starterPack: pack.data.uri })
    expect(packView.starterPack.list.listItemCount).toBe(2)
    expect(packView.starterPack.listItemsSample.map((i: any) => i.subject.did).sort()).toEqual([bob.did, carol.did].sort())

    const rels = await call(alice, 'app.bsky.graph.getRelationships', { actor: alice.did, others: [bob.did, erin.did] })
    expect(rels.relationships[0].following).toBeTruthy()
    expect(rels.relationships[1].blocking).toBeTruthy()
  })

  it('search: people by handle and display-name prefix (followed first), posts by words', async () => {
    await setProfile(bob, { displayName: 'Robert Tables' })
    // Handles are stored from identity events (Jetstream #identity): bob's arrives now.
    await t.ctx.indexer.applyBatch(items([{ kind: 'identity', did: bob.did }]))
    // Another "bob…" this instance knows but alice does not follow.
    const stranger = 'did:plc:bobstrangerxxxxxxxxxxxxx'
    await t.ctx.indexer.applyBatch(
      items([{ kind: 'identity', did: stranger, handle: 'bobby.test' }, profileOp(stranger, { displayName: 'Bobby Stranger' })]),
    )
    await waitFor(async () =>
      (await t.db.selectFrom('actor').select('display_name').where('did', '=', bob.did).executeTakeFirst())?.display_name ===
      'Robert Tables',
    )
    const typeahead = await call(alice, 'app.bsky.actor.searchActorsTypeahead', { q: 'bob', limit: 8 })
    expect(typeahead.actors.map((a: any) => a.did)).toEqual([bob.did, stranger])
    const byName = await call(alice, 'app.bsky.actor.searchActors', { q: 'rob', limit: 25 })
    expect(byName.actors.map((a: any) => a.did)).toEqual([bob.did])
    const byWord = await call(alice, 'app.bsky.actor.searchActors', { q: 'tab', limit: 25 })
    expect(byWord.actors.map((a: any) => a.did)).toEqual([bob.did])

    const hit = await createPost(bob, 'Marmalade sandwiches are underrated')
    await createPost(bob, 'nothing to see here')
    await waitForIndexed(t.db, [hit.uri])
    for (const sort of ['top', 'recent']) {
      const res = await call(alice, 'app.bsky.feed.searchPostsV2', { query: 'marmalade', sort, limit: 25 })
      expect(res.posts.map((p: any) => p.uri)).toEqual([hit.uri])
    }
    const byAuthor = await call(alice, 'app.bsky.feed.searchPostsV2', { authors: ['bob.test'], query: 'sandwiches underrated' })
    expect(byAuthor.posts.map((p: any) => p.uri)).toEqual([hit.uri])
    const v1 = await call(alice, 'app.bsky.feed.searchPosts', { q: 'MARMALADE', limit: 25 })
    expect(v1.posts.map((p: any) => p.uri)).toEqual([hit.uri])
    const none = await call(alice, 'app.bsky.feed.searchPostsV2', { query: 'quokka', limit: 25 })
    expect(none.posts).toEqual([])
    // The Explore/Search screen's other calls
    await call(alice, 'app.bsky.unspecced.getTrendingTopics', { limit: 14 })
    await call(alice, 'app.bsky.unspecced.getSuggestedUsersForExplore', { limit: 10 })
    await call(alice, 'app.bsky.unspecced.getSuggestedStarterPacks', { limit: 10 })
  })

  it('feeds tab and settings: bookmarks, notification settings, moderation lists', async () => {
    await call(alice, 'app.bsky.unspecced.getPopularFeedGenerators', { limit: 10 })
    await call(alice, 'app.bsky.feed.getSuggestedFeeds', { limit: 10 })
    await call(alice, 'app.bsky.feed.getFeedGenerators', { feeds: [DISCOVER] })

    // Bookmarks
    const bobPosts = await t.db.selectFrom('post').select(['uri', 'cid']).where('author_did', '=', bob.did).execute()
    const target = bobPosts[0]!
    await call(alice, 'app.bsky.bookmark.createBookmark', {}, { uri: target.uri, cid: target.cid })
    const bookmarks = await call(alice, 'app.bsky.bookmark.getBookmarks', { limit: 25 })
    expect(bookmarks.bookmarks.map((b: any) => b.item.uri)).toEqual([target.uri])
    expect(bookmarks.bookmarks[0].item.viewer.bookmarked).toBe(true)
    await call(alice, 'app.bsky.bookmark.deleteBookmark', {}, { uri: target.uri })
    expect((await call(alice, 'app.bsky.bookmark.getBookmarks', { limit: 25 })).bookmarks).toEqual([])

    // Notification settings: stored per user, applied to the list.
    const prefs = await call(alice, 'app.bsky.notification.getPreferences')
    expect(prefs.preferences.like).toEqual({ include: 'all', list: true, push: true })
    const put = await call(alice, 'app.bsky.notification.putPreferencesV2', {}, { like: { include: 'all', list: false, push: false } })
    expect(put.preferences.like.list).toBe(false)
    expect((await call(alice, 'app.bsky.notification.getPreferences')).preferences.like.list).toBe(false)
    const list = await call(alice, 'app.bsky.notification.listNotifications', { limit: 40 })
    expect(list.notifications.some((n: any) => n.reason === 'like')).toBe(false)
    await call(alice, 'app.bsky.notification.putPreferencesV2', {}, { like: { include: 'all', list: true, push: true } })

    // The bell on bob's profile
    const sub = await call(alice, 'app.bsky.notification.putActivitySubscription', {}, {
      subject: bob.did,
      activitySubscription: { post: true, reply: false },
    })
    expect(sub.activitySubscription).toEqual({ post: true, reply: false })
    const subs = await call(alice, 'app.bsky.notification.listActivitySubscriptions', { limit: 50 })
    expect(subs.subscriptions.map((s: any) => s.did)).toEqual([bob.did])
    const bobProfile = await call(alice, 'app.bsky.actor.getProfile', { actor: bob.did })
    expect(bobProfile.viewer.activitySubscription).toEqual({ post: true, reply: false })
    // bob posts (and replies, which alice did not ask for): one subscribed-post notification.
    const unreadBefore = (await call(alice, 'app.bsky.notification.getUnreadCount')).count
    const bell = await createPost(bob, 'news from bob')
    const bobReply = await bob.agent.post({ text: 'a reply alice did not ask for', reply: { root: alicePost, parent: alicePost } })
    await waitForIndexed(t.db, [bell.uri, bobReply.uri])
    const withBell = await call(alice, 'app.bsky.notification.listNotifications', { limit: 40 })
    const subscribed = withBell.notifications.filter((n: any) => n.reason === 'subscribed-post')
    expect(subscribed.map((n: any) => n.uri)).toEqual([bell.uri])
    expect(subscribed[0].record.text).toBe('news from bob')
    expect(withBell.notifications.filter((n: any) => n.uri === bobReply.uri).map((n: any) => n.reason)).toEqual(['reply'])
    expect((await call(alice, 'app.bsky.notification.getUnreadCount')).count).toBe(unreadBefore + 2)
    const onlyBell = await call(alice, 'app.bsky.notification.listNotifications', { reasons: ['subscribed-post'] })
    expect(onlyBell.notifications.map((n: any) => n.uri)).toEqual([bell.uri])
    // paging across stored and subscribed notifications: each once, in order
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await call(alice, 'app.bsky.notification.listNotifications', { limit: 2, cursor })
      seen.push(...page.notifications.map((n: any) => n.uri))
      cursor = page.cursor
    } while (cursor)
    expect(seen).toEqual(withBell.notifications.map((n: any) => n.uri))
    await call(alice, 'app.bsky.notification.putActivitySubscription', {}, {
      subject: bob.did,
      activitySubscription: { post: false, reply: false },
    })
    expect((await call(alice, 'app.bsky.notification.listActivitySubscriptions', { limit: 50 })).subscriptions).toEqual([])

    // Drafts (composer)
    const created = await call(alice, 'app.bsky.draft.createDraft', {}, { draft: { posts: [{ text: 'half a thought' }] } })
    await call(alice, 'app.bsky.draft.updateDraft', {}, { draft: { id: created.id, draft: { posts: [{ text: 'a whole thought' }] } } })
    const drafts = await call(alice, 'app.bsky.draft.getDrafts', { limit: 50 })
    expect(drafts.drafts.map((d: any) => [d.id, d.draft.posts[0].text])).toEqual([[created.id, 'a whole thought']])
    expect((await call(bob, 'app.bsky.draft.getDrafts', { limit: 50 })).drafts).toEqual([])
    await call(alice, 'app.bsky.draft.deleteDraft', {}, { id: created.id })
    expect((await call(alice, 'app.bsky.draft.getDrafts', { limit: 50 })).drafts).toEqual([])
    await expect(
      call(alice, 'app.bsky.draft.updateDraft', {}, { draft: { id: created.id, draft: { posts: [{ text: 'x' }] } } }),
    ).rejects.toMatchObject({ status: 400 })

    // Preferences fallback for app builds that proxy them to us (the PDS serves them itself
    // when it is configured with us, so call the AppView directly, as such a build's PDS does).
    const prefsCall = async (nsid: string, body?: unknown) => {
      const token = (await alice.agent.com.atproto.server.getServiceAuth({ aud: t.cfg.service.did, lxm: nsid })).data.token
      return fetch(`${t.app.url}/xrpc/${nsid}`, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      })
    }
    const stored = [{ $type: 'app.bsky.actor.defs#adultContentPref', enabled: false }]
    expect((await prefsCall('app.bsky.actor.putPreferences', { preferences: stored })).status).toBe(200)
    const got = await prefsCall('app.bsky.actor.getPreferences')
    expect(got.status).toBe(200)
    const gotBody = await got.json()
    expect(() => lexicons.assertValidXrpcOutput('app.bsky.actor.getPreferences', gotBody)).not.toThrow()
    expect(gotBody).toEqual({ preferences: stored })
    expect((await prefsCall('app.bsky.actor.putPreferences', { preferences: [{ enabled: true }] })).status).toBe(400)

    // Contact import needs Bluesky's phone service: a clear refusal, not a 501.
    await expect(call(alice, 'app.bsky.contact.startPhoneVerification', {}, { phone: '+12125550123' })).rejects.toMatchObject({
      status: 400,
      error: 'NotSupported',
    })

    // Moderation settings
    await call(alice, 'app.bsky.graph.getMutes')
    expect((await call(alice, 'app.bsky.graph.getBlocks')).blocks.map((b: any) => b.did)).toEqual([erin.did])
    await call(alice, 'app.bsky.graph.getListBlocks')
    await call(alice, 'app.bsky.graph.getListMutes')
  })
})
