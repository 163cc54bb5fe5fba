// Search over what this instance holds: accounts by handle / display-name prefix, posts by
// Postgres full-text search ('simple' configuration: no stemming, works for every language)
// plus the structured filters of searchPostsV2. Indexes: 0050_app_surface.sql.
import { InvalidRequestError } from '@atproto/xrpc-server'
import { sql, type RawBuilder } from 'kysely'
import type { Db } from '../db/database.js'
import { decodeCursor, encodeCursor } from './pagination.js'

/** LIKE pattern for "starts with `text`": wildcards in the text are matched literally. */
function prefixPattern(text: string): string {
  return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/** A search term as typed: trimmed, lower-case, without a leading @. */
export function normalizeActorTerm(q: string): string {
  return q.trim().replace(/^@/, '').toLowerCase()
}

/** A tsquery prefix term for the last word of `term` (letters and digits only). */
function wordPrefixQuery(term: string): string | undefined {
  const words = term.split(/[^\p{L}\p{N}]+/u).filter(Boolean)
  const last = words[words.length - 1]
  return last ? `${last}:*` : undefined
}

// Candidates per index branch: enough to rank well for a typeahead, bounded for a 1-letter
// prefix over a million actors.
const ACTOR_CANDIDATES = 500

/**
 * Accounts whose handle or display name (or a word of it) starts with `term`. Ranked:
 * accounts the viewer follows first, then exact handle, handle prefix, then by followers.
 * Each way of matching is its own indexed branch (handle prefix, display-name prefix,
 * display-name word prefix, the viewer's follows), bounded, then ranked together.
 * Offset-paged (the ranking is not a stable key).
 */
export async function searchActorDids(
  db: Db,
  term: string,
  viewer: string | null,
  limit: number,
  offset: number,
): Promise<string[]> {
  if (!term) return []
  const prefix = prefixPattern(term)
  const words = wordPrefixQuery(term)
  const matches = sql`(lower(a.handle) like ${prefix} or lower(a.display_name) like ${prefix}
    ${words ? sql`or to_tsvector('simple', coalesce(a.display_name, '')) @@ to_tsquery('simple', ${words})` : sql``})`
  const cap = Math.max(ACTOR_CANDIDATES, offset + limit)
  const res = await sql<{ did: string }>`
    with candidate as (
      (select did from actor where lower(handle) like ${prefix} limit ${cap})
      union (select did from actor where lower(display_name) like ${prefix} limit ${cap})
      ${words ? sql`union (select did from actor where to_tsvector('simple', coalesce(display_name, '')) @@ to_tsquery('simple', ${words}) limit ${cap})` : sql``}
      ${viewer ? sql`union (select subject_did from follow where author_did = ${viewer})` : sql``}
    )
    select a.did from candidate c join actor a on a.did = c.did
    where a.status = 'active' and ${matches}
    order by
      ${viewer ? sql`exists (select 1 from follow f where f.author_did = ${viewer} and f.subject_did = a.did) desc,` : sql``}
      (lower(a.handle) = ${term}) desc,
      (lower(a.handle) like ${prefix}) desc,
      a.followers_count desc,
      a.did
    limit ${limit} offset ${offset}`.execute(db)
  return res.rows.map((r) => r.did)
}

export interface PostSearch {
  query?: string
  sort: 'recent' | 'top'
  authors?: string[]
  excludeAuthors?: string[]
  mentions?: string[]
  excludeMentions?: string[]
  hashtags?: string[]
  excludeHashtags?: string[]
  languages?: string[]
  excludeLanguages?: string[]
  domains?: string[]
  excludeDomains?: string[]
  urls?: string[]
  excludeUrls?: string[]
  embeddedAtUris?: string[]
  excludeEmbeddedAtUris?: string[]
  since?: Date
  until?: Date
  hasMedia?: boolean
  hasVideo?: boolean
  replyParentUri?: string
  threadRootUri?: string
  excludeReplies?: boolean
  repliesOnly?: boolean
  /** only authors this DID follows */
  followedBy?: string
}

export interface PostSearchPage {
  uris: string[]
  cursor?: string
}

// Links of a post: facet link URIs and the external embed (also inside recordWithMedia).
const LINKS = sql.raw(`(
  select coalesce(array_agg(l), '{}') from (
    select jsonb_path_query(p.record, 'strict $.facets[*].features[*] ? (@."$type" == "app.bsky.richtext.facet#link").uri') #>> '{}' as l
    union all select p.record #>> '{embed,external,uri}'
    union all select p.record #>> '{embed,media,external,uri}'
  ) x where l is not null)`)
const MENTIONS = sql.raw(`(
  select coalesce(array_agg(d), '{}') from (
    select jsonb_path_query(p.record, 'strict $.facets[*].features[*] ? (@."$type" == "app.bsky.richtext.facet#mention").did') #>> '{}' as d
  ) x)`)
const TAGS = sql.raw(`(
  select coalesce(array_agg(lower(t)), '{}') from (
    select jsonb_path_query(p.record, 'strict $.facets[*].features[*] ? (@."$type" == "app.bsky.richtext.facet#tag").tag') #>> '{}' as t
    union all select jsonb_array_elements_text(case when jsonb_typeof(p.record->'tags') = 'array' then p.record->'tags' else '[]' end)
  ) x)`)

function conditions(s: PostSearch): RawBuilder<unknown>[] {
  const c: RawBuilder<unknown>[] = []
  const any = (xs?: string[]) => (xs && xs.length > 0 ? xs : undefined)
  if (s.query) c.push(sql`to_tsvector('simple', p.record->>'text') @@ websearch_to_tsquery('simple', ${s.query})`)
  if (any(s.authors)) c.push(sql`p.author_did = any(${s.authors}::text[])`)
  if (any(s.excludeAuthors)) c.push(sql`p.author_did <> all(${s.excludeAuthors}::text[])`)
  if (any(s.mentions)) c.push(sql`${MENTIONS} && ${s.mentions}::text[]`)
  if (any(s.excludeMentions)) c.push(sql`not (${MENTIONS} && ${s.excludeMentions}::text[])`)
  if (any(s.hashtags)) c.push(sql`${TAGS} && ${s.hashtags!.map((t) => t.toLowerCase())}::text[]`)
  if (any(s.excludeHashtags)) c.push(sql`not (${TAGS} && ${s.excludeHashtags!.map((t) => t.toLowerCase())}::text[])`)
  // langs live in the record (migrations/0100): ?| is "any of these strings is an element".
  if (any(s.languages)) c.push(sql`(p.record->'langs') ?| ${s.languages}::text[]`)
  if (any(s.excludeLanguages)) c.push(sql`not coalesce((p.record->'langs') ?| ${s.excludeLanguages}::text[], false)`)
  if (any(s.urls)) c.push(sql`${LINKS} && ${s.urls}::text[]`)
  if (any(s.excludeUrls)) c.push(sql`not (${LINKS} && ${s.excludeUrls}::text[])`)
  const hosts = (xs?: string[]) => xs?.map((d) => d.toLowerCase().replace(/^www\./, ''))
  const linkHosts = sql`(select coalesce(array_agg(regexp_replace(lower(substring(u from '^[a-zA-Z]+://([^/:?#]+)')), '^www\\.', '')), '{}') from unnest(${LINKS}) u)`
  if (any(s.domains)) c.push(sql`${linkHosts} && ${hosts(s.domains)}::text[]`)
  if (any(s.excludeDomains)) c.push(sql`not (${linkHosts} && ${hosts(s.excludeDomains)}::text[])`)
  if (any(s.embeddedAtUris)) c.push(sql`p.embed_record_uri = any(${s.embeddedAtUris}::text[])`)
  if (any(s.excludeEmbeddedAtUris)) {
    c.push(sql`(p.embed_record_uri is null or p.embed_record_uri <> all(${s.excludeEmbeddedAtUris}::text[]))`)
  }
  if (s.since) c.push(sql`p.sort_at >= ${s.since}`)
  if (s.until) c.push(sql`p.sort_at < ${s.until}`)
  if (s.hasMedia) c.push(sql`p.embed_kind in ('images', 'video', 'recordWithMedia')`)
  if (s.hasVideo) c.push(sql`(p.embed_kind = 'video' or p.record #>> '{embed,media,$type}' = 'app.bsky.embed.video')`)
  if (s.replyParentUri) c.push(sql`p.reply_parent_uri = ${s.replyParentUri}`)
  if (s.threadRootUri) c.push(sql`(p.reply_root_uri = ${s.threadRootUri} or p.uri = ${s.threadRootUri})`)
  if (s.excludeReplies) c.push(sql`p.reply_parent_uri is null`)
  if (s.repliesOnly) c.push(sql`p.reply_parent_uri is not null`)
  if (s.followedBy) {
    c.push(sql`exists (select 1 from follow f where f.author_did = ${s.followedBy} and f.subject_did = p.author_did)`)
  }
  return c
}

/** Is there anything to search for? (searchPostsV2: "a query or at least one filter") */
export function hasCriteria(s: PostSearch): boolean {
  return conditions({ ...s, sort: 'recent' }).length > 0
}

export async function searchPostUris(db: Db, s: PostSearch, limit: number, cursor?: string): Promise<PostSearchPage> {
  const where = conditions(s)
  if (where.length === 0) throw new InvalidRequestError('A query or at least one filter is required', 'BadQueryString')
  const cond = sql.join(
    [sql`a.status = 'active'`, ...where],
    sql` and `,
  )
  if (s.sort === 'top') {
    const offset = decodeOffset(cursor)
    const res = await sql<{ uri: string }>`
      select p.uri from post p join actor a on a.did = p.author_did
      where ${cond}
      order by (p.like_count + 2 * p.repost_count + p.reply_count + p.quote_count) desc, p.sort_at desc, p.uri desc
      limit ${limit + 1} offset ${offset}`.execute(db)
    const uris = res.rows.map((r) => r.uri)
    return {
      uris: uris.slice(0, limit),
      cursor: uris.length > limit ? Buffer.from(`top::${offset + limit}`).toString('base64url') : undefined,
    }
  }
  const keyset = decodeCursor(cursor)
  const after = keyset ? sql`and (p.sort_at, p.uri) < (${keyset.sortAt}::timestamptz, ${keyset.uri})` : sql``
  const rows =
    (s.query ? await recentFromMatches(db, s, after, limit) : undefined) ??
    (
      await sql<{ uri: string; sortKey: string }>`
        select p.uri, ${SORT_KEY} as "sortKey"
        from post p join actor a on a.did = p.author_did
        where ${cond} ${after}
        order by p.sort_at desc, p.uri desc
        limit ${limit + 1}`.execute(db)
    ).rows
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return {
    uris: page.map((r) => r.uri),
    cursor: rows.length > limit && last ? encodeCursor({ sortAt: last.sortKey, uri: last.uri }) : undefined,
  }
}

const SORT_KEY = sql.raw(`to_char(p.sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`)

/**
 * Newest matches of a text query, the way that is fast for it. A rare query (at most
 * max(5,000, 0.5% of posts) matches) takes every match from the full-text index and sorts
 * them; a common one walks the recency index backwards and stops after a page, which finds
 * a page within about 200 rows per hit. Undefined = common: the caller walks the index.
 * (Left to itself the planner walks the recency index for rare combinations too, testing
 * every post it passes: seconds instead of milliseconds.)
 */
async function recentFromMatches(
  db: Db,
  s: PostSearch,
  after: RawBuilder<unknown>,
  limit: number,
): Promise<Array<{ uri: string; sortKey: string }> | undefined> {
  return db.transaction().execute(async (tx) => {
    // Only bitmap scans: the full-text GIN index, and primary keys for the joins.
    await sql`set local enable_seqscan = off`.execute(tx)
    await sql`set local enable_indexscan = off`.execute(tx)
    const est = await sql<{ n: string }>`select greatest(reltuples, 0)::bigint::text as n from pg_class where oid = 'post'::regclass`.execute(tx)
    const cap = Math.max(5_000, Math.floor(Number(est.rows[0]?.n ?? 0) * 0.005))
    const count = await sql<{ n: number }>`
      select count(*)::int as n from (
        select 1 from post p where to_tsvector('simple', p.record->>'text') @@ websearch_to_tsquery('simple', ${s.query})
        limit ${cap + 1}) x`.execute(tx)
    if ((count.rows[0]?.n ?? 0) > cap) return undefined
    const rest = conditions({ ...s, query: undefined })
    const res = await sql<{ uri: string; sortKey: string }>`
      with m as materialized (
        select p.uri from post p where to_tsvector('simple', p.record->>'text') @@ websearch_to_tsquery('simple', ${s.query})
      )
      select p.uri, ${SORT_KEY} as "sortKey"
      from m join post p on p.uri = m.uri join actor a on a.did = p.author_did
      where ${sql.join([sql`a.status = 'active'`, ...rest], sql` and `)} ${after}
      order by p.sort_at desc, p.uri desc
      limit ${limit + 1}`.execute(tx)
    return res.rows
  })
}

function decodeOffset(cursor: string | undefined): number {
  if (!cursor) return 0
  const text = /^[A-Za-z0-9_-]{1,40}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : ''
  const m = /^top::(\d{1,6})$/.exec(text)
  if (!m) throw new InvalidRequestError('cursor is malformed (pass back the cursor of the previous page)')
  return Number(m[1])
}

/** Offset cursors for actor search. */
export function encodeOffsetCursor(offset: number): string {
  return Buffer.from(`actors::${offset}`).toString('base64url')
}

export function decodeOffsetCursor(cursor: string | undefined): number {
  if (!cursor) return 0
  const text = /^[A-Za-z0-9_-]{1,40}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : ''
  const m = /^actors::(\d{1,6})$/.exec(text)
  if (!m) throw new InvalidRequestError('cursor is malformed (pass back the cursor of the previous page)')
  return Number(m[1])
}

/** since/until: a datetime or an ISO date; anything else is the caller's mistake. */
export function parseSearchTime(name: string, value: string | undefined): Date | undefined {
  if (!value) return undefined
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value)
  if (Number.isNaN(d.getTime())) throw new InvalidRequestError(`${name} must be a datetime or a date (YYYY-MM-DD)`)
  return d
}
