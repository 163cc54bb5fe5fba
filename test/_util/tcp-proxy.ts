import net from 'node:net'

/**
 * A loopback TCP proxy in front of a real service (Postgres, Redis). Tests point the app
 * at the proxy and `cut()` it to make the service unreachable without stopping it for
 * everybody else on the machine.
 */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>()
  private server?: net.Server
  port = 0

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<this> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost)
      for (const s of [client, upstream]) {
        this.sockets.add(s)
        s.on('close', () => this.sockets.delete(s))
        s.on('error', () => s.destroy())
      }
      client.pipe(upstream).pipe(client)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve))
    this.port = (this.server.address() as net.AddressInfo).port
    return this
  }

  /** Drop every connection and stop accepting new ones (the port stays reserved by us). */
  async cut(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve())
      for (const s of this.sockets) s.destroy()
    })
  }
}
