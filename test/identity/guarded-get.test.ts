// The guarded GET the PDS client reads pages with: decoded bodies, the byte limit on what
// arrives and on what it decodes to, redirects refused, the SSRF guard without the switch.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResponseTooLargeError, createGuardedGet } from '../../src/identity/guarded-get.js'
import { SsrfError } from '../../src/identity/ssrf.js'

describe('guarded GET', () => {
  let server: http.Server
  let base: string
  const body = JSON.stringify({ records: Array.from({ length: 200 }, (_, i) => ({ uri: `at://x/y/${i}`, text: 'é'.repeat(20) })) })
  const encoders: Record<string, (b: Buffer) => Buffer> = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync }

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://x')
      if (url.pathname === '/redirect') return void res.writeHead(302, { location: 'http://169.254.169.254/' }).end()
      const encoding = url.searchParams.get('encoding')
      const payload = Buffer.from(body)
      if (encoding) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding })
        return void res.end(encoders[encoding]!(payload))
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(payload)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((r) => server.close(r))
  })

  const get = createGuardedGet({ allowLocal: true })

  it('returns the body decoded, whatever encoding the server chose', async () => {
    for (const encoding of ['', 'gzip', 'deflate', 'br']) {
      const res = await get(`${base}/page?encoding=${encoding}`, { maxBytes: 1_000_000 })
      expect(res.status, encoding).toBe(200)
      expect(res.text, encoding).toBe(body)
    }
  })

  it('refuses a body over the limit, also when only its decoded form is', async () => {
    const compressed = gzipSync(Buffer.from(body)).byteLength
    expect(compressed).toBeLessThan(2_000)
    // Plain: the declared length is over the limit.
    await expect(get(`${base}/page`, { maxBytes: 2_000 })).rejects.toBeInstanceOf(ResponseTooLargeError)
    // Gzip: under the limit as sent, over it decoded.
    await expect(get(`${base}/page?encoding=gzip`, { maxBytes: 2_000 })).rejects.toBeInstanceOf(ResponseTooLargeError)
    expect((await get(`${base}/page?encoding=gzip`, { maxBytes: Buffer.byteLength(body) })).text).toBe(body)
  })

  it('does not follow a redirect', async () => {
    await expect(get(`${base}/redirect`, { maxBytes: 1_000 })).rejects.toThrow(/redirect/)
  })

  it('without the development switch: https only, loopback refused', async () => {
    const strict = createGuardedGet({ allowLocal: false })
    await expect(strict(`${base}/page`, { maxBytes: 1_000 })).rejects.toBeInstanceOf(SsrfError)
    await expect(strict('https://127.0.0.1:1/page', { maxBytes: 1_000 })).rejects.toBeInstanceOf(SsrfError)
  })
})
