// The benchmark's Jetstream: a child process that pre-generates `count` synthetic events
// (zstd-compressed with Jetstream's dictionary, as `compress=true` serves them) and then
// streams them to each subscriber from its `cursor` (time_us = startUs + index) as fast as the
// socket takes them. Generation happens before "ready" so it is not part of the measurement.
// Usage: tsx scripts/bench/ingest-server.ts <count> <startUs>   → prints "ready <port> <bytesRaw> <bytesZstd>"
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { compressJetstreamFrame } from '../../src/ingest/jetstream/zstd.js'
import { syntheticEvents } from './ingest-events.js'

const count = Number(process.argv[2])
const startUs = Number(process.argv[3])
const CHUNK = 32 * 1024 * 1024

// Frames packed into large chunks (a million small Buffers would cost more than the data).
const chunks: Buffer[] = []
const where = new Float64Array(count * 2) // chunk index * CHUNK + offset, length
let current = Buffer.allocUnsafe(CHUNK)
let used = 0
let rawBytes = 0
let zstdBytes = 0
let i = 0
for (const json of syntheticEvents(count, startUs)) {
  rawBytes += Buffer.byteLength(json)
  const frame = compressJetstreamFrame(json)
  zstdBytes += frame.length
  if (used + frame.length > CHUNK) {
    chunks.push(current.subarray(0, used))
    current = Buffer.allocUnsafe(CHUNK)
    used = 0
  }
  frame.copy(current, used)
  where[i * 2] = chunks.length * CHUNK + used
  where[i * 2 + 1] = frame.length
  used += frame.length
  i++
}
chunks.push(current.subarray(0, used))

function frameAt(index: number): Buffer {
  const pos = where[index * 2]
  const chunk = chunks[Math.floor(pos / CHUNK)]
  const offset = pos % CHUNK
  return chunk.subarray(offset, offset + where[index * 2 + 1])
}

async function stream(ws: WebSocket, from: number): Promise<void> {
  // Backpressure without polling: every 512 frames, wait until the socket has taken the last
  // one (the write callback fires once it left userland); a consumer that pauses reading
  // fills the kernel buffers and holds the server here.
  const WINDOW = 512
  for (let n = from; n < count; n += WINDOW) {
    if (ws.readyState !== ws.OPEN) return
    const end = Math.min(count, n + WINDOW)
    for (let k = n; k < end - 1; k++) ws.send(frameAt(k), { binary: true })
    await new Promise<void>((resolve) => ws.send(frameAt(end - 1), { binary: true }, () => resolve()))
  }
}

const server = createServer((_req, res) => res.writeHead(404).end())
const wss = new WebSocketServer({ server, path: '/subscribe', perMessageDeflate: false })
wss.on('connection', (ws, req) => {
  const q = new URL(req.url ?? '/', 'http://localhost').searchParams
  if (q.get('compress') !== 'true') return ws.close(1008, 'the benchmark server only serves compress=true')
  const cursor = Number(q.get('cursor') ?? startUs + count)
  void stream(ws, Math.max(0, Math.min(count, cursor - startUs)))
})
server.listen(0, '127.0.0.1', () => {
  console.log(`ready ${(server.address() as AddressInfo).port} ${rawBytes} ${zstdBytes}`)
})
process.on('SIGTERM', () => process.exit(0))
