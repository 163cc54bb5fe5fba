// Runs the real ingest consumer of a test App against a TestJetstream: same indexer, same
// live filter, real Postgres. Fast reconnects so resilience tests take milliseconds.
import { Registry } from 'prom-client'
import type { Config } from '../../src/config.js'
import { IngestConsumer } from '../../src/ingest/consumer.js'
import type { TestApp } from './app.js'

export interface StartIngestOptions {
  urls: string[]
  jetstream?: Partial<Config['jetstream']>
  /** Register metrics and the /ready check on the App (one consumer per App at a time). */
  onApp?: boolean
}

export async function startIngest(t: TestApp, opts: StartIngestOptions): Promise<IngestConsumer> {
  const consumer = new IngestConsumer({
    cfg: { ...t.cfg.jetstream, batchMs: 20, ...opts.jetstream, urls: opts.urls },
    db: t.db,
    log: t.ctx.log.child({ component: 'ingest' }),
    registry: opts.onApp ? t.ctx.metrics.registry : new Registry(),
    readiness: opts.onApp ? t.ctx.readiness : undefined,
    indexer: t.ctx.indexer,
    filter: t.ctx.liveFilter,
    minBackoffMs: 20,
    maxBackoffMs: 200,
  })
  await consumer.start()
  return consumer
}

/** The value of one Prometheus sample in /metrics text (0 when absent). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== ' ' && rest[0] !== '{') continue
    if (want.every((w) => rest.includes(w))) return Number(line.trim().split(/\s+/).pop())
  }
  return 0
}
