// The write pool's statement handling (src/db/prepared.ts): a parameterless statement marked
// WITH_NEXT (and Kysely's `begin`) is held back and sent with the next statement — in the
// same round trip when that one has no parameters either — so what it sets is in force
// exactly as if it had been sent where it stands, with fewer round trips.
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectionConfig } from '../../src/db/database.js'
import { WITH_NEXT, preparingPool } from '../../src/db/prepared.js'
import { TEST_DATABASE_URL } from '../_util/config.js'

let pool: pg.Pool
let db: Kysely<Record<string, never>>
/** Every text the pool's clients send (one entry per round trip), in order. */
const sent: string[] = []

beforeAll(async () => {
  pool = new pg.Pool({ ...connectionConfig(TEST_DATABASE_URL), max: 1 })
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...a: unknown[]) => unknown
    ;(client as { query: unknown }).query = (...a: unknown[]) => {
      const t = a[0]
      sent.push(typeof t === 'string' ? t : String((t as { text?: string }).text))
      return query(...a)
    }
  })
  db = new Kysely({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) })
})
afterAll(async () => {
  await db?.destroy()
})

const setting = async (q: Kysely<Record<string, never>>, name = 'synchronous_commit') =>
  (await sql<{ v: string }>`select current_setting(${sql.lit(name)}) as v`.execute(q)).rows[0]!.v
const PROBE = `commit_probe_${process.pid}`

/** The setting in force when the transaction commits, seen by a deferred constraint trigger. */
async function atCommit(body: (tx: Kysely<Record<string, never>>) => Promise<void>): Promise<string | undefined> {
  await sql`create temp table if not exists ${sql.id(PROBE)} (v text)`.execute(db)
  await sql`truncate ${sql.id(PROBE)}`.execute(db)
  await sql`create or replace function pg_temp.record_setting() returns trigger language plpgsql as $$
    begin
      if new.v = 'started' then
        insert into ${sql.id(PROBE)} values (current_setting('synchronous_commit'));
      end if;
      return null;
    end $$`.execute(db)
  await sql`drop trigger if exists probe on ${sql.id(PROBE)}`.execute(db)
  await sql`create constraint trigger probe after insert on ${sql.id(PROBE)}
    deferrable initially deferred for each row execute function pg_temp.record_setting()`.execute(db)
  await db.transaction().execute(async (tx) => {
    await sql`insert into ${sql.id(PROBE)} values ('started')`.execute(tx)
    await body(tx)
  })
  const { rows } = await sql<{ v: string }>`select v from ${sql.id(PROBE)} where v <> 'started'`.execute(db)
  return rows[0]?.v
}

describe('WITH_NEXT statements', () => {
  it('travel with the next parameterless statement: begin with a set local, a set local with the commit', async () => {
    const serverDefault = await setting(db)
    const cost = await setting(db, 'random_page_cost')
    let inside: string | undefined
    sent.length = 0
    await db.transaction().execute(async (tx) => {
      await sql`${WITH_NEXT} set local random_page_cost = 1.1`.execute(tx)
      inside = await setting(tx, 'random_page_cost')
      await sql`select ${1}::int as one`.execute(tx)
      await sql`${WITH_NEXT} set local synchronous_commit = off`.execute(tx)
    })
    expect(inside).toBe('1.1')
    expect(sent).toEqual([
      "begin; /* with next */ set local random_page_cost = 1.1; select current_setting('random_page_cost') as v",
      'select $1::int as one',
      '/* with next */ set local synchronous_commit = off; commit',
    ])
    // The transaction's own settings: the connection is back to the server's.
    expect(await setting(db)).toBe(serverDefault)
    expect(await setting(db, 'random_page_cost')).toBe(cost)
  })

  it('are in force at the commit they travel with', async () => {
    expect(await atCommit(async (tx) => void (await sql`${WITH_NEXT} set local synchronous_commit = off`.execute(tx)))).toBe('off')
    expect(await atCommit(async () => {})).toBe(await setting(db))
  })

  it('run before a next statement with parameters, so it sees them', async () => {
    sent.length = 0
    await db.transaction().execute(async (tx) => {
      await sql`${WITH_NEXT} set local synchronous_commit = off`.execute(tx)
      const { rows } = await sql<{ v: string }>`select current_setting(${'synchronous_commit'}) as v`.execute(tx)
      expect(rows[0]!.v).toBe('off')
    })
    expect(sent).toEqual(['begin; /* with next */ set local synchronous_commit = off', 'select current_setting($1) as v', 'commit'])
  })

  it('leave nothing behind when the transaction rolls back, and the connection works on', async () => {
    const serverDefault = await setting(db)
    await expect(
      db.transaction().execute(async (tx) => {
        await sql`${WITH_NEXT} set local synchronous_commit = off`.execute(tx)
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    await expect(
      db.transaction().execute(async (tx) => {
        await sql`select ${1}::int`.execute(tx)
        await sql`${WITH_NEXT} set local synchronous_commit = off`.execute(tx)
        await sql`select 1/0`.execute(tx)
      }),
    ).rejects.toThrow('division by zero')
    expect(await setting(db)).toBe(serverDefault)
    expect(await atCommit(async () => {})).toBe(serverDefault)
  })
})
