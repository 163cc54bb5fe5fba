// The read API (issue 5): builds the hydrator, views and service-auth verifier from the
// app's parts, and registers one handler per NSID (one file each, named after it).
import type { Config } from '../config.js'
import type { Database, Db } from '../db/database.js'
import { createReadDb } from '../dataplane/read-db.js'
import { PdsPostFetcher, type RecordSink, type RecordSource } from '../hydration/fetch-missing.js'
import { Hydrator } from '../hydration/hydrator.js'
import { type DidResolver, ResolvingActorInfo } from '../hydration/identity.js'
import { CachedRows } from '../hydration/row-source.js'
import type { Authenticator, XrpcRouter } from '../http/xrpc.js'
import type { Logger } from '../logger.js'
import { Views } from '../views/index.js'
import { type Admission, createAuthVerifier, type SigningKeyResolver } from './auth-verifier.js'
import type { ReadContext } from './context.js'
import getProfile from './app/bsky/actor/getProfile.js'
import getProfiles from './app/bsky/actor/getProfiles.js'
import getActorLikes from './app/bsky/feed/getActorLikes.js'
import getAuthorFeed from './app/bsky/feed/getAuthorFeed.js'
import getLikes from './app/bsky/feed/getLikes.js'
import getPostThread from './app/bsky/feed/getPostThread.js'
import getPosts from './app/bsky/feed/getPosts.js'
import getQuotes from './app/bsky/feed/getQuotes.js'
import getRepostedBy from './app/bsky/feed/getRepostedBy.js'
import getTimeline from './app/bsky/feed/getTimeline.js'
import getFollowers from './app/bsky/graph/getFollowers.js'
import getFollows from './app/bsky/graph/getFollows.js'
import getPostThreadV2 from './app/bsky/unspecced/getPostThreadV2.js'
import resolveHandle from './com/atproto/identity/resolveHandle.js'
import getRecord from './com/atproto/repo/getRecord.js'

const HANDLERS: Array<(ctx: ReadContext) => void> = [
  // feeds
  getTimeline,
  getAuthorFeed,
  getActorLikes,
  // posts and threads
  getPosts,
  getPostThread,
  getPostThreadV2,
  getLikes,
  getRepostedBy,
  getQuotes,
  // actors and the graph
  getProfile,
  getProfiles,
  getFollows,
  getFollowers,
  // com.atproto reads the PDS passes on
  getRecord,
  resolveHandle,
]

/** The identity module's slice the read API uses (ctx.identity). */
export type ReadIdentity = SigningKeyResolver & DidResolver & { resolveHandle(handle: string): Promise<string | undefined> }

export interface ReadApiDeps {
  cfg: Config
  log: Logger
  db: Database
  indexer: RecordSink
  identity: ReadIdentity
  pds: RecordSource
  /** admission on a DID's first authenticated request; without it every verified DID reads */
  onboarding?: Admission
}

export interface ReadApi {
  /** the read path's prepared-statement pool (src/dataplane/read-db.ts) */
  db: Db
  hydrator: Hydrator
  views: Views
  fetcher: PdsPostFetcher
  authenticate: Authenticator
  identity: ReadIdentity
  pds: RecordSource
  /** the row cache, when this process serves the api role with ROW_CACHE_SIZE > 0 */
  rows?: CachedRows
  /** starts the row cache's invalidation listener */
  start(): Promise<void>
  /** closes the read pool */
  destroy(): Promise<void>
}

export function createReadApi(deps: ReadApiDeps): ReadApi {
  const { cfg, log, identity, pds } = deps
  const readDb = createReadDb(cfg.db, log.child({ component: 'read-db' }))
  const fetcher = new PdsPostFetcher(pds, deps.indexer, log.child({ component: 'fetch-missing' }))
  // Only a process that serves reads caches rows (and pays for the invalidation listener).
  const rows =
    cfg.roles.has('api') && cfg.rowCache.maxEntries > 0
      ? new CachedRows({ dbCfg: cfg.db, log: log.child({ component: 'row-cache' }), maxEntries: cfg.rowCache.maxEntries })
      : undefined
  const hydrator = new Hydrator({ db: readDb.db, fetcher, actorInfo: new ResolvingActorInfo(identity), rows })
  const views = new Views(cfg.cdn)
  const authenticate = createAuthVerifier({
    serviceDid: cfg.service.did,
    extraAudiences: cfg.service.extraAudiences,
    // the identity module reads every key form (Multikey and the legacy 2019 types)
    keys: identity,
    admission: deps.onboarding,
    log: log.child({ component: 'auth' }),
  })
  const start = async () => {
    await rows?.start()
  }
  const destroy = async () => {
    await fetcher.idle().catch(() => {})
    await rows?.destroy()
    await readDb.destroy()
  }
  return { db: readDb.db, hydrator, views, fetcher, authenticate, identity, pds, rows, start, destroy }
}

/** Registers every read-API handler on the router. */
export function registerApi(router: XrpcRouter, deps: ReadApiDeps, api: ReadApi): void {
  const ctx: ReadContext = {
    cfg: deps.cfg,
    db: api.db,
    router,
    hydrator: api.hydrator,
    views: api.views,
    resolveHandle: (handle) => api.identity.resolveHandle(handle),
    getRemoteRecord: (uri) => api.pds.getRecord(uri),
  }
  for (const register of HANDLERS) register(ctx)
}
