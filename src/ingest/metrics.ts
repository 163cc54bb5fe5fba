// The ingest role's Prometheus series (appview_ingest_*), registered on the App's registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { SKIP_REASONS, WANTED_COLLECTIONS } from './parse.js'

export interface IngestGauges {
  cursorTimeUs: () => number | undefined
  connected: () => boolean
  openGaps: () => Promise<number>
}

export class IngestMetrics {
  readonly received: Counter<'kind'>
  readonly filtered: Counter<'kind'>
  readonly indexed: Counter<'kind'>
  readonly skipped: Counter<'reason'>
  readonly batchCommit: Histogram
  readonly batchSize: Histogram
  readonly batchFailures: Counter
  readonly reconnects: Counter<'reason'>

  constructor(registry: Registry, gauges: IngestGauges) {
    const kinds = [...WANTED_COLLECTIONS, 'identity', 'account']
    this.received = new Counter({
      name: 'appview_ingest_events_received_total',
      help: 'Jetstream events received and parsed, by kind (collection, identity, account)',
      labelNames: ['kind'],
      registers: [registry],
    })
    this.filtered = new Counter({
      name: 'appview_ingest_events_filtered_total',
      help: 'Events dropped by the live filter (not tracked, not touching a local user), by kind',
      labelNames: ['kind'],
      registers: [registry],
    })
    this.indexed = new Counter({
      name: 'appview_ingest_events_indexed_total',
      help: 'Events handed to the indexer in a committed batch, by kind',
      labelNames: ['kind'],
      registers: [registry],
    })
    this.skipped = new Counter({
      name: 'appview_ingest_events_skipped_total',
      help: 'Frames skipped before indexing because they were unusable, by reason',
      labelNames: ['reason'],
      registers: [registry],
    })
    for (const k of kinds) {
      this.received.inc({ kind: k }, 0)
      this.filtered.inc({ kind: k }, 0)
      this.indexed.inc({ kind: k }, 0)
    }
    for (const r of SKIP_REASONS) this.skipped.inc({ reason: r }, 0)
    this.batchCommit = new Histogram({
      name: 'appview_ingest_batch_commit_seconds',
      help: 'Time to apply one batch (indexer transaction including the cursor), successful attempts',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    })
    this.batchSize = new Histogram({
      name: 'appview_ingest_batch_items',
      help: 'Operations per committed batch',
      buckets: [0, 1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers: [registry],
    })
    this.batchFailures = new Counter({
      name: 'appview_ingest_batch_failures_total',
      help: 'Batch transactions that failed and were retried',
      registers: [registry],
    })
    this.reconnects = new Counter({
      name: 'appview_ingest_reconnects_total',
      help: 'Jetstream disconnects followed by a reconnect, by reason (closed, error, watchdog, connect_failed)',
      labelNames: ['reason'],
      registers: [registry],
    })
    new Gauge({
      name: 'appview_ingest_cursor_time_us',
      help: 'Last committed Jetstream time_us (µs since the epoch)',
      registers: [registry],
      collect() {
        const c = gauges.cursorTimeUs()
        if (c !== undefined) this.set(c)
      },
    })
    new Gauge({
      name: 'appview_ingest_lag_seconds',
      help: 'now − last committed Jetstream time_us, in seconds',
      registers: [registry],
      collect() {
        const c = gauges.cursorTimeUs()
        if (c !== undefined) this.set(Math.max(0, Date.now() / 1000 - c / 1e6))
      },
    })
    new Gauge({
      name: 'appview_ingest_connected',
      help: '1 while a Jetstream connection is open',
      registers: [registry],
      collect() {
        this.set(gauges.connected() ? 1 : 0)
      },
    })
    new Gauge({
      name: 'appview_ingest_open_gaps',
      help: 'Stream gaps (outage longer than Jetstream retention) not yet repaired',
      registers: [registry],
      async collect() {
        this.set(await gauges.openGaps())
      },
    })
  }
}
