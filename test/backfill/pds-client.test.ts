// The PDS client's politeness and robustness against a real PDS behind a fault proxy:
// per-host concurrency with an in-flight gauge, timeouts, response size limits, permanent vs
// retryable failures.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PdsClient, PdsError, parseRetryAfter } from '../../src/backfill/pds-client.js'
import { HostLimiter } from '../../src/backfill/limiter.js'
import { Identity } from '../../src/identity/identity.js'
import { createLogger } from '../../src/logger.js'
import { testConfig } from '../_util/config.js'
import { TestNetwork, seedPosts, waitFor, type SeededRecord, type TestAccount } from '../_util/network.js'

const log = createLogger(testConfig())

describe('PDS client', () => {
  let net: TestNetwork
  let identity: Identity
  let alice: TestAccount
  let posts: SeededRecord[]
  let host: string

  beforeAll(async () => {
    net = await TestNetwork.start({ faultProxy: true })
    identity = new Identity({ plcUrl: net.plcUrl, devLocalNetwork: true, log })
    alice = await net.createAccount('pcalice')
    posts = await seedPosts(alice, 120)
    host = new URL(net.pdsUrl).host
  })
  afterAll(async () => {
    await net?.close()
  })

  const client = (over: Partial<ConstructorParameters<typeof PdsClient>[0]> = {}) =>
    new PdsClient({ identity, log, requestTimeoutMs: 5_000, concurrency: 8, perHostConcurrency: 2, baseDelayMs: 10, ...over })

  it('never has more requests in flight to one host than allowed, and reports them', async () => {
    const registry = new Registry()
    const pds = client({ registry })
    const holds = [net.proxy!.hold('com.atproto.repo.getRecord', 'request'), net.proxy!.hold('com.atproto.repo.getRecord', 'request')]
    const before = net.proxy!.count('com.atproto.repo.getRecord')
    const calls = posts.slice(0, 5).map((p) => pds.getRecord(p.uri))
    await Promise.all(holds.map((h) => h.arrived))
    expect(pds.inFlightFor(host)).toBe(2)
    const gauge = (await registry.getSingleMetric('appview_pds_requests_in_flight')!.get()).values
    expect(gauge.find((v) => v.labels.host === host)?.value).toBe(2)
    // The other three wait in the limiter: none reached the PDS.
    expect(net.proxy!.count('com.atproto.repo.getRecord') - before).toBe(2)
    for (const h of holds) h.release()
    const got = await Promise.all(calls)
    expect(got.map((r) => r?.cid)).toEqual(posts.slice(0, 5).map((p) => p.cid))
    expect(net.proxy!.count('com.atproto.repo.getRecord') - before).toBe(5)
    expect(pds.inFlightFor(host)).toBe(0)
  })

  it('gives up on a request that does not answer within the timeout, after retrying', async () => {
    const pds = client({ requestTimeoutMs: 300, maxAttempts: 2 })
    const holds = [net.proxy!.hold('listRecords', 'request'), net.proxy!.hold('listRecords', 'request')]
    const err = await pds.listRecords(alice.did, 'app.bsky.feed.post').catch((e: unknown) => e)
    for (const h of holds) h.release()
    expect(err).toBeInstanceOf(PdsError)
    expect(err).toMatchObject({ reason: 'timeout', permanent: false })
    expect((err as Error).message).toMatch(/no answer within 300 ms/)
  })

  it('a DID document that cannot be fetched right now: retried, then a retryable identity failure (no wait after the last try)', async () => {
    // did:web on a loopback port nobody listens on: connection refused, every time.
    const closed = http.createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()))
    const port = (closed.address() as AddressInfo).port
    await new Promise((r) => closed.close(r))
    const registry = new Registry()
    const pds = client({ registry, maxAttempts: 3 })
    const err = await pds.getRecord(`at://did:web:localhost%3A${port}/app.bsky.feed.post/3kaaaaaaaaaab`).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PdsError)
    expect(err).toMatchObject({ reason: 'identity', permanent: false })
    // Three attempts, two waits between them.
    const retries = (await registry.getSingleMetric('appview_pds_retries_total')!.get()).values
    expect(retries.find((v) => v.labels.reason === 'identity')?.value).toBe(2)
  })

  it('refuses a response larger than the limit', async () => {
    const pds = client({ maxResponseBytes: 2_000 })
    const err = await pds.listRecords(alice.did, 'app.bsky.feed.post', { limit: 100 }).catch((e: unknown) => e)
    expect(err).toMatchObject({ reason: 'too_large', permanent: true })
  })

  it('treats a missing repo as permanent and a missing record as null', async () => {
    const pds = client()
    const ghost = await net.createDid({ pds: net.pdsUrl, handle: 'ghost.test' })
    const err = await pds.listRecords(ghost, 'app.bsky.feed.post').catch((e: unknown) => e)
    expect(err).toMatchObject({ reason: 'RepoNotFound', permanent: true })
    expect(await pds.getRecord(`at://${alice.did}/app.bsky.feed.post/3aaaaaaaaaaaa`)).toBeNull()
    await expect(pds.getRecord('not-an-at-uri')).rejects.toMatchObject({ reason: 'bad_uri' })
  })

  it('retries 503s and succeeds; pages through a collection with the cursor', async () => {
    const pds = client()
    net.proxy!.failNext(`listRecords?repo=${encodeURIComponent(alice.did)}`, 2, 503)
    const first = await pds.listRecords(alice.did, 'app.bsky.feed.post', { limit: 100 })
    expect(first.records).toHaveLength(100)
    const second = await pds.listRecords(alice.did, 'app.bsky.feed.post', { limit: 100, cursor: first.cursor })
    expect(second.records).toHaveLength(20)
    const uris = [...first.records, ...second.records].map((r) => r.uri)
    // Newest first.
    expect(uris).toEqual([...posts].reverse().map((p) => p.uri))
  })

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000)
    const inTwo = new Date(Date.now() + 2000).toUTCString()
    expect(parseRetryAfter(inTwo)).toBeGreaterThan(500)
    expect(parseRetryAfter(inTwo)).toBeLessThanOrEqual(2000)
    expect(parseRetryAfter('soon')).toBeUndefined()
    expect(parseRetryAfter(null)).toBeUndefined()
  })
})

describe('host limiter', () => {
  it('bounds concurrency globally and per host', async () => {
    const limiter = new HostLimiter(3, 2)
    let active = 0
    let peak = 0
    const perHostPeak = new Map<string, number>()
    const perHost = new Map<string, number>()
    const gates: Array<() => void> = []
    const run = (host: string) =>
      limiter.run(host, async () => {
        active++
        perHost.set(host, (perHost.get(host) ?? 0) + 1)
        peak = Math.max(peak, active)
        perHostPeak.set(host, Math.max(perHostPeak.get(host) ?? 0, perHost.get(host)!))
        await new Promise<void>((r) => gates.push(r))
        active--
        perHost.set(host, perHost.get(host)! - 1)
      })
    const all = Promise.all(['a', 'a', 'a', 'b', 'b', 'c', 'c'].map(run))
    for (let released = 0; released < 7; released++) {
      await waitFor(() => gates.length > 0)
      gates.shift()!()
    }
    await all
    expect(peak).toBe(3)
    expect(Math.max(...perHostPeak.values())).toBe(2)
  })
})
