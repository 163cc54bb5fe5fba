// What the app-surface read handlers use: the read API's context plus the custom-feed
// machinery (generator records, services, skeleton calls).
import type { PdsClient } from '../../backfill/pds-client.js'
import type { Feeds } from '../../feeds/feeds.js'
import type { Logger } from '../../logger.js'
import type { ReadContext } from '../context.js'

export interface SurfaceContext extends ReadContext {
  feeds: Feeds
  /** records we do not index (lists, generators, starter packs) from their repos' PDSes */
  pds: Pick<PdsClient, 'listRecords' | 'getRecord'>
  log: Logger
}
