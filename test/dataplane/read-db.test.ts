// The read pool prepares each distinct query once per connection, and survives a table
// changing shape under a prepared `select *` (a migration while serving).
import { sql } from 'kysely'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Database } from '../../src/db/database.js'
import { createReadDb, type ReadDb } from '../../src/dataplane/read-db.js'
import { testConfig } from '../_util/config.js'

describe('read pool with prepared statements', () => {
  const cfg = testConfig()
  const log = pino({ level: 'silent' }) as never
  let admin: Database
  let read: ReadDb

  beforeAll(async () => {
    admin = await Database.connect(cfg.db, log, { migrate: false })
    read = createReadDb({ ...cfg.db, poolSize: 1 }, log)
  })
  afterAll(async () => {
    await read?.destroy()
    await sql`drop schema if exists ${sql.id(cfg.db.schema)} cascade`.execute(admin.db)
    await admin?.close()
  })

  it('prepares a query once and reuses it with new parameters', async () => {
    for (const n of [1, 2, 3]) {
      const res = await sql<{ v: number }>`select ${n}::int + 1 as v`.execute(read.db)
      expect(res.rows[0]!.v).toBe(n + 1)
    }
    const prepared = await sql<{ name: string; statement: string }>`
      select name, statement from pg_prepared_statements`.execute(read.db)
    const ours = prepared.rows.filter((r) => r.statement.includes('::int + 1 as v'))
    expect(ours).toHaveLength(1)
    expect(ours[0]!.name).toMatch(/^r_[0-9a-f]{24}$/)
  })

  it('answers correctly after the table gained a column (re-runs the statement unnamed)', async () => {
    await sql`create table shape_test (a int)`.execute(admin.db)
    await sql`insert into shape_test values (1)`.execute(admin.db)
    const before = await sql<{ a: number }>`select * from shape_test`.execute(read.db)
    expect(before.rows).toEqual([{ a: 1 }])
    await sql`alter table shape_test add column b int default 7`.execute(admin.db)
    const after = await sql<{ a: number; b: number }>`select * from shape_test`.execute(read.db)
    expect(after.rows).toEqual([{ a: 1, b: 7 }])
  })

  it('runs transactions as before', async () => {
    const out = await read.db.transaction().execute(async (tx) => (await sql<{ x: number }>`select 5 as x`.execute(tx)).rows[0]!.x)
    expect(out).toBe(5)
  })
})
