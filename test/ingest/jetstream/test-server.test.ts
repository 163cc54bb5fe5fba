// The Jetstream-compatible test server keeps Jetstream's replay and filter semantics, so
// what the consumer is tested against behaves like the real thing (PROTOCOL.md §B5).
import { WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { accountEvent, followEvent, likeEvent, postEvent } from '../../_util/jetstream-events.js'
import { TestJetstream } from '../../_util/jetstream-server.js'

const A = 'did:plc:testserveraaaaaaaaaaaaa'
const B = 'did:plc:testserverbbbbbbbbbbbbb'
let js: TestJetstream
afterEach(async () => js?.close())

async function collect(query: string, expected: number): Promise<Array<{ did: string; time_us: number; kind: string; commit?: { collection: string } }>> {
  const ws = new WebSocket(`${js.url}?${query}`)
  const got: Array<{ did: string; time_us: number; kind: string; commit?: { collection: string } }> = []
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (d: Buffer) => {
      got.push(JSON.parse(d.toString()))
      if (got.length === expected) resolve()
    })
    ws.on('error', reject)
    if (expected === 0) ws.on('open', () => setTimeout(resolve, 100))
  })
  ws.terminate()
  return got
}

describe('TestJetstream', () => {
  it('replays from an inclusive time_us cursor, in time order, and assigns increasing time_us', async () => {
    js = await TestJetstream.start()
    const stored = js.push(postEvent(A), postEvent(A), postEvent(A))
    expect(stored[1].time_us).toBeGreaterThan(stored[0].time_us)
    js.push({ ...postEvent(B), time_us: stored[1].time_us - 0 }) // same time as the second: also replayed
    const got = await collect(`cursor=${stored[1].time_us}`, 3)
    expect(got.map((e) => e.time_us)).toEqual([stored[1].time_us, stored[1].time_us, stored[2].time_us])
  })

  it('filters by collection (exact or prefix.*) letting identity/account through, and by DID', async () => {
    js = await TestJetstream.start()
    const [first] = js.push(postEvent(A), likeEvent(A, 'at://x/app.bsky.feed.post/y'), followEvent(B, A), accountEvent(B, false, 'deactivated'))
    const feed = await collect(`cursor=${first.time_us}&wantedCollections=app.bsky.feed.*`, 3)
    expect(feed.map((e) => e.commit?.collection ?? e.kind)).toEqual(['app.bsky.feed.post', 'app.bsky.feed.like', 'account'])
    const byDid = await collect(`cursor=${first.time_us}&wantedDids=${B}`, 2)
    expect(byDid.map((e) => e.commit?.collection ?? e.kind)).toEqual(['app.bsky.graph.follow', 'account'])
  })

  it('starts at the oldest kept event for a cursor older than what it retains', async () => {
    js = await TestJetstream.start()
    const [old, kept] = js.push(postEvent(A), postEvent(B))
    js.forgetBefore(kept.time_us)
    const got = await collect(`cursor=${old.time_us - 1_000_000}`, 1)
    expect(got[0].did).toBe(B)
  })

  it('refuses zstd together with permessage-deflate, and refuses when switched off', async () => {
    js = await TestJetstream.start()
    const status = (url: string, opts: object) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, opts)
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
        ws.on('open', () => {
          ws.terminate()
          resolve(101)
        })
        ws.on('error', () => {})
      })
    expect(await status(`${js.url}?compress=true`, {})).toBe(400)
    expect(await status(`${js.url}?compress=true`, { perMessageDeflate: false })).toBe(101)
    js.refuse = true
    expect(await status(js.url, {})).toBe(503)
  })
})
