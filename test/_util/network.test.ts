// The shared test network works: a real PLC + PDS on loopback, accounts, records, and the
// firehose → Jetstream bridge.
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  TestNetwork,
  createFollow,
  createPost,
  deleteRecord,
  seedPosts,
  type BridgedEvent,
  type TestAccount,
} from './network.js'

describe('test network', () => {
  let network: TestNetwork
  let alice: TestAccount
  let bob: TestAccount

  beforeAll(async () => {
    network = await TestNetwork.start({ appview: true })
    alice = await network.createAccount('alice')
    bob = await network.createAccount('bob')
  })
  afterAll(async () => {
    await network?.close()
  })

  it('binds its servers to loopback only', () => {
    const addr = network.pds.server?.address() as net.AddressInfo
    expect(addr.address).toBe('127.0.0.1')
    const plcAddr = network.plcServer.server?.address() as net.AddressInfo
    expect(plcAddr.address).toBe('127.0.0.1')
  })

  it('registers accounts in the PLC directory with the PDS as their endpoint', async () => {
    expect(alice.did).toMatch(/^did:plc:/)
    const data = await network.idResolver().did.resolveAtprotoData(alice.did)
    expect(data.pds).toBe(network.pdsUrl)
    expect(data.handle).toBe('alice.test')
    expect(data.signingKey).toMatch(/^did:key:/)
  })

  it('serves a created post back through the repo API', async () => {
    const post = await createPost(alice, 'hello from the harness')
    const res = await network.agent().com.atproto.repo.getRecord({
      repo: alice.did,
      collection: 'app.bsky.feed.post',
      rkey: post.uri.split('/').pop()!,
    })
    expect(res.data.cid).toBe(post.cid)
    expect((res.data.value as { text: string }).text).toBe('hello from the harness')
  })

  it('seeds posts in batches with increasing createdAt', async () => {
    const posts = await seedPosts(bob, 250, { prefix: 'seed' })
    expect(posts).toHaveLength(250)
    expect(new Set(posts.map((p) => p.uri)).size).toBe(250)
    const listed = await network.agent().com.atproto.repo.listRecords({
      repo: bob.did,
      collection: 'app.bsky.feed.post',
      limit: 100,
    })
    expect(listed.data.records).toHaveLength(100)
    expect(listed.data.cursor).toBeTruthy()
  })

  it('bridges firehose commits into Jetstream JSON events, in order', async () => {
    const events: BridgedEvent[] = []
    const bridge = await network.startBridge((e) => {
      events.push(e)
    })
    const post = await createPost(alice, 'bridged post')
    const follow = await createFollow(alice, bob.did)
    await deleteRecord(alice, post.uri)
    await bridge.caughtUp()

    const commits = events.filter((e) => e.kind === 'commit' && e.did === alice.did)
    expect(commits.map((e) => e.kind === 'commit' && `${e.commit.operation} ${e.commit.collection}`)).toEqual([
      'create app.bsky.feed.post',
      'create app.bsky.graph.follow',
      'delete app.bsky.feed.post',
    ])
    const created = commits[0]!
    if (created.kind !== 'commit') throw new Error('unreachable')
    expect(created.commit.rkey).toBe(post.uri.split('/').pop())
    expect(created.commit.cid).toBe(post.cid)
    expect(created.commit.record).toMatchObject({ $type: 'app.bsky.feed.post', text: 'bridged post' })
    expect(created.commit.rev).toMatch(/^[a-z0-9]{13}$/)
    const followed = commits[1]!
    if (followed.kind !== 'commit') throw new Error('unreachable')
    expect(followed.commit.record).toMatchObject({ subject: bob.did })
    expect(followed.commit.cid).toBe(follow.cid)
    const deleted = commits[2]!
    if (deleted.kind !== 'commit') throw new Error('unreachable')
    expect(deleted.commit.record).toBeUndefined()
    expect(deleted.commit.cid).toBeUndefined()
    // time_us strictly increasing, like a Jetstream instance's clock
    const times = events.map((e) => e.time_us)
    expect([...times].sort((a, b) => a - b)).toEqual(times)
    expect(new Set(times).size).toBe(times.length)
    await bridge.close()
  })

  it('bridges identity and account events for a new account', async () => {
    const events: BridgedEvent[] = []
    const bridge = await network.startBridge((e) => {
      events.push(e)
    })
    const carol = await network.createAccount('carol')
    await bridge.caughtUp()
    const kinds = events.filter((e) => e.did === carol.did).map((e) => e.kind)
    expect(kinds).toContain('identity')
    expect(kinds).toContain('account')
    const account = events.find((e) => e.kind === 'account' && e.did === carol.did)
    expect(account?.kind === 'account' && account.account.active).toBe(true)
    await bridge.close()
  })

  it('tells an App where to find it (PLC, dev switch, reserved AppView port)', () => {
    const env = network.appviewEnv()
    expect(env.PLC_URL).toBe(network.plcUrl)
    expect(env.DEV_LOCAL_NETWORK).toBe('true')
    expect(env.PORT).toMatch(/^\d+$/)
    expect(env.APPVIEW_DID).toBe(`did:web:localhost%3A${env.PORT}`)
    expect(network.pds.ctx.cfg.bskyAppView?.url).toBe(env.APPVIEW_URL)
  })
})
