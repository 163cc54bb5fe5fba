// The indexer's Prometheus metrics, registered once per App on its own registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export interface IndexerMetrics {
  indexed: Counter<'collection' | 'operation'>
  unchanged: Counter<'collection' | 'operation'>
  skipped: Counter<'reason'>
  createdAtFallback: Counter<string>
  notifications: Counter<string>
  backfillEnqueueFailures: Counter<string>
  batchSeconds: Histogram<'mode'>
}

export function createIndexerMetrics(
  registry: Registry,
  filter: { trackedCount: number; localUserCount: number },
): IndexerMetrics {
  const registers = [registry]
  new Gauge({
    name: 'appview_tracked_dids',
    help: 'DIDs whose posts are kept (local users and everyone they follow), as this process sees them',
    registers,
    collect() {
      this.set(filter.trackedCount)
    },
  })
  new Gauge({
    name: 'appview_local_users',
    help: 'Local users, as this process sees them',
    registers,
    collect() {
      this.set(filter.localUserCount)
    },
  })
  return {
    indexed: new Counter({
      name: 'appview_indexer_records_total',
      help: 'Operations that changed stored state, by collection (identity/account for those events) and operation',
      labelNames: ['collection', 'operation'],
      registers,
    }),
    unchanged: new Counter({
      name: 'appview_indexer_unchanged_total',
      help: 'Well-formed operations with nothing to do: duplicates, replays, stale revs, tombstoned records',
      labelNames: ['collection', 'operation'],
      registers,
    }),
    skipped: new Counter({
      name: 'appview_indexer_skipped_total',
      help: 'Operations that can never be indexed (invalid record, malformed DID/URI …), by reason',
      labelNames: ['reason'],
      registers,
    }),
    createdAtFallback: new Counter({
      name: 'appview_indexer_created_at_fallback_total',
      help: 'Records whose createdAt was unparseable or absurd; sorted at first-seen time instead',
      registers,
    }),
    notifications: new Counter({
      name: 'appview_indexer_notifications_total',
      help: 'Notification rows written for local users',
      registers,
    }),
    backfillEnqueueFailures: new Counter({
      name: 'appview_indexer_backfill_enqueue_failures_total',
      help: 'Newly tracked DIDs whose backfill job could not be enqueued after commit (left pending)',
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'appview_indexer_batch_seconds',
      help: 'Time to apply one batch in one transaction (mode=isolated: re-run item by item after a data error)',
      labelNames: ['mode'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  }
}
