// The backfill role's Component factory: the worker wired to the App's context.
import type { AppContext } from '../app.js'
import { BackfillMetrics } from './metrics.js'
import { BackfillComponent, type BackfillComponentOptions } from './worker.js'

export function backfillComponent(
  ctx: AppContext,
  /** Tests and benchmarks: a faster gap check, a shorter retry policy, a differently tuned PDS client. */
  overrides: Partial<Pick<BackfillComponentOptions, 'gapCheckMs' | 'retry' | 'pds'>> = {},
): BackfillComponent {
  return new BackfillComponent({
    cfg: ctx.cfg,
    db: ctx.db.db,
    queue: ctx.backfillQueue,
    log: ctx.log.child({ component: 'backfill' }),
    metrics: new BackfillMetrics(ctx.metrics.registry, ctx.backfillQueue),
    pds: ctx.pds,
    indexer: ctx.indexer,
    liveFilter: ctx.liveFilter,
    identity: ctx.identity,
    ...overrides,
  })
}
