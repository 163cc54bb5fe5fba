// Abuse limits: anonymous calls are counted per client IP in Redis, so separate api
// processes share the count; past the limit a call gets 429 with RateLimit-* headers, and
// the next window lets calls through again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../_util/app.js'
import { items, newDid, post } from '../../_util/index-ops.js'
import { TcpProxy } from '../../_util/tcp-proxy.js'
import { TEST_REDIS_URL } from '../../_util/config.js'

let a: TestApp
let b: TestApp
const LIMIT = 4

beforeAll(async () => {
  // Two api processes against the same Redis and the same database schema.
  a = await createTestApp({ RATE_LIMIT_PER_IP: String(LIMIT), RATE_LIMIT_WINDOW_SECONDS: '2' })
  b = await createTestApp({
    RATE_LIMIT_PER_IP: String(LIMIT),
    RATE_LIMIT_WINDOW_SECONDS: '2',
    DATABASE_SCHEMA: a.cfg.db.schema,
  })
})
afterAll(async () => {
  await b?.app.destroy()
  await a?.close()
})

const call = (t: TestApp, ip = '203.0.113.7') =>
  t.app.http!.inject({
    url: '/xrpc/app.bsky.unspecced.getConfig',
    remoteAddress: '127.0.0.1',
    headers: { 'x-forwarded-for': ip },
  })

/** Waits for the start of the next window, so the test never straddles a boundary. */
async function freshWindow(seconds: number) {
  const ms = seconds * 1000
  const current = Math.floor(Date.now() / ms)
  while (Math.floor(Date.now() / ms) === current) await new Promise((r) => setTimeout(r, 10))
}

describe('rate limits', () => {
  it('counts per IP across api processes, answers 429 with headers, then recovers', async () => {
    await freshWindow(2)
    const ok = []
    for (let i = 0; i < LIMIT; i++) ok.push(await call(i % 2 ? a : b))
    for (const [i, res] of ok.entries()) {
      expect(res.statusCode).toBe(200)
      expect(res.headers['ratelimit-limit']).toBe(String(LIMIT))
      expect(res.headers['ratelimit-remaining']).toBe(String(LIMIT - i - 1))
      expect(res.headers['ratelimit-policy']).toBe(`${LIMIT};w=2`)
    }
    const refused = await call(a)
    expect(refused.statusCode).toBe(429)
    expect(refused.json().error).toBe('RateLimitExceeded')
    expect(refused.headers['ratelimit-remaining']).toBe('0')
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000 - 1)

    // Another client is not affected.
    expect((await call(b, '198.51.100.9')).statusCode).toBe(200)

    // The window ends: calls go through again.
    const deadline = Date.now() + 5_000
    let res = await call(a)
    while (res.statusCode === 429 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
      res = await call(a)
    }
    expect(res.statusCode).toBe(200)

    const metrics = await a.app.http!.inject({ url: '/metrics' })
    expect(metrics.body).toMatch(/appview_rate_limited_total\{scope="ip"\} [1-9]/)
  })

  it('lookups a PDS pipes for all its users have their own, larger per-IP budget', async () => {
    await freshWindow(2)
    const ip = '203.0.113.99'
    for (let i = 0; i < LIMIT; i++) expect((await call(a, ip)).statusCode).toBe(200)
    expect((await call(a, ip)).statusCode).toBe(429)
    // com.atproto.repo.getRecord from the same IP still goes through, on its own budget.
    const stored = post(newDid(), { text: 'a record a PDS asks us for' })
    await a.ctx.indexer.applyBatch(items([stored]))
    const [, , repo, collection, rkey] = stored.uri.split('/')
    for (let i = 0; i < LIMIT + 2; i++) {
      const res = await a.app.http!.inject({
        url: `/xrpc/com.atproto.repo.getRecord?repo=${repo}&collection=${collection}&rkey=${rkey}`,
        remoteAddress: '127.0.0.1',
        headers: { 'x-forwarded-for': ip },
      })
      expect(res.statusCode).toBe(200)
      expect(res.headers['ratelimit-limit']).toBe(String(LIMIT * 20))
    }
  })

  it('refuses a request body over the size limit with 413, not a crash', async () => {
    const res = await a.app.http!.inject({
      method: 'POST',
      url: '/xrpc/app.bsky.actor.putPreferences',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.55' },
      payload: JSON.stringify({ preferences: [{ $type: 'app.bsky.actor.defs#x', pad: 'x'.repeat(400_000) }] }),
    })
    expect(res.statusCode).toBe(413)
    expect(res.json().error).toBeTruthy()
  })

  it('lets calls through, promptly, when Redis is unreachable', async () => {
    const redisUrl = new URL(TEST_REDIS_URL)
    const proxy = await new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379)).start()
    const c = await createTestApp({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, RATE_LIMIT_PER_IP: '1' })
    try {
      expect((await call(c, '192.0.2.77')).statusCode).toBe(200)
      expect((await call(c, '192.0.2.77')).statusCode).toBe(429)
      await proxy.cut()
      const started = Date.now()
      const res = await call(c, '192.0.2.77')
      expect(res.statusCode).toBe(200) // no count to refuse by: availability first
      expect(res.headers['ratelimit-limit']).toBeUndefined()
      expect(Date.now() - started).toBeLessThan(2_000)
    } finally {
      await c.close().catch(() => {})
    }
  })
})
