import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../_util/app.js'

describe('operator endpoints', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp({ APPVIEW_URL: 'https://appview.example.com' })
  })
  afterAll(async () => t?.close())

  it('GET /health answers 200 while the process is up', async () => {
    const res = await fetch(`${t.app.url}/health`)
    expect(res.status).toBe(200)
    expect((await res.json()) as object).toMatchObject({ status: 'ok' })
  })

  it('GET /ready answers 200 with each check while Postgres and Redis answer', async () => {
    const res = await fetch(`${t.app.url}/ready`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as any
    expect(body.ready).toBe(true)
    expect(body.checks.postgres).toEqual({ ok: true })
    expect(body.checks.redis).toEqual({ ok: true })
  })

  it('GET /.well-known/did.json publishes the appview and notification services', async () => {
    const res = await fetch(`${t.app.url}/.well-known/did.json`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      '@context': ['https://www.w3.org/ns/did/v1'],
      id: 'did:web:appview.example.com',
      service: [
        { id: '#bsky_appview', type: 'BskyAppView', serviceEndpoint: 'https://appview.example.com' },
        { id: '#bsky_notif', type: 'BskyNotificationService', serviceEndpoint: 'https://appview.example.com' },
      ],
    })
  })

  it('GET /metrics is Prometheus text with process metrics', async () => {
    const res = await fetch(`${t.app.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    const families = parsePrometheusTextFormat(await res.text())
    const names = families.map((f) => f.name)
    expect(names).toContain('appview_process_cpu_user_seconds_total')
    expect(names).toContain('appview_process_resident_memory_bytes')
    for (const f of families) expect(['COUNTER', 'GAUGE', 'HISTOGRAM', 'SUMMARY', 'UNTYPED']).toContain(f.type)
  })

  it('an unknown NSID answers 501 MethodNotImplemented in the XRPC error form', async () => {
    const res = await fetch(`${t.app.url}/xrpc/com.example.nothing`)
    expect(res.status).toBe(501)
    expect(await res.json()).toEqual({
      error: 'MethodNotImplemented',
      message: 'Method Not Implemented: com.example.nothing',
    })
  })

  it('a path outside XRPC answers 404 in the same error form', async () => {
    const res = await fetch(`${t.app.url}/nowhere`)
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ error: 'NotFound' })
  })
})
