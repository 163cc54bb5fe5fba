// The XRPC seam: Fastify-native routes for /xrpc/<nsid>, with parameters and inputs
// validated against the lexicons in lexicons/ (we chose native routes over mounting
// @atproto/xrpc-server's Express router: one HTTP stack, and Fastify's inject() in tests).
//
// A handler is registered per NSID. The router decodes query strings by the lexicon's
// parameter types, validates them (a bad one → 400 InvalidRequest naming it), runs the
// authenticator, calls the handler and, when `validateOutput` is on (tests, development),
// checks the response against the lexicon so an invalid body fails loudly here instead of
// being dropped silently by the official app.
import type { Lexicons } from '@atproto/lexicon'
import {
  AuthRequiredError,
  InternalServerError,
  InvalidRequestError,
  MethodNotImplementedError,
  XRPCError,
} from '@atproto/xrpc-server'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'

/** Who is calling: a verified service-auth JWT's issuer, or nobody. */
export interface Viewer {
  did: string
  /** The raw Authorization header, for the rare call that forwards it (getFeed). */
  authorization?: string
}

/**
 * 'optional': anonymous callers get viewer-less answers; 'required': 401 without a token;
 * 'none': tokens are ignored (public endpoints such as resolveHandle).
 */
export type AuthMode = 'none' | 'optional' | 'required'

/** Verifies the request's token for this NSID: null when there is none, throws on a bad one. */
export type Authenticator = (req: FastifyRequest, nsid: string) => Promise<Viewer | null>

export interface XrpcCall<P = Record<string, unknown>> {
  nsid: string
  params: P
  input: unknown
  viewer: Viewer | null
  req: FastifyRequest
}

export interface XrpcResult {
  body?: unknown
  headers?: Record<string, string>
}

/**
 * Runs after authentication and before the handler (rate limits). Returns headers to add to
 * the response; throws to refuse the call (an error with a `headers` field sends those too).
 */
export type CallGuard = (call: { nsid: string; req: FastifyRequest; viewer: Viewer | null }) => Promise<
  Record<string, string> | void
>

export interface XrpcMethod<P = any> {
  auth?: AuthMode
  handler: (call: XrpcCall<P>) => Promise<XrpcResult | void>
}

export interface XrpcRouterOptions {
  lexicons: Lexicons
  log: Logger
  authenticate?: Authenticator
  validateOutput?: boolean
  /** Observes every call (metrics). */
  onCall?: (nsid: string, status: number, seconds: number) => void
}

export class XrpcRouter {
  private readonly methods = new Map<string, XrpcMethod>()
  private readonly guards: CallGuard[] = []
  private afterProcedure?: () => Promise<void> | undefined

  constructor(private readonly opts: XrpcRouterOptions) {}

  /**
   * Runs after every procedure that succeeded, before its answer is sent: the read API's
   * caches take in what the procedure wrote (a mute, a bookmark), so the caller's next read
   * shows it.
   */
  setAfterProcedure(fn: () => Promise<void> | undefined): void {
    this.afterProcedure = fn
  }

  add<P = any>(nsid: string, method: XrpcMethod<P>): void {
    const def = this.opts.lexicons.getDef(nsid)
    if (!def || (def.type !== 'query' && def.type !== 'procedure')) {
      throw new Error(`${nsid} is not a query or procedure in lexicons/`)
    }
    if (this.methods.has(nsid)) throw new Error(`${nsid} is registered twice`)
    this.methods.set(nsid, method as XrpcMethod)
  }

  addGuard(guard: CallGuard): void {
    this.guards.push(guard)
  }

  has(nsid: string): boolean {
    return this.methods.has(nsid)
  }

  nsids(): string[] {
    return [...this.methods.keys()].sort()
  }

  /** Registers the /xrpc/:nsid routes on a Fastify instance. */
  register(app: FastifyInstance): void {
    const route = (req: FastifyRequest<{ Params: { nsid: string } }>, reply: FastifyReply) =>
      this.dispatch(req, reply)
    app.get('/xrpc/:nsid', route)
    app.post('/xrpc/:nsid', route)
  }

  private async dispatch(req: FastifyRequest<{ Params: { nsid: string } }>, reply: FastifyReply) {
    const started = process.hrtime.bigint()
    const nsid = req.params.nsid
    let status = 200
    try {
      const result = await this.call(nsid, req)
      if (result?.headers) for (const [k, v] of Object.entries(result.headers)) reply.header(k, v)
      if (result?.body === undefined) {
        status = 200
        return reply.code(200).send()
      }
      return reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(result.body))
    } catch (err) {
      const xrpcErr = toXrpcError(err)
      status = xrpcErr.statusCode
      const errHeaders = (err as { headers?: Record<string, string> } | null)?.headers
      if (errHeaders && typeof errHeaders === 'object') reply.headers(errHeaders)
      if (status >= 500 && status !== 501) this.opts.log.error({ nsid, err: errorMessage(err), stack: (err as Error)?.stack }, 'xrpc handler failed')
      return reply.code(status).send(xrpcErr.payload)
    } finally {
      this.opts.onCall?.(nsid, status, Number(process.hrtime.bigint() - started) / 1e9)
    }
  }

  private async call(nsid: string, req: FastifyRequest): Promise<XrpcResult | void> {
    const method = this.methods.get(nsid)
    const def = method ? this.opts.lexicons.getDef(nsid) : undefined
    if (!method || !def || (def.type !== 'query' && def.type !== 'procedure')) {
      throw new MethodNotImplementedError(`Method Not Implemented: ${nsid}`)
    }
    const wantMethod = def.type === 'query' ? 'GET' : 'POST'
    if (req.method !== wantMethod && !(req.method === 'HEAD' && wantMethod === 'GET')) {
      throw new InvalidRequestError(`Incorrect HTTP method (${req.method}) for ${nsid}; expected ${wantMethod}`)
    }

    const params = this.validateParams(nsid, def.parameters, req.query as Record<string, unknown>)
    let input: unknown
    if (def.type === 'procedure' && def.input) {
      input = req.body
      if (def.input.encoding === 'application/json') {
        if (input === undefined || input === null || typeof input !== 'object') {
          throw new InvalidRequestError('Request body must be a JSON object')
        }
        try {
          input = this.opts.lexicons.assertValidXrpcInput(nsid, input)
        } catch (err) {
          throw new InvalidRequestError(`Invalid input: ${errorMessage(err)}`)
        }
      }
    }

    const mode = method.auth ?? 'optional'
    let viewer: Viewer | null = null
    if (mode !== 'none') {
      viewer = this.opts.authenticate ? await this.opts.authenticate(req, nsid) : null
      if (!viewer && mode === 'required') throw new AuthRequiredError('Authentication Required')
    }

    let guardHeaders: Record<string, string> | undefined
    for (const guard of this.guards) {
      const h = await guard({ nsid, req, viewer })
      if (h) guardHeaders = { ...guardHeaders, ...h }
    }

    const handled = await method.handler({ nsid, params, input, viewer, req })
    if (def.type === 'procedure') await this.afterProcedure?.()
    const result = guardHeaders ? { ...handled, headers: { ...guardHeaders, ...handled?.headers } } : handled
    if (this.opts.validateOutput && def.output?.encoding === 'application/json') {
      try {
        this.opts.lexicons.assertValidXrpcOutput(nsid, result?.body)
      } catch (err) {
        throw new InternalServerError(`response of ${nsid} fails its lexicon: ${errorMessage(err)}`)
      }
    }
    return result
  }

  /**
   * Query strings are text; the lexicon says what each parameter is. Decode by type, then
   * let the lexicon validate ranges, formats and required-ness (and apply defaults).
   */
  private validateParams(nsid: string, paramsDef: unknown, query: Record<string, unknown>) {
    const props = ((paramsDef as { properties?: Record<string, { type: string; items?: { type: string } }> })
      ?.properties ?? {}) as Record<string, { type: string; items?: { type: string } }>
    const decoded: Record<string, unknown> = {}
    for (const [name, raw] of Object.entries(query ?? {})) {
      const prop = props[name]
      if (!prop) continue // unknown parameters are ignored, as the reference server does
      const values = Array.isArray(raw) ? raw.map(String) : [String(raw)]
      if (prop.type === 'array') {
        decoded[name] = values.map((v) => decodeScalar(name, prop.items?.type ?? 'string', v))
      } else {
        if (values.length > 1) throw new InvalidRequestError(`${name} must be given once`)
        decoded[name] = decodeScalar(name, prop.type, values[0])
      }
    }
    // @atproto/lexicon builds a ValidationError for every absent optional parameter and then
    // ignores it; capturing those stack traces was ~1.5% of a timeline request's CPU. Only
    // the message is ever used, so none is captured (synchronous: nothing else runs meanwhile).
    const stackTraceLimit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      return this.opts.lexicons.assertValidXrpcParams(nsid, decoded) as Record<string, unknown>
    } catch (err) {
      throw new InvalidRequestError(errorMessage(err))
    } finally {
      Error.stackTraceLimit = stackTraceLimit
    }
  }
}

function decodeScalar(name: string, type: string, value: string): unknown {
  if (type === 'integer') {
    if (!/^-?\d+$/.test(value)) throw new InvalidRequestError(`${name} must be an integer`)
    return Number(value)
  }
  if (type === 'boolean') {
    if (value === 'true') return true
    if (value === 'false') return false
    throw new InvalidRequestError(`${name} must be true or false`)
  }
  return value
}

export function toXrpcError(err: unknown): XRPCError {
  if (err instanceof XRPCError) return err
  const status = (err as { statusCode?: number }).statusCode
  if (status === 413 || status === 415 || status === 429) return new XRPCError(status, errorMessage(err))
  if (status && status >= 400 && status < 500) {
    // Fastify's own client errors (malformed JSON body, bad content type).
    return new InvalidRequestError(errorMessage(err))
  }
  return new InternalServerError('Internal Server Error')
}
