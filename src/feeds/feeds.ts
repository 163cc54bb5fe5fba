// Custom feeds: the generator record (cached), its service (from the service DID's
// document) and the skeleton call, inside one time budget. A generator that cannot be
// resolved, is unreachable, errors or is slow must never take the Following tab down (the
// app appends Discover below it through getFeed, and one failed getFeed replaces the whole
// tab with an error banner), so `skeleton` never throws for a generator's failure: it logs,
// counts (appview_feedgen_failures_total{reason}) and answers an empty skeleton.
import { Counter } from 'prom-client'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import {
  FeedGenError,
  type FeedGenIdentity,
  fetchSkeleton,
  resolveFeedService,
  type Skeleton,
  type SkeletonRequest,
} from './feedgen-client.js'
import type { GeneratorRecord, GeneratorRecords } from './generator-records.js'

export interface FeedsDeps {
  records: GeneratorRecords
  identity: FeedGenIdentity
  log: Logger
  metrics: Metrics
  /** budget for resolve + skeleton call */
  timeoutMs: number
}

// A generator that failed this recently is reported isOnline:false.
const OFFLINE_AFTER_FAILURE_MS = 5 * 60 * 1000

export class Feeds {
  private readonly failures: Counter<'reason'>
  private readonly calls: Counter<'outcome'>
  private readonly lastFailure = new Map<string, number>()

  constructor(private readonly deps: FeedsDeps) {
    this.failures = new Counter({
      name: 'appview_feedgen_failures_total',
      help: 'getFeed calls answered with an empty feed because the feed generator failed, by reason',
      labelNames: ['reason'],
      registers: [deps.metrics.registry],
    })
    this.calls = new Counter({
      name: 'appview_feedgen_calls_total',
      help: 'getFeedSkeleton calls to feed generators, by outcome (ok | failed)',
      labelNames: ['outcome'],
      registers: [deps.metrics.registry],
    })
  }

  get records(): GeneratorRecords {
    return this.deps.records
  }

  /** The generator's skeleton; an empty one (no cursor) when anything about it fails. */
  async skeleton(req: SkeletonRequest): Promise<Skeleton> {
    const started = Date.now()
    const signal = AbortSignal.timeout(this.deps.timeoutMs)
    try {
      const skeleton = await withSignal(signal, async () => {
        const rec = await this.deps.records.get(req.feed)
        if (!rec) throw new FeedGenError(`feed generator record ${req.feed} not found`, 'unresolvable')
        const service = await resolveFeedService(this.deps.identity, rec.serviceDid)
        return fetchSkeleton(this.deps.identity, service, req, signal).catch((err) => {
          this.lastFailure.set(rec.serviceDid, Date.now())
          throw err
        })
      })
      this.calls.inc({ outcome: 'ok' })
      return skeleton
    } catch (err) {
      const reason = err instanceof FeedGenError ? err.reason : signal.aborted ? 'timeout' : 'unreachable'
      this.failures.inc({ reason })
      this.calls.inc({ outcome: 'failed' })
      this.deps.log.warn(
        { feed: req.feed, reason, ms: Date.now() - started, err: (err as Error)?.message },
        'feed generator failed; answering an empty feed',
      )
      return { items: [] }
    }
  }

  /** isValid: the service DID has a feed service; isOnline: and it has not failed lately. */
  async status(rec: GeneratorRecord): Promise<{ isOnline: boolean; isValid: boolean }> {
    const signal = AbortSignal.timeout(this.deps.timeoutMs)
    try {
      await withSignal(signal, () => resolveFeedService(this.deps.identity, rec.serviceDid))
    } catch {
      return { isOnline: false, isValid: false }
    }
    const failedAt = this.lastFailure.get(rec.serviceDid) ?? 0
    return { isOnline: Date.now() - failedAt > OFFLINE_AFTER_FAILURE_MS, isValid: true }
  }
}

/** Runs `fn`, giving up with a timeout FeedGenError when `signal` fires first. */
async function withSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new FeedGenError('the feed generator did not answer in time', 'timeout'))
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([fn(), aborted])
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}
