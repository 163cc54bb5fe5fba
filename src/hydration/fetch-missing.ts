// Posts we need only for display (a reply's parent or root, a quoted post) by accounts we
// do not track: fetched from the author's PDS and indexed through the one indexer with
// source 'fetch', so the next request finds them stored. A post the PDS no longer has is
// indexed as a delete (a tombstone), so we never ask again. Failures are remembered
// briefly so a dead PDS does not slow every request that touches it.
import { AtUri } from '@atproto/syntax'
import { errorMessage } from '../errors.js'
import type { IndexOp } from '../ingest/ops.js'
import type { Logger } from '../logger.js'
import type { MissingPostFetcher } from './hydrator.js'

/** The slice of ctx.pds the fetcher uses. */
export interface RecordSource {
  getRecord(uri: string): Promise<{ uri: string; cid: string; value: unknown } | null>
}

/** The slice of ctx.indexer the fetcher uses. */
export interface RecordSink {
  applyBatch(items: Array<{ op: IndexOp; ctx: { source: 'fetch' } }>): Promise<unknown>
}

export interface PdsPostFetcherOpts {
  /** the longest a request waits for fetches (they finish in the background) */
  budgetMs?: number
  /** how long a failed fetch is not retried */
  failureTtlMs?: number
  /** most posts fetched for one request */
  maxPerCall?: number
}

export class PdsPostFetcher implements MissingPostFetcher {
  private readonly failedUntil = new Map<string, number>()
  private readonly inflight = new Map<string, Promise<void>>()

  constructor(
    private readonly pds: RecordSource,
    private readonly indexer: RecordSink,
    private readonly log: Logger,
    private readonly opts: PdsPostFetcherOpts = {},
  ) {}

  async fetchPosts(uris: string[]): Promise<void> {
    const now = Date.now()
    const todo = uris.filter((u) => (this.failedUntil.get(u) ?? 0) <= now).slice(0, this.opts.maxPerCall ?? 50)
    if (todo.length === 0) return
    const work = Promise.all(todo.map((u) => this.fetchOne(u)))
    let timer: NodeJS.Timeout | undefined
    const budget = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.opts.budgetMs ?? 3000)
    })
    await Promise.race([work, budget])
    clearTimeout(timer)
  }

  /** Waits for every fetch in flight (tests). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight.values()])
  }

  private fetchOne(uri: string): Promise<void> {
    let p = this.inflight.get(uri)
    if (!p) {
      p = this.doFetch(uri).finally(() => this.inflight.delete(uri))
      this.inflight.set(uri, p)
    }
    return p
  }

  private async doFetch(uri: string): Promise<void> {
    let parsed: AtUri
    try {
      parsed = new AtUri(uri)
    } catch {
      this.failedUntil.set(uri, Date.now() + 24 * 3_600_000)
      return
    }
    const base = { uri, did: parsed.host, collection: parsed.collection, rkey: parsed.rkey }
    try {
      const found = await this.pds.getRecord(uri)
      const op: IndexOp = found
        ? { kind: 'create', ...base, cid: found.cid, record: found.value }
        : { kind: 'delete', ...base }
      await this.indexer.applyBatch([{ op, ctx: { source: 'fetch' } }])
      this.failedUntil.delete(uri)
    } catch (err) {
      this.failedUntil.set(uri, Date.now() + (this.opts.failureTtlMs ?? 60_000))
      if (this.failedUntil.size > 10_000) this.failedUntil.delete(this.failedUntil.keys().next().value!)
      this.log.debug({ uri, err: errorMessage(err) }, 'could not fetch missing post')
    }
  }
}
