// Custom feeds against a feed generator run in the test (its own did:web and service): the
// generator view from the record in its creator's repo, getFeed through a real PDS (which
// mints a token with aud = the generator) forwarding that token unchanged, hydration of the
// skeleton (posts we do not store fetched from their PDS), and the failure modes that must
// never break the app's Following tab: hanging, erroring, garbage, unresolvable generators
// answer a valid empty feed in bounded time, counted in /metrics.
// Also: per-DID rate limits for authenticated calls (users of one PDS share its IP).
import { lexicons } from '@atproto/api'
import { verifyJwt } from '@atproto/xrpc-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IngestConsumer } from '../../../src/ingest/consumer.js'
import { createTestApp, type TestApp } from '../../_util/app.js'
import { TestFeedGenerator } from '../../_util/feed-generator.js'
import { metricValue, startIngest } from '../../_util/ingest.js'
import { TestJetstream } from '../../_util/jetstream-server.js'
import {
  createFollow,
  createPost,
  type FirehoseBridge,
  TestNetwork,
  type TestAccount,
  waitFor,
  waitForIndexed,
} from '../../_util/network.js'

const TIMEOUT_MS = 1500

let net: TestNetwork
let js: TestJetstream
let t: TestApp
let consumer: IngestConsumer
let bridge: FirehoseBridge
let gen: TestFeedGenerator
let alice: TestAccount // the viewer
let bob: TestAccount // followed by alice; creator of the feed
let carol: TestAccount // untracked: her post is in the feed but not stored by us
let feedUri: string
let deadFeedUri: string
let bobPosts: Array<{ uri: string; cid: string }>
let carolPost: { uri: string; cid: string }

function assertValid(nsid: string, body: unknown) {
  expect(() => lexicons.assertValidXrpcOutput(nsid, body), `${nsid} must answer a lexicon-valid body`).not.toThrow()
}

async function createGenerator(owner: TestAccount, rkey: string, did: string, displayName: string) {
  const res = await owner.agent.com.atproto.repo.createRecord({
    repo: owner.did,
    collection: 'app.bsky.feed.generator',
    rkey,
    record: {
      $type: 'app.bsky.feed.generator',
      did,
      displayName,
      description: 'Posts picked by a test',
      createdAt: new Date().toISOString(),
    },
  })
  return res.data.uri
}

/** getFeed straight at our AppView with a token as the PDS mints it (aud = generator). */
async function getFeedDirect(as: TestAccount, feed: string, aud: string, extra = '') {
  const token = (await as.agent.com.atproto.server.getServiceAuth({ aud, lxm: 'app.bsky.feed.getFeedSkeleton' })).data.token
  const started = Date.now()
  const res = await fetch(`${t.app.url}/xrpc/app.bsky.feed.getFeed?feed=${encodeURIComponent(feed)}&limit=30${extra}`, {
    headers: { authorization: `Bearer ${token}`, 'accept-language': 'en,fr' },
  })
  const body: any = await res.json()
  return { status: res.status, body, ms: Date.now() - started, token }
}

beforeAll(async () => {
  net = await TestNetwork.start({ appview: true })
  js = await TestJetstream.start()
  t = await createTestApp({ ...net.appviewEnv(), ROLES: 'api', FEEDGEN_TIMEOUT_MS: String(TIMEOUT_MS) })
  consumer = await startIngest(t, { urls: [js.url] })
  bridge = await net.startBridge((e) => {
    js.push(e)
  })
  gen = await TestFeedGenerator.start()
  ;[alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => net.createAccount(n)))

  // alice uses the instance and follows bob, so bob's posts are stored; carol's are not.
  await alice.agent.app.bsky.feed.getTimeline({ limit: 1 })
  const follow = await createFollow(alice, bob.did)
  await waitForIndexed(t.db, [follow.uri])
  await waitFor(() => t.ctx.liveFilter.isTracked(bob.did))
  bobPosts = [await createPost(bob, 'first for the feed'), await createPost(bob, 'second for the feed')]
  carolPost = await createPost(carol, 'carol is in the feed too')
  await waitForIndexed(t.db, bobPosts.map((p) => p.uri))

  feedUri = await createGenerator(bob, 'picks', gen.did, "Bob's picks")
  // A generator whose service DID resolves nowhere.
  deadFeedUri = await createGenerator(bob, 'dead', 'did:web:localhost%3A1', 'Dead feed')
  gen.feed = [
    { post: bobPosts[1]!.uri, feedContext: 'ctx-1' },
    { post: carolPost.uri },
    { post: bobPosts[0]!.uri },
  ]
})
afterAll(async () => {
  await gen?.close()
  await bridge?.close()
  await consumer?.destroy()
  await t?.close()
  await js?.close()
  await net?.close()
})

describe('feed generators', () => {
  it('getFeedGenerator / getFeedGenerators: views from the record in the creator repo', async () => {
    const one = await alice.agent.app.bsky.feed.getFeedGenerator({ feed: feedUri })
    assertValid('app.bsky.feed.getFeedGenerator', one.data)
    expect(one.data.view.uri).toBe(feedUri)
    expect(one.data.view.did).toBe(gen.did)
    expect(one.data.view.displayName).toBe("Bob's picks")
    expect(one.data.view.creator.did).toBe(bob.did)
    expect(one.data.isOnline).toBe(true)
    expect(one.data.isValid).toBe(true)

    // Any list of URIs gets an answer: unknown and unresolvable ones are left out.
    const many = await alice.agent.app.bsky.feed.getFeedGenerators({
      feeds: [
        deadFeedUri,
        'at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.generator/whats-hot',
        `at://${bob.did}/app.bsky.feed.generator/missing`,
        feedUri,
      ],
    })
    assertValid('app.bsky.feed.getFeedGenerators', many.data)
    expect(many.data.feeds.map((f) => f.uri)).toEqual([deadFeedUri, feedUri])

    const dead = await alice.agent.app.bsky.feed.getFeedGenerator({ feed: deadFeedUri })
    expect(dead.data.isValid).toBe(false)
    expect(dead.data.isOnline).toBe(false)

    // The profile "Feeds" tab lists bob's generators from his repo.
    const actorFeeds = await alice.agent.app.bsky.feed.getActorFeeds({ actor: bob.did })
    assertValid('app.bsky.feed.getActorFeeds', actorFeeds.data)
    expect(actorFeeds.data.feeds.map((f) => f.uri).sort()).toEqual([deadFeedUri, feedUri].sort())
  })

  it("a generator record whose PDS hangs is left out in bounded time, and not waited for again", async () => {
    // A generator "in the repo" of a DID whose PDS never answers (the Home screen waits on
    // getFeedGenerators for every pinned feed).
    const stuck = `at://${gen.did}/app.bsky.feed.generator/stuck`
    gen.mode = 'hang'
    try {
      const before = gen.pdsRequests
      const started = Date.now()
      const first = await alice.agent.app.bsky.feed.getFeedGenerators({ feeds: [stuck, feedUri] })
      assertValid('app.bsky.feed.getFeedGenerators', first.data)
      expect(first.data.feeds.map((f) => f.uri)).toEqual([feedUri])
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 2_000)
      expect(gen.pdsRequests).toBe(before + 1)
      const second = await alice.agent.app.bsky.feed.getFeedGenerators({ feeds: [stuck, feedUri] })
      expect(second.data.feeds.map((f) => f.uri)).toEqual([feedUri])
      expect(gen.pdsRequests).toBe(before + 1) // the failure is remembered for a minute
    } finally {
      gen.mode = 'ok'
    }
  })

  it('getFeed through the PDS: the generator gets the PDS-minted token and the skeleton is hydrated', async () => {
    gen.requests.length = 0
    const res = await alice.agent.app.bsky.feed.getFeed({ feed: feedUri, limit: 30 })
    assertValid('app.bsky.feed.getFeed', res.data)
    // In skeleton order, with carol's post (not stored) fetched from her PDS.
    expect(res.data.feed.map((i) => i.post.uri)).toEqual([bobPosts[1]!.uri, carolPost.uri, bobPosts[0]!.uri])
    expect(res.data.feed[0]!.feedContext).toBe('ctx-1')
    expect(res.data.feed[1]!.post.author.did).toBe(carol.did)
    expect(res.data.cursor).toBe('page-2')

    // The generator received a token minted for it by alice's PDS: iss alice, aud the
    // generator, lxm getFeedSkeleton, signed with alice's key.
    expect(gen.requests).toHaveLength(1)
    const auth = gen.requests[0]!.authorization!
    expect(auth).toMatch(/^Bearer /)
    const resolver = net.idResolver()
    const payload = await verifyJwt(auth.slice('Bearer '.length), gen.did, 'app.bsky.feed.getFeedSkeleton', (iss, force) =>
      resolver.did.resolveAtprotoKey(iss, force),
    )
    expect(payload.iss).toBe(alice.did)
    expect(gen.requests[0]!.feed).toBe(feedUri)
  })

  it('getFeed forwards the Authorization header unchanged and passes the cursor on', async () => {
    gen.requests.length = 0
    const first = await getFeedDirect(alice, feedUri, gen.did)
    expect(first.status).toBe(200)
    assertValid('app.bsky.feed.getFeed', first.body)
    expect(gen.requests[0]!.authorization).toBe(`Bearer ${first.token}`)
    expect(gen.requests[0]!.acceptLanguage).toBe('en,fr')
    expect(first.body.cursor).toBe('page-2')

    const second = await getFeedDirect(alice, feedUri, gen.did, `&cursor=${first.body.cursor}`)
    expect(gen.requests[1]!.cursor).toBe('page-2')
    expect(second.body).toEqual({ feed: [] })
  })

  it('mutes and blocks apply to custom feeds too', async () => {
    await alice.agent.app.bsky.graph.muteActor({ actor: carol.did })
    const res = await alice.agent.app.bsky.feed.getFeed({ feed: feedUri, limit: 30 })
    expect(res.data.feed.map((i) => i.post.uri)).toEqual([bobPosts[1]!.uri, bobPosts[0]!.uri])
    await alice.agent.app.bsky.graph.unmuteActor({ actor: carol.did })
  })

  it.each([
    ['hang', 'timeout'],
    ['error', 'http_error'],
    ['garbage', 'bad_response'],
    ['badShape', 'bad_response'],
  ] as const)('a generator that answers "%s" gives a valid empty feed in bounded time', async (mode, reason) => {
    gen.mode = mode
    try {
      const before = metricValue(await (await fetch(`${t.app.url}/metrics`)).text(), 'appview_feedgen_failures_total', { reason })
      const res = await getFeedDirect(alice, feedUri, gen.did)
      expect(res.status).toBe(200)
      assertValid('app.bsky.feed.getFeed', res.body)
      expect(res.body).toEqual({ feed: [] })
      expect(res.ms).toBeLessThan(TIMEOUT_MS + 2_000)
      const after = metricValue(await (await fetch(`${t.app.url}/metrics`)).text(), 'appview_feedgen_failures_total', { reason })
      expect(after).toBe(before + 1)
    } finally {
      gen.mode = 'ok'
    }
  })

  it('a generator that cannot be resolved, or does not exist, gives a valid empty feed', async () => {
    for (const feed of [deadFeedUri, 'at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.generator/whats-hot']) {
      const res = await getFeedDirect(alice, feed, 'did:web:nowhere.invalid')
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ feed: [] })
      expect(res.ms).toBeLessThan(TIMEOUT_MS + 2_000)
    }
    const text = await (await fetch(`${t.app.url}/metrics`)).text()
    expect(metricValue(text, 'appview_feedgen_failures_total', { reason: 'unresolvable' })).toBeGreaterThanOrEqual(2)
  })

  it('only a malformed request is an error', async () => {
    const res = await getFeedDirect(alice, `at://${bob.did}/app.bsky.feed.post/abc`, gen.did)
    expect(res.status).toBe(400)
    expect(res.body.error).toBe('InvalidRequest')
    const notUri = await fetch(`${t.app.url}/xrpc/app.bsky.feed.getFeed?feed=not-a-uri`)
    expect(notUri.status).toBe(400)
  })
})

describe('per-DID rate limits for authenticated calls', () => {
  let limited: TestApp

  beforeAll(async () => {
    limited = await createTestApp({
      ...net.appviewEnv(),
      PORT: '0',
      APPVIEW_URL: 'http://localhost:2599',
      APPVIEW_DID: 'did:web:limited.test',
      ROLES: 'api',
      RATE_LIMIT_PER_USER: '3',
      RATE_LIMIT_PER_IP: '1000',
      RATE_LIMIT_WINDOW_SECONDS: '2',
    })
  })
  afterAll(async () => {
    await limited?.close()
  })

  const nsid = 'app.bsky.unspecced.getConfig'
  const tokenFor = async (who: TestAccount) =>
    (await who.agent.com.atproto.server.getServiceAuth({ aud: 'did:web:limited.test', lxm: nsid })).data.token
  const callWith = (token: string) =>
    fetch(`${limited.app.url}/xrpc/${nsid}`, { headers: { authorization: `Bearer ${token}` } })
  const callAs = async (who: TestAccount) => callWith(await tokenFor(who))

  it('counts per DID, not per IP: one busy user does not throttle the others of their PDS', async () => {
    // Tokens first and one call each (admission, key resolution), then start at the
    // beginning of a fresh window so the counted calls never straddle one.
    const aliceToken = await tokenFor(alice)
    const bobToken = await tokenFor(bob)
    expect((await callWith(aliceToken)).status).toBe(200)
    expect((await callWith(bobToken)).status).toBe(200)
    const window = Math.floor(Date.now() / 2000)
    while (Math.floor(Date.now() / 2000) === window) await new Promise((r) => setTimeout(r, 10))
    for (let i = 0; i < 3; i++) {
      const res = await callWith(aliceToken)
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit-remaining')).toBe(String(2 - i))
    }
    const refused = await callWith(aliceToken)
    expect(refused.status).toBe(429)
    expect(((await refused.json()) as any).error).toBe('RateLimitExceeded')
    expect(refused.headers.get('ratelimit-limit')).toBe('3')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    // bob, same PDS, same IP: unaffected
    expect((await callWith(bobToken)).status).toBe(200)
    // and alice recovers in the next window
    const ok = await waitFor(async () => ((await callAs(alice)).status === 200 ? true : undefined), {
      timeoutMs: 6_000,
      intervalMs: 200,
      message: 'alice is let through again',
    })
    expect(ok).toBe(true)
    const metrics = await (await fetch(`${limited.app.url}/metrics`)).text()
    expect(metricValue(metrics, 'appview_rate_limited_total', { scope: 'user' })).toBeGreaterThanOrEqual(1)
  })
})
