// A small feed generator for tests, on loopback: its own did:web (did:web:localhost%3A<port>,
// served at /.well-known/did.json with a #bsky_fg service pointing at itself) and
// app.bsky.feed.getFeedSkeleton answering the posts it is given. It records every request
// (Authorization header, params) so tests can assert what the AppView forwarded. Modes make
// it misbehave: hang (never answers), error (500), garbage (not JSON), badShape (no feed).
// Its DID document also names it as its own PDS (#atproto_pds, with an #atproto key), so
// records "in its repo" are asked of it: `pdsRequests` counts those com.atproto.repo.getRecord
// calls, which answer RecordNotFound, or hang in mode 'hang'.
import http from 'node:http'
import type net from 'node:net'
import { Secp256k1Keypair } from '@atproto/crypto'

export type FeedGenMode = 'ok' | 'hang' | 'error' | 'garbage' | 'badShape'

export interface SkeletonRequestSeen {
  authorization?: string
  acceptLanguage?: string
  feed: string | null
  limit: string | null
  cursor: string | null
}

export interface SkeletonEntry {
  post: string
  reason?: { $type: 'app.bsky.feed.defs#skeletonReasonRepost'; repost: string }
  feedContext?: string
}

export class TestFeedGenerator {
  mode: FeedGenMode = 'ok'
  /** what getFeedSkeleton answers (first page); `nextCursor` is returned with it */
  feed: SkeletonEntry[] = []
  nextCursor: string | undefined = 'page-2'
  readonly requests: SkeletonRequestSeen[] = []
  /** com.atproto.repo.getRecord calls received as the generator DID's PDS */
  pdsRequests = 0
  private readonly hanging = new Set<http.ServerResponse>()

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
    private readonly signingKey: string,
  ) {}

  get did(): string {
    return `did:web:localhost%3A${this.port}`
  }

  get url(): string {
    return `http://localhost:${this.port}`
  }

  static async start(): Promise<TestFeedGenerator> {
    let gen: TestFeedGenerator | undefined
    const server = http.createServer((req, res) => gen!.handle(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const key = await Secp256k1Keypair.create()
    gen = new TestFeedGenerator(server, (server.address() as net.AddressInfo).port, key.did())
    return gen
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url)
    if (url.pathname === '/.well-known/did.json') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          '@context': ['https://www.w3.org/ns/did/v1'],
          id: this.did,
          verificationMethod: [
            {
              id: `${this.did}#atproto`,
              type: 'Multikey',
              controller: this.did,
              publicKeyMultibase: this.signingKey.replace('did:key:', ''),
            },
          ],
          service: [
            { id: '#bsky_fg', type: 'BskyFeedGenerator', serviceEndpoint: this.url },
            { id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: this.url },
          ],
        }),
      )
      return
    }
    if (url.pathname === '/xrpc/com.atproto.repo.getRecord') {
      this.pdsRequests++
      if (this.mode === 'hang') {
        this.hanging.add(res)
        return
      }
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'RecordNotFound', message: 'no such record' }))
      return
    }
    if (url.pathname !== '/xrpc/app.bsky.feed.getFeedSkeleton') {
      res.writeHead(404).end()
      return
    }
    this.requests.push({
      authorization: req.headers.authorization,
      acceptLanguage: req.headers['accept-language'] as string | undefined,
      feed: url.searchParams.get('feed'),
      limit: url.searchParams.get('limit'),
      cursor: url.searchParams.get('cursor'),
    })
    switch (this.mode) {
      case 'hang':
        this.hanging.add(res)
        return
      case 'error':
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: 'InternalServerError', message: 'the algorithm fell over' }))
        return
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"feed": [ this is not json')
        return
      case 'badShape':
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ posts: [] }))
        return
      default: {
        const body = url.searchParams.get('cursor')
          ? { feed: [] }
          : { feed: this.feed, ...(this.nextCursor ? { cursor: this.nextCursor } : {}), reqId: 'req-1' }
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
    }
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
