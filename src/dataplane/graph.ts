// Social-graph reads: the viewer's relationship to a set of accounts (follow and block
// records in both directions) and paged follow lists.
import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { type KeysetCursor, keysetAfter } from './pagination.js'

export interface Relationship {
  /** at-uri of the viewer's follow of the subject */
  following?: string
  /** at-uri of the subject's follow of the viewer */
  followedBy?: string
  /** at-uri of the viewer's block of the subject */
  blocking?: string
  /** the subject blocks the viewer */
  blockedBy?: boolean
}

/**
 * The viewer's relationship with each subject, in one round trip (four index probes).
 * When a DID has several follow records for one subject, the newest wins.
 */
export async function getRelationships(db: Db, viewer: string, subjects: string[]): Promise<Map<string, Relationship>> {
  const out = new Map<string, Relationship>()
  if (subjects.length === 0) return out
  const res = await sql<{ kind: string; did: string; uri: string }>`
    select 'following' as kind, subject_did as did, uri from (
      select distinct on (subject_did) subject_did, uri from follow
      where author_did = ${viewer} and subject_did = any(${subjects}::text[])
      order by subject_did, sort_at desc) f
    union all
    select 'followedBy', author_did, uri from (
      select distinct on (author_did) author_did, uri from follow
      where subject_did = ${viewer} and author_did = any(${subjects}::text[])
      order by author_did, sort_at desc) g
    union all
    select 'blocking', subject_did, min(uri) from block
      where author_did = ${viewer} and subject_did = any(${subjects}::text[]) group by subject_did
    union all
    select 'blockedBy', author_did, min(uri) from block
      where subject_did = ${viewer} and author_did = any(${subjects}::text[]) group by author_did
  `.execute(db)
  for (const row of res.rows) {
    const rel = out.get(row.did) ?? {}
    if (row.kind === 'following') rel.following = row.uri
    else if (row.kind === 'followedBy') rel.followedBy = row.uri
    else if (row.kind === 'blocking') rel.blocking = row.uri
    else rel.blockedBy = true
    out.set(row.did, rel)
  }
  return out
}

export interface FollowPageItem {
  did: string
  uri: string
  sortKey: string
}

/** Accounts `did` follows, newest follow first. */
export async function getFollowsPage(db: Db, did: string, limit: number, cursor?: KeysetCursor) {
  const res = await sql<FollowPageItem>`
    select subject_did as did, uri, ${sortKeySql} as "sortKey" from follow
    where author_did = ${did} ${keysetAfter(cursor)}
    order by sort_at desc, uri desc limit ${limit + 1}`.execute(db)
  return res.rows
}

/** Accounts following `did`, newest follow first. */
export async function getFollowersPage(db: Db, did: string, limit: number, cursor?: KeysetCursor) {
  const res = await sql<FollowPageItem>`
    select author_did as did, uri, ${sortKeySql} as "sortKey" from follow
    where subject_did = ${did} ${keysetAfter(cursor)}
    order by sort_at desc, uri desc limit ${limit + 1}`.execute(db)
  return res.rows
}

/** sort_at rendered exactly (µs, UTC): the first half of every keyset cursor. */
export const sortKeySql = sql.raw(`to_char(sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`)
