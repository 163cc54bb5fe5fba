// App: the composition root. Builds every part from the Config, starts them in order
// (Postgres, Redis, HTTP, workers, ingest) and stops them in reverse, each close in its
// own try/finally so one failing close does not leak the rest.
import type { FastifyInstance } from 'fastify'
import type { Queue } from 'bullmq'
import type { Config } from './config.js'
import { Database } from './db/database.js'
import { errorMessage } from './errors.js'
import { Readiness } from './http/health.js'
import { buildHttp } from './http/server.js'
import { createXrpcMetrics } from './http/xrpc-metrics.js'
import { type Authenticator, XrpcRouter } from './http/xrpc.js'
import { createReadApi, registerApi, type ReadApi, type ReadApiDeps } from './api/index.js'
import type { Hydrator } from './hydration/hydrator.js'
import type { Views } from './views/index.js'
import { registerAppSurface } from './api/app-surface.js'
import { LiveFilter } from './ingest/filter.js'
import { Indexer } from './ingest/indexer.js'
import { Identity, INVALID_HANDLE } from './identity/identity.js'
import { PdsClient } from './backfill/pds-client.js'
import { Onboarding } from './backfill/onboarding.js'
import { loadLexicons } from './lexicon/lexicons.js'
import { createLogger, type Logger } from './logger.js'
import { Metrics } from './metrics.js'
import { registerRowCacheMetrics } from './hydration/row-source.js'
import { createQueue, queuePrefix } from './queue.js'
import { connectRedis, createRedis, type Redis } from './redis.js'
import { VERSION } from './version.js'

/** Anything App starts and stops after the core (workers, ingest, background loops). */
export interface Component {
  readonly name: string
  start(): Promise<void>
  /** Stop taking work, finish or hand back what is in flight, release resources. */
  destroy(): Promise<void>
}

export const BACKFILL_QUEUE = 'backfill'

/** What handlers and components are given: built once, read-only afterwards. */
export interface AppContext {
  cfg: Config
  log: Logger
  db: Database
  redis: Redis
  metrics: Metrics
  readiness: Readiness
  router: XrpcRouter
  backfillQueue: Queue
  /** The one writer of record tables (src/ingest/indexer.ts). */
  indexer: Indexer
  /** Tracked DIDs and local users, in memory, kept current across processes. */
  liveFilter: LiveFilter
  /** DID → PDS, signing key, verified handle; the SSRF-guarded fetch (src/identity). */
  identity: Identity
  /** listRecords/getRecord against users' PDSes, polite and retried (src/backfill/pds-client.ts). */
  pds: PdsClient
  /** Admission (REGISTRATION/ALLOWED_DIDS/MAX_USERS) and onboarding of local users. */
  onboarding: Onboarding
  /** Batched loaders behind every read view (src/hydration; Hydrator.extend adds viewer state). */
  hydrator: Hydrator
  /** Pure lexicon view builders bound to the CDN config (src/views). */
  views: Views
}

export type ComponentFactory = (ctx: AppContext) => Component | Promise<Component>

export interface AppOptions {
  log?: Logger
  /** Extra parts started after the built-in ones, in order (tests use this seam too). */
  components?: ComponentFactory[]
}

type State = 'created' | 'starting' | 'started' | 'destroying' | 'destroyed'

export class App {
  readonly log: Logger
  readonly metrics = new Metrics()
  readonly readiness = new Readiness()
  ctx?: AppContext
  http?: FastifyInstance
  private state: State = 'created'
  private database?: Database
  private redis?: Redis
  private backfillQueue?: Queue
  private liveFilter?: LiveFilter
  private readonly components: Component[] = []
  /** The read API (hydrator, views, row cache); set by start(). */
  readApi?: ReadApi
  private destroyPromise?: Promise<void>

  constructor(
    readonly cfg: Config,
    private readonly opts: AppOptions = {},
  ) {
    this.log = opts.log ?? createLogger(cfg)
  }

  /** The bound address once HTTP listens (tests listen on port 0). */
  get url(): string {
    const addr = this.http?.server.address()
    if (!addr || typeof addr === 'string') throw new Error('HTTP is not listening')
    return `http://127.0.0.1:${addr.port}`
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new Error(`cannot start an app that is ${this.state}`)
    this.state = 'starting'
    const { cfg, log } = this

    this.database = await Database.connect(cfg.db, log.child({ component: 'db' }))
    const db = this.database
    this.readiness.add('postgres', async () => {
      await db.ping()
      return { ok: true }
    })

    const redis = createRedis(cfg.redis.url, log.child({ component: 'redis' }), { name: 'appview' })
    this.redis = redis
    await connectRedis(redis, cfg.redis.url)
    this.readiness.add('redis', async () => {
      if (redis.status !== 'ready') return { ok: false, reason: `redis connection is ${redis.status}` }
      await redis.ping()
      return { ok: true }
    })

    this.backfillQueue = createQueue(
      BACKFILL_QUEUE,
      cfg.redis.url,
      log.child({ component: 'queue' }),
      queuePrefix(cfg.db.schema),
    )
    // Service-auth needs identity (built below); the router asks through this late binding.
    let authenticate: Authenticator | undefined
    const router: XrpcRouter = new XrpcRouter({
      authenticate: (req, nsid) => (authenticate ? authenticate(req, nsid) : Promise.resolve(null)),
      lexicons: loadLexicons(),
      log: log.child({ component: 'xrpc' }),
      validateOutput: cfg.env !== 'production',
      onCall: createXrpcMetrics(this.metrics.registry, (nsid) => router.has(nsid)).onCall,
    })
    // Every role writes through the indexer (ingest, backfill, the api's on-demand fetches).
    const liveFilter = new LiveFilter({
      db,
      dbCfg: cfg.db,
      log: log.child({ component: 'live-filter' }),
      isIngest: cfg.roles.has('ingest'),
    })
    this.liveFilter = liveFilter
    await liveFilter.start()
    const indexer = new Indexer({
      db,
      liveFilter,
      backfillQueue: this.backfillQueue,
      lexicons: loadLexicons(),
      registry: this.metrics.registry,
      log: log.child({ component: 'indexer' }),
    })
    const identity = Identity.fromConfig(cfg, log.child({ component: 'identity' }))
    indexer.setHandleResolver(async (did) => {
      const { handle } = await identity.resolveDid(did, { forceRefresh: true })
      return handle === INVALID_HANDLE ? undefined : handle
    })
    const pds = new PdsClient({
      identity,
      log: log.child({ component: 'pds-client' }),
      registry: this.metrics.registry,
      requestTimeoutMs: cfg.backfill.requestTimeoutMs,
      // Backfill jobs make one request at a time each; the rest is for the api's fetches.
      concurrency: cfg.backfill.concurrency * 2,
      perHostConcurrency: cfg.backfill.perHostConcurrency,
    })
    const onboarding = new Onboarding({
      db: db.db,
      admission: cfg.admission,
      tracker: indexer,
      queue: this.backfillQueue,
      log: log.child({ component: 'onboarding' }),
    })
    const readApiDeps: ReadApiDeps = { cfg, log, db, indexer, identity, pds, onboarding }
    const readApi = createReadApi(readApiDeps)
    this.readApi = readApi
    authenticate = readApi.authenticate
    await readApi.start()
    const rowCache = readApi.rows?.listener
    // Read-your-writes in this process: a batch's changes leave the row cache before
    // applyBatch returns (only when something is cached; see row-change-listener.ts).
    if (rowCache) indexer.setAfterCommit(() => (rowCache.holdsRows ? rowCache.sync() : undefined))
    // and so do the procedures' own writes (mutes, bookmarks: the viewer-state cache)
    if (rowCache) router.setAfterProcedure(() => (rowCache.holdsRows ? rowCache.sync() : undefined))
    if (readApi.rows) registerRowCacheMetrics(readApi.rows, this.metrics.registry)
    this.ctx = {
      hydrator: readApi.hydrator,
      views: readApi.views,
      cfg,
      log,
      db,
      redis,
      metrics: this.metrics,
      readiness: this.readiness,
      router,
      backfillQueue: this.backfillQueue,
      indexer,
      liveFilter,
      identity,
      pds,
      onboarding,
    }
    if (cfg.roles.has('api')) registerAppSurface(this.ctx)
    if (cfg.roles.has('api')) registerApi(router, readApiDeps, readApi)

    for (const factory of this.opts.components ?? []) {
      const component = await factory(this.ctx)
      this.components.push(component)
    }

    if (cfg.roles.has('api')) {
      this.http = buildHttp({ cfg, log, metrics: this.metrics, readiness: this.readiness, router, version: VERSION })
      await this.http.listen({ port: cfg.http.port, host: cfg.http.host })
      log.info({ url: cfg.service.url, did: cfg.service.did, port: cfg.http.port }, 'http listening')
    }

    for (const component of this.components) {
      await component.start()
      log.info({ component: component.name }, 'started')
    }
    this.state = 'started'
    log.info({ roles: [...cfg.roles] }, 'appview started')
  }

  /** Stops everything in reverse start order within cfg.shutdownTimeoutMs. Safe to call twice. */
  destroy(): Promise<void> {
    this.destroyPromise ??= this.doDestroy()
    return this.destroyPromise
  }

  private async doDestroy(): Promise<void> {
    this.state = 'destroying'
    const steps: Array<[string, () => Promise<unknown>]> = [
      ...[...this.components].reverse().map((c) => [c.name, () => c.destroy()] as [string, () => Promise<unknown>]),
      ['http', async () => this.http?.close()],
      ['read-api', async () => this.readApi?.destroy()],
      ['live-filter', async () => this.liveFilter?.destroy()],
      ['queue', async () => this.backfillQueue?.close()],
      ['redis', async () => this.redis?.quit().catch(() => this.redis?.disconnect())],
      ['postgres', async () => this.database?.close()],
    ]
    for (const [name, step] of steps) {
      try {
        await step()
      } catch (err) {
        this.log.warn({ component: name, err: errorMessage(err) }, 'error while stopping')
      }
    }
    this.state = 'destroyed'
    this.log.info('appview stopped')
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy()
  }
}
