// The Jetstream websocket: one connection at a time to one of the configured URLs.
//   - every (re)connect asks its owner for the cursor (time_us) to resume from;
//   - a connection that fails or drops is replaced after an exponential backoff with jitter,
//     on the next URL of the list (time_us cursors are valid across instances);
//   - a watchdog replaces a connection that stays open but delivers nothing for
//     `watchdogMs` (stale sockets, jetstream-legacy#48), except while we paused it;
//   - pause()/resume() stop reading the socket so a slow database pushes back on the
//     server (TCP flow control) instead of growing our memory.
// Frames are handed over raw; decompression and parsing belong to the consumer.
import { WebSocket } from 'ws'
import { errorMessage } from '../../errors.js'
import type { Logger } from '../../logger.js'
import { WANTED_COLLECTIONS } from '../parse.js'

export interface JetstreamClientOptions {
  urls: string[]
  compress: boolean
  watchdogMs: number
  log: Logger
  /** Called before every connect: the time_us to resume from, or undefined for the live tail. */
  cursor: () => Promise<number | undefined>
  /** One websocket message, as received (binary = zstd when compress is on). */
  onFrame: (data: Buffer, isBinary: boolean) => void
  onConnect?: (info: { url: string; cursor?: number }) => void
  onDisconnect?: (info: { url: string; reason: DisconnectReason; detail?: string }) => void
  /** Backoff bounds (tests shorten them). */
  minBackoffMs?: number
  maxBackoffMs?: number
  collections?: readonly string[]
}

export type DisconnectReason = 'closed' | 'error' | 'watchdog' | 'connect_failed'

// Frames above this close the socket inside ws; far above MAX_EVENT_BYTES so an oversized
// event is counted and skipped by the parser instead of costing us the connection.
const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
const HANDSHAKE_TIMEOUT_MS = 10_000
// A connection that delivered something and lived this long resets the backoff.
const HEALTHY_AFTER_MS = 5_000

export class JetstreamClient {
  private ws?: WebSocket
  private urlIndex = 0
  private attempt = 0
  private stopped = true
  private paused = false
  private lastMessageAt = 0
  private watchdog?: NodeJS.Timeout
  private reconnectTimer?: NodeJS.Timeout
  private connected = false
  /** Sockets the watchdog terminated (their close is reported as reason 'watchdog'). */
  private readonly watchdogFired = new WeakSet<WebSocket>()
  private readonly minBackoffMs: number
  private readonly maxBackoffMs: number

  constructor(private readonly opts: JetstreamClientOptions) {
    if (opts.urls.length === 0) throw new Error('JetstreamClient needs at least one URL')
    this.minBackoffMs = opts.minBackoffMs ?? 500
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000
  }

  get isConnected(): boolean {
    return this.connected
  }

  get currentUrl(): string {
    return this.opts.urls[this.urlIndex]
  }

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.watchdog = setInterval(() => this.checkWatchdog(), Math.max(100, Math.min(1_000, this.opts.watchdogMs / 4)))
    void this.connect()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.watchdog)
    clearTimeout(this.reconnectTimer)
    const ws = this.ws
    this.ws = undefined
    this.connected = false
    if (!ws) return
    await new Promise<void>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve()
      ws.once('close', () => resolve())
      ws.terminate()
    })
  }

  /** Stop reading from the socket (backpressure); the watchdog does not count this time. */
  pause(): void {
    if (this.paused) return
    this.paused = true
    this.ws?.pause()
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    this.lastMessageAt = Date.now()
    this.ws?.resume()
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    const base = this.currentUrl
    let cursor: number | undefined
    try {
      cursor = await this.opts.cursor()
    } catch (err) {
      // No cursor means no safe resume point: wait and ask again rather than skip ahead.
      this.opts.log.warn({ err: errorMessage(err) }, 'cannot read the ingest cursor; retrying')
      this.scheduleReconnect('connect_failed', errorMessage(err))
      return
    }
    if (this.stopped) return
    const url = subscribeUrl(base, {
      collections: this.opts.collections ?? WANTED_COLLECTIONS,
      cursor,
      compress: this.opts.compress,
    })
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: MAX_PAYLOAD_BYTES,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    })
    this.ws = ws
    let openedAt = 0
    let received = false
    let failure: string | undefined

    ws.on('open', () => {
      openedAt = Date.now()
      this.connected = true
      this.lastMessageAt = Date.now()
      if (this.paused) ws.pause()
      this.opts.log.info({ url: base, cursor }, 'jetstream connected')
      this.opts.onConnect?.({ url: base, cursor })
    })
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      received = true
      this.lastMessageAt = Date.now()
      this.opts.onFrame(data, isBinary)
    })
    ws.on('unexpected-response', (_req, res) => {
      failure = `HTTP ${res.statusCode}`
      ws.terminate()
    })
    ws.on('error', (err) => {
      failure ??= errorMessage(err)
    })
    ws.on('close', (code) => {
      if (this.ws === ws) this.ws = undefined
      this.connected = false
      if (this.stopped) return
      const reason: DisconnectReason = this.watchdogFired.has(ws)
        ? 'watchdog'
        : openedAt === 0
          ? 'connect_failed'
          : failure
            ? 'error'
            : 'closed'
      const healthy = received && openedAt > 0 && Date.now() - openedAt >= HEALTHY_AFTER_MS
      if (healthy) this.attempt = 0
      const detail = failure ?? `close code ${code}`
      this.opts.log.warn({ url: base, reason, detail }, 'jetstream disconnected')
      this.opts.onDisconnect?.({ url: base, reason, detail })
      this.scheduleReconnect(reason, detail)
    })
  }


  private checkWatchdog(): void {
    const ws = this.ws
    if (!ws || !this.connected || this.paused) return
    if (Date.now() - this.lastMessageAt < this.opts.watchdogMs) return
    this.opts.log.warn({ url: this.currentUrl, silentMs: Date.now() - this.lastMessageAt }, 'jetstream silent; reconnecting')
    this.watchdogFired.add(ws)
    ws.terminate()
  }

  private scheduleReconnect(reason: DisconnectReason, detail?: string): void {
    if (this.stopped) return
    clearTimeout(this.reconnectTimer)
    // A failed or dropped connection moves on to the next instance (failover).
    if (this.opts.urls.length > 1) this.urlIndex = (this.urlIndex + 1) % this.opts.urls.length
    const delay = backoffDelay(this.attempt++, this.minBackoffMs, this.maxBackoffMs)
    this.opts.log.debug({ reason, detail, delay, next: this.currentUrl }, 'jetstream reconnect scheduled')
    this.reconnectTimer = setTimeout(() => void this.connect(), delay)
  }
}

/** Exponential backoff with "equal jitter": half fixed, half random, capped. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30))
  return Math.round(exp / 2 + Math.random() * (exp / 2))
}

export function subscribeUrl(
  base: string,
  opts: { collections: readonly string[]; cursor?: number; compress: boolean },
): string {
  const u = new URL(base)
  u.searchParams.delete('wantedCollections')
  u.searchParams.delete('cursor')
  u.searchParams.delete('compress')
  for (const c of opts.collections) u.searchParams.append('wantedCollections', c)
  if (opts.cursor !== undefined) u.searchParams.set('cursor', String(Math.max(0, Math.floor(opts.cursor))))
  if (opts.compress) u.searchParams.set('compress', 'true')
  return u.toString()
}
