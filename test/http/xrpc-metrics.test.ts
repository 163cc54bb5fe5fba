import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Readiness } from '../../src/http/health.js'
import { buildHttp } from '../../src/http/server.js'
import { createXrpcMetrics } from '../../src/http/xrpc-metrics.js'
import { XrpcRouter } from '../../src/http/xrpc.js'
import { loadLexicons } from '../../src/lexicon/lexicons.js'
import { createLogger } from '../../src/logger.js'
import { Metrics } from '../../src/metrics.js'
import { testConfig } from '../_util/config.js'

// What an operator reads on /metrics about XRPC calls: a latency histogram per method and
// status, with invented method names folded into one label value.
describe('XRPC request metrics', () => {
  const cfg = testConfig()
  const log = createLogger(cfg)
  const metrics = new Metrics()
  const router: XrpcRouter = new XrpcRouter({
    lexicons: loadLexicons(),
    log,
    onCall: createXrpcMetrics(metrics.registry, (nsid) => router.has(nsid)).onCall,
  })
  const app = buildHttp({ cfg, log, metrics, readiness: new Readiness(), router, version: 'test' })

  beforeAll(async () => {
    router.add('app.bsky.feed.getTimeline', {
      auth: 'none',
      handler: async () => {
        await new Promise((r) => setTimeout(r, 30))
        return { body: { feed: [] } }
      },
    })
    await app.ready()
  })
  afterAll(() => app.close())

  const metricLines = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body.split('\n')
  const value = (lines: string[], prefix: string) => {
    const line = lines.find((l) => l.startsWith(prefix))
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
  }

  it('counts each call by method and status, with its duration', async () => {
    for (let i = 0; i < 3; i++) expect((await app.inject({ url: '/xrpc/app.bsky.feed.getTimeline' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/xrpc/app.bsky.feed.getTimeline?limit=0' })).statusCode).toBe(400)
    const lines = await metricLines()
    const ok = 'appview_xrpc_request_duration_seconds'
    expect(value(lines, `${ok}_count{nsid="app.bsky.feed.getTimeline",status="200"}`)).toBe(3)
    expect(value(lines, `${ok}_count{nsid="app.bsky.feed.getTimeline",status="400"}`)).toBe(1)
    // the handler waits 30 ms: none of the three answered within 20 ms, all within 10 s
    expect(value(lines, `${ok}_bucket{le="0.02",nsid="app.bsky.feed.getTimeline",status="200"}`)).toBe(0)
    expect(value(lines, `${ok}_bucket{le="10",nsid="app.bsky.feed.getTimeline",status="200"}`)).toBe(3)
    expect(value(lines, `${ok}_sum{nsid="app.bsky.feed.getTimeline",status="200"}`)).toBeGreaterThanOrEqual(0.09)
  })

  it('folds methods we do not serve into "unknown"', async () => {
    for (const nsid of ['com.example.one', 'com.example.two', 'app.bsky.feed.getPosts']) {
      expect((await app.inject({ url: `/xrpc/${nsid}` })).statusCode).toBe(501)
    }
    const lines = await metricLines()
    expect(value(lines, 'appview_xrpc_request_duration_seconds_count{nsid="unknown",status="501"}')).toBe(3)
    expect(lines.some((l) => l.includes('com.example.one'))).toBe(false)
  })
})
