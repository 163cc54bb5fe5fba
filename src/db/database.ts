import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely'
import pg from 'pg'
import type { Config } from '../config.js'
import { StartupError, errorMessage, redactUrl } from '../errors.js'
import type { Logger } from '../logger.js'
import { withDefaultUser } from './connection-url.js'
import { createMigrator } from './migrator.js'
import { preparingPool } from './prepared.js'
import type { DatabaseSchema } from './schema.js'

// int8 (bigint) stays a string so cursors in µs never lose precision; counts we cast.
export type Db = Kysely<DatabaseSchema>
export type DbTx = Transaction<DatabaseSchema>

/**
 * Owns the pg pool and the Kysely instance. Every connection uses the configured schema
 * (search_path), so each test file can work in a schema of its own in one database.
 */
export class Database {
  readonly db: Db
  private readonly pool: pg.Pool
  private closed = false

  private constructor(
    private readonly cfg: Config['db'],
    private readonly log: Logger,
  ) {
    this.pool = new pg.Pool({
      ...connectionConfig(cfg.url),
      max: cfg.poolSize,
      connectionTimeoutMillis: 5_000,
      options: `-c search_path=${cfg.schema}`,
    })
    // An idle client dying (server restart) must not crash the process; the pool replaces it.
    this.pool.on('error', (err) => this.log.warn({ err: errorMessage(err) }, 'postgres idle client error'))
    // Statements marked PREPARED (the indexer's fixed-text bulk statements) are prepared once
    // per connection; everything else goes unnamed, as before.
    this.db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool: preparingPool(this.pool) }) })
  }

  /**
   * Connects, creating the database (and schema) when missing, and applies migrations.
   * An unreachable server is a StartupError with a one-line, actionable message.
   */
  static async connect(cfg: Config['db'], log: Logger, opts: { migrate?: boolean } = {}): Promise<Database> {
    await ensureDatabaseExists(cfg.url, log)
    const database = new Database(cfg, log)
    try {
      await sql`select 1`.execute(database.db)
      if (cfg.schema !== 'public') await sql`create schema if not exists ${sql.id(cfg.schema)}`.execute(database.db)
      if (opts.migrate !== false) await database.migrate()
      return database
    } catch (err) {
      await database.close()
      throw err
    }
  }

  async migrate(): Promise<string[]> {
    let { error, results } = await createMigrator(this.db, this.cfg.schema).migrateToLatest()
    // Kysely's migrator introspects the tables of *every* schema (pg_get_serial_sequence,
    // has_schema_privilege); a schema dropped meanwhile by another process (parallel test
    // files) makes that fail with "schema … does not exist" (3F000/42P01). Nothing was
    // applied then, so trying again is safe.
    for (let attempt = 1; error && isConcurrentCatalogChange(error) && attempt < 5; attempt++) {
      ;({ error, results } = await createMigrator(this.db, this.cfg.schema).migrateToLatest())
    }
    if (error) throw new Error(`migration failed: ${errorMessage(error)}`)
    const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
    if (applied.length) this.log.info({ applied }, 'migrations applied')
    return applied
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db)
  }

  transaction<T>(fn: (tx: DbTx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.db.destroy()
  }
}

/** The URL with libpq's default user (see connection-url.ts). */
export function connectionConfig(url: string): pg.ClientConfig {
  return { connectionString: withDefaultUser(url) }
}

const PG_UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH'])

/** Create the database named in the URL if the server says it does not exist (3D000). */
async function ensureDatabaseExists(url: string, log: Logger): Promise<void> {
  const probe = new pg.Client({ ...connectionConfig(url), connectionTimeoutMillis: 5_000 })
  try {
    await probe.connect()
    return
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code !== '3D000') throw unreachable(url, err)
  } finally {
    await probe.end().catch(() => {})
  }
  const target = new URL(url)
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''))
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const client = new pg.Client({ ...connectionConfig(admin.toString()), connectionTimeoutMillis: 5_000 })
  try {
    await client.connect()
    await client.query(`create database ${pg.escapeIdentifier(name)}`)
    log.info({ database: name }, 'created database')
  } catch (err) {
    // 42P04 / 23505: another process (a parallel test file, a second role) created it first.
    const code = (err as { code?: string }).code
    if (code !== '42P04' && code !== '23505') throw unreachable(url, err)
  } finally {
    await client.end().catch(() => {})
  }
}

function unreachable(url: string, err: unknown): StartupError {
  const code = (err as { code?: string }).code
  const reason = errorMessage(err)
  const hint =
    code && PG_UNREACHABLE.has(code)
      ? 'Start Postgres (e.g. `pg_ctlcluster 15 main start` or `docker compose up -d postgres`) or set DATABASE_URL.'
      : 'Check DATABASE_URL and the server.'
  return new StartupError(`Postgres is not reachable at ${redactUrl(url)} (${reason}). ${hint}`)
}

/** An error caused by another session dropping a schema or table while we read the catalog. */
function isConcurrentCatalogChange(err: unknown): boolean {
  const code = (err as { code?: string }).code
  return code === '3F000' || code === '42P01' || (code === 'XX000' && /cache lookup failed/.test(errorMessage(err)))
}
