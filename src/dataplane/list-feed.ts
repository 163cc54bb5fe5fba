// A list feed's skeleton: posts by the list's members that this instance stores, newest
// first, keyset-paged (sort_at, uri). One index range per member (feed_item's
// originator_did, sort_at index), merged.
import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import type { FeedItemRow } from './feeds.js'
import { type KeysetCursor, keysetAfter } from './pagination.js'

export async function getListFeedSkeleton(
  db: Db,
  members: string[],
  limit: number,
  cursor?: KeysetCursor,
): Promise<FeedItemRow[]> {
  if (members.length === 0) return []
  const res = await sql<FeedItemRow>`
    select fi.uri, fi.type, coalesce(fi.post_uri, fi.uri) as "postUri", fi.originator_did as "originatorDid",
      to_char(fi.sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "sortKey"
    from unnest(${members}::text[]) m(did)
    cross join lateral (
      select * from feed_item f
      where f.originator_did = m.did and f.type = 'post' ${keysetAfter(cursor, 'f')}
      order by f.sort_at desc, f.uri desc
      limit ${limit + 1}
    ) fi
    order by fi.sort_at desc, fi.uri desc
    limit ${limit + 1}`.execute(db)
  return res.rows
}
