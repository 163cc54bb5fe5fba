// Post and repost rows by URI. Tombstoned URIs are reported so hydration can tell
// "deleted" (known missing, never re-fetched) from "not stored" (maybe fetch it).
import { sql } from 'kysely'
import type { Db } from '../db/database.js'

export interface PostRow {
  uri: string
  cid: string
  author_did: string
  created_at: Date
  indexed_at: Date
  sort_at: Date
  reply_root_uri: string | null
  reply_parent_uri: string | null
  embed_kind: string | null
  embed_record_uri: string | null
  record: unknown
  like_count: number
  repost_count: number
  reply_count: number
  quote_count: number
}

export interface RepostRow {
  uri: string
  cid: string
  author_did: string
  subject_uri: string
  subject_cid: string
  created_at: Date
  indexed_at: Date
  sort_at: Date
}

const POST_COLUMNS = sql.raw(`uri, cid, author_did, created_at, indexed_at, sort_at, reply_root_uri,
  reply_parent_uri, embed_kind, embed_record_uri, record,
  like_count, repost_count, reply_count, quote_count`)

export async function getPosts(db: Db, uris: string[]): Promise<PostRow[]> {
  if (uris.length === 0) return []
  const res = await sql<PostRow>`select ${POST_COLUMNS} from post where uri = any(${uris}::text[])`.execute(db)
  return res.rows
}

/**
 * Posts and, in the same round trip, every post a feed shows alongside them:
 *   level 1  their reply parents and roots, and the posts they quote
 *   level 2  posts quoted by level 1 (a quote's quote; a parent's quote)
 *   level 3  posts quoted by level 2 (shown one level down inside those quotes)
 * Rows may repeat across levels; callers key them by uri.
 */
export async function getPostsWithReferences(db: Db, uris: string[]): Promise<PostRow[]> {
  if (uris.length === 0) return []
  const res = await sql<PostRow>`
    with base as (select ${POST_COLUMNS} from post where uri = any(${uris}::text[])),
    l1 as (select ${POST_COLUMNS} from post where uri in (
      select reply_parent_uri from base union select reply_root_uri from base
      union select embed_record_uri from base)),
    l2 as (select ${POST_COLUMNS} from post where uri in (select embed_record_uri from l1)),
    l3 as (select ${POST_COLUMNS} from post where uri in (select embed_record_uri from l2))
    select * from base union all select * from l1 union all select * from l2 union all select * from l3`.execute(db)
  return res.rows
}

export async function getReposts(db: Db, uris: string[]): Promise<RepostRow[]> {
  if (uris.length === 0) return []
  const res = await sql<RepostRow>`
    select uri, cid, author_did, subject_uri, subject_cid, created_at, indexed_at, sort_at
    from repost where uri = any(${uris}::text[])`.execute(db)
  return res.rows
}

/** Which of these URIs were deleted (a tombstone exists). */
export async function getTombstoned(db: Db, uris: string[]): Promise<Set<string>> {
  if (uris.length === 0) return new Set()
  const res = await sql<{ uri: string }>`select uri from tombstone where uri = any(${uris}::text[])`.execute(db)
  return new Set(res.rows.map((r) => r.uri))
}
