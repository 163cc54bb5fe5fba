// Actors we hold no verified handle for (authors of fetched reply parents and quotes,
// accounts that interacted with a local user): resolve their DID document once, keep the
// verified handle in memory for an hour, and never hold a request longer than the budget.
import type { ActorRow } from '../dataplane/actors.js'
import type { HydrationMap } from './util.js'

/** The slice of the identity module (ctx.identity) hydration needs. */
export interface DidResolver {
  resolveDid(did: string, opts?: { forceRefresh?: boolean }): Promise<{ did: string; handle: string }>
}

export interface ActorInfoSource {
  /** Rows for `dids` with a handle filled in where we learned one. */
  complete(dids: string[], known: HydrationMap<string, ActorRow>): Promise<Map<string, ActorRow>>
}

const INVALID_HANDLE = 'handle.invalid'

export class ResolvingActorInfo implements ActorInfoSource {
  /** handle: verified handle or handle.invalid; null = the DID did not resolve at all */
  private readonly cache = new Map<string, { handle: string | null; expires: number }>()
  private readonly inflight = new Map<string, Promise<void>>()

  constructor(
    private readonly resolver: DidResolver,
    private readonly opts: { budgetMs?: number; ttlMs?: number; maxCached?: number } = {},
  ) {}

  async complete(dids: string[], known: HydrationMap<string, ActorRow>): Promise<Map<string, ActorRow>> {
    const now = Date.now()
    const toResolve = dids.filter((d) => (this.cache.get(d)?.expires ?? 0) <= now)
    if (toResolve.length > 0) {
      const work = Promise.all(toResolve.map((d) => this.resolve(d)))
      let timer: NodeJS.Timeout | undefined
      const budget = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.opts.budgetMs ?? 1500)
      })
      await Promise.race([work, budget])
      clearTimeout(timer)
    }
    const out = new Map<string, ActorRow>()
    for (const did of dids) {
      const entry = this.cache.get(did)
      // Unresolved (budget ran out) or unresolvable: a stored row stays as it is, and an
      // account we know nothing about stays unknown (not shown).
      if (!entry || entry.handle === null) continue
      const handle = entry.handle
      if (handle === INVALID_HANDLE) {
        if (!known.value(did)) out.set(did, placeholderRow(did, null))
        continue
      }
      const row = known.value(did)
      out.set(did, row ? { ...row, handle } : placeholderRow(did, handle))
    }
    return out
  }

  private resolve(did: string): Promise<void> {
    let p = this.inflight.get(did)
    if (!p) {
      p = this.resolver
        .resolveDid(did)
        .then((doc) => this.remember(did, doc.handle))
        .catch(() => this.remember(did, null, 5 * 60_000))
        .finally(() => this.inflight.delete(did))
      this.inflight.set(did, p)
    }
    return p
  }

  private remember(did: string, handle: string | null, ttl = this.opts.ttlMs ?? 3_600_000) {
    if (this.cache.size >= (this.opts.maxCached ?? 50_000)) {
      const oldest = this.cache.keys().next().value
      if (oldest !== undefined) this.cache.delete(oldest)
    }
    this.cache.set(did, { handle: handle?.toLowerCase() ?? null, expires: Date.now() + ttl })
  }
}

/** An actor we know only by DID: shown with its handle (or handle.invalid), no profile. */
function placeholderRow(did: string, handle: string | null): ActorRow {
  return {
    did,
    handle,
    display_name: null,
    description: null,
    avatar_cid: null,
    banner_cid: null,
    pinned_post_uri: null,
    pinned_post_cid: null,
    profile_record: null,
    profile_created_at: null,
    followers_count: 0,
    follows_count: 0,
    posts_count: 0,
    status: 'active',
    repo_rev: null,
    indexed_at: new Date(),
  }
}
