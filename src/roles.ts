// Which parts run in this process, by ROLES. The api role's HTTP server is built by App
// itself; everything else is a Component started after it, in this order: workers
// (backfill), then ingest.
import type { ComponentFactory } from './app.js'
import { backfillComponent } from './backfill/component.js'
import type { Config } from './config.js'
import { createIngestConsumer } from './ingest/consumer.js'
import { retentionComponent } from './ingest/retention.js'

export function defaultComponents(cfg: Config): ComponentFactory[] {
  const factories: ComponentFactory[] = []
  if (cfg.roles.has('backfill')) factories.push(backfillComponent)
  if (cfg.roles.has('ingest')) factories.push(createIngestConsumer)
  // Prunes history older than BACKFILL_DAYS; one process at a time (advisory lock).
  if (cfg.roles.has('ingest')) factories.push(retentionComponent)
  return factories
}
