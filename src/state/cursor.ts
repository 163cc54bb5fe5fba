// Cursors for "newest first" lists of per-user state (mutes, bookmarks, subscriptions):
// `<created_at in ms>::<tiebreak key>`. Rows are written with JS Dates (ms precision), so a
// cursor taken from a row compares exactly with the stored value.
import { InvalidRequestError } from '@atproto/xrpc-server'

export interface Page<T> {
  items: T[]
  cursor?: string
}

export function packCursor(at: Date, key: string): string {
  return `${at.getTime()}::${key}`
}

export function unpackCursor(cursor: string | undefined): { at: Date; key: string } | undefined {
  if (!cursor) return undefined
  const sep = cursor.indexOf('::')
  const ms = sep > 0 ? Number(cursor.slice(0, sep)) : NaN
  if (!Number.isSafeInteger(ms) || ms < 0) throw new InvalidRequestError('Malformed cursor')
  return { at: new Date(ms), key: cursor.slice(sep + 2) }
}
