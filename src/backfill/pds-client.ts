// Outbound XRPC to users' PDSes (com.atproto.repo.listRecords / getRecord), polite and
// robust: a timeout on every request, retries with exponential backoff and jitter on 5xx,
// 429 and timeouts (honouring Retry-After), a response size limit, concurrency bounded
// globally and per PDS host, and a per-host in-flight gauge. Failures are sorted into
// retryable (PdsError.permanent false) and permanent (repo gone, deactivated, taken down,
// DID unusable) so the backfill job knows when to stop trying.
import { Counter, Gauge, type Registry } from 'prom-client'
import { AtUri } from '@atproto/syntax'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import { ResponseTooLargeError, type GetResult } from '../identity/guarded-get.js'
import { IdentityError, type Identity } from '../identity/identity.js'
import { SsrfError } from '../identity/ssrf.js'
import { HostLimiter } from './limiter.js'

export interface RepoRecord {
  uri: string
  cid: string
  value: unknown
}

export interface ListRecordsPage {
  records: RepoRecord[]
  /** Entries without uri/cid/value, dropped (counted as malformed by the caller). */
  malformed: number
  cursor?: string
}

/** Errors a PDS answers with that mean the repo will not be readable by retrying. */
const PERMANENT_XRPC_ERRORS = new Set([
  'RepoNotFound',
  'RepoDeactivated',
  'RepoTakendown',
  'RepoSuspended',
  'AccountDeactivated',
  'AccountTakedown',
  'InvalidRequest',
])

export class PdsError extends Error {
  override name = 'PdsError'
  /** From a Retry-After header: wait at least this long before the next attempt. */
  retryAfterMs?: number
  constructor(
    message: string,
    /** Short machine-readable reason (XRPC error name, http_503, timeout, ssrf …), for metrics and state. */
    readonly reason: string,
    readonly permanent: boolean,
    readonly status?: number,
  ) {
    super(message)
  }
}

export interface PdsClientOptions {
  identity: Pick<Identity, 'resolvePdsUrl' | 'get'>
  log: Logger
  registry?: Registry
  requestTimeoutMs: number
  concurrency: number
  perHostConcurrency: number
  /** Attempts per request (first try included). */
  maxAttempts?: number
  /** First retry delay; doubles per attempt, with ±50% jitter, capped at maxDelayMs. */
  baseDelayMs?: number
  maxDelayMs?: number
  /** Largest response body accepted (bytes). */
  maxResponseBytes?: number
}

export class PdsClient {
  private readonly limiter: HostLimiter
  private readonly maxAttempts: number
  private readonly baseDelayMs: number
  private readonly maxDelayMs: number
  private readonly maxResponseBytes: number
  private readonly inFlight?: Gauge<'host'>
  private readonly requests?: Counter<'host' | 'outcome'>
  private readonly retries?: Counter<'reason'>

  constructor(private readonly opts: PdsClientOptions) {
    this.limiter = new HostLimiter(opts.concurrency, opts.perHostConcurrency)
    this.maxAttempts = opts.maxAttempts ?? 4
    this.baseDelayMs = opts.baseDelayMs ?? 500
    this.maxDelayMs = opts.maxDelayMs ?? 15_000
    this.maxResponseBytes = opts.maxResponseBytes ?? 16 * 1024 * 1024
    if (opts.registry) {
      // Several clients may share one registry (a differently tuned client in tests): reuse.
      const registry = opts.registry
      const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined
      this.inFlight = existing<Gauge<'host'>>('appview_pds_requests_in_flight') ?? new Gauge({
        name: 'appview_pds_requests_in_flight',
        help: 'Outbound requests to PDSes currently in flight, by host',
        labelNames: ['host'],
        registers: [opts.registry],
      })
      this.requests = existing<Counter<'host' | 'outcome'>>('appview_pds_requests_total') ?? new Counter({
        name: 'appview_pds_requests_total',
        help: 'Outbound PDS requests by host and outcome (ok, or the failure reason)',
        labelNames: ['host', 'outcome'],
        registers: [opts.registry],
      })
      this.retries = existing<Counter<'reason'>>('appview_pds_retries_total') ?? new Counter({
        name: 'appview_pds_retries_total',
        help: 'Outbound PDS requests retried, by reason',
        labelNames: ['reason'],
        registers: [opts.registry],
      })
    }
  }

  /** One page of a collection, newest first (listRecords' default order). */
  async listRecords(
    did: string,
    collection: string,
    opts: { cursor?: string; limit?: number } = {},
  ): Promise<ListRecordsPage> {
    const params = new URLSearchParams({ repo: did, collection, limit: String(opts.limit ?? 100) })
    if (opts.cursor) params.set('cursor', opts.cursor)
    const body = await this.xrpc(did, 'com.atproto.repo.listRecords', params)
    const records = (body as { records?: unknown }).records
    if (!Array.isArray(records)) throw new PdsError(`${did}: listRecords answered without records`, 'bad_response', false)
    const cursor = (body as { cursor?: unknown }).cursor
    const valid = records.filter(isRepoRecord)
    return {
      records: valid,
      malformed: records.length - valid.length,
      cursor: typeof cursor === 'string' && cursor !== '' ? cursor : undefined,
    }
  }

  /** One record by AT-URI from its author's PDS; null when the record (or repo) does not exist. */
  async getRecord(uri: string): Promise<RepoRecord | null> {
    let at: AtUri
    try {
      at = new AtUri(uri)
    } catch {
      throw new PdsError(`not an AT-URI: ${uri}`, 'bad_uri', true)
    }
    if (!at.hostname.startsWith('did:')) throw new PdsError(`the AT-URI has no DID authority: ${uri}`, 'bad_uri', true)
    if (!at.collection || !at.rkey) throw new PdsError(`not a record AT-URI: ${uri}`, 'bad_uri', true)
    const params = new URLSearchParams({ repo: at.hostname, collection: at.collection, rkey: at.rkey })
    try {
      const body = await this.xrpc(at.hostname, 'com.atproto.repo.getRecord', params)
      return isRepoRecord(body) ? body : null
    } catch (err) {
      if (err instanceof PdsError && (err.reason === 'RecordNotFound' || err.reason === 'RepoNotFound')) return null
      throw err
    }
  }

  /** The PDS host's current in-flight count (tests and /metrics). */
  inFlightFor(host: string): number {
    return this.limiter.inFlight(host)
  }

  private async xrpc(did: string, nsid: string, params: URLSearchParams): Promise<unknown> {
    let lastErr: PdsError | undefined
    let refreshed = false
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      let pdsUrl: string
      try {
        pdsUrl = await this.opts.identity.resolvePdsUrl(did, refreshed)
      } catch (err) {
        if (err instanceof IdentityError) {
          if (err.permanent) throw new PdsError(err.message, 'identity', true)
          lastErr = new PdsError(err.message, 'identity', false)
        } else throw err
        // No wait after the last attempt: it would only delay the failure the caller gets.
        if (attempt < this.maxAttempts) await this.backoff(attempt, undefined, lastErr.reason)
        continue
      }
      const host = new URL(pdsUrl).host
      try {
        return await this.limiter.run(host, () => this.request(host, `${pdsUrl}/xrpc/${nsid}?${params}`))
      } catch (err) {
        if (!(err instanceof PdsError)) throw err
        lastErr = err
        this.requests?.inc({ host, outcome: err.reason })
        if (err.permanent) {
          // The account may have moved: look the DID up again once before giving up.
          if (!refreshed && err.reason === 'RepoNotFound') {
            refreshed = true
            const fresh = await this.opts.identity.resolvePdsUrl(did, true).catch(() => undefined)
            if (fresh && fresh !== pdsUrl) continue
          }
          throw err
        }
        // A connection failure may be a moved PDS too: next attempt re-resolves the DID.
        if (err.reason === 'unreachable') refreshed = true
        if (attempt < this.maxAttempts) await this.backoff(attempt, err.retryAfterMs, err.reason)
      }
    }
    throw lastErr ?? new PdsError(`${did}: ${nsid} failed`, 'unknown', false)
  }

  private async backoff(attempt: number, retryAfterMs: number | undefined, reason: string): Promise<void> {
    this.retries?.inc({ reason })
    const exp = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1))
    const jittered = exp * (0.5 + Math.random())
    const delay = retryAfterMs !== undefined ? Math.min(Math.max(retryAfterMs, jittered), 60_000) : jittered
    await new Promise((resolve) => setTimeout(resolve, delay))
  }

  private async request(host: string, url: string): Promise<unknown> {
    this.inFlight?.inc({ host })
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), this.opts.requestTimeoutMs)
    try {
      let res: GetResult
      try {
        res = await this.opts.identity.get(url, {
          signal: controller.signal,
          headers: { accept: 'application/json' },
          maxBytes: this.maxResponseBytes,
        })
      } catch (err) {
        if (err instanceof ResponseTooLargeError) throw new PdsError(err.message, 'too_large', true)
        throw classifyFetchError(err, url, controller.signal.aborted, this.opts.requestTimeoutMs)
      }
      if (res.status >= 200 && res.status < 300) {
        this.requests?.inc({ host, outcome: 'ok' })
        try {
          return JSON.parse(res.text) as unknown
        } catch {
          throw new PdsError(`${url}: the PDS answered with invalid JSON`, 'bad_response', false)
        }
      }
      throw httpError(res, url)
    } finally {
      clearTimeout(timer)
      this.inFlight?.dec({ host })
    }
  }
}

function httpError(res: GetResult, url: string): PdsError {
  let name: string | undefined
  let message: string | undefined
  try {
    const body = JSON.parse(res.text) as { error?: unknown; message?: unknown }
    if (typeof body.error === 'string') name = body.error
    if (typeof body.message === 'string') message = body.message
  } catch {
    // not an XRPC error body
  }
  // The reference PDS answers a missing repo with InvalidRequest "Could not find repo: …".
  if (name === 'InvalidRequest' && message && /could not find repo/i.test(message)) name = 'RepoNotFound'
  const path = new URL(url).pathname
  const detail = `${path} → ${res.status}${name ? ` ${name}` : ''}${message ? `: ${message}` : ''}`
  let err: PdsError
  if (res.status === 429 || res.status >= 500) {
    err = new PdsError(detail, res.status === 429 ? 'rate_limited' : `http_${res.status}`, false, res.status)
  } else if (name && PERMANENT_XRPC_ERRORS.has(name)) {
    err = new PdsError(detail, name, true, res.status)
  } else if (name === 'RecordNotFound') {
    err = new PdsError(detail, name, true, res.status)
  } else if (res.status === 408) {
    err = new PdsError(detail, 'timeout', false, res.status)
  } else {
    // Other 4xx: the request is wrong for this PDS; retrying the same request will not help.
    err = new PdsError(detail, name ?? `http_${res.status}`, true, res.status)
  }
  const header = res.headers['retry-after']
  const retryAfter = parseRetryAfter(Array.isArray(header) ? (header[0] ?? null) : (header ?? null))
  if (retryAfter !== undefined) err.retryAfterMs = retryAfter
  return err
}

/** Retry-After: delta-seconds or an HTTP date; milliseconds from now. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const at = Date.parse(value)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - Date.now())
}

function classifyFetchError(err: unknown, url: string, aborted: boolean, timeoutMs: number): PdsError {
  const host = safeHost(url)
  if (aborted) return new PdsError(`${host}: no answer within ${timeoutMs} ms`, 'timeout', false)
  const cause = (err as { cause?: unknown }).cause
  if (err instanceof SsrfError || cause instanceof SsrfError) {
    return new PdsError(errorMessage(cause instanceof SsrfError ? cause : err), 'ssrf', true)
  }
  const code = (cause as { code?: string } | undefined)?.code ?? (err as { code?: string }).code
  return new PdsError(`${host}: ${code ?? errorMessage(cause ?? err)}`, 'unreachable', false)
}

function isRepoRecord(v: unknown): v is RepoRecord {
  if (typeof v !== 'object' || v === null) return false
  const r = v as Record<string, unknown>
  return typeof r.uri === 'string' && typeof r.cid === 'string' && 'value' in r
}

function safeHost(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}
