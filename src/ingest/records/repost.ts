// app.bsky.feed.repost: a row per repost, a feed item sorted by the repost's own time (unless
// the reposted post is already deleted), the subject's repost_count, a notification for a
// local user whose post was reposted.
import { sql } from 'kysely'
import { didOfUri } from './subjects.js'
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
  type NotificationInput,
  type RecordProcessor,
  type WriteInput,
} from './processor.js'

interface StrongRef {
  uri: string
  cid: string
}

const subjectOf = (input: WriteInput) => input.record.subject as StrongRef

export const repostProcessor: RecordProcessor = {
  collection: 'app.bsky.feed.repost',

  findStored: (tx, uri) => findStoredIn(tx, 'repost', uri),

  notify(input): NotificationInput[] {
    const subject = subjectOf(input)
    const recipient = didOfUri(subject.uri)
    return recipient ? [{ recipient, reason: 'repost', reasonSubject: subject.uri }] : []
  },

  async insert(tx, input, env) {
    const subject = subjectOf(input)
    await lockPostCounters(tx, [subject.uri])
    const t = times(input)
    const { rows } = await sql<{ n: number }>`
      with ins as (
        insert into repost (uri, cid, author_did, rev, subject_uri, subject_cid, created_at, indexed_at, sort_at, by_local)
        select ${input.uri}, ${input.cid}, ${input.did}, ${input.rev}, ${subject.uri}, ${subject.cid},
               ${t.createdAt}, ${t.indexedAt}, ${t.sortAt}, ${BY_LOCAL(sql`${input.did}::text`)}
        where ${notTombstoned(input.uri, input.rev)}
        on conflict (uri) do nothing
        returning uri, subject_uri, sort_at
      ), counted as (
        update post set repost_count = repost_count + 1 where uri = (select subject_uri from ins)
      ), item as (
        insert into feed_item (uri, type, post_uri, originator_did, sort_at)
        select ins.uri, 'repost', ins.subject_uri, ${input.did}, ins.sort_at from ins
        where not exists (select 1 from tombstone t where t.uri = ins.subject_uri)
        on conflict (uri) do nothing
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
        insert into repost (uri, cid, author_did, rev, subject_uri, subject_cid, created_at, indexed_at, sort_at, by_local)
        select i.*, ${BY_LOCAL(sql`i.author_did`)} from i where ${BULK_NOT_TOMBSTONED}
        on conflict (uri) do nothing
        returning uri, author_did, subject_uri, sort_at
      ), counted as (
        update post p set repost_count = p.repost_count + c.n
        from (select subject_uri, count(*)::int as n from ins group by subject_uri) c
        where p.uri = c.subject_uri and p.uri = any(array(select subject_uri from ins))
      ), items as (
        insert into feed_item (uri, type, post_uri, originator_did, sort_at)
        select ins.uri, 'repost', ins.subject_uri, ins.author_did, ins.sort_at from ins
        where not exists (select 1 from tombstone t where t.uri = ins.subject_uri)
        on conflict (uri) do nothing
      ), authors as (
        insert into actor (did) select distinct author_did from ins on conflict (did) do nothing
      )
      select uri from ins
    `.execute(tx)
    return new Set(rows.map((r) => r.uri))
  },

  removeMany: (tx, targets) =>
    removeSubjectRecords(tx, 'repost', 'repost_count', targets, async (removed) => {
      await tx.deleteFrom('feed_item').where('uri', 'in', removed).execute()
    }),

  async remove(tx, uri, _did, rev) {
    const stored = await tx.selectFrom('repost').select('subject_uri').where('uri', '=', uri).executeTakeFirst()
    if (!stored) return false
    await lockPostCounters(tx, [stored.subject_uri])
    const { rows } = await sql<{ n: number }>`
      with del as (
        delete from repost where uri = ${uri} and ${revAllowsRemoval(rev)} returning subject_uri
      ), counted as (
        update post set repost_count = greatest(repost_count - 1, 0) where uri = (select subject_uri from del)
      ), item as (
        delete from feed_item where uri = ${uri} and exists (select 1 from del)
      )
      select count(*)::int as n from del
    `.execute(tx)
    if (rows[0]!.n === 0) return false
    await deleteNotifications(tx, uri)
    return true
  },
}
