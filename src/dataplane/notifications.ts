// Notification reads for a local user, from the `notification` table the indexer fills.
// Everything the recipient must not see is filtered here, in SQL, so pages stay full and the
// unread count agrees with the list: their own actions, accounts they mute or block (either
// direction), threads they muted, and reasons their notification preferences turn off
// (list:false) or restrict to accounts they follow (include:'follows').
//
// Besides the stored notifications, posts by accounts the user subscribed to (the profile
// bell, app.bsky.notification.putActivitySubscription) made after subscribing are listed as
// reason 'subscribed-post'. They are read from `post` (for accounts we track), carry a
// negative id derived from the post's uri, and page with the same (sort_at, id) cursor.
import { InvalidRequestError } from '@atproto/xrpc-server'
import { sql, type RawBuilder } from 'kysely'
import type { Db } from '../db/database.js'

export const NOTIFICATION_REASONS = ['like', 'repost', 'follow', 'mention', 'reply', 'quote', 'subscribed-post'] as const
const SUBSCRIBED_POST = 'subscribed-post'

export interface NotificationRow {
  id: string
  authorDid: string
  reason: string
  reasonSubject: string | null
  recordUri: string
  recordCid: string
  /** ISO with µs */
  sortKey: string
  indexedAt: Date
}

export interface NotificationFilter {
  /** only these reasons (listNotifications `reasons`) */
  reasons?: string[]
  /** preferences: reason → 'off' (list:false) or 'follows' (include:'follows') */
  perReason?: Record<string, 'off' | 'follows'>
}

interface Cursor {
  sortAt: string
  id: string
}

const SORT_AT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/

export function encodeNotificationCursor(row: NotificationRow): string {
  return Buffer.from(`${row.sortKey}::${row.id}`, 'utf8').toString('base64url')
}

function decodeNotificationCursor(cursor: string | undefined): Cursor | undefined {
  if (!cursor) return undefined
  const bad = () => new InvalidRequestError('cursor is malformed (pass back the cursor of the previous page)')
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw bad()
  const [sortAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('::')
  if (!sortAt || !id || !SORT_AT_RE.test(sortAt) || !/^-?\d{1,19}$/.test(id)) throw bad()
  return { sortAt, id }
}

/**
 * What the recipient never sees, computed once per query (small sets, hashed anti-joins):
 * accounts they mute (directly or on a muted list) or block or that block them, and the
 * posts of threads they muted
 * (the roots and every reply under them).
 */
function hiddenSets(recipient: string): RawBuilder<unknown> {
  return sql`
    with hidden_author as materialized (
      select subject_did as did from mute_actor where muter_did = ${recipient}
      union select subject_did from mute_list_member where muter_did = ${recipient}
      union select subject_did from block where author_did = ${recipient}
      union select author_did from block where subject_did = ${recipient}
    ), hidden_post as materialized (
      select root_uri as uri from mute_thread where muter_did = ${recipient}
      union select p.uri from mute_thread mt join post p on p.reply_root_uri = mt.root_uri
        where mt.muter_did = ${recipient}
    )`
}

/** The filters shared by the list and the unread count (n = notification). */
function visibleTo(recipient: string, filter: NotificationFilter): RawBuilder<unknown> {
  const reasons = filter.reasons?.length ? filter.reasons : null
  const off = Object.entries(filter.perReason ?? {})
    .filter(([, v]) => v === 'off')
    .map(([k]) => k)
  const followsOnly = Object.entries(filter.perReason ?? {})
    .filter(([, v]) => v === 'follows')
    .map(([k]) => k)
  return sql`
    n.recipient_did = ${recipient}
    and n.author_did <> ${recipient}
    ${reasons ? sql`and n.reason = any(${reasons}::text[])` : sql``}
    ${off.length ? sql`and n.reason <> all(${off}::text[])` : sql``}
    ${
      followsOnly.length
        ? sql`and (n.reason <> all(${followsOnly}::text[]) or exists (
            select 1 from follow f where f.author_did = ${recipient} and f.subject_did = n.author_did))`
        : sql``
    }
    and not exists (select 1 from hidden_author h where h.did = n.author_did)
    and not exists (select 1 from hidden_post h where h.uri = n.record_uri)
    and not exists (select 1 from hidden_post h where h.uri = n.reason_subject)`
}

/** Newest first, `limit + 1` rows (the caller pages with the extra one). */
export async function listNotificationRows(
  db: Db,
  recipient: string,
  limit: number,
  cursor: string | undefined,
  filter: NotificationFilter,
): Promise<NotificationRow[]> {
  const c = decodeNotificationCursor(cursor)
  const [stored, subscribed] = await Promise.all([
    sql<NotificationRow>`
      ${hiddenSets(recipient)}
      select n.id::text as "id", n.author_did as "authorDid", n.reason, n.reason_subject as "reasonSubject",
        n.record_uri as "recordUri", n.record_cid as "recordCid", n.indexed_at as "indexedAt",
        to_char(n.sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "sortKey"
      from notification n
      where ${visibleTo(recipient, filter)}
      ${c ? sql`and (n.sort_at, n.id) < (${c.sortAt}::timestamptz, ${c.id}::bigint)` : sql``}
      order by n.sort_at desc, n.id desc
      limit ${limit + 1}`.execute(db),
    wantsSubscribed(filter)
      ? sql<NotificationRow>`
          ${hiddenSets(recipient)}
          select p.id::text as "id", p.author_did as "authorDid", ${sql.lit(SUBSCRIBED_POST)} as reason, null as "reasonSubject",
            p.uri as "recordUri", p.cid as "recordCid", p.indexed_at as "indexedAt",
            to_char(p.sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "sortKey"
          from activity_subscription s
          cross join lateral (
            select ${SYNTHETIC_ID} as id, p.* from post p
            where ${subscribedPostVisible(recipient)}
              ${c ? sql`and (p.sort_at, ${SYNTHETIC_ID}) < (${c.sortAt}::timestamptz, ${c.id}::bigint)` : sql``}
            order by p.sort_at desc, p.uri desc
            limit ${limit + 1}
          ) p
          where s.subscriber_did = ${recipient}
          order by p.sort_at desc, p.id desc
          limit ${limit + 1}`.execute(db)
      : Promise.resolve({ rows: [] as NotificationRow[] }),
  ])
  // Merge the two newest-first lists by (sort_at, id) desc.
  return [...stored.rows, ...subscribed.rows]
    .sort((a, b) => (a.sortKey === b.sortKey ? compareIds(b.id, a.id) : a.sortKey < b.sortKey ? 1 : -1))
    .slice(0, limit + 1)
}

/** Notifications indexed after `seenAt` (all of them when never seen). */
export async function countUnread(db: Db, recipient: string, seenAt: Date | undefined, filter: NotificationFilter) {
  const [stored, subscribed] = await Promise.all([
    sql<{ n: string }>`
      ${hiddenSets(recipient)}
      select count(*)::text as n from notification n
      where ${visibleTo(recipient, filter)}
      ${seenAt ? sql`and n.indexed_at > ${seenAt}` : sql``}`.execute(db),
    wantsSubscribed(filter)
      ? sql<{ n: string }>`
          ${hiddenSets(recipient)}
          select count(*)::text as n from activity_subscription s
          join post p on ${subscribedPostVisible(recipient)}
          where s.subscriber_did = ${recipient}
          ${seenAt ? sql`and p.indexed_at > ${seenAt}` : sql``}`.execute(db)
      : Promise.resolve({ rows: [{ n: '0' }] }),
  ])
  return Number(stored.rows[0]?.n ?? 0) + Number(subscribed.rows[0]?.n ?? 0)
}

// A stable negative id per post uri, so subscribed posts page with the notifications' cursor
// without colliding with their (positive) ids.
const SYNTHETIC_ID = sql.raw(`(-(('x' || substr(md5(p.uri), 1, 15))::bit(60)::bigint) - 1)`)

function wantsSubscribed(filter: NotificationFilter): boolean {
  if (filter.reasons?.length && !filter.reasons.includes(SUBSCRIBED_POST)) return false
  return filter.perReason?.[SUBSCRIBED_POST] !== 'off'
}

/** p = a post by the subscribed account s, made after subscribing, of a kind asked for. */
function subscribedPostVisible(recipient: string): RawBuilder<unknown> {
  return sql`p.author_did = s.subject_did and p.sort_at > s.created_at and p.author_did <> ${recipient}
    and ((s.post and p.reply_parent_uri is null) or (s.reply and p.reply_parent_uri is not null))
    and not exists (select 1 from hidden_author h where h.did = p.author_did)
    and not exists (select 1 from hidden_post h where h.uri = p.uri)
    and not exists (select 1 from notification n where n.recipient_did = ${recipient} and n.record_uri = p.uri)`
}

function compareIds(a: string, b: string): number {
  const x = BigInt(a)
  const y = BigInt(b)
  return x === y ? 0 : x < y ? -1 : 1
}

/** The stored record behind each notification: posts as stored, likes/reposts/follows rebuilt. */
export async function getNotificationRecords(db: Db, rows: NotificationRow[]): Promise<Map<string, unknown>> {
  const byTable = (reason: string) =>
    rows.filter((r) => r.reason === reason).map((r) => r.recordUri)
  const postUris = rows.filter((r) => r.recordUri.includes('/app.bsky.feed.post/')).map((r) => r.recordUri)
  const likeUris = byTable('like')
  const repostUris = byTable('repost')
  const followUris = byTable('follow')
  const out = new Map<string, unknown>()
  await Promise.all([
    postUris.length &&
      db
        .selectFrom('post')
        .select(['uri', 'record'])
        .where('uri', 'in', postUris)
        .execute()
        .then((rs) => rs.forEach((r) => out.set(r.uri, r.record))),
    likeUris.length &&
      // subject_cid is stored for likes of local users' posts, i.e. for every like that
      // notifies (migrations/0100); the liked post's cid stands in should a row lack it.
      db
        .selectFrom('like as l')
        .leftJoin('post as p', (j) => j.onRef('p.uri', '=', 'l.subject_uri').on('l.subject_cid', 'is', null))
        .select(['l.uri', 'l.subject_uri', sql<string>`coalesce(l.subject_cid, p.cid)`.as('subject_cid'), 'l.created_at'])
        .where('l.uri', 'in', likeUris)
        .execute()
        .then((rs) =>
          rs.forEach((r) =>
            out.set(r.uri, {
              $type: 'app.bsky.feed.like',
              subject: { uri: r.subject_uri, cid: r.subject_cid },
              createdAt: r.created_at.toISOString(),
            }),
          ),
        ),
    repostUris.length &&
      db
        .selectFrom('repost')
        .select(['uri', 'subject_uri', 'subject_cid', 'created_at'])
        .where('uri', 'in', repostUris)
        .execute()
        .then((rs) =>
          rs.forEach((r) =>
            out.set(r.uri, {
              $type: 'app.bsky.feed.repost',
              subject: { uri: r.subject_uri, cid: r.subject_cid },
              createdAt: r.created_at.toISOString(),
            }),
          ),
        ),
    followUris.length &&
      db
        .selectFrom('follow')
        .select(['uri', 'subject_did', 'created_at'])
        .where('uri', 'in', followUris)
        .execute()
        .then((rs) =>
          rs.forEach((r) =>
            out.set(r.uri, { $type: 'app.bsky.graph.follow', subject: r.subject_did, createdAt: r.created_at.toISOString() }),
          ),
        ),
  ])
  return out
}
