import { afterEach, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../_util/app.js'
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../_util/config.js'
import { TcpProxy } from '../_util/tcp-proxy.js'

// /ready must turn 503 and say why when a dependency goes away while we run.
describe('/ready when a dependency is unreachable', () => {
  let t: TestApp | undefined
  afterEach(async () => {
    await t?.close()
    t = undefined
  })

  it('answers 503 naming Redis when Redis is unreachable', async () => {
    const redisUrl = new URL(TEST_REDIS_URL)
    const proxy = await new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379)).start()
    t = await createTestApp({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` })
    expect((await fetch(`${t.app.url}/ready`)).status).toBe(200)

    await proxy.cut()
    const res = await fetch(`${t.app.url}/ready`)
    expect(res.status).toBe(503)
    const body = (await res.json()) as any
    expect(body.ready).toBe(false)
    expect(body.checks.redis.ok).toBe(false)
    expect(body.checks.redis.reason).toMatch(/redis/i)
    expect(body.checks.postgres.ok).toBe(true)
  })

  it('answers 503 naming Postgres when Postgres is unreachable', async () => {
    const pgUrl = new URL(TEST_DATABASE_URL)
    const proxy = await new TcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432)).start()
    const viaProxy = new URL(TEST_DATABASE_URL)
    viaProxy.hostname = '127.0.0.1'
    viaProxy.port = String(proxy.port)
    t = await createTestApp({ DATABASE_URL: viaProxy.toString() })
    expect((await fetch(`${t.app.url}/ready`)).status).toBe(200)

    await proxy.cut()
    const res = await fetch(`${t.app.url}/ready`)
    expect(res.status).toBe(503)
    const body = (await res.json()) as any
    expect(body.checks.postgres.ok).toBe(false)
    expect(body.checks.postgres.reason).toBeTruthy()
    expect(body.checks.redis.ok).toBe(true)
    // close() drops the schema through a direct connection, not the cut proxy.
  })
})
