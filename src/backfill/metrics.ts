// Backfill metrics on the App's registry: jobs by state (from the queue, sampled on scrape),
// records indexed (rate = records/s), malformed records, failures by reason. Per-host
// in-flight requests live with the PDS client (appview_pds_requests_in_flight).
import type { Queue } from 'bullmq'
import { Counter, Gauge, type Registry } from 'prom-client'

export class BackfillMetrics {
  readonly recordsIndexed: Counter<'collection'>
  readonly recordsMalformed: Counter<'collection'>
  readonly jobsFinished: Counter<'outcome'>
  readonly errors: Counter<'reason'>

  constructor(registry: Registry, queue?: Queue) {
    this.recordsIndexed = new Counter({
      name: 'appview_backfill_records_indexed_total',
      help: 'Records a backfill handed to the indexer that changed stored state (rate() = records/s)',
      labelNames: ['collection'],
      registers: [registry],
    })
    this.recordsMalformed = new Counter({
      name: 'appview_backfill_records_malformed_total',
      help: 'Backfilled records skipped as malformed',
      labelNames: ['collection'],
      registers: [registry],
    })
    this.jobsFinished = new Counter({
      name: 'appview_backfill_jobs_finished_total',
      help: 'Backfill jobs finished, by outcome (complete, retrying, failed)',
      labelNames: ['outcome'],
      registers: [registry],
    })
    this.errors = new Counter({
      name: 'appview_backfill_errors_total',
      help: 'Backfill job failures by reason',
      labelNames: ['reason'],
      registers: [registry],
    })
    if (queue) {
      new Gauge({
        name: 'appview_backfill_jobs',
        help: 'Backfill jobs by state',
        labelNames: ['state'],
        registers: [registry],
        async collect() {
          try {
            const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed')
            for (const [state, n] of Object.entries(counts)) this.set({ state }, n)
          } catch {
            // Redis down: /metrics still answers; /ready reports Redis.
          }
        },
      })
    }
  }
}
