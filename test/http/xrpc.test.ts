import { InvalidRequestError } from '@atproto/xrpc-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Readiness } from '../../src/http/health.js'
import { buildHttp } from '../../src/http/server.js'
import { XrpcRouter } from '../../src/http/xrpc.js'
import { loadLexicons } from '../../src/lexicon/lexicons.js'
import { createLogger } from '../../src/logger.js'
import { Metrics } from '../../src/metrics.js'
import { testConfig } from '../_util/config.js'

// The routing skeleton on its own: handlers registered per NSID, parameters and inputs
// validated against lexicons/, errors in the XRPC form. No database needed.
describe('XRPC routing', () => {
  const cfg = testConfig()
  const log = createLogger(cfg)
  const router = new XrpcRouter({ lexicons: loadLexicons(), log, validateOutput: true })
  const app = buildHttp({ cfg, log, metrics: new Metrics(), readiness: new Readiness(), router, version: 'test' })
  const seen: Array<Record<string, unknown>> = []

  beforeAll(async () => {
    router.add('app.bsky.feed.getTimeline', {
      auth: 'none',
      handler: async ({ params }) => {
        seen.push(params)
        return { body: { feed: [] } }
      },
    })
    router.add('app.bsky.actor.getProfiles', {
      auth: 'none',
      handler: async ({ params }) => ({ body: { profiles: [], echo: params.actors } }),
    })
    router.add('app.bsky.feed.getPosts', {
      auth: 'none',
      // A handler bug: posts must be an array. Must never reach the client as a 200.
      handler: async () => ({ body: { posts: 'oops' } }),
    })
    router.add('app.bsky.graph.muteActor', {
      auth: 'none',
      handler: async ({ input }) => {
        if ((input as { actor: string }).actor === 'did:plc:forbidden') throw new InvalidRequestError('no', 'Nope')
      },
    })
    router.add('app.bsky.notification.getUnreadCount', { auth: 'required', handler: async () => ({ body: { count: 0 } }) })
    await app.ready()
  })
  afterAll(() => app.close())

  const get = (path: string) => app.inject({ method: 'GET', url: path })

  it('decodes and validates parameters by the lexicon, applying defaults', async () => {
    const res = await get('/xrpc/app.bsky.feed.getTimeline?limit=20&cursor=abc')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ feed: [] })
    expect(seen.at(-1)).toEqual({ limit: 20, cursor: 'abc' })
    await get('/xrpc/app.bsky.feed.getTimeline')
    expect(seen.at(-1)).toEqual({ limit: 50 })
  })

  it.each([
    ['limit=500', /limit can not be greater than 100/],
    ['limit=0', /limit can not be less than 1/],
    ['limit=ten', /limit must be an integer/],
    ['limit=1&limit=2', /limit must be given once/],
  ])('answers 400 InvalidRequest naming the parameter for %s', async (query, message) => {
    const res = await get(`/xrpc/app.bsky.feed.getTimeline?${query}`)
    expect(res.statusCode).toBe(400)
    const body = res.json()
    expect(body.error).toBe('InvalidRequest')
    expect(body.message).toMatch(message)
  })

  it('lets the read caches take in a procedure\'s writes before its answer is sent (not after queries)', async () => {
    const order: string[] = []
    router.setAfterProcedure(async () => {
      await new Promise((r) => setTimeout(r, 20))
      order.push('caches synced')
    })
    try {
      const res = await app.inject({ method: 'POST', url: '/xrpc/app.bsky.graph.muteActor', payload: { actor: 'did:plc:allowed' } })
      order.push(`answered ${res.statusCode}`)
      await get('/xrpc/app.bsky.feed.getTimeline')
      order.push('query answered')
    } finally {
      router.setAfterProcedure(() => undefined)
    }
    expect(order).toEqual(['caches synced', 'answered 200', 'query answered'])
  })

  it('leaves the process stack-trace setting as it found it, after good and bad parameters', async () => {
    // parameter validation turns stack traces off while it runs (src/http/xrpc.ts)
    const before = Error.stackTraceLimit
    expect((await get('/xrpc/app.bsky.feed.getTimeline?limit=5')).statusCode).toBe(200)
    expect((await get('/xrpc/app.bsky.feed.getTimeline?limit=500')).statusCode).toBe(400)
    expect(Error.stackTraceLimit).toBe(before)
    expect(new Error('x').stack!.split('\n').length).toBeGreaterThan(1)
  })

  it('collects repeated array parameters and validates their format', async () => {
    const ok = await get('/xrpc/app.bsky.actor.getProfiles?actors=alice.test&actors=did:plc:abc')
    expect(ok.statusCode).toBe(200)
    expect(ok.json().echo).toEqual(['alice.test', 'did:plc:abc'])
    const missing = await get('/xrpc/app.bsky.actor.getProfiles')
    expect(missing.statusCode).toBe(400)
    expect(missing.json().message).toMatch(/actors/)
    const bad = await get('/xrpc/app.bsky.actor.getProfiles?actors=not%20a%20handle')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toMatch(/actors/)
  })

  it('answers 501 for a lexicon method with no handler and for an unknown NSID', async () => {
    for (const nsid of ['app.bsky.feed.getFeed', 'io.example.unknown']) {
      const res = await get(`/xrpc/${nsid}`)
      expect(res.statusCode).toBe(501)
      expect(res.json()).toEqual({ error: 'MethodNotImplemented', message: `Method Not Implemented: ${nsid}` })
    }
  })

  it('refuses the wrong HTTP method', async () => {
    const res = await app.inject({ method: 'POST', url: '/xrpc/app.bsky.feed.getTimeline', payload: {} })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toMatch(/expected GET/)
  })

  it('validates procedure input and passes handler errors through in XRPC form', async () => {
    const post = (payload: unknown) =>
      app.inject({ method: 'POST', url: '/xrpc/app.bsky.graph.muteActor', payload: payload as object })
    expect((await post({ actor: 'did:plc:abc' })).statusCode).toBe(200)
    const missing = await post({})
    expect(missing.statusCode).toBe(400)
    expect(missing.json().message).toMatch(/actor/)
    const named = await post({ actor: 'did:plc:forbidden' })
    expect(named.statusCode).toBe(400)
    expect(named.json()).toEqual({ error: 'Nope', message: 'no' })
    const garbage = await app.inject({
      method: 'POST',
      url: '/xrpc/app.bsky.graph.muteActor',
      headers: { 'content-type': 'application/json' },
      payload: '{not json',
    })
    expect(garbage.statusCode).toBe(400)
    expect(garbage.json().error).toBe('InvalidRequest')
  })

  it('answers 401 AuthenticationRequired when a method needs a viewer and none is given', async () => {
    const res = await get('/xrpc/app.bsky.notification.getUnreadCount')
    expect(res.statusCode).toBe(401)
    expect(res.json().error).toBe('AuthenticationRequired')
  })

  it('turns a response that fails its lexicon into a 500 instead of sending it', async () => {
    const res = await get('/xrpc/app.bsky.feed.getPosts?uris=at://did:plc:abc/app.bsky.feed.post/1')
    expect(res.statusCode).toBe(500)
    expect(res.json().error).toBe('InternalServerError')
  })
})
