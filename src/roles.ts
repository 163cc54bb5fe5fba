// Which parts run in this process, by ROLES. The api role's HTTP server is built by App
// itself; everything else is a Component started after it, in this order: workers
// (backfill), then ingest.
import type { ComponentFactory } from './app.js'
import type { Config } from './config.js'

export function defaultComponents(cfg: Config): ComponentFactory[] {
  const factories: ComponentFactory[] = []
  void cfg
  return factories
}
