import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { Database, connectionConfig } from '../../src/db/database.js'
import { SqlFileMigrationProvider } from '../../src/db/migrator.js'
import { createLogger } from '../../src/logger.js'
import { TEST_DATABASE_URL, uniqueSchema } from '../_util/config.js'

const log = createLogger({ env: 'test', logLevel: 'silent' })

describe('migrations', () => {
  const schema = uniqueSchema('mig')
  const cleanups: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const c of cleanups) await c()
  })

  it('apply to an empty schema, then re-run as a no-op', async () => {
    const files = Object.keys(await new SqlFileMigrationProvider().getMigrations())
    expect(files[0]).toBe('0001_init')

    const db = await Database.connect({ url: TEST_DATABASE_URL, schema, poolSize: 2 }, log, { migrate: false })
    cleanups.push(async () => {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db.db)
      await db.close()
    })
    expect(await db.migrate()).toEqual(files)
    expect(await db.migrate()).toEqual([])

    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = ${schema}`.execute(db.db)
    const names = tables.rows.map((r) => r.table_name)
    for (const t of ['actor', 'post', 'repost', 'like', 'follow', 'block', 'feed_item', 'tombstone',
      'ingest_state', 'ingest_gap', 'local_user', 'tracked_did', 'notification']) {
      expect(names).toContain(t)
    }
    // Timestamps are timestamptz everywhere.
    const times = await sql<{ data_type: string }>`
      select distinct data_type from information_schema.columns
      where table_schema = ${schema} and (column_name like '%_at' or column_name = 'sort_at')`.execute(db.db)
    expect(times.rows.map((r) => r.data_type)).toEqual(['timestamp with time zone'])
  })

  it('applies a pending file whose number sorts before one already applied (number ranges per engineer)', async () => {
    const s2 = uniqueSchema('mig')
    const db = await Database.connect({ url: TEST_DATABASE_URL, schema: s2, poolSize: 2 }, log)
    cleanups.push(async () => {
      await sql`drop schema if exists ${sql.id(s2)} cascade`.execute(db.db)
      await db.close()
    })
    const files = Object.keys(await new SqlFileMigrationProvider().getMigrations())
    const early = '0073_feed_item_post_uri_index'
    expect(files.indexOf(early)).toBeLessThan(files.length - 1) // a later file exists and ran
    // As on a database that had applied the later files before 0073 existed.
    await sql`delete from ${sql.id(s2, 'kysely_migration')} where name = ${early}`.execute(db.db)
    await sql`create index feed_item_repost_post_uri_idx on ${sql.id(s2, 'feed_item')} (post_uri) where type = 'repost'`.execute(db.db)
    expect(await db.migrate()).toEqual([early])
    const idx = await sql`select 1 from pg_indexes where schemaname = ${s2} and indexname = 'feed_item_repost_post_uri_idx'`.execute(db.db)
    expect(idx.rows).toHaveLength(0)
  })

  it('creates the database named in DATABASE_URL when it does not exist', async () => {
    const name = `appview_created_${randomBytes(4).toString('hex')}`
    const url = new URL(TEST_DATABASE_URL)
    url.pathname = `/${name}`
    const db = await Database.connect({ url: url.toString(), schema: 'public', poolSize: 1 }, log)
    const res = await sql<{ n: string }>`select count(*) as n from post`.execute(db.db)
    expect(Number(res.rows[0].n)).toBe(0)
    await db.close()

    url.pathname = '/postgres'
    const admin = new pg.Client(connectionConfig(url.toString()))
    await admin.connect()
    const exists = await admin.query('select 1 from pg_database where datname = $1', [name])
    expect(exists.rowCount).toBe(1)
    await admin.query(`drop database ${pg.escapeIdentifier(name)}`)
    await admin.end()
  })
})
