// Likes, reposts and quotes: the viewer's own on a set of posts, and paged lists per post.
import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { sortKeySql } from './graph.js'
import { type KeysetCursor, keysetAfter } from './pagination.js'

export interface ViewerPostState {
  like?: string
  repost?: string
}

/** The viewer's like and repost record of each post, in one round trip. */
export async function getViewerPostStates(db: Db, viewer: string, uris: string[]): Promise<Map<string, ViewerPostState>> {
  const out = new Map<string, ViewerPostState>()
  if (uris.length === 0) return out
  const res = await sql<{ kind: string; subject: string; uri: string }>`
    select 'like' as kind, subject_uri as subject, min(uri) as uri from "like"
      where author_did = ${viewer} and by_local and subject_uri = any(${uris}::text[]) group by subject_uri
    union all
    select 'repost', subject_uri, min(uri) from repost
      where author_did = ${viewer} and by_local and subject_uri = any(${uris}::text[]) group by subject_uri
  `.execute(db)
  for (const row of res.rows) {
    const state = out.get(row.subject) ?? {}
    if (row.kind === 'like') state.like = row.uri
    else state.repost = row.uri
    out.set(row.subject, state)
  }
  return out
}

export interface SubjectPageItem {
  uri: string
  cid: string
  did: string
  createdAt: Date
  indexedAt: Date
  sortKey: string
}

/** A like in getLikes: the like record's own cid is not stored (migrations/0070). */
export type LikePageItem = Omit<SubjectPageItem, 'cid'>

/** Likes of a post, newest first. */
export async function getLikesPage(db: Db, subjectUri: string, limit: number, cursor?: KeysetCursor) {
  const res = await sql<LikePageItem>`
    select uri, author_did as did, created_at as "createdAt", indexed_at as "indexedAt",
      ${sortKeySql} as "sortKey"
    from "like" where subject_uri = ${subjectUri} ${keysetAfter(cursor)}
    order by sort_at desc, uri desc limit ${limit + 1}`.execute(db)
  return res.rows
}

/** Reposts of a post, newest first. */
export async function getRepostsPage(db: Db, subjectUri: string, limit: number, cursor?: KeysetCursor) {
  const res = await sql<SubjectPageItem>`
    select uri, cid, author_did as did, created_at as "createdAt", indexed_at as "indexedAt",
      ${sortKeySql} as "sortKey"
    from repost where subject_uri = ${subjectUri} ${keysetAfter(cursor)}
    order by sort_at desc, uri desc limit ${limit + 1}`.execute(db)
  return res.rows
}

export interface UriPageItem {
  uri: string
  sortKey: string
}

/** Posts quoting a post, newest first. */
export async function getQuotesPage(db: Db, subjectUri: string, limit: number, cursor?: KeysetCursor) {
  const res = await sql<UriPageItem>`
    select uri, ${sortKeySql} as "sortKey" from post
    where embed_record_uri = ${subjectUri} ${keysetAfter(cursor)}
    order by sort_at desc, uri desc limit ${limit + 1}`.execute(db)
  return res.rows
}

/** Posts an actor liked (subject URIs), newest like first; the cursor is over the likes. */
export async function getActorLikesPage(db: Db, did: string, limit: number, cursor?: KeysetCursor) {
  const res = await sql<{ uri: string; postUri: string; sortKey: string }>`
    select uri, subject_uri as "postUri", ${sortKeySql} as "sortKey" from "like"
    where author_did = ${did} and by_local and subject_uri like 'at://%/app.bsky.feed.post/%' ${keysetAfter(cursor)}
    order by sort_at desc, uri desc limit ${limit + 1}`.execute(db)
  return res.rows
}
