// Abuse limits for XRPC calls, shared by every api process through Redis. Authenticated
// calls are counted per DID: every user of one PDS arrives from that PDS's IP, so a per-IP
// limit would make one busy user throttle everyone on their PDS. Anonymous calls are counted
// per client IP (X-Forwarded-For from our nginx is trusted, see http/server.ts).
//
// Fixed windows (INCR + PEXPIRE in one script): cheap, and exact enough for abuse limits.
// Headers follow @atproto/xrpc-server's rate limiter (RateLimit-Limit/-Remaining/-Reset as
// epoch seconds/-Policy), plus Retry-After on 429. If Redis is unreachable the call is let
// through: availability of reads beats enforcing a limit.
import { XRPCError } from '@atproto/xrpc-server'
import { Counter } from 'prom-client'
import type { Config } from '../config.js'
import { errorMessage } from '../errors.js'
import type { CallGuard } from '../http/xrpc.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import type { Redis } from '../redis.js'
import { withTimeout } from '../util/with-timeout.js'

const INCR_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
`

const INCR_COMMAND = 'appviewRateLimitIncr'
type IncrCommand = (key: string, windowMs: string) => Promise<[number, number]>

const PDS_LOOKUPS = new Set(['com.atproto.repo.getRecord', 'com.atproto.identity.resolveHandle'])
const PDS_LOOKUP_FACTOR = 20
const REDIS_BUDGET_MS = 250

export class RateLimitExceededError extends XRPCError {
  constructor(
    message: string,
    readonly headers: Record<string, string>,
  ) {
    super(429, message, 'RateLimitExceeded')
  }
}

export interface RateLimitDeps {
  cfg: Config['rateLimit']
  redis: Redis
  log: Logger
  metrics: Metrics
  /** Key prefix; tests give each app its own so parallel files do not share counters. */
  prefix?: string
}

export class RateLimiter {
  private readonly refused: Counter<'scope'>
  private readonly prefix: string

  constructor(private readonly deps: RateLimitDeps) {
    this.prefix = deps.prefix ?? 'ratelimit'
    // EVALSHA (ioredis sends the script once per connection and falls back to EVAL after a
    // NOSCRIPT): every call otherwise carried the script's text for Redis to hash again.
    deps.redis.defineCommand(INCR_COMMAND, { numberOfKeys: 1, lua: INCR_SCRIPT })
    this.refused = new Counter({
      name: 'appview_rate_limited_total',
      help: 'XRPC calls refused with 429, by scope (user = per DID, ip = anonymous per IP, ip-lookup = record/handle lookups a PDS pipes for its users)',
      labelNames: ['scope'],
      registers: [deps.metrics.registry],
    })
  }

  /** The guard to install on the XRPC router. */
  guard(): CallGuard {
    return async ({ nsid, req, viewer }) => {
      if (viewer) return this.consume('user', viewer.did, this.deps.cfg.perUser)
      // A PDS pipes these to us without a token on behalf of all its users (getFeed looks
      // the generator record up through us first): one IP for thousands of people, so they
      // get a budget of their own, PDS_LOOKUP_FACTOR times the anonymous one.
      if (PDS_LOOKUPS.has(nsid)) return this.consume('ip-lookup', req.ip, this.deps.cfg.perIp * PDS_LOOKUP_FACTOR)
      return this.consume('ip', req.ip, this.deps.cfg.perIp)
    }
  }

  /** Counts one call for `key`; throws RateLimitExceededError past the limit. */
  async consume(scope: 'user' | 'ip' | 'ip-lookup', key: string, limit: number): Promise<Record<string, string> | void> {
    if (limit <= 0) return
    const windowMs = this.deps.cfg.windowSeconds * 1000
    const windowStart = Math.floor(Date.now() / windowMs) * windowMs
    const redisKey = `${this.prefix}:${scope}:${key}:${windowStart}`
    let count: number
    let ttlMs: number
    try {
      // A Redis that is down or slow must not hold every call: past the budget, let it through.
      const res = (await withTimeout(
        (this.deps.redis as unknown as Record<typeof INCR_COMMAND, IncrCommand>)[INCR_COMMAND](redisKey, String(windowMs)),
        REDIS_BUDGET_MS,
      )) as [number, number]
      count = Number(res[0])
      ttlMs = Number(res[1]) > 0 ? Number(res[1]) : windowMs
    } catch (err) {
      this.deps.log.warn({ err: errorMessage(err) }, 'rate limiter unavailable; letting the call through')
      return
    }
    const resetSeconds = Math.ceil((Date.now() + ttlMs) / 1000)
    const headers: Record<string, string> = {
      'RateLimit-Limit': String(limit),
      'RateLimit-Remaining': String(Math.max(0, limit - count)),
      'RateLimit-Reset': String(resetSeconds),
      'RateLimit-Policy': `${limit};w=${this.deps.cfg.windowSeconds}`,
    }
    if (count > limit) {
      this.refused.inc({ scope })
      throw new RateLimitExceededError('Rate Limit Exceeded', {
        ...headers,
        'Retry-After': String(Math.max(1, Math.ceil(ttlMs / 1000))),
      })
    }
    return headers
  }
}
