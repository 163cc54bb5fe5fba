// Actor reads: profile rows by DID or handle. Rows only; views are built elsewhere.
import { sql } from 'kysely'
import type { Db } from '../db/database.js'

export interface ActorRow {
  did: string
  handle: string | null
  display_name: string | null
  description: string | null
  avatar_cid: string | null
  banner_cid: string | null
  pinned_post_uri: string | null
  pinned_post_cid: string | null
  profile_record: unknown
  profile_created_at: Date | null
  followers_count: number
  follows_count: number
  posts_count: number
  status: string
  repo_rev: string | null
  indexed_at: Date
}

export async function getActors(db: Db, dids: string[]): Promise<ActorRow[]> {
  if (dids.length === 0) return []
  // one SQL text whatever the count (prepared once per connection, see read-db.ts)
  const res = await sql<ActorRow>`
    select did, handle, display_name, description, avatar_cid, banner_cid, pinned_post_uri,
      pinned_post_cid, profile_record, profile_created_at, followers_count, follows_count,
      posts_count, status, repo_rev, indexed_at
    from actor where did = any(${dids}::text[])`.execute(db)
  return res.rows
}

/** DIDs for handles we hold (verified handles only; the indexer stores nothing else). */
export async function getDidsByHandles(db: Db, handles: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  if (handles.length === 0) return out
  const lower = handles.map((h) => h.toLowerCase())
  const res = await sql<{ did: string; handle: string }>`
    select did, handle from actor where handle = any(${lower}::text[])`.execute(db)
  for (const r of res.rows) out.set(r.handle, r.did)
  return out
}
