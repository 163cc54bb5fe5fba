// A Jetstream-compatible server for tests: an in-memory event log served on
// ws://127.0.0.1:<port>/subscribe with Jetstream v1 semantics (PROTOCOL.md §B5):
//   - `cursor` (unix µs) replays from the first event with time_us ≥ cursor (inclusive);
//     no cursor, or one in the future, gives the live tail only;
//   - `wantedCollections` (exact NSID or `prefix.*`; identity/account events bypass it) and
//     `wantedDids` (gates every kind), repeatable; `options_update` replaces them;
//   - `maxMessageSizeBytes` skips larger events (lossy, as upstream);
//   - `compress=true` or `Socket-Encoding: zstd` sends binary zstd frames with Jetstream's
//     dictionary; offering permessage-deflate as well is refused with 400, as upstream.
// Switches make the failures the consumer must survive: drop connections, duplicate,
// reorder, go silent (stale sockets), send garbage, refuse connections, forget old events.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { compressJetstreamFrame } from '../../src/ingest/jetstream/zstd.js'

export interface JetstreamCommitJson {
  rev: string
  operation: 'create' | 'update' | 'delete'
  collection: string
  rkey: string
  record?: unknown
  cid?: string
}

/** One event as Jetstream's v1 `/subscribe` sends it. */
export interface JetstreamEventJson {
  did: string
  time_us: number
  kind: 'commit' | 'identity' | 'account'
  commit?: JetstreamCommitJson
  identity?: { did: string; handle?: string; seq: number; time: string }
  account?: { did: string; active: boolean; status?: string; seq: number; time: string }
}

/** What `push` accepts: time_us is assigned when absent. */
export type JetstreamEventInput = Omit<JetstreamEventJson, 'time_us'> & { time_us?: number }

/** What the server saw when a client connected (tests assert on cursors and options). */
export interface ConnectionInfo {
  index: number
  url: string
  cursor?: number
  compress: boolean
  wantedCollections: string[]
  wantedDids: string[]
  maxMessageSizeBytes: number
  connectedAt: number
}

interface Subscriber {
  ws: WebSocket
  info: ConnectionInfo
  collections: string[]
  dids: Set<string>
  maxBytes: number
  silent: boolean
}

export interface TestJetstreamOptions {
  /** Listen port (default 0: any free port). */
  port?: number
}

export class TestJetstream {
  /** The event log in time_us order (as Jetstream's persisted log). */
  readonly log: JetstreamEventJson[] = []
  /** Every accepted connection, oldest first. */
  readonly connections: ConnectionInfo[] = []
  /** Deliver every event twice. */
  duplicate = false
  /** Deliver the events of each push(...) call (and each replay) in reverse order. */
  reorder = false
  /** Answer upgrade requests with 503 (a dead or overloaded instance). */
  refuse = false
  private readonly subscribers = new Set<Subscriber>()
  private lastTimeUs = 0
  private connectWaiters: Array<() => void> = []

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  static async start(opts: TestJetstreamOptions = {}): Promise<TestJetstream> {
    const server = createServer((_req, res) => {
      res.writeHead(404).end()
    })
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: true })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve())
    })
    const port = (server.address() as AddressInfo).port
    const js = new TestJetstream(server, wss, `ws://127.0.0.1:${port}/subscribe`)
    server.on('upgrade', (req, socket, head) => js.onUpgrade(req, socket as import('node:net').Socket, head))
    return js
  }

  /** The newest time_us in the log (0 when empty). */
  get headTimeUs(): number {
    return this.lastTimeUs
  }

  /** Number of currently open subscriber sockets. */
  get openConnections(): number {
    return this.subscribers.size
  }

  /**
   * Append events to the log (time_us assigned when absent: the wall clock in µs, kept
   * strictly increasing) and deliver them live to matching subscribers. Returns them as stored.
   */
  push(...events: JetstreamEventInput[]): JetstreamEventJson[] {
    const stored: JetstreamEventJson[] = []
    for (const e of events) {
      const timeUs = e.time_us ?? Math.max(Date.now() * 1000, this.lastTimeUs + 1)
      const event = { ...e, time_us: timeUs } as JetstreamEventJson
      this.insert(event)
      stored.push(event)
    }
    for (const sub of this.subscribers) this.deliver(sub, stored)
    return stored
  }

  /** Send frames that are not Jetstream events (invalid JSON, binary junk …) to every open socket. */
  sendGarbage(...frames: Array<string | Buffer>): void {
    for (const sub of this.subscribers) {
      if (sub.silent || sub.ws.readyState !== WebSocket.OPEN) continue
      for (const f of frames) sub.ws.send(f)
    }
  }

  /** Close every open connection abruptly (no close frame), as a crashed instance or a network cut would. */
  dropConnections(): void {
    for (const sub of this.subscribers) sub.ws.terminate()
  }

  /** The open sockets stay open but receive nothing more (a stale connection, jetstream-legacy#48). */
  goSilent(): void {
    for (const sub of this.subscribers) sub.silent = true
  }

  /** Forget events older than time_us: a cursor before it then starts at the oldest kept event (retention). */
  forgetBefore(timeUs: number): void {
    const keepFrom = this.log.findIndex((e) => e.time_us >= timeUs)
    this.log.splice(0, keepFrom === -1 ? this.log.length : keepFrom)
  }

  /** Resolves once at least `count` connections have been accepted in total. */
  async waitForConnections(count: number, timeoutMs = 30_000): Promise<ConnectionInfo> {
    const deadline = Date.now() + timeoutMs
    while (this.connections.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`expected ${count} connections to the test Jetstream, saw ${this.connections.length}`)
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100)
        this.connectWaiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
    return this.connections[count - 1]
  }

  async close(): Promise<void> {
    for (const sub of this.subscribers) sub.ws.terminate()
    this.subscribers.clear()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private insert(event: JetstreamEventJson): void {
    // Keep the log sorted by time_us (explicit times may be older than the head).
    if (event.time_us >= this.lastTimeUs) {
      this.log.push(event)
      this.lastTimeUs = event.time_us
      return
    }
    let i = this.log.length
    while (i > 0 && this.log[i - 1].time_us > event.time_us) i--
    this.log.splice(i, 0, event)
  }

  private onUpgrade(req: IncomingMessage, socket: import('node:net').Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const reject = (status: number, message: string) => {
      socket.end(`HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if (this.refuse) return reject(503, 'Service Unavailable')
    if (url.pathname !== '/subscribe') return reject(404, 'Not Found')
    const q = url.searchParams
    const compress = q.get('compress') === 'true' || req.headers['socket-encoding'] === 'zstd'
    const offersDeflate = String(req.headers['sec-websocket-extensions'] ?? '').includes('permessage-deflate')
    if (compress && offersDeflate) return reject(400, 'Bad Request')
    const rawCursor = q.get('cursor')
    const cursor = rawCursor !== null && /^\d+$/.test(rawCursor) ? Number(rawCursor) : undefined
    if (rawCursor !== null && cursor === undefined) return reject(400, 'Bad Request')

    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const info: ConnectionInfo = {
        index: this.connections.length,
        url: req.url ?? '',
        cursor,
        compress,
        wantedCollections: q.getAll('wantedCollections'),
        wantedDids: q.getAll('wantedDids'),
        maxMessageSizeBytes: Number(q.get('maxMessageSizeBytes') ?? 0) || 0,
        connectedAt: Date.now(),
      }
      const sub: Subscriber = {
        ws,
        info,
        collections: info.wantedCollections,
        dids: new Set(info.wantedDids),
        maxBytes: info.maxMessageSizeBytes,
        silent: false,
      }
      this.connections.push(info)
      this.subscribers.add(sub)
      ws.on('close', () => this.subscribers.delete(sub))
      ws.on('error', () => this.subscribers.delete(sub))
      ws.on('message', (data, isBinary) => this.onClientMessage(sub, data as Buffer, isBinary))
      // Replay synchronously, then the socket is live: push() cannot interleave (one thread).
      if (cursor !== undefined && cursor <= Date.now() * 1000) {
        this.deliver(
          sub,
          this.log.filter((e) => e.time_us >= cursor),
        )
      }
      for (const w of this.connectWaiters.splice(0)) w()
    })
  }

  private onClientMessage(sub: Subscriber, data: Buffer, isBinary: boolean): void {
    if (isBinary) return
    let msg: { type?: string; payload?: { wantedCollections?: string[]; wantedDids?: string[]; maxMessageSizeBytes?: number } }
    try {
      msg = JSON.parse(data.toString('utf8'))
    } catch {
      sub.ws.close(1008, 'invalid options_update')
      return
    }
    if (msg.type !== 'options_update') return
    sub.collections = msg.payload?.wantedCollections ?? []
    sub.dids = new Set(msg.payload?.wantedDids ?? [])
    sub.maxBytes = msg.payload?.maxMessageSizeBytes ?? 0
  }

  private deliver(sub: Subscriber, events: JetstreamEventJson[]): void {
    if (sub.silent || sub.ws.readyState !== WebSocket.OPEN) return
    const ordered = this.reorder ? [...events].reverse() : events
    for (const event of ordered) {
      if (!matches(sub, event)) continue
      const json = JSON.stringify(event)
      if (sub.maxBytes > 0 && Buffer.byteLength(json) > sub.maxBytes) continue
      const frame = sub.info.compress ? compressJetstreamFrame(json) : json
      sub.ws.send(frame, { binary: sub.info.compress })
      if (this.duplicate) sub.ws.send(frame, { binary: sub.info.compress })
    }
  }
}

function matches(sub: Subscriber, event: JetstreamEventJson): boolean {
  if (sub.dids.size > 0 && !sub.dids.has(event.did)) return false
  if (event.kind !== 'commit' || sub.collections.length === 0) return true
  const collection = event.commit?.collection ?? ''
  return sub.collections.some((c) => (c.endsWith('.*') ? collection.startsWith(c.slice(0, -1)) : c === collection))
}
