import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import { registerDidDocumentRoute } from './did-document.js'
import { type Readiness, registerHealthRoutes } from './health.js'
import { toXrpcError, type XrpcRouter } from './xrpc.js'
import type { Config } from '../config.js'

export interface HttpDeps {
  cfg: Config
  log: Logger
  metrics: Metrics
  readiness: Readiness
  router: XrpcRouter
  version: string
}

// Bodies are small JSON objects (mutes, bookmarks, preferences); anything bigger is abuse.
const BODY_LIMIT_BYTES = 256 * 1024

// We run behind nginx (docker-compose.yml) on loopback or a private bridge network.
const TRUSTED_PROXIES = ['127.0.0.0/8', '::1', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']

/** The Fastify app with every route registered. Never listens: App (or a test) does that. */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as FastifyBaseLogger,
    disableRequestLogging: true,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: TRUSTED_PROXIES,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  })

  app.addHook('onResponse', async (req, reply) => {
    req.log.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request')
  })

  registerHealthRoutes(app, deps.readiness, deps.version)
  registerDidDocumentRoute(app, deps.cfg.service)
  app.get('/metrics', async (_req, reply) => {
    reply.type(deps.metrics.contentType)
    return deps.metrics.text()
  })
  deps.router.register(app)

  app.setNotFoundHandler(async (req, reply) => {
    return reply.code(404).send({ error: 'NotFound', message: `${req.method} ${req.url.split('?')[0]} is not served here` })
  })
  // Errors outside XRPC handlers (body parsing, hooks): same {"error","message"} form.
  app.setErrorHandler(async (err, req, reply) => {
    const xrpcErr = toXrpcError(err)
    if (xrpcErr.statusCode >= 500) req.log.error({ err }, 'request failed')
    return reply.code(xrpcErr.statusCode).send(xrpcErr.payload)
  })
  return app
}
