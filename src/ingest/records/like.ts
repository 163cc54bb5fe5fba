// app.bsky.feed.like: a row per like, the subject post's like_count, a notification for a
// local user whose post was liked. Not every like the filter lets through is stored: see
// the storage policy below (keptWithoutLookup + wantedSql, the one place that decides).
import { sql, type RawBuilder } from 'kysely'
import { collectionOfUri, didOfUri } from './subjects.js'
import {
  BULK_NOT_TOMBSTONED,
  BY_LOCAL,
  baseColumns,
  deleteNotifications,
  findStoredIn,
  insertNotifications,
  lockPostCounters,
  notTombstoned,
  removeSubjectRecords,
  revAllowsRemoval,
  times,
  type IndexEnv,
  type NotificationInput,
  type RecordProcessor,
  type WriteInput,
} from './processor.js'

interface StrongRef {
  uri: string
  cid: string
}

const subjectOf = (input: WriteInput) => input.record.subject as StrongRef

/**
 * Storage policy for likes (most of the stream, and most of the bytes). The live filter keeps
 * every like by a tracked author, but a like is only ever shown or counted through:
 *   - its author, when a local user (viewer.like, getActorLikes: only the viewer's own),
 *   - its subject's author, when a local user (notifications, like counts of their posts),
 *   - its subject's row: like_count and getLikes of a post we store, likeCount of a feed
 *     generator or other non-post record (kept: rare, and counted from this table).
 * So a like by a tracked, non-local author of a post that is neither stored nor by a tracked
 * or local author is dropped: no view can show it. Posts by tracked authors count as "will be
 * stored" (a backfill may still be on its way to them), so their counts do not depend on
 * timing. Likes by untracked authors are kept: the live filter passes them only when they
 * touch a local user, and other callers of the indexer chose them.
 * The part decidable in memory is computed here; the stored-post and tracked-DID lookups run
 * in SQL (`wantedSql`), in the same transaction that would insert the row.
 */
function keptWithoutLookup(input: WriteInput, env: IndexEnv): boolean {
  const subject = subjectOf(input)
  if (env.isLocalUser(input.did)) return true
  const subjectDid = didOfUri(subject.uri)
  if (subjectDid !== undefined && env.isLocalUser(subjectDid)) return true
  return collectionOfUri(subject.uri) !== 'app.bsky.feed.post'
}

/**
 * The whole policy in SQL: the in-memory answer, else the lookups (the author is not tracked,
 * the subject post is stored, its author is tracked). The subject's counter lock is already
 * held, so a post committed by a concurrent transaction is seen here.
 */
function wantedSql(
  kept: RawBuilder<unknown>,
  authorDid: RawBuilder<unknown>,
  subjectUri: RawBuilder<unknown>,
  subjectDid: RawBuilder<unknown>,
) {
  // `offset 0` keeps each lookup a probe of its primary key per row: without it the planner
  // may hash whole tables for a large batch (tracked_did twice, post once: seq scans of every
  // row per batch, ~10 ms at 50,000 tracked DIDs, more as post grows; seen with auto_explain).
  return sql`(${kept}
    or not exists (select 1 from tracked_did ta where ta.did = ${authorDid} offset 0)
    or exists (select 1 from post p where p.uri = ${subjectUri} offset 0)
    or exists (select 1 from tracked_did ts where ts.did = ${subjectDid} offset 0))`
}

/**
 * subject_cid is read only to rebuild the like record of a notification, and a like notifies
 * only the local author of its subject: stored for those likes, null for the rest
 * (migrations/0100). Decided from local_user in the inserting statement, like BY_LOCAL.
 */
const SUBJECT_CID = (cid: RawBuilder<unknown>, subjectDid: RawBuilder<unknown>) =>
  sql`case when exists (select 1 from local_user lu where lu.did = ${subjectDid}) then ${cid} end`

export const likeProcessor: RecordProcessor = {
  collection: 'app.bsky.feed.like',

  findStored: (tx, uri) => findStoredIn(tx, 'like', uri),

  notify(input): NotificationInput[] {
    const subject = subjectOf(input)
    const recipient = didOfUri(subject.uri)
    return recipient ? [{ recipient, reason: 'like', reasonSubject: subject.uri }] : []
  },

  async insert(tx, input, env) {
    const subject = subjectOf(input)
    await lockPostCounters(tx, [subject.uri])
    const t = times(input)
    const wanted = wantedSql(
      sql`${keptWithoutLookup(input, env)}::boolean`,
      sql`${input.did}::text`,
      sql`${subject.uri}::text`,
      sql`${didOfUri(subject.uri) ?? null}::text`,
    )
    // One round trip: likes are most of the stream.
    const { rows } = await sql<{ n: number }>`
      with ins as (
        insert into "like" (uri, author_did, rev, subject_uri, subject_cid, created_at, indexed_at, sort_at, by_local)
        select ${input.uri}, ${input.did}, ${input.rev}, ${subject.uri},
               ${SUBJECT_CID(sql`${subject.cid}::text`, sql`${didOfUri(subject.uri) ?? null}::text`)},
               ${t.createdAt}, ${t.indexedAt}, ${t.sortAt}, ${BY_LOCAL(sql`${input.did}::text`)}
        where ${notTombstoned(input.uri, input.rev)} and ${wanted}
        on conflict (uri) do nothing
        returning subject_uri
      ), counted as (
        update post set like_count = like_count + 1 where uri = (select subject_uri from ins)
      ), author as (
        insert into actor (did) select ${input.did} from ins on conflict (did) do nothing
      )
      select count(*)::int as n from ins
    `.execute(tx)
    if (rows[0]!.n === 0) return false
    await insertNotifications(tx, input, this.notify!(input), env)
    return true
  },

  async insertMany(tx, inputs, env) {
    await lockPostCounters(tx, inputs.map((x) => subjectOf(x).uri))
    const c = baseColumns(inputs)
    const { rows } = await sql<{ uri: string }>`
      with i as (
        select * from unnest(
          ${c.uris}::text[], ${c.dids}::text[], ${c.revs}::text[],
          ${inputs.map((x) => subjectOf(x).uri)}::text[], ${inputs.map((x) => subjectOf(x).cid)}::text[],
          ${c.createdAt}::timestamptz[], ${c.indexedAt}::timestamptz[], ${c.sortAt}::timestamptz[],
          ${inputs.map((x) => keptWithoutLookup(x, env))}::boolean[],
          ${inputs.map((x) => didOfUri(subjectOf(x).uri) ?? null)}::text[]
        ) as t(uri, author_did, rev, subject_uri, subject_cid, created_at, indexed_at, sort_at, kept, subject_did)
      ), ins as (
        insert into "like" (uri, author_did, rev, subject_uri, subject_cid, created_at, indexed_at, sort_at, by_local)
        select i.uri, i.author_did, i.rev, i.subject_uri, ${SUBJECT_CID(sql`i.subject_cid`, sql`i.subject_did`)},
               i.created_at, i.indexed_at, i.sort_at,
               ${BY_LOCAL(sql`i.author_did`)}
        from i where ${BULK_NOT_TOMBSTONED} and ${wantedSql(sql`i.kept`, sql`i.author_did`, sql`i.subject_uri`, sql`i.subject_did`)}
        on conflict (uri) do nothing
        returning uri, author_did, subject_uri
      ), counted as (
        -- = any(array(…)) keeps this an index lookup whatever the planner guesses of ins.
        update post p set like_count = p.like_count + c.n
        from (select subject_uri, count(*)::int as n from ins group by subject_uri) c
        where p.uri = c.subject_uri and p.uri = any(array(select subject_uri from ins))
      ), authors as (
        insert into actor (did) select distinct author_did from ins on conflict (did) do nothing
      )
      select uri from ins
    `.execute(tx)
    return new Set(rows.map((r) => r.uri))
  },

  removeMany: (tx, targets) => removeSubjectRecords(tx, 'like', 'like_count', targets),

  async remove(tx, uri, _did, rev) {
    const stored = await tx.selectFrom('like').select('subject_uri').where('uri', '=', uri).executeTakeFirst()
    if (!stored) return false
    await lockPostCounters(tx, [stored.subject_uri])
    const { rows } = await sql<{ n: number }>`
      with del as (
        delete from "like" where uri = ${uri} and ${revAllowsRemoval(rev)} returning subject_uri
      ), counted as (
        update post set like_count = greatest(like_count - 1, 0) where uri = (select subject_uri from del)
      )
      select count(*)::int as n from del
    `.execute(tx)
    if (rows[0]!.n === 0) return false
    await deleteNotifications(tx, uri)
    return true
  },
}
