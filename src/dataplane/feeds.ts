// Feed skeletons: (item uri, post uri, who put it in the feed, sort key), newest first.
// Nothing here knows about views; hydration turns these into feedViewPosts.
import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { type KeysetCursor, keysetAfter } from './pagination.js'
import type { RepostRow } from './posts.js'
import type { AccountRange, TimelineCache } from '../hydration/timeline-cache.js'

export interface FeedItemRow {
  /** the repost record itself, when the skeleton read it anyway (the timeline does) */
  repost?: RepostRow
  /** the feed item's own uri: the post's, or the repost record's */
  uri: string
  type: 'post' | 'repost'
  postUri: string
  originatorDid: string
  sortKey: string
}

const FEED_ITEM_KEY = sql.raw(`to_char(fi.sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`)

/**
 * The Following timeline, fan-out-on-read: the newest `limit + 1` feed items of the viewer
 * and everyone the viewer follows, older than the cursor.
 *
 * Each followed account contributes keys from its own index range (originator_did, sort_at
 * desc, uri desc), read index-only; the merge keeps the newest and only those rows are read
 * from the table. To keep each range short, the ranges are first cut to a time window below
 * the cursor (or now): when the window holds at least `limit + 1` items they are exactly the
 * newest ones (everything outside is older), otherwise the window grows ×4 and, past the
 * horizon, goes away. The window that sufficed is remembered per viewer, so a request
 * usually takes one round. See docs/BENCHMARKS.md for the numbers and the choice of
 * fan-out-on-read over a materialised per-user timeline.
 */
export async function getTimelineSkeleton(
  db: Db,
  viewer: string,
  limit: number,
  cursor?: KeysetCursor,
  sources?: TimelineSources,
): Promise<FeedItemRow[]> {
  if (sources?.pages) {
    const follows = await sources.follows(db, viewer)
    return sources.pages.read(viewer, follows, limit, cursor, {
      page: (l, c) => queryTimeline(db, viewer, l, c, sources),
      accountsSince: (ranges) => getAccountItemsSince(db, ranges),
    })
  }
  return queryTimeline(db, viewer, limit, cursor, sources)
}

/** The skeleton query itself (see getTimelineSkeleton). */
async function queryTimeline(
  db: Db,
  viewer: string,
  limit: number,
  cursor?: KeysetCursor,
  sources?: TimelineSources,
): Promise<FeedItemRow[]> {
  const upper = cursor ? Date.parse(cursor.sortAt) : Date.now()
  // With the sources in memory, accounts whose newest item is older than the window are not
  // searched at all (the bound is an upper bound: an account it skips has nothing there).
  let accounts: string[] | undefined
  let newest: Map<string, number | null> | undefined
  if (sources) {
    accounts = [viewer, ...(await sources.follows(db, viewer)).keys()].filter((d, i) => i === 0 || d !== viewer)
    newest = await sources.newest(db, accounts)
  }
  let windowMs = windowHints.get(viewer) ?? FIRST_WINDOW_MS
  for (;;) {
    const fromMs = windowMs >= MAX_WINDOW_MS ? undefined : upper - windowMs
    const from = fromMs === undefined ? undefined : new Date(fromMs).toISOString()
    const rows =
      accounts && newest
        ? await timelineRound(db, { accounts: activeSince(accounts, newest, fromMs) }, limit, cursor, from)
        : await timelineRound(db, { viewer }, limit, cursor, from)
    if (rows.length > limit || from === undefined) {
      rememberWindow(viewer, windowMs)
      return rows
    }
    windowMs *= 4
  }
}

/**
 * Every feed item of each account with key >= its `since` (all of them without one): what
 * the timeline cache rereads for accounts whose items changed (one index range each).
 */
export async function getAccountItemsSince(db: Db, ranges: AccountRange[]): Promise<FeedItemRow[]> {
  if (ranges.length === 0) return []
  const res = await sql<TimelineRow>`
    with top as (
      select fi.sort_at, fi.uri, fi.originator_did as originator
      from unnest(${ranges.map((r) => r.account)}::text[], ${ranges.map((r) => r.since?.sortAt ?? null)}::timestamptz[],
        ${ranges.map((r) => r.since?.uri ?? null)}::text[]) a(did, since_at, since_uri)
      cross join lateral (
        select sort_at, uri, originator_did from feed_item
        where originator_did = a.did
          and (sort_at, uri) >= (coalesce(a.since_at, '-infinity'::timestamptz), coalesce(a.since_uri, ''))
      ) fi
    )
    ${withItemDetails}`.execute(db)
  return res.rows.map(withRepostRow)
}

/**
 * What the timeline reads from memory when the read API caches it (src/hydration/row-source.ts;
 * kept current by row-change notifications, migrations/0091).
 */
export interface TimelineSources {
  /** whom `viewer` follows: subject DID → uri of the newest follow record */
  follows(db: Db, viewer: string): Promise<Map<string, string>>
  /** per account, an upper bound of its newest feed item's sort_at in ms (null: none) */
  newest(db: Db, dids: string[]): Promise<Map<string, number | null>>
  /** viewers' newest items held in memory (src/hydration/timeline-cache.ts) */
  pages?: Pick<TimelineCache, 'read'>
}

/** Accounts that may have an item at or after `fromMs` (all that have any, without a window). */
function activeSince(accounts: string[], newest: Map<string, number | null>, fromMs: number | undefined): string[] {
  return accounts.filter((did) => {
    const n = newest.get(did)
    if (n === null) return false
    // a Date keeps ms, sort_at µs: the item may be up to 1 ms newer than the bound says
    return n === undefined || fromMs === undefined || n + 1 >= fromMs
  })
}

/** Whom `viewer` follows (the newest follow record per subject). */
export async function getFollowsOf(db: Db, viewer: string): Promise<Map<string, string>> {
  const res = await sql<{ subject_did: string; uri: string }>`
    select distinct on (subject_did) subject_did, uri from follow
    where author_did = ${viewer} order by subject_did, sort_at desc`.execute(db)
  return new Map(res.rows.map((r) => [r.subject_did, r.uri]))
}

/** Each account's newest feed item time (ms), null when it has none: one index probe each. */
export async function getNewestItemTimes(db: Db, dids: string[]): Promise<Map<string, number | null>> {
  const res = await sql<{ did: string; newest: Date | null }>`
    select d as did, (select max(sort_at) from feed_item where originator_did = d) as newest
    from unnest(${dids}::text[]) d`.execute(db)
  return new Map(res.rows.map((r) => [r.did, r.newest ? r.newest.getTime() : null]))
}

const FIRST_WINDOW_MS = 6 * 3_600_000
/** past this the window is dropped (the whole history is searched) */
const MAX_WINDOW_MS = 400 * 24 * 3_600_000
const windowHints = new Map<string, number>()

function rememberWindow(viewer: string, windowMs: number) {
  windowHints.delete(viewer)
  if (windowHints.size >= 10_000) windowHints.delete(windowHints.keys().next().value!)
  windowHints.set(viewer, Math.min(windowMs, MAX_WINDOW_MS))
}

/**
 * Whose items a round merges: the viewer and everyone it follows (read in the query), or a
 * given list (the accounts that may have items in the window, from memory).
 */
type Sources = { viewer: string } | { accounts: string[] }

async function timelineRound(db: Db, sources: Sources, limit: number, cursor: KeysetCursor | undefined, from?: string) {
  if ('accounts' in sources && sources.accounts.length === 0) return []
  const followed =
    'accounts' in sources
      ? sql`select unnest(${sources.accounts}::text[]) as did`
      : sql`select ${sources.viewer}::text as did union select subject_did from follow where author_did = ${sources.viewer}`
  const window = from ? sql`and sort_at >= ${from}::timestamptz` : sql``
  // the winners' details: see withItemDetails
  const res = await sql<TimelineRow>`
    with followed as (${followed}), top as (
      select k.sort_at, k.uri, f.did as originator
      from followed f
      cross join lateral (
        select sort_at, uri from feed_item
        where originator_did = f.did ${window} ${keysetAfter(cursor)}
        order by sort_at desc, uri desc
        limit ${limit + 1}
      ) k
      order by k.sort_at desc, k.uri desc
      limit ${limit + 1}
    )
    ${withItemDetails}`.execute(db)
  return res.rows.map(withRepostRow)
}


const TOP_KEY = sql.raw(`to_char(top.sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`)

/**
 * The outer select over a `top` (sort_at, uri, originator) set: item type, post and the
 * repost row. The winners come straight from the index (uri, sort key, and the account whose
 * range it is: the originator), so no feed_item row is read for them. A post item shows
 * itself; a repost item shows its subject, read from the repost row (only reposts probe it:
 * the uri test is a one-time filter because the lateral subquery is kept whole by `offset 0`).
 * The indexer writes feed_item.post_uri = the repost's subject for reposts (null for posts:
 * they show their own uri), with the repost row in one statement; the feed_item fallback only serves a repost
 * item whose row is somehow missing.
 */
const withItemDetails = sql`
    select top.uri,
      case when r.subject_uri is not null then 'repost' else coalesce(fb.type, 'post') end as type,
      coalesce(r.subject_uri, fb.post_uri, top.uri) as "postUri",
      top.originator as "originatorDid", ${TOP_KEY} as "sortKey",
      r.cid as r_cid, r.author_did as r_author_did, r.subject_cid as r_subject_cid,
      r.created_at as r_created_at, r.indexed_at as r_indexed_at, r.sort_at as r_sort_at
    from top
    left join lateral (
      select subject_uri, cid, author_did, subject_cid, created_at, indexed_at, sort_at from repost
      where position('/app.bsky.feed.repost/' in top.uri) > 0 and repost.uri = top.uri
      offset 0
    ) r on true
    left join lateral (
      select type, post_uri from feed_item
      where r.subject_uri is null and position('/app.bsky.feed.repost/' in top.uri) > 0 and feed_item.uri = top.uri
      offset 0
    ) fb on true
    order by top.sort_at desc, top.uri desc`

type TimelineRow = Omit<FeedItemRow, 'repost'> & {
  r_cid: string | null
  r_author_did: string | null
  r_subject_cid: string | null
  r_created_at: Date | null
  r_indexed_at: Date | null
  r_sort_at: Date | null
}

/** The timeline reads each repost item's row to find its subject; hydration reuses it. */
function withRepostRow(row: TimelineRow): FeedItemRow {
  const { r_cid, r_author_did, r_subject_cid, r_created_at, r_indexed_at, r_sort_at, ...item } = row
  if (item.type !== 'repost' || r_cid === null) return item
  return {
    ...item,
    repost: {
      uri: item.uri,
      cid: r_cid,
      author_did: r_author_did!,
      subject_uri: item.postUri,
      subject_cid: r_subject_cid!,
      created_at: r_created_at!,
      indexed_at: r_indexed_at!,
      sort_at: r_sort_at!,
    },
  }
}


export type AuthorFeedFilter =
  | 'posts_with_replies'
  | 'posts_no_replies'
  | 'posts_with_media'
  | 'posts_and_author_threads'
  | 'posts_with_video'

/**
 * An author's posts and reposts, newest first, narrowed by the app's profile-tab filters:
 *   posts_with_replies        everything (posts, replies, reposts)
 *   posts_no_replies          posts that are not replies, and reposts
 *   posts_and_author_threads  as above plus replies in threads the author started
 *   posts_with_media          own posts with images (or media beside a quote)
 *   posts_with_video          own posts with a video
 */
export async function getAuthorFeedSkeleton(
  db: Db,
  did: string,
  filter: AuthorFeedFilter,
  limit: number,
  cursor?: KeysetCursor,
): Promise<FeedItemRow[]> {
  let where
  switch (filter) {
    case 'posts_with_replies':
      where = sql``
      break
    case 'posts_no_replies':
      where = sql`and (fi.type = 'repost' or p.reply_parent_uri is null)`
      break
    case 'posts_and_author_threads':
      where = sql`and (fi.type = 'repost' or p.reply_root_uri is null or p.reply_root_uri like ${`at://${did}/%`})`
      break
    case 'posts_with_media':
      where = sql`and fi.type = 'post' and (p.embed_kind = 'images' or (p.embed_kind = 'recordWithMedia'
        and p.record->'embed'->'media'->>'$type' = 'app.bsky.embed.images'))`
      break
    case 'posts_with_video':
      where = sql`and fi.type = 'post' and (p.embed_kind = 'video' or (p.embed_kind = 'recordWithMedia'
        and p.record->'embed'->'media'->>'$type' = 'app.bsky.embed.video'))`
      break
  }
  const res = await sql<FeedItemRow>`
    select fi.uri, fi.type, coalesce(fi.post_uri, fi.uri) as "postUri", fi.originator_did as "originatorDid",
      ${FEED_ITEM_KEY} as "sortKey"
    from feed_item fi
    left join post p on p.uri = fi.uri and fi.type = 'post'
    where fi.originator_did = ${did} ${keysetAfter(cursor, 'fi')} ${where}
    order by fi.sort_at desc, fi.uri desc
    limit ${limit + 1}`.execute(db)
  return res.rows
}
