// An HTTP proxy on loopback in front of a real server (the test PDS) that injects the
// failures a backfill must survive: error statuses (with Retry-After), requests or responses
// held until the test releases them, and the whole host going down and coming back.
import http from 'node:http'
import type net from 'node:net'

export interface FailRule {
  /** Substring of the request path (e.g. 'com.atproto.repo.listRecords'). */
  path: string
  status: number
  remaining: number
  retryAfter?: string
  body?: string
}

export interface Hold {
  /** Resolves when a matching request arrived (phase 'request') or its response is ready ('response'). */
  arrived: Promise<void>
  release(): void
}

interface HoldRule {
  path: string
  phase: 'request' | 'response'
  arrived: () => void
  released: Promise<void>
}

export class FaultProxy {
  /** Every request seen, in order (method + path). */
  readonly requests: string[] = []
  private readonly failRules: FailRule[] = []
  private readonly holds: HoldRule[] = []
  private readonly sockets = new Set<net.Socket>()
  private server?: http.Server

  private constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  static async start(port: number, targetPort: number): Promise<FaultProxy> {
    const proxy = new FaultProxy(port, targetPort)
    await proxy.up()
    return proxy
  }

  get url(): string {
    return `http://localhost:${this.port}`
  }

  /** Answer the next `count` requests whose path contains `path` with `status`. */
  failNext(path: string, count: number, status: number, opts: { retryAfter?: string; body?: string } = {}): void {
    this.failRules.push({ path, status, remaining: count, ...opts })
  }

  /** Hold the next request matching `path` (before forwarding, or after the answer came back). */
  hold(path: string, phase: 'request' | 'response'): Hold {
    let arrived!: () => void
    let release!: () => void
    const arrivedP = new Promise<void>((r) => (arrived = r))
    const released = new Promise<void>((r) => (release = r))
    this.holds.push({ path, phase, arrived, released })
    return { arrived: arrivedP, release }
  }

  count(path: string): number {
    return this.requests.filter((r) => r.includes(path)).length
  }

  /** Stop accepting connections and drop open ones (connections are then refused). */
  async down(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (!server) return
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      for (const s of this.sockets) s.destroy()
    })
  }

  async up(): Promise<void> {
    if (this.server) return
    const server = http.createServer((req, res) => void this.handle(req, res))
    server.on('connection', (s) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.server = server
  }

  async close(): Promise<void> {
    await this.down()
  }

  private takeHold(path: string, phase: 'request' | 'response'): HoldRule | undefined {
    const i = this.holds.findIndex((h) => h.phase === phase && path.includes(h.path))
    if (i < 0) return undefined
    return this.holds.splice(i, 1)[0]
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = req.url ?? '/'
    this.requests.push(`${req.method} ${path}`)
    const rule = this.failRules.find((r) => r.remaining > 0 && path.includes(r.path))
    if (rule) {
      rule.remaining--
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' }
      if (rule.retryAfter) headers['retry-after'] = rule.retryAfter
      res.writeHead(rule.status, headers)
      res.end(rule.body ?? JSON.stringify({ error: 'InternalServerError', message: 'injected failure' }))
      return
    }
    const reqHold = this.takeHold(path, 'request')
    if (reqHold) {
      reqHold.arrived()
      await reqHold.released
    }
    const body = await readAll(req)
    const upstream = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer } | Error>(
      (resolve) => {
        const out = http.request(
          { host: '127.0.0.1', port: this.targetPort, method: req.method, path, headers: req.headers },
          async (up) => resolve({ status: up.statusCode ?? 502, headers: up.headers, body: await readAll(up) }),
        )
        out.on('error', (err) => resolve(err))
        out.end(body)
      },
    )
    if (upstream instanceof Error) {
      res.writeHead(502).end()
      return
    }
    const resHold = this.takeHold(path, 'response')
    if (resHold) {
      resHold.arrived()
      await resHold.released
    }
    const headers = { ...upstream.headers }
    delete headers['transfer-encoding']
    headers['content-length'] = String(upstream.body.length)
    res.writeHead(upstream.status, headers)
    res.end(upstream.body)
  }
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', () => resolve(Buffer.concat(chunks)))
    stream.on('error', reject)
  })
}
