// app.bsky.feed.like: a row per like, the subject post's like_count, a notification for a
// local user whose post was liked.
import { sql } from 'kysely'
import { didOfUri } from './subjects.js'
import {
  BULK_NOT_TOMBSTONED,
  baseColumns,
  deleteNotifications,
  findStoredIn,
  insertNotifications,
  lockPostCounters,
  notTombstoned,
  removeSubjectRecords,
  revAllowsRemoval,
  times,
  type NotificationInput,
  type RecordProcessor,
  type WriteInput,
} from './processor.js'

interface StrongRef {
  uri: string
  cid: string
}

const subjectOf = (input: WriteInput) => input.record.subject as StrongRef

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
    // One round trip: likes are most of the stream.
    const { rows } = await sql<{ n: number }>`
      with ins as (
        insert into "like" (uri, cid, author_did, rev, subject_uri, subject_cid, created_at, indexed_at, sort_at)
        select ${input.uri}, ${input.cid}, ${input.did}, ${input.rev}, ${subject.uri}, ${subject.cid},
               ${t.createdAt}, ${t.indexedAt}, ${t.sortAt}
        where ${notTombstoned(input.uri, input.rev)}
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

  async insertMany(tx, inputs) {
    await lockPostCounters(tx, inputs.map((x) => subjectOf(x).uri))
    const c = baseColumns(inputs)
    const { rows } = await sql<{ uri: string }>`
      with i as (
        select * from unnest(
          ${c.uris}::text[], ${c.cids}::text[], ${c.dids}::text[], ${c.revs}::text[],
          ${inputs.map((x) => subjectOf(x).uri)}::text[], ${inputs.map((x) => subjectOf(x).cid)}::text[],
          ${c.createdAt}::timestamptz[], ${c.indexedAt}::timestamptz[], ${c.sortAt}::timestamptz[]
        ) as t(uri, cid, author_did, rev, subject_uri, subject_cid, created_at, indexed_at, sort_at)
      ), ins as (
        insert into "like" (uri, cid, author_did, rev, subject_uri, subject_cid, created_at, indexed_at, sort_at)
        select i.* from i where ${BULK_NOT_TOMBSTONED}
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
