// What the read handlers use, built once from the AppContext: the database, the hydrator
// and views, and the identity/PDS lookups for records and handles we do not hold.
import type { Config } from '../config.js'
import type { Db } from '../db/database.js'
import type { Hydrator } from '../hydration/hydrator.js'
import type { XrpcRouter } from '../http/xrpc.js'
import type { Views } from '../views/index.js'

export interface RemoteRecord {
  uri: string
  cid: string
  value: unknown
}

export interface ReadContext {
  cfg: Config
  db: Db
  router: XrpcRouter
  hydrator: Hydrator
  views: Views
  /** handle → DID through the identity module (DNS / well-known); undefined when unknown */
  resolveHandle(handle: string): Promise<string | undefined>
  /** a record from its author's PDS; null when the PDS says it does not exist */
  getRemoteRecord(uri: string): Promise<RemoteRecord | null>
}
