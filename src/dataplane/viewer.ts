// Everything viewer-specific a feed page needs, in one round trip: the viewer's follow and
// block edges with the accounts shown, and the viewer's like and repost of the posts shown.
// (The same answers as getRelationships + getViewerPostStates, one query instead of two.)
import { type RawBuilder, sql } from 'kysely'
import type { Db } from '../db/database.js'
import type { Relationship } from './graph.js'
import type { ViewerPostState } from './interactions.js'

export interface ViewerState {
  relationships: Map<string, Relationship>
  posts: Map<string, ViewerPostState>
  /** rows of the appended branches (kinds of other modules) */
  other: ViewerStateRow[]
}

/** A row of the query (its own kinds use key and uri; appended branches may use post/reply). */
export type ViewerStateRow = { kind: string; key: string; uri: string | null; post: boolean | null; reply: boolean | null }

/**
 * The query's rows. Each row's key is one of `dids` or `uris` (the account or post it is
 * about), so answers can be kept per key (the read API's cache: row-source.ts).
 */
export async function getViewerStateRows(
  db: Db,
  viewer: string,
  dids: string[],
  uris: string[],
  /** whom the viewer follows, when the caller holds it (then not queried again) */
  follows?: Map<string, string>,
  /** union-all branches of other modules' viewer state, in the same round trip (ViewerStateRow columns) */
  branches: Array<RawBuilder<ViewerStateRow>> = [],
): Promise<ViewerStateRow[]> {
  if (dids.length === 0 && uris.length === 0) return []
  // Fixed SQL texts (each prepared once): with and without the viewer's own follows, and
  // with the same appended branches.
  const following = follows
    ? sql``
    : sql`select 'following'::text as kind, subject_did::text as key, uri::text, null::boolean as post, null::boolean as reply from (
      select distinct on (subject_did) subject_did, uri from follow
      where author_did = ${viewer} and subject_did = any(${dids}::text[])
      order by subject_did, sort_at desc) f
    union all`
  const appended = sql.join(branches.map((b) => sql`union all ${b}`), sql` `)
  const res = await sql<ViewerStateRow>`
    ${following}
    select 'followedBy'::text as kind, author_did::text as key, uri::text, null::boolean as post, null::boolean as reply from (
      select distinct on (author_did) author_did, uri from follow
      where subject_did = ${viewer} and author_did = any(${dids}::text[])
      order by author_did, sort_at desc) g
    union all
    select 'blocking', subject_did, min(uri), null, null from block
      where author_did = ${viewer} and subject_did = any(${dids}::text[]) group by subject_did
    union all
    select 'blockedBy', author_did, min(uri), null, null from block
      where subject_did = ${viewer} and author_did = any(${dids}::text[]) group by author_did
    union all
    select 'like', subject_uri, min(uri), null, null from "like"
      where author_did = ${viewer} and by_local and subject_uri = any(${uris}::text[]) group by subject_uri
    union all
    select 'repost', subject_uri, min(uri), null, null from repost
      where author_did = ${viewer} and by_local and subject_uri = any(${uris}::text[]) group by subject_uri
    ${appended}
  `.execute(db)
  return res.rows
}

/** Relationships and post states from the rows (`follows`: the viewer's, when held). */
export function viewerStateFromRows(rows: ViewerStateRow[], dids: string[], follows?: Map<string, string>): ViewerState {
  const out: ViewerState = { relationships: new Map(), posts: new Map(), other: [] }
  if (follows) {
    for (const did of dids) {
      const uri = follows.get(did)
      if (uri) out.relationships.set(did, { following: uri })
    }
  }
  for (const row of rows) {
    if (!OWN_KINDS.has(row.kind)) {
      out.other.push(row)
      continue
    }
    if (row.kind === 'like' || row.kind === 'repost') {
      const state = out.posts.get(row.key) ?? {}
      state[row.kind] = row.uri!
      out.posts.set(row.key, state)
      continue
    }
    const rel = out.relationships.get(row.key) ?? {}
    if (row.kind === 'following') rel.following = row.uri!
    else if (row.kind === 'followedBy') rel.followedBy = row.uri!
    else if (row.kind === 'blocking') rel.blocking = row.uri!
    else rel.blockedBy = true
    out.relationships.set(row.key, rel)
  }
  return out
}

const OWN_KINDS = new Set(['following', 'followedBy', 'blocking', 'blockedBy', 'like', 'repost'])
