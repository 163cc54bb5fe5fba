// Identity: DID → DID document (did:plc through PLC_URL, did:web) → PDS endpoint, atproto
// signing key and a handle verified both ways (document ↔ DNS TXT / https well-known, or
// the PDS itself under DEV_LOCAL_NETWORK). Documents are cached in memory with a TTL
// (stale after 1 h, dropped after 24 h, the PDS's own defaults) and re-fetched when a
// caller reports a failure (forceRefresh). Every fetch to a network-supplied host goes
// through the SSRF guard; PLC_URL is the operator's choice and is trusted.
import {
  DidNotFoundError,
  getKey,
  IdResolver,
  MemoryCache,
  PoorlyFormattedDidDocumentError,
  PoorlyFormattedDidError,
  UnsupportedDidMethodError,
  UnsupportedDidWebPathError,
} from '@atproto/identity'
import { getHandle, getPdsEndpoint, type DidDocument } from '@atproto/common-web'
import type { Config } from '../config.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import { resolveHandleViaPds } from './pds-handle.js'
import { createGuardedGet, type GetLike } from './guarded-get.js'
import { SsrfError, assertAllowedUrl, createGuardedDispatcher, createGuardedFetch, type FetchLike } from './ssrf.js'

export const INVALID_HANDLE = 'handle.invalid'

export interface ResolvedIdentity {
  did: string
  /** Base URL of the account's PDS (no trailing slash). */
  pdsUrl: string
  /** The #atproto verification method as a did:key (compressed multikey, whatever form the document uses). */
  signingKey: string
  /** Verified both ways, else 'handle.invalid'. */
  handle: string
}

/**
 * Identity resolution failed. `permanent` failures (DID not found, malformed document, no
 * PDS, a PDS endpoint the SSRF guard refuses) will not go away by retrying.
 */
export class IdentityError extends Error {
  override name = 'IdentityError'
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message)
  }
}

export interface IdentityOptions {
  plcUrl: string
  devLocalNetwork: boolean
  timeoutMs?: number
  log: Logger
  /** Cache lifetimes (ms): stale → refreshed in the background; max → re-fetched. */
  staleTtlMs?: number
  maxTtlMs?: number
  /** Injected fetch for network-supplied URLs (tests); default: the guarded fetch. */
  fetch?: FetchLike
  /** Injected GET for network-supplied URLs (tests); default: the guarded GET. */
  get?: GetLike
}

const HANDLE_TTL_MS = 60 * 60 * 1000
const HANDLE_FAILURE_TTL_MS = 5 * 60 * 1000
const HANDLE_CACHE_MAX = 50_000

export class Identity {
  readonly resolver: IdResolver
  private readonly guardedFetch: FetchLike
  private readonly guardedGet: GetLike
  private readonly timeoutMs: number
  /** handle|did → verified? with expiry; bounded (oldest dropped first). */
  private readonly handleChecks = new Map<string, { ok: boolean; expires: number }>()
  /** PDSes we have seen in DID documents: where DEV_LOCAL_NETWORK resolves handles. */
  private readonly knownPdsUrls = new Set<string>()
  /**
   * The #atproto key of each cached document (null: none usable). A legacy key means
   * elliptic-curve point compression, so it is read once per document object the cache holds.
   */
  private readonly keyOfDoc = new WeakMap<DidDocument, string | null>()

  constructor(private readonly opts: IdentityOptions) {
    this.timeoutMs = opts.timeoutMs ?? 5_000
    // One guarded connection pool for both (a PDS's connections serve its fetches and GETs).
    const dispatcher = opts.devLocalNetwork ? undefined : createGuardedDispatcher()
    this.guardedFetch = opts.fetch ?? createGuardedFetch({ allowLocal: opts.devLocalNetwork, dispatcher })
    this.guardedGet = opts.get ?? createGuardedGet({ allowLocal: opts.devLocalNetwork, dispatcher })
    const plcOrigin = new URL(opts.plcUrl).origin
    const fetchForResolver: FetchLike = (input, init) => {
      const url = new URL(typeof input === 'string' ? input : input.toString())
      // The PLC directory is configured by the operator; everything else came from the network.
      if (url.origin === plcOrigin) return globalThis.fetch(url, init)
      return this.guardedFetch(url, init)
    }
    this.resolver = new IdResolver({
      plcUrl: opts.plcUrl,
      timeout: this.timeoutMs,
      didCache: new MemoryCache(opts.staleTtlMs ?? 60 * 60 * 1000, opts.maxTtlMs ?? 24 * 60 * 60 * 1000),
      fetch: fetchForResolver as never,
    })
  }

  static fromConfig(cfg: Config, log: Logger): Identity {
    return new Identity({
      plcUrl: cfg.identity.plcUrl,
      devLocalNetwork: cfg.devLocalNetwork,
      timeoutMs: Math.min(cfg.backfill.requestTimeoutMs, 10_000),
      log,
    })
  }

  /** The fetch every network-supplied URL must go through. */
  get fetch(): FetchLike {
    return this.guardedFetch
  }

  /** The same guard as a GET returning the decoded body (the PDS client's pages). */
  get get(): GetLike {
    return this.guardedGet
  }

  /** The DID's document, or an IdentityError (permanent when it cannot exist or be used). */
  async resolveDidDocument(did: string, forceRefresh = false): Promise<DidDocument> {
    let doc: DidDocument | null
    try {
      doc = await this.resolver.did.resolve(did, forceRefresh)
    } catch (err) {
      if (
        err instanceof PoorlyFormattedDidError ||
        err instanceof UnsupportedDidMethodError ||
        err instanceof PoorlyFormattedDidDocumentError ||
        err instanceof UnsupportedDidWebPathError ||
        err instanceof DidNotFoundError
      ) {
        throw new IdentityError(`${did}: ${errorMessage(err)}`, true)
      }
      const cause = (err as { cause?: unknown }).cause
      if (err instanceof SsrfError || cause instanceof SsrfError) {
        throw new IdentityError(`${did}: ${errorMessage(cause instanceof SsrfError ? cause : err)}`, true)
      }
      throw new IdentityError(`${did}: could not resolve the DID document (${errorMessage(err)})`, false)
    }
    if (!doc) throw new IdentityError(`${did}: DID not found`, true)
    return doc
  }

  async resolveDid(did: string, opts: { forceRefresh?: boolean } = {}): Promise<ResolvedIdentity> {
    const doc = await this.resolveDidDocument(did, opts.forceRefresh ?? false)
    const pds = getPdsEndpoint(doc)
    if (!pds) throw new IdentityError(`${did}: the DID document names no PDS (#atproto_pds)`, true)
    const pdsUrl = this.checkPdsUrl(did, pds)
    const signingKey = this.atprotoKeyOf(did, doc)
    this.knownPdsUrls.add(pdsUrl)
    const claimed = getHandle(doc)
    const handle = claimed && (await this.verifyHandle(did, claimed, pdsUrl, opts.forceRefresh)) ? claimed : INVALID_HANDLE
    return { did, pdsUrl, signingKey, handle }
  }

  /** Only the PDS endpoint (no handle check): what a request to the account's repo needs. */
  async resolvePdsUrl(did: string, forceRefresh = false): Promise<string> {
    const doc = await this.resolveDidDocument(did, forceRefresh)
    const pds = getPdsEndpoint(doc)
    if (!pds) throw new IdentityError(`${did}: the DID document names no PDS (#atproto_pds)`, true)
    const pdsUrl = this.checkPdsUrl(did, pds)
    this.knownPdsUrls.add(pdsUrl)
    return pdsUrl
  }

  /** For service-auth JWT verification (xrpc-server's verifyJwt getSigningKey). */
  async resolveAtprotoKey(did: string, forceRefresh = false): Promise<string> {
    return this.atprotoKeyOf(did, await this.resolveDidDocument(did, forceRefresh))
  }

  /**
   * The document's #atproto verification method as a did:key. Multikey documents carry a
   * multicodec-prefixed key, but legacy EcdsaSecp256k1VerificationKey2019 /
   * EcdsaSecp256r1VerificationKey2019 ones (PLC's older form, many did:web documents) carry
   * bare, often uncompressed, key bytes: `did:key:` + their multibase is not a key anyone
   * can parse. @atproto/identity's getKey reads all three forms.
   */
  private atprotoKeyOf(did: string, doc: DidDocument): string {
    let key = this.keyOfDoc.get(doc)
    if (key === undefined) {
      try {
        key = getKey(doc) ?? null
      } catch {
        key = null // a multibase that does not decode, or bytes that are not a curve point
      }
      this.keyOfDoc.set(doc, key)
    }
    if (!key) throw new IdentityError(`${did}: the DID document has no usable #atproto signing key`, true)
    return key
  }

  /**
   * Handle → DID, verified both ways (the DID's document must claim the handle back).
   * Undefined when it does not resolve or does not match.
   */
  async resolveHandle(handle: string): Promise<string | undefined> {
    const normalized = handle.trim().toLowerCase().replace(/^@/, '')
    if (!/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(normalized)) return undefined
    const did = await this.lookupHandle(normalized)
    if (!did) return undefined
    try {
      const doc = await this.resolveDidDocument(did)
      return getHandle(doc)?.toLowerCase() === normalized ? did : undefined
    } catch {
      return undefined
    }
  }

  private checkPdsUrl(did: string, endpoint: string): string {
    let url: URL
    try {
      url = new URL(endpoint)
    } catch {
      throw new IdentityError(`${did}: the PDS endpoint "${endpoint}" is not a URL`, true)
    }
    if (!this.opts.devLocalNetwork) {
      try {
        assertAllowedUrl(url)
      } catch (err) {
        throw new IdentityError(`${did}: PDS endpoint refused (${errorMessage(err)})`, true)
      }
    } else if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new IdentityError(`${did}: the PDS endpoint "${endpoint}" is not http(s)`, true)
    }
    return url.origin
  }

  private async verifyHandle(did: string, handle: string, pdsUrl: string, force?: boolean): Promise<boolean> {
    const key = `${handle.toLowerCase()}|${did}`
    const cached = this.handleChecks.get(key)
    if (!force && cached && cached.expires > Date.now()) return cached.ok
    let resolved: string | undefined
    try {
      resolved = this.opts.devLocalNetwork
        ? await resolveHandleViaPds(pdsUrl, handle, this.timeoutMs)
        : await this.resolver.handle.resolve(handle)
    } catch (err) {
      this.opts.log.debug({ handle, err: errorMessage(err) }, 'handle resolution failed')
    }
    const ok = resolved === did
    if (this.handleChecks.size >= HANDLE_CACHE_MAX) {
      const oldest = this.handleChecks.keys().next().value
      if (oldest !== undefined) this.handleChecks.delete(oldest)
    }
    this.handleChecks.set(key, { ok, expires: Date.now() + (ok ? HANDLE_TTL_MS : HANDLE_FAILURE_TTL_MS) })
    return ok
  }

  private async lookupHandle(handle: string): Promise<string | undefined> {
    if (this.opts.devLocalNetwork) {
      // Local test network: the PDSes we know answer for their own handles.
      for (const pdsUrl of this.knownPdsUrls) {
        const did = await resolveHandleViaPds(pdsUrl, handle, this.timeoutMs)
        if (did) return did
      }
    }
    try {
      return await this.resolver.handle.resolve(handle)
    } catch {
      return undefined
    }
  }

  /** DEV_LOCAL_NETWORK: a PDS to ask about handles before any DID on it was resolved. */
  addKnownPds(url: string): void {
    this.knownPdsUrls.add(new URL(url).origin)
  }
}
