// A lean HTTP/1.1 client for the timeline benchmark's load generator: one keep-alive
// connection, one request at a time, reading into one reused buffer (net's `onread`), the way
// wrk-style load generators do.
//
// Why not node:http: the load generator shares the server's two cores, and node:http cost it
// ≈1.3 ms of CPU per 55 kB answer at 400 req/s — half of it in V8's GC threads, collecting
// the Buffers each read allocates (a whole-machine perf profile, docs/BENCHMARKS.md). A PDS
// calling the AppView runs on another machine; here its cost is taken from the server.
//
// It speaks just what the benchmark needs: GET with headers, a response framed by
// Content-Length (Fastify frames every answer so; anything else is an error, not a guess).
import net from 'node:net'

export interface LeanResponse {
  status: number
  /** the whole body, or only its last `tailBytes` when the caller asked for the tail */
  body: string
  /** bytes of body received (all of them, also when only the tail is kept) */
  bodyBytes: number
}

const READ_BUFFER_BYTES = 256 * 1024
const HEADER_END = Buffer.from('\r\n\r\n')

export class LeanHttpConnection {
  private socket?: net.Socket
  private connecting?: Promise<void>
  private pending?: {
    resolve: (r: LeanResponse) => void
    reject: (e: Error) => void
    whole: boolean
  }
  // the response being read
  private head: Buffer[] = []
  private headBytes = 0
  private status = 0
  private remaining = -1
  private received = 0
  private body: Buffer[] = []
  private readonly tail: Buffer
  private tailLength = 0

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly tailBytes = 2048,
  ) {
    this.tail = Buffer.allocUnsafe(tailBytes)
  }

  async get(pathAndQuery: string, headers: Record<string, string>, whole: boolean): Promise<LeanResponse> {
    if (this.pending) throw new Error('one request at a time per connection')
    await this.connect()
    const lines = [`GET ${pathAndQuery} HTTP/1.1`, `Host: ${this.host}:${this.port}`, 'Connection: keep-alive']
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
    return new Promise<LeanResponse>((resolve, reject) => {
      this.pending = { resolve, reject, whole }
      this.head = []
      this.headBytes = 0
      this.remaining = -1
      this.received = 0
      this.body = []
      this.tailLength = 0
      this.socket!.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
    })
  }

  close(): void {
    this.socket?.destroy()
    this.socket = undefined
  }

  private connect(): Promise<void> {
    if (this.socket && !this.socket.destroyed && !this.connecting) return Promise.resolve()
    if (this.connecting) return this.connecting
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES)
    this.connecting = new Promise<void>((resolve, reject) => {
      const socket = net.connect({
        host: this.host,
        port: this.port,
        onread: { buffer: readBuffer, callback: (n: number, buf: Uint8Array) => this.onData(buf as Buffer, n) },
      })
      socket.setNoDelay(true)
      socket.once('connect', () => {
        this.connecting = undefined
        resolve()
      })
      socket.on('error', (err) => {
        this.connecting = undefined
        reject(err)
        this.fail(err)
      })
      socket.on('close', () => {
        if (this.socket === socket) this.socket = undefined
        this.fail(new Error('connection closed'))
      })
      this.socket = socket
    })
    return this.connecting
  }

  private fail(err: Error): void {
    const p = this.pending
    this.pending = undefined
    p?.reject(err)
  }

  /** `buf` is the reused read buffer: whatever must outlive this call is copied. */
  private onData(buf: Buffer, n: number): boolean {
    if (!this.pending) {
      this.fail(new Error(`${n} unexpected bytes from the server`))
      this.close()
      return false
    }
    let chunk = buf.subarray(0, n)
    if (this.remaining < 0) {
      // the status line and headers: usually whole in the first read, parsed in place
      let head = chunk
      if (this.head.length > 0 || chunk.indexOf(HEADER_END) < 0) {
        this.head.push(Buffer.from(chunk)) // outlives this read: a copy
        this.headBytes += chunk.length
        head = Buffer.concat(this.head, this.headBytes)
        this.head = [head]
      }
      const end = head.indexOf(HEADER_END)
      if (end < 0) return true
      const headText = head.toString('latin1', 0, end)
      this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headText)?.[1] ?? 0)
      const length = /\r\ncontent-length: *(\d+)/i.exec(headText)
      if (!length) {
        this.fail(new Error(`response without content-length: ${headText.split('\r\n')[0]}`))
        this.close()
        return false
      }
      this.remaining = Number(length[1])
      chunk = head.subarray(end + HEADER_END.length)
    }
    if (chunk.length > this.remaining) {
      this.fail(new Error('more bytes than content-length'))
      this.close()
      return false
    }
    this.take(chunk)
    this.remaining -= chunk.length
    if (this.remaining === 0) this.finish()
    return true
  }

  private take(chunk: Buffer): void {
    this.received += chunk.length
    if (this.pending!.whole) {
      this.body.push(Buffer.from(chunk))
      return
    }
    // keep the last tailBytes: shift what is held, append the chunk's end
    const keep = Math.min(chunk.length, this.tail.length)
    const fromHeld = Math.min(this.tailLength, this.tail.length - keep)
    if (fromHeld > 0) this.tail.copy(this.tail, 0, this.tailLength - fromHeld, this.tailLength)
    chunk.copy(this.tail, fromHeld, chunk.length - keep)
    this.tailLength = fromHeld + keep
  }

  private finish(): void {
    const p = this.pending!
    this.pending = undefined
    const body = p.whole ? Buffer.concat(this.body).toString('utf8') : this.tail.toString('utf8', 0, this.tailLength)
    this.body = []
    this.head = []
    this.remaining = -1
    p.resolve({ status: this.status, body, bodyBytes: this.received })
  }
}
