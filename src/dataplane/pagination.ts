// Keyset cursors over (sort_at, uri), newest first.
//
//   page 1:  ... | A(t5,u9) | B(t5,u3) | C(t4,u7)        cursor = C's (sort_at, uri)
//   page 2:  where (sort_at, uri) < (t4, u7) → D(t4,u2) | E(t3,...) ...
//
// sort_at values tie freely (many records share a createdAt), so the uri breaks ties and
// the comparison is on the pair: nothing is lost or repeated at a page boundary. sort_at
// travels with full µs precision as text (JS Dates would round it to ms and lose items).
// On the wire the cursor is opaque: base64url of "<sort_at>::<uri>".
import { InvalidRequestError } from '@atproto/xrpc-server'
import { sql, type RawBuilder } from 'kysely'

export interface KeysetCursor {
  /** ISO-8601 UTC with microseconds, e.g. 2026-01-02T03:04:05.123456Z */
  sortAt: string
  uri: string
}

const SORT_AT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/

export function encodeCursor(c: KeysetCursor): string {
  return Buffer.from(`${c.sortAt}::${c.uri}`, 'utf8').toString('base64url')
}

/** Decodes a client's cursor; anything we did not make is a 400 naming the cursor. */
export function decodeCursor(cursor: string | undefined): KeysetCursor | undefined {
  if (cursor === undefined || cursor === '') return undefined
  const bad = () => new InvalidRequestError('cursor is malformed (pass back the cursor of the previous page)')
  if (!/^[A-Za-z0-9_-]+$/.test(cursor) || cursor.length > 2000) throw bad()
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  const sep = text.indexOf('::')
  if (sep < 0) throw bad()
  const sortAt = text.slice(0, sep)
  const uri = text.slice(sep + 2)
  if (!SORT_AT_RE.test(sortAt) || Number.isNaN(Date.parse(sortAt)) || !uri.startsWith('at://')) throw bad()
  return { sortAt, uri }
}

/** `and (sort_at, uri) < (cursor)` for a query ordered by sort_at desc, uri desc. */
export function keysetAfter(cursor: KeysetCursor | undefined, alias?: string): RawBuilder<unknown> {
  if (!cursor) return sql``
  const sortCol = alias ? sql.ref(`${alias}.sort_at`) : sql.ref('sort_at')
  const uriCol = alias ? sql.ref(`${alias}.uri`) : sql.ref('uri')
  return sql`and (${sortCol}, ${uriCol}) < (${cursor.sortAt}::timestamptz, ${cursor.uri})`
}

/**
 * Splits a result fetched with `limit + 1` rows into the page and the cursor for the next
 * one: a cursor exactly when older items exist (the app stops paging on a missing cursor).
 */
export function paginate<T extends { sortKey: string; uri: string }>(
  rows: T[],
  limit: number,
): { items: T[]; cursor?: string } {
  if (rows.length <= limit) return { items: rows }
  const items = rows.slice(0, limit)
  const last = items[items.length - 1]!
  return { items, cursor: encodeCursor({ sortAt: last.sortKey, uri: last.uri }) }
}
