// app.bsky.feed.repost: a row per repost, a feed item sorted by the repost's own time (unless
// the reposted post is already deleted), the subject's repost_count, a notification for a
// local user whose post was reposted.
import { sql } from 'kysely'
import { didOfUri } from './subjects.js'
import {
  deleteNotifications,
  findStoredIn,
  insertNotifications,
  notTombstoned,
  revAllowsRemoval,
  times,
  type RecordProcessor,
} from './processor.js'

interface StrongRef {
  uri: string
  cid: string
}

export const repostProcessor: RecordProcessor = {
  collection: 'app.bsky.feed.repost',

  findStored: (tx, uri) => findStoredIn(tx, 'repost', uri),

  async insert(tx, input, env) {
    const subject = input.record.subject as StrongRef
    const t = times(input)
    const { rows } = await sql<{ n: number }>`
      with ins as (
        insert into repost (uri, cid, author_did, rev, subject_uri, subject_cid, created_at, indexed_at, sort_at)
        select ${input.uri}, ${input.cid}, ${input.did}, ${input.rev}, ${subject.uri}, ${subject.cid},
               ${t.createdAt}, ${t.indexedAt}, ${t.sortAt}
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
    const recipient = didOfUri(subject.uri)
    if (recipient) {
      await insertNotifications(tx, input, [{ recipient, reason: 'repost', reasonSubject: subject.uri }], env)
    }
    return true
  },

  async remove(tx, uri, _did, rev) {
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
