import { Redis, type RedisOptions } from 'ioredis'
import { StartupError, errorMessage, redactUrl } from './errors.js'
import type { Logger } from './logger.js'
import { withTimeout } from './util/with-timeout.js'

export type { Redis }

/**
 * A Redis connection. `forWorker` follows BullMQ's production guide: blocking worker
 * connections must never give up on a command (maxRetriesPerRequest: null), while the
 * general-purpose connection fails fast so an outage shows up in /ready instead of hanging.
 */
export function createRedis(url: string, log: Logger, opts: { forWorker?: boolean; name?: string } = {}): Redis {
  const options: RedisOptions = {
    lazyConnect: true,
    connectionName: opts.name,
    maxRetriesPerRequest: opts.forWorker ? null : 2,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  }
  const redis = new Redis(url, options)
  let lastError = ''
  redis.on('error', (err) => {
    // ioredis reconnects by itself; log each distinct failure once instead of every retry.
    const msg = errorMessage(err)
    if (msg !== lastError) log.warn({ err: msg, redis: opts.name }, 'redis connection error')
    lastError = msg
  })
  redis.on('ready', () => (lastError = ''))
  return redis
}

/** Connect and ping once; an unreachable server becomes a one-line StartupError. */
export async function connectRedis(redis: Redis, url: string): Promise<void> {
  try {
    await withTimeout(redis.connect(), 6_000)
    await withTimeout(redis.ping(), 3_000)
  } catch (err) {
    redis.disconnect()
    throw new StartupError(
      `Redis is not reachable at ${redactUrl(url)} (${errorMessage(err)}). ` +
        'Start Redis (e.g. `redis-server --daemonize yes` or `docker compose up -d redis`) or set REDIS_URL.',
    )
  }
}
