// Calls a feed generator's app.bsky.feed.getFeedSkeleton. The service is found in the
// generator DID's document (#bsky_fg); the caller's Authorization header is forwarded
// unchanged (the PDS minted it with aud = the generator and lxm = getFeedSkeleton), with
// accept-language and x-bsky-topics, as the reference AppView does. Every failure
// (unresolvable DID, no service, unreachable, HTTP error, timeout, malformed body) is a
// FeedGenError with a short reason for logs and metrics.
import type { DidDocument } from '@atproto/common-web'
import { errorMessage } from '../errors.js'

export type FeedGenFailure = 'unresolvable' | 'no_service' | 'unreachable' | 'timeout' | 'http_error' | 'bad_response'

export class FeedGenError extends Error {
  override name = 'FeedGenError'
  constructor(
    message: string,
    readonly reason: FeedGenFailure,
  ) {
    super(message)
  }
}

export interface FeedGenIdentity {
  resolveDidDocument(did: string, forceRefresh?: boolean): Promise<DidDocument>
  /** SSRF-guarded fetch for network-supplied URLs */
  fetch: (input: string | URL, init?: RequestInit) => Promise<Response>
}

export interface SkeletonItem {
  post: string
  /** repost record uri when the generator says the post is in the feed as a repost */
  repost?: string
  feedContext?: string
}

export interface Skeleton {
  items: SkeletonItem[]
  cursor?: string
  reqId?: string
}

export interface SkeletonRequest {
  feed: string
  limit: number
  cursor?: string
  headers: { authorization?: string; 'accept-language'?: string; 'x-bsky-topics'?: string }
}

/** The feed service's base URL from its DID document (#bsky_fg, an http(s) URL). */
export async function resolveFeedService(identity: FeedGenIdentity, serviceDid: string): Promise<string> {
  let doc: DidDocument
  try {
    doc = await identity.resolveDidDocument(serviceDid)
  } catch (err) {
    throw new FeedGenError(`cannot resolve ${serviceDid}: ${errorMessage(err)}`, 'unresolvable')
  }
  const services = Array.isArray(doc.service) ? doc.service : []
  const svc = services.find((s) => s.id === '#bsky_fg' || s.id === `${serviceDid}#bsky_fg`)
  const endpoint = typeof svc?.serviceEndpoint === 'string' ? svc.serviceEndpoint : undefined
  if (!endpoint || !/^https?:\/\//.test(endpoint)) {
    throw new FeedGenError(`${serviceDid} has no #bsky_fg service endpoint`, 'no_service')
  }
  return endpoint.replace(/\/+$/, '')
}

export async function fetchSkeleton(
  identity: FeedGenIdentity,
  serviceUrl: string,
  req: SkeletonRequest,
  signal: AbortSignal,
): Promise<Skeleton> {
  const url = new URL('/xrpc/app.bsky.feed.getFeedSkeleton', serviceUrl)
  url.searchParams.set('feed', req.feed)
  url.searchParams.set('limit', String(req.limit))
  if (req.cursor) url.searchParams.set('cursor', req.cursor)
  const headers: Record<string, string> = { accept: 'application/json' }
  for (const [k, v] of Object.entries(req.headers)) if (v) headers[k] = v
  let res: Response
  try {
    res = await identity.fetch(url, { headers, signal })
  } catch (err) {
    if (signal.aborted) throw new FeedGenError(`${serviceUrl} did not answer in time`, 'timeout')
    throw new FeedGenError(`${serviceUrl} is unreachable: ${errorMessage(err)}`, 'unreachable')
  }
  let body: unknown
  try {
    body = await res.json()
  } catch (err) {
    if (signal.aborted) throw new FeedGenError(`${serviceUrl} did not answer in time`, 'timeout')
    if (!res.ok) throw new FeedGenError(`${serviceUrl} answered ${res.status}`, 'http_error')
    throw new FeedGenError(`${serviceUrl} answered a body that is not JSON: ${errorMessage(err)}`, 'bad_response')
  }
  if (!res.ok) throw new FeedGenError(`${serviceUrl} answered ${res.status}`, 'http_error')
  return parseSkeleton(body, req.limit)
}

/** Keeps well-formed items (at-uri of a post, optional repost reason); drops the rest. */
export function parseSkeleton(body: unknown, limit: number): Skeleton {
  const feed = (body as { feed?: unknown })?.feed
  if (!Array.isArray(feed)) throw new FeedGenError('skeleton has no feed array', 'bad_response')
  const items: SkeletonItem[] = []
  for (const raw of feed.slice(0, limit)) {
    const post = (raw as { post?: unknown })?.post
    if (typeof post !== 'string' || !/^at:\/\/did:[^/]+\/app\.bsky\.feed\.post\/[^/]+$/.test(post)) continue
    const item: SkeletonItem = { post }
    const reason = (raw as { reason?: { $type?: unknown; repost?: unknown } }).reason
    if (reason?.$type === 'app.bsky.feed.defs#skeletonReasonRepost' && typeof reason.repost === 'string') {
      if (/^at:\/\/did:[^/]+\/app\.bsky\.feed\.repost\/[^/]+$/.test(reason.repost)) item.repost = reason.repost
    }
    const ctx = (raw as { feedContext?: unknown }).feedContext
    if (typeof ctx === 'string' && ctx.length <= 2000) item.feedContext = ctx
    items.push(item)
  }
  const cursor = (body as { cursor?: unknown }).cursor
  const reqId = (body as { reqId?: unknown }).reqId
  return {
    items,
    cursor: typeof cursor === 'string' && cursor.length > 0 ? cursor : undefined,
    reqId: typeof reqId === 'string' && reqId.length <= 100 ? reqId : undefined,
  }
}
