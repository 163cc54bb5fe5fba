// app.bsky.feed.like: a row per like, the subject post's like_count, a notification for a
// local user whose post was liked.
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

export const likeProcessor: RecordProcessor = {
  collection: 'app.bsky.feed.like',

  findStored: (tx, uri) => findStoredIn(tx, 'like', uri),

  async insert(tx, input, env) {
    const subject = input.record.subject as StrongRef
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
    const recipient = didOfUri(subject.uri)
    if (recipient) await insertNotifications(tx, input, [{ recipient, reason: 'like', reasonSubject: subject.uri }], env)
    return true
  },

  async remove(tx, uri, _did, rev) {
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
