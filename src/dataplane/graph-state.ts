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

/** Of `authors`, those whose block record targets `subject` → the block's uri. */
export async function getBlockUrisBy(db: Db, subject: string, authors: string[]): Promise<Map<string, string>> {
  if (authors.length === 0) return new Map()
  const rows = await db
    .selectFrom('block')
    .select(['author_did', 'uri'])
    .where('subject_did', '=', subject)
    .where('author_did', 'in', authors)
    .execute()
  return new Map(rows.map((b) => [b.author_did, b.uri]))
}

/** Likes we hold of each subject (feed generators' likeCount), and which the viewer made. */
export async function getSubjectLikes(
  db: Db,
  subjects: string[],
  viewer: string | null,
): Promise<{ counts: Map<string, number>; viewerLikes: Map<string, string> }> {
  if (subjects.length === 0) return { counts: new Map(), viewerLikes: new Map() }
  const [counts, mine] = await Promise.all([
    sql<{ uri: string; n: string }>`
      select subject_uri as uri, count(*)::text as n from "like"
      where subject_uri = any(${subjects}::text[]) group by subject_uri`.execute(db),
    viewer
      ? sql<{ subject: string; uri: string }>`
          select subject_uri as subject, min(uri) as uri from "like"
          where author_did = ${viewer} and by_local and subject_uri = any(${subjects}::text[]) group by subject_uri`.execute(db)
      : Promise.resolve({ rows: [] as { subject: string; uri: string }[] }),
  ])
  return {
    counts: new Map(counts.rows.map((r) => [r.uri, Number(r.n)])),
    viewerLikes: new Map(mine.rows.map((r) => [r.subject, r.uri])),
  }
}

/** The root of the thread a post belongs to: its stored reply root, else the post itself. */
export async function getThreadRoot(db: Db, uri: string): Promise<string> {
  const row = await db.selectFrom('post').select('reply_root_uri').where('uri', '=', uri).executeTakeFirst()
  return row?.reply_root_uri ?? uri
}
