// The read path's own connection pool, with prepared statements.
//
// Kysely sends every query unnamed, so Postgres plans it again on every call; on this
// workload planning costs about as much as executing (0.4–1.3 ms per query, several queries
// per feed page). This pool names each distinct SQL text (a hash of it), so each connection
// parses and plans it once and then only binds and executes. The read queries are written
// for it: fixed SQL text per shape (arrays as `= any($1)`, never a variable-length `in (…)`).
//
// A prepared `select *` whose table gained a column after a migration fails once with
// "cached plan must not change result type"; that call is retried unnamed.
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Config } from '../config.js'
import { withDefaultUser } from '../db/connection-url.js'
import { statementNamer } from '../db/prepared.js'
import type { Db } from '../db/database.js'
import type { DatabaseSchema } from '../db/schema.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'

export interface ReadDb {
  db: Db
  destroy(): Promise<void>
}

export function createReadDb(cfg: Config['db'], log: Logger): ReadDb {
  const pool = new pg.Pool({
    connectionString: withDefaultUser(cfg.url),
    max: cfg.poolSize,
    connectionTimeoutMillis: 5_000,
    options: `-c search_path=${cfg.schema}`,
  })
  pool.on('error', (err) => log.warn({ err: errorMessage(err) }, 'postgres idle client error (read pool)'))
  const db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool: new PreparingPool(pool) as never }) })
  return { db, destroy: () => db.destroy() }
}

// Every read text is named (fixed texts per shape, a few hundred at most).
const statementName = statementNamer('r_', 5_000)

/** What Kysely's PostgresDialect needs of a pool, handing out statement-naming clients. */
class PreparingPool {
  readonly Client = pg.Client
  private readonly wrapped = new WeakMap<pg.PoolClient, pg.PoolClient>()

  constructor(private readonly pool: pg.Pool) {}

  get options() {
    return this.pool.options
  }

  async connect(): Promise<pg.PoolClient> {
    const client = await this.pool.connect()
    let proxy = this.wrapped.get(client)
    if (!proxy) {
      proxy = preparing(client)
      this.wrapped.set(client, proxy)
    }
    return proxy
  }

  end(): Promise<void> {
    return this.pool.end()
  }
}

function preparing(client: pg.PoolClient): pg.PoolClient {
  const query = (text: unknown, values?: unknown[]) => {
    if (typeof text !== 'string' || !Array.isArray(values) || isTransactionControl(text)) {
      return (client.query as (...a: unknown[]) => unknown)(text, values)
    }
    return client.query({ name: statementName(text), text, values }).catch((err: { code?: string; message?: string }) => {
      if (err?.code === '0A000' && /cached plan must not change result type/.test(err.message ?? '')) {
        return client.query(text, values)
      }
      throw err
    })
  }
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'query') return query
      const value = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

function isTransactionControl(text: string): boolean {
  return /^\s*(begin|commit|rollback|start transaction|savepoint|release|set)\b/i.test(text)
}
