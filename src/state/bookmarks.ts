// Bookmarks are private AppView state (app.bsky.bookmark.*). The only writer of `bookmark`.
import type { Db } from '../db/database.js'
import { packCursor, unpackCursor, type Page } from './cursor.js'

export interface Bookmark {
  uri: string
  cid: string
  createdAt: Date
}

export async function createBookmark(db: Db, owner: string, uri: string, cid: string): Promise<void> {
  // Bookmarking again keeps the original time (and so the position in the list) but
  // follows the newest cid, as the reference AppView does.
  await db
    .insertInto('bookmark')
    .values({ owner_did: owner, subject_uri: uri, subject_cid: cid, created_at: new Date() })
    .onConflict((oc) => oc.columns(['owner_did', 'subject_uri']).doUpdateSet({ subject_cid: cid }))
    .execute()
}

export async function deleteBookmark(db: Db, owner: string, uri: string): Promise<void> {
  await db.deleteFrom('bookmark').where('owner_did', '=', owner).where('subject_uri', '=', uri).execute()
}

/** Newest first. */
export async function listBookmarks(db: Db, owner: string, limit: number, cursor?: string): Promise<Page<Bookmark>> {
  let q = db
    .selectFrom('bookmark')
    .select(['subject_uri', 'subject_cid', 'created_at'])
    .where('owner_did', '=', owner)
    .orderBy('created_at', 'desc')
    .orderBy('subject_uri', 'desc')
    .limit(limit)
  const c = unpackCursor(cursor)
  if (c) {
    q = q.where((eb) =>
      eb.or([eb('created_at', '<', c.at), eb.and([eb('created_at', '=', c.at), eb('subject_uri', '<', c.key)])]),
    )
  }
  const rows = await q.execute()
  const last = rows.at(-1)
  return {
    items: rows.map((r) => ({ uri: r.subject_uri, cid: r.subject_cid, createdAt: r.created_at })),
    cursor: rows.length === limit && last ? packCursor(last.created_at, last.subject_uri) : undefined,
  }
}

/** Of `uris`, the ones `owner` bookmarked (viewer.bookmarked). */
export async function bookmarkedAmong(db: Db, owner: string, uris: string[]): Promise<Set<string>> {
  if (uris.length === 0) return new Set()
  const rows = await db
    .selectFrom('bookmark')
    .select('subject_uri')
    .where('owner_did', '=', owner)
    .where('subject_uri', 'in', [...new Set(uris)])
    .execute()
  return new Set(rows.map((r) => r.subject_uri))
}
