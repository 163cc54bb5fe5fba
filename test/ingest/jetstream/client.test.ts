// The websocket client against the Jetstream-compatible test server: subscription
// parameters, zstd frames, reconnect with a fresh cursor, watchdog, failover, backoff.
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { backoffDelay, JetstreamClient } from '../../../src/ingest/jetstream/client.js'
import { decompressJetstreamFrame } from '../../../src/ingest/jetstream/zstd.js'
import { WANTED_COLLECTIONS } from '../../../src/ingest/parse.js'
import { postEvent } from '../../_util/jetstream-events.js'
import { TestJetstream } from '../../_util/jetstream-server.js'

const log = pino({ level: 'silent' })
const DID = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz'
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function server(): Promise<TestJetstream> {
  const js = await TestJetstream.start()
  cleanups.push(() => js.close())
  return js
}

function client(urls: string[], opts: { compress?: boolean; watchdogMs?: number; cursor?: () => Promise<number | undefined> } = {}) {
  const frames: string[] = []
  const disconnects: string[] = []
  const c = new JetstreamClient({
    urls,
    compress: opts.compress ?? false,
    watchdogMs: opts.watchdogMs ?? 60_000,
    log,
    minBackoffMs: 20,
    maxBackoffMs: 200,
    cursor: opts.cursor ?? (async () => undefined),
    onFrame: (data, isBinary) => frames.push(isBinary ? decompressJetstreamFrame(data, 1 << 20).toString() : data.toString()),
    onDisconnect: ({ reason }) => disconnects.push(reason),
  })
  cleanups.push(() => c.stop())
  c.start()
  return { c, frames, disconnects }
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('JetstreamClient', () => {
  it('subscribes to the wanted collections from the cursor it is given and receives the replay', async () => {
    const js = await server()
    const [first] = js.push(postEvent(DID, { text: 'one' }), postEvent(DID, { text: 'two' }))
    const { frames } = client([js.url], { cursor: async () => first.time_us })
    const conn = await js.waitForConnections(1)
    expect(conn.cursor).toBe(first.time_us)
    expect(conn.wantedCollections).toEqual([...WANTED_COLLECTIONS])
    await until(() => frames.length === 2, 'replayed frames')
    expect(frames.map((f) => JSON.parse(f).commit.record.text)).toEqual(['one', 'two'])
  })

  it('asks for zstd without permessage-deflate (upstream refuses both) and decodes the frames', async () => {
    const js = await server()
    const { frames } = client([js.url], { compress: true })
    const conn = await js.waitForConnections(1)
    expect(conn.compress).toBe(true)
    js.push(postEvent(DID, { text: 'squeezed' }))
    await until(() => frames.length === 1, 'a compressed frame')
    expect(JSON.parse(frames[0]).commit.record.text).toBe('squeezed')
  })

  it('reconnects after a dropped connection and asks for the cursor again', async () => {
    const js = await server()
    let cursorCalls = 0
    const { c, disconnects } = client([js.url], { cursor: async () => 1_000_000 * ++cursorCalls })
    await js.waitForConnections(1)
    await until(() => c.isConnected, 'connected')
    js.dropConnections()
    const second = await js.waitForConnections(2)
    expect(second.cursor).toBe(2_000_000)
    expect(disconnects).toEqual(['closed'])
  })

  it('replaces a connection that goes silent once the watchdog time passes', async () => {
    const js = await server()
    const { frames, disconnects } = client([js.url], { watchdogMs: 300 })
    await js.waitForConnections(1)
    js.push(postEvent(DID))
    await until(() => frames.length === 1, 'first frame')
    js.goSilent()
    js.push(postEvent(DID))
    await js.waitForConnections(2)
    expect(disconnects).toContain('watchdog')
    js.push(postEvent(DID, { text: 'after' }))
    await until(() => frames.some((f) => JSON.parse(f).commit.record.text === 'after'), 'frame on the new connection')
  })

  it('fails over to the next URL when the first refuses, and back when the second dies', async () => {
    const a = await server()
    const b = await server()
    a.refuse = true
    const { c, frames } = client([a.url, b.url])
    await b.waitForConnections(1)
    await until(() => c.isConnected && c.currentUrl === b.url, 'connected to the second URL')
    b.push(postEvent(DID, { text: 'from b' }))
    await until(() => frames.length === 1, 'frame from b')
    a.refuse = false
    b.refuse = true
    b.dropConnections()
    await a.waitForConnections(1)
    await until(() => c.isConnected && c.currentUrl === a.url, 'back on the first URL')
  })

  it('keeps reconnect delays within exponential bounds with jitter', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const cap = Math.min(30_000, 500 * 2 ** attempt)
      const delays = Array.from({ length: 50 }, () => backoffDelay(attempt, 500, 30_000))
      for (const d of delays) {
        expect(d).toBeGreaterThanOrEqual(cap / 2 - 1)
        expect(d).toBeLessThanOrEqual(cap + 1)
      }
    }
    expect(new Set(Array.from({ length: 20 }, () => backoffDelay(5, 500, 30_000))).size).toBeGreaterThan(1)
  })
})
