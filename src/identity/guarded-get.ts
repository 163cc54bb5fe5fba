// A GET for network-supplied URLs that returns the decoded body as text, under the same SSRF
// guard as the guarded fetch (ssrf.ts): https only and checked addresses unless
// DEV_LOCAL_NETWORK, no redirects. The PDS client's pages go through it.
//
// Why not fetch: undici's `request` hands the body over as a Node stream, without fetch's
// WHATWG streams, so a 100-record listRecords page costs far less of this thread — measured
// on the backfill benchmark's PDS (2026-11-28): ≈1.4 ms of client CPU a page against ≈3.5 ms
// through fetch and a chunk-by-chunk reader, and fewer turns of the event loop between the
// response arriving and the next request leaving, which is what a busy backfill waits on.
// The body is read to a byte limit and decompressed here, with the same limit on the
// decoded size.
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import { request, type Dispatcher } from 'undici'
import { assertAllowedUrl, createGuardedDispatcher } from './ssrf.js'

export interface GetResult {
  status: number
  /** Lower-case header names (undici's form). */
  headers: Record<string, string | string[] | undefined>
  /** The body, decompressed, as UTF-8 text. */
  text: string
}

export interface GetOptions {
  signal?: AbortSignal
  headers?: Record<string, string>
  /** Largest body accepted, compressed or decoded; past it the request fails with ResponseTooLargeError. */
  maxBytes: number
}

export type GetLike = (url: string, opts: GetOptions) => Promise<GetResult>

/** The body (or its decoded form) is larger than the caller's limit. */
export class ResponseTooLargeError extends Error {
  override name = 'ResponseTooLargeError'
}

/**
 * What we ask for: gzip, which every PDS offers and which costs the PDS the least CPU per
 * page (the reference PDS prefers brotli when offered: ≈1–2 ms more of its CPU a 100-record
 * page, measured on the benchmark's PDS). A brotli answer is decoded all the same.
 */
const ACCEPT_ENCODING = 'gzip, deflate'

/**
 * With `allowLocal` (DEV_LOCAL_NETWORK) any URL through undici's default dispatcher;
 * otherwise https only, through the guarded dispatcher (addresses checked at connect time).
 */
export function createGuardedGet(opts: { allowLocal: boolean; dispatcher?: Dispatcher }): GetLike {
  const dispatcher = opts.allowLocal ? opts.dispatcher : (opts.dispatcher ?? createGuardedDispatcher())
  return async (url, { signal, headers, maxBytes }) => {
    if (!opts.allowLocal) assertAllowedUrl(url)
    const res = await request(url, {
      method: 'GET',
      headers: { 'accept-encoding': ACCEPT_ENCODING, ...headers },
      signal,
      ...(dispatcher ? { dispatcher } : {}),
    })
    // A body we stop reading is destroyed, and its stream then reports the abort as an error
    // event nobody else listens to; the request's outcome is what we throw.
    res.body.on('error', () => {})
    if (res.statusCode >= 300 && res.statusCode < 400) {
      // Refused, as the guarded fetch refuses redirects: one could point anywhere.
      res.body.destroy()
      throw new Error(`refusing to follow a redirect (${res.statusCode}) from ${new URL(url).host}`)
    }
    const declared = Number(res.headers['content-length'] ?? NaN)
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.body.destroy()
      throw new ResponseTooLargeError(`response of ${declared} bytes exceeds the ${maxBytes}-byte limit`)
    }
    const chunks: Buffer[] = []
    let total = 0
    for await (const chunk of res.body) {
      total += (chunk as Buffer).byteLength
      if (total > maxBytes) {
        res.body.destroy()
        throw new ResponseTooLargeError(`response exceeds the ${maxBytes}-byte limit`)
      }
      chunks.push(chunk as Buffer)
    }
    const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
    return { status: res.statusCode, headers: res.headers, text: decode(raw, res.headers['content-encoding'], maxBytes) }
  }
}

function decode(raw: Buffer, encoding: string | string[] | undefined, maxBytes: number): string {
  const name = (Array.isArray(encoding) ? encoding.join(',') : (encoding ?? '')).trim().toLowerCase()
  if (name === '' || name === 'identity') return raw.toString('utf8')
  const limit = { maxOutputLength: maxBytes }
  try {
    if (name === 'gzip' || name === 'x-gzip') return gunzipSync(raw, limit).toString('utf8')
    if (name === 'deflate') return inflateSync(raw, limit).toString('utf8')
    if (name === 'br') return brotliDecompressSync(raw, limit).toString('utf8')
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new ResponseTooLargeError(`decoded response exceeds the ${maxBytes}-byte limit`)
    }
    throw err
  }
  throw new Error(`unsupported content-encoding: ${name}`)
}
