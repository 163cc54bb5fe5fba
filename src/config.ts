// Configuration is read once, in two steps (the bsync pattern):
//   readEnv()      env names → raw strings, nothing else;
//   envToConfig()  defaults, parsing and validation → one typed, grouped Config.
// Everything downstream receives the Config object; nothing else reads process.env.

export const ROLE_NAMES = ['api', 'ingest', 'backfill'] as const
export type Role = (typeof ROLE_NAMES)[number]

export const DEFAULT_JETSTREAM_URLS = [
  'wss://jetstream1.us-east.bsky.network/subscribe',
  'wss://jetstream2.us-east.bsky.network/subscribe',
  'wss://jetstream1.us-west.bsky.network/subscribe',
  'wss://jetstream2.us-west.bsky.network/subscribe',
]

/** Every variable the service reads. `.env.example` documents each one. */
export const ENV_NAMES = [
  'NODE_ENV',
  'LOG_LEVEL',
  'PORT',
  'HOST',
  'DATABASE_URL',
  'DATABASE_SCHEMA',
  'DATABASE_POOL_SIZE',
  'REDIS_URL',
  'APPVIEW_DID',
  'APPVIEW_URL',
  'JETSTREAM_URL',
  'JETSTREAM_COMPRESS',
  'JETSTREAM_REWIND_SECONDS',
  'JETSTREAM_WATCHDOG_SECONDS',
  'JETSTREAM_RETENTION_HOURS',
  'JETSTREAM_MAX_LAG_SECONDS',
  'INGEST_BATCH_SIZE',
  'INGEST_BATCH_MS',
  'PLC_URL',
  'BACKFILL_DAYS',
  'BACKFILL_CONCURRENCY',
  'BACKFILL_PER_HOST_CONCURRENCY',
  'BACKFILL_REQUEST_TIMEOUT_MS',
  'ROLES',
  'REGISTRATION',
  'ALLOWED_DIDS',
  'MAX_USERS',
  'EXTRA_AUDIENCES',
  'DEV_LOCAL_NETWORK',
  'IMAGE_CDN_URL',
  'VIDEO_CDN_URL',
  'SHUTDOWN_TIMEOUT_MS',
  'RATE_LIMIT_WINDOW_SECONDS',
  'RATE_LIMIT_PER_USER',
  'RATE_LIMIT_PER_IP',
  'FEEDGEN_TIMEOUT_MS',
  'ROW_CACHE_SIZE',
] as const
export type EnvName = (typeof ENV_NAMES)[number]
export type RawEnv = Partial<Record<EnvName, string>>

export interface Config {
  env: 'development' | 'production' | 'test'
  logLevel: string
  roles: ReadonlySet<Role>
  http: { port: number; host: string }
  service: { did: string; url: string; extraAudiences: string[] }
  db: { url: string; schema: string; poolSize: number }
  redis: { url: string }
  jetstream: {
    urls: string[]
    compress: boolean
    rewindSeconds: number
    watchdogSeconds: number
    retentionHours: number
    maxLagSeconds: number
    batchSize: number
    batchMs: number
  }
  identity: { plcUrl: string }
  backfill: {
    days: number
    concurrency: number
    perHostConcurrency: number
    requestTimeoutMs: number
  }
  admission: {
    registration: 'open' | 'allowlist'
    allowedDids: string[]
    maxUsers: number
  }
  cdn: { imageUrl: string; videoUrl: string }
  devLocalNetwork: boolean
  shutdownTimeoutMs: number
  /** XRPC calls per window: per DID when authenticated, per client IP otherwise (0 = off). */
  rateLimit: { windowSeconds: number; perUser: number; perIp: number }
  /** getFeed: how long a feed generator may take before we answer an empty feed. */
  feedGen: { timeoutMs: number }
  /** the read API's in-memory post/repost/actor rows (src/hydration/row-cache.ts) */
  rowCache: { maxEntries: number }
}

/** A configuration problem, phrased for an operator: names the variable and the form it wants. */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`)
  }
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): RawEnv {
  const raw: RawEnv = {}
  for (const name of ENV_NAMES) {
    const value = env[name]
    if (value !== undefined && value.trim() !== '') raw[name] = value.trim()
  }
  return raw
}

export function envToConfig(raw: RawEnv): Config {
  const nodeEnv = raw.NODE_ENV ?? 'development'
  if (!['development', 'production', 'test'].includes(nodeEnv)) {
    throw new ConfigError('NODE_ENV', `expected development, production or test, got "${nodeEnv}"`)
  }
  const port = int(raw, 'PORT', 2584, 0, 65535)
  const url = httpUrl(raw, 'APPVIEW_URL', `http://localhost:${port}`).replace(/\/+$/, '')
  const did = raw.APPVIEW_DID ?? didWebFor(url)
  if (!/^did:[a-z]+:[a-zA-Z0-9._:%-]+$/.test(did)) {
    throw new ConfigError('APPVIEW_DID', `expected a DID such as did:web:appview.example.com, got "${did}"`)
  }
  const registration = raw.REGISTRATION ?? 'open'
  if (registration !== 'open' && registration !== 'allowlist') {
    throw new ConfigError('REGISTRATION', `expected open or allowlist, got "${registration}"`)
  }
  const allowedDids = list(raw.ALLOWED_DIDS)
  for (const d of allowedDids) {
    if (!d.startsWith('did:')) throw new ConfigError('ALLOWED_DIDS', `expected comma-separated DIDs, got "${d}"`)
  }
  const extraAudiences = list(raw.EXTRA_AUDIENCES)
  for (const a of extraAudiences) {
    if (!a.startsWith('did:')) throw new ConfigError('EXTRA_AUDIENCES', `expected comma-separated DIDs, got "${a}"`)
  }
  const jetstreamUrls = raw.JETSTREAM_URL ? list(raw.JETSTREAM_URL) : DEFAULT_JETSTREAM_URLS
  for (const u of jetstreamUrls) {
    if (!isUrl(u, ['ws:', 'wss:'])) {
      throw new ConfigError('JETSTREAM_URL', `expected comma-separated ws:// or wss:// URLs, got "${u}"`)
    }
  }
  const databaseUrl = raw.DATABASE_URL ?? 'postgres://localhost:5432/appview'
  if (!isUrl(databaseUrl, ['postgres:', 'postgresql:'])) {
    throw new ConfigError('DATABASE_URL', `expected postgres://user@host:port/database, got "${databaseUrl}"`)
  }
  const schema = raw.DATABASE_SCHEMA ?? 'public'
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError('DATABASE_SCHEMA', `expected a lower-case SQL identifier, got "${schema}"`)
  }
  const redisUrl = raw.REDIS_URL ?? 'redis://127.0.0.1:6379'
  if (!isUrl(redisUrl, ['redis:', 'rediss:'])) {
    throw new ConfigError('REDIS_URL', `expected redis://host:port, got "${redisUrl}"`)
  }

  return {
    env: nodeEnv as Config['env'],
    logLevel: raw.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info'),
    roles: roles(raw.ROLES),
    http: { port, host: raw.HOST ?? '0.0.0.0' },
    service: { did, url, extraAudiences },
    db: { url: databaseUrl, schema, poolSize: int(raw, 'DATABASE_POOL_SIZE', 10, 1, 200) },
    redis: { url: redisUrl },
    jetstream: {
      urls: jetstreamUrls,
      compress: bool(raw, 'JETSTREAM_COMPRESS', true),
      rewindSeconds: int(raw, 'JETSTREAM_REWIND_SECONDS', 10, 0, 3600),
      watchdogSeconds: int(raw, 'JETSTREAM_WATCHDOG_SECONDS', 60, 1, 3600),
      retentionHours: int(raw, 'JETSTREAM_RETENTION_HOURS', 24, 1, 24 * 30),
      maxLagSeconds: int(raw, 'JETSTREAM_MAX_LAG_SECONDS', 300, 1, 7 * 24 * 3600),
      batchSize: int(raw, 'INGEST_BATCH_SIZE', 1000, 1, 100_000),
      batchMs: int(raw, 'INGEST_BATCH_MS', 200, 1, 60_000),
    },
    identity: { plcUrl: httpUrl(raw, 'PLC_URL', 'https://plc.directory').replace(/\/+$/, '') },
    backfill: {
      days: int(raw, 'BACKFILL_DAYS', 30, 0, 365 * 100),
      concurrency: int(raw, 'BACKFILL_CONCURRENCY', 8, 1, 256),
      perHostConcurrency: int(raw, 'BACKFILL_PER_HOST_CONCURRENCY', 4, 1, 256),
      requestTimeoutMs: int(raw, 'BACKFILL_REQUEST_TIMEOUT_MS', 15_000, 100, 600_000),
    },
    admission: {
      registration,
      allowedDids,
      maxUsers: int(raw, 'MAX_USERS', 1000, 0, 10_000_000),
    },
    cdn: {
      imageUrl: httpUrl(raw, 'IMAGE_CDN_URL', 'https://cdn.bsky.app/img').replace(/\/+$/, ''),
      videoUrl: httpUrl(raw, 'VIDEO_CDN_URL', 'https://video.bsky.app/watch').replace(/\/+$/, ''),
    },
    devLocalNetwork: bool(raw, 'DEV_LOCAL_NETWORK', false),
    shutdownTimeoutMs: int(raw, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    rateLimit: {
      windowSeconds: int(raw, 'RATE_LIMIT_WINDOW_SECONDS', 300, 1, 86_400),
      perUser: int(raw, 'RATE_LIMIT_PER_USER', 3000, 0, 10_000_000),
      perIp: int(raw, 'RATE_LIMIT_PER_IP', 1500, 0, 10_000_000),
    },
    feedGen: { timeoutMs: int(raw, 'FEEDGEN_TIMEOUT_MS', 5_000, 100, 60_000) },
    rowCache: { maxEntries: int(raw, 'ROW_CACHE_SIZE', 50_000, 0, 10_000_000) },
  }
}

/** did:web for a base URL: the host, with a non-default port percent-encoded (did:web spec). */
export function didWebFor(baseUrl: string): string {
  const u = new URL(baseUrl)
  return `did:web:${u.hostname}${u.port ? `%3A${u.port}` : ''}`
}

function roles(value: string | undefined): ReadonlySet<Role> {
  const names = value ? list(value) : [...ROLE_NAMES]
  if (names.length === 0) throw new ConfigError('ROLES', 'expected at least one of api, ingest, backfill')
  for (const n of names) {
    if (!(ROLE_NAMES as readonly string[]).includes(n)) {
      throw new ConfigError('ROLES', `expected a comma-separated subset of api,ingest,backfill, got "${n}"`)
    }
  }
  return new Set(names as Role[])
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

function int(raw: RawEnv, name: EnvName, fallback: number, min: number, max: number): number {
  const value = raw[name]
  if (value === undefined) return fallback
  if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `expected a whole number, got "${value}"`)
  const n = Number(value)
  if (n < min || n > max) throw new ConfigError(name, `expected a whole number from ${min} to ${max}, got ${n}`)
  return n
}

function bool(raw: RawEnv, name: EnvName, fallback: boolean): boolean {
  const value = raw[name]
  if (value === undefined) return fallback
  if (['true', '1', 'yes'].includes(value.toLowerCase())) return true
  if (['false', '0', 'no'].includes(value.toLowerCase())) return false
  throw new ConfigError(name, `expected true or false, got "${value}"`)
}

function httpUrl(raw: RawEnv, name: EnvName, fallback: string): string {
  const value = raw[name] ?? fallback
  if (!isUrl(value, ['http:', 'https:'])) throw new ConfigError(name, `expected an http(s) URL, got "${value}"`)
  return value
}

function isUrl(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol)
  } catch {
    return false
  }
}
