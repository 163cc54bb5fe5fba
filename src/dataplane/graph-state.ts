// Reads for the moderation/graph settings screens: whom the viewer blocks (block records
// we indexed), known followers (followers of X whom the viewer follows).
import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { type KeysetCursor, keysetAfter } from './pagination.js'

export interface DidPageItem {
  did: string
  uri: string
  sortKey: string
}

const SORT_KEY = sql.raw(`to_char(sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`)

/** Accounts `viewer` blocks, newest block first; limit + 1 rows. */
export async function getBlocksPage(db: Db, viewer: string, limit: number, cursor?: KeysetCursor) {
  const res = await sql<DidPageItem>`
    select subject_did as did, uri, ${SORT_KEY} as "sortKey" from block
    where author_did = ${viewer} ${keysetAfter(cursor)}
    order by sort_at desc, uri desc limit ${limit + 1}`.execute(db)
  return res.rows
}

/** Followers of `subject` whom `viewer` follows, newest follow first; limit + 1 rows. */
export async function getKnownFollowersPage(db: Db, viewer: string, subject: string, limit: number, cursor?: KeysetCursor) {
  const res = await sql<DidPageItem>`
    select f.author_did as did, f.uri, to_char(f.sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "sortKey"
    from follow f
    where f.subject_did = ${subject}
      and exists (select 1 from follow v where v.author_did = ${viewer} and v.subject_did = f.author_did)
      ${keysetAfter(cursor, 'f')}
    order by f.sort_at desc, f.uri desc limit ${limit + 1}`.execute(db)
  return res.rows
}
