// Thread shape: the chain of ancestors above a post and the reply tree below it, as URIs.
import { sql } from 'kysely'
import type { Db } from '../db/database.js'

/**
 * Ancestors of `uri`, nearest first: the parent URIs we can follow through stored posts.
 * The last entry may name a post we do not store (its URI comes from the child's reply ref).
 */
export async function getAncestorUris(db: Db, uri: string, maxHeight: number): Promise<string[]> {
  if (maxHeight <= 0) return []
  const res = await sql<{ parent: string | null; height: number }>`
    with recursive anc(uri, parent, height) as (
      select uri, reply_parent_uri, 0 from post where uri = ${uri}
      union all
      select p.uri, p.reply_parent_uri, anc.height + 1
      from anc join post p on p.uri = anc.parent
      where anc.height + 1 < ${maxHeight}
    )
    select parent, height from anc order by height`.execute(db)
  return res.rows.map((r) => r.parent).filter((p): p is string => !!p)
}

export interface DescendantRow {
  uri: string
  parent: string
  depth: number
}

/** Replies below `uri` to `maxDepth` levels (1 = direct replies), at most `maxCount` rows. */
export async function getDescendants(db: Db, uri: string, maxDepth: number, maxCount: number): Promise<DescendantRow[]> {
  if (maxDepth <= 0) return []
  const res = await sql<DescendantRow>`
    with recursive d(uri, parent, depth) as (
      select uri, reply_parent_uri, 1 from post where reply_parent_uri = ${uri}
      union all
      select p.uri, p.reply_parent_uri, d.depth + 1
      from d join post p on p.reply_parent_uri = d.uri
      where d.depth < ${maxDepth}
    )
    select uri, parent, depth from d order by depth limit ${maxCount}`.execute(db)
  return res.rows
}
