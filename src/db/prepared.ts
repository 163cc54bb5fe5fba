// Opt-in prepared statements for the write pool.
//
// Kysely sends every query unnamed, so Postgres parses and plans it again on every call. The
// indexer's hot bulk statements have one fixed SQL text each (arrays through unnest, never a
// variable-length VALUES list), so a connection can prepare them once and then only bind and
// execute: for a backfilled page of 100 posts the planning alone was ≈0.8 ms of ≈6–9 ms.
// Only statements that ask for it are named (the rest of the write path builds texts of
// varying shape, which must not pile up as prepared statements on every connection):
//
//   sql`${PREPARED} insert into … select * from unnest(${a}::text[], …)`
//
// The marker is a comment, so the same statement runs unnamed on any other pool.
import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import type pg from 'pg'

const MARKER = '/* prepared */'
/** Put first in a fixed-text statement: this pool then prepares it once per connection. */
export const PREPARED = sql.raw(MARKER)

const WITH_NEXT_MARKER = '/* with next */'
/**
 * Put first in a parameterless `set local …`: this pool holds it back and sends it with the
 * next statement, in the same round trip when that one has no parameters either (one
 * simple-protocol query, e.g. `set local synchronous_commit = off; commit`), else just
 * before it. Kysely's `begin` is held the same way, so a transaction's opening `set local`
 * travels with it. Nothing the server does changes: the statements run in the same order,
 * only fewer round trips carry them. On any other pool the statement runs where it stands.
 */
export const WITH_NEXT = sql.raw(WITH_NEXT_MARKER)

/**
 * Names SQL texts for prepared statements (a hash of the text, with a prefix per pool), each
 * named once; past `max` distinct texts the memo starts over (a guard, not a cache policy).
 */
export function statementNamer(prefix: string, max: number): (text: string) => string {
  const names = new Map<string, string>()
  return (text) => {
    let name = names.get(text)
    if (!name) {
      name = `${prefix}${createHash('sha1').update(text).digest('hex').slice(0, 24)}`
      if (names.size > max) names.clear()
      names.set(text, name)
    }
    return name
  }
}

// Only marked texts are named here, a few dozen.
const statementName = statementNamer('w_', 1_000)

/**
 * A pool for Kysely's PostgresDialect whose clients name the statements marked PREPARED.
 * (A marked statement must keep its result columns fixed: "cached plan must not change result
 * type" after a migration would abort the transaction it runs in; explicit column lists do.)
 */
export function preparingPool(pool: pg.Pool): pg.Pool {
  const wrapped = new WeakMap<pg.PoolClient, pg.PoolClient>()
  const connect = async () => {
    const client = await pool.connect()
    let proxy = wrapped.get(client)
    if (!proxy) {
      proxy = naming(client)
      wrapped.set(client, proxy)
    }
    return proxy
  }
  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'connect') return connect
      const value = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

function naming(client: pg.PoolClient): pg.PoolClient {
  const send = (text: unknown, values?: unknown[]) => {
    if (typeof text === 'string' && Array.isArray(values) && text.startsWith(MARKER)) {
      return client.query({ name: statementName(text), text, values })
    }
    return (client.query as (...a: unknown[]) => Promise<unknown>)(text, values)
  }
  // Statements held back until the next one (WITH_NEXT, and `begin`).
  let held: string[] = []
  const query = (text: unknown, values?: unknown[]): unknown => {
    const bare = typeof text === 'string' && (values === undefined || values.length === 0)
    if (bare && (text.startsWith(WITH_NEXT_MARKER) || /^\s*begin\s*$/i.test(text))) {
      held.push(text)
      const command = text.startsWith(WITH_NEXT_MARKER) ? 'SET' : 'BEGIN'
      return Promise.resolve({ command, rowCount: null, rows: [], fields: [] })
    }
    if (held.length === 0) return send(text, values)
    const before = held
    held = []
    if (bare) {
      // One simple query: pg answers with one result per statement; the caller gets its own.
      return (client.query(`${before.join('; ')}; ${text}`) as Promise<unknown>).then((r) =>
        Array.isArray(r) ? r[r.length - 1] : r,
      )
    }
    return (client.query(before.join('; ')) as Promise<unknown>).then(() => send(text, values))
  }
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'query') return query
      const value = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
