// app.bsky.feed.post: the post row (with its counters computed from what is already stored,
// so a like indexed before its post still counts), its feed item, the parent's reply_count,
// the quoted post's quote_count, the author's posts_count, and notifications for local users
// who are mentioned, quoted or replied to.
import { sql } from 'kysely'
import { collectionOfUri, didOfUri, postRefs } from './subjects.js'
import type { DbTx } from '../../db/database.js'
import { PREPARED } from '../../db/prepared.js'
import {
  BULK_NOT_TOMBSTONED,
  deleteNotifications,
  findStoredIn,
  insertNotifications,
  lockPostCounters,
  notTombstoned,
  revAllowsRemoval,
  times,
  type NotificationInput,
  type RecordProcessor,
  type WriteInput,
} from './processor.js'

const POST = 'app.bsky.feed.post'

/** embed $type → embed_kind column. */
const EMBED_KINDS: Record<string, string> = {
  'app.bsky.embed.images': 'images',
  'app.bsky.embed.video': 'video',
  'app.bsky.embed.external': 'external',
  'app.bsky.embed.record': 'record',
  'app.bsky.embed.recordWithMedia': 'recordWithMedia',
}

interface StrongRef {
  uri: string
  cid: string
}

function columns(record: Record<string, unknown>) {
  const reply = record.reply as { root: StrongRef; parent: StrongRef } | undefined
  const embed = record.embed as { $type?: string; record?: StrongRef | { record?: StrongRef } } | undefined
  let quoted: StrongRef | undefined
  if (embed?.$type === 'app.bsky.embed.record') quoted = embed.record as StrongRef
  else if (embed?.$type === 'app.bsky.embed.recordWithMedia') quoted = (embed.record as { record?: StrongRef }).record
  // Text, langs and the refs' CIDs are not copied into columns: readers take them from the
  // record (migrations/0100).
  return {
    replyRoot: reply?.root,
    replyParent: reply?.parent,
    embedKind: (embed?.$type && EMBED_KINDS[embed.$type]) || null,
    quoted,
  }
}

/** mention, then quote, then reply (the bsky order): one notification per recipient. */
function notifications(input: WriteInput): NotificationInput[] {
  const refs = postRefs(input.record)
  const out: NotificationInput[] = refs.mentions.map((did) => ({ recipient: did, reason: 'mention', reasonSubject: null }))
  const quotedDid = didOfUri(refs.quotedUri)
  if (quotedDid && refs.quotedUri && collectionOfUri(refs.quotedUri) === POST) {
    out.push({ recipient: quotedDid, reason: 'quote', reasonSubject: refs.quotedUri })
  }
  for (const uri of [refs.replyParentUri, refs.replyRootUri]) {
    const did = didOfUri(uri)
    if (did && uri) out.push({ recipient: did, reason: 'reply', reasonSubject: uri })
  }
  return out
}

export const postProcessor: RecordProcessor = {
  collection: POST,

  findStored: (tx, uri) => findStoredIn(tx, 'post', uri),

  notify: notifications,

  async insert(tx, input, env) {
    const c = columns(input.record)
    await lockPostCounters(tx, [input.uri, c.replyParent?.uri, c.quoted?.uri])
    const t = times(input)
    const { rows } = await sql<{ n: number }>`
      with ins as (
        insert into post (
          uri, cid, author_did, rev, created_at, indexed_at, sort_at,
          reply_root_uri, reply_parent_uri, embed_kind, embed_record_uri, record,
          like_count, repost_count, reply_count, quote_count
        )
        select ${input.uri}, ${input.cid}, ${input.did}, ${input.rev},
               ${t.createdAt}, ${t.indexedAt}, ${t.sortAt},
               ${c.replyRoot?.uri ?? null}, ${c.replyParent?.uri ?? null},
               ${c.embedKind}, ${c.quoted?.uri ?? null}, ${JSON.stringify(input.record)}::jsonb,
               (select count(*) from "like" where subject_uri = ${input.uri}),
               (select count(*) from repost where subject_uri = ${input.uri}),
               (select count(*) from post where reply_parent_uri = ${input.uri}),
               (select count(*) from post where embed_record_uri = ${input.uri})
        where ${notTombstoned(input.uri, input.rev)}
        on conflict (uri) do nothing
        returning uri, sort_at
      ), parent as (
        update post set reply_count = reply_count + 1
        where uri = ${c.replyParent?.uri ?? null} and exists (select 1 from ins)
      ), quoted as (
        update post set quote_count = quote_count + 1
        where uri = ${c.quoted?.uri ?? null} and exists (select 1 from ins)
      ), item as (
        insert into feed_item (uri, type, post_uri, originator_did, sort_at)
        select ins.uri, 'post', null, ${input.did}, ins.sort_at from ins
        on conflict (uri) do nothing
      ), author as (
        insert into actor (did, posts_count) select ${input.did}, 1 from ins
        on conflict (did) do update set posts_count = actor.posts_count + 1
      )
      select count(*)::int as n from ins
    `.execute(tx)
    if (rows[0]!.n === 0) return false
    await insertNotifications(tx, input, notifications(input), env)
    return true
  },

  async insertMany(tx, inputs) {
    const cols = inputs.map((i) => columns(i.record))
    await lockPostCounters(tx, [
      ...inputs.map((i) => i.uri),
      ...cols.flatMap((x) => [x.replyParent?.uri, x.quoted?.uri]),
    ])
    // The rows go as one JSON document (jsonb_to_recordset), not as a dozen parallel arrays:
    // pg serialises an array parameter element by element in JavaScript (each one quoted and
    // escaped — every record's JSON twice over), where JSON.stringify is one native call; and
    // the records arrive in Postgres already as jsonb values of the parsed document.
    const rows = inputs.map((input, k) => {
      const c = cols[k]!
      return {
        uri: input.uri,
        cid: input.cid,
        author_did: input.did,
        rev: input.rev,
        created_at: input.createdAt.toISOString(),
        indexed_at: input.indexedAt.toISOString(),
        sort_at: input.sortAt.toISOString(),
        reply_root_uri: c.replyRoot?.uri ?? null,
        reply_parent_uri: c.replyParent?.uri ?? null,
        embed_kind: c.embedKind,
        embed_record_uri: c.quoted?.uri ?? null,
        record: input.record,
      }
    })
    // Counters of the new posts count what is already stored; replies and quotes among the
    // new posts are added by the statements below, which see the rows inserted here.
    const { rows: inserted } = await sql<{ uri: string; reply_parent_uri: string | null; embed_record_uri: string | null }>`${PREPARED}
      with i as (
        select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as t(
          uri text, cid text, author_did text, rev text,
          created_at timestamptz, indexed_at timestamptz, sort_at timestamptz,
          reply_root_uri text, reply_parent_uri text, embed_kind text, embed_record_uri text, record jsonb)
      ), ins as (
        insert into post (
          uri, cid, author_did, rev, created_at, indexed_at, sort_at,
          reply_root_uri, reply_parent_uri, embed_kind, embed_record_uri, record,
          like_count, repost_count, reply_count, quote_count
        )
        select i.uri, i.cid, i.author_did, i.rev, i.created_at, i.indexed_at, i.sort_at,
               i.reply_root_uri, i.reply_parent_uri, i.embed_kind, i.embed_record_uri, i.record,
               (select count(*) from "like" l where l.subject_uri = i.uri),
               (select count(*) from repost r where r.subject_uri = i.uri),
               (select count(*) from post p where p.reply_parent_uri = i.uri),
               (select count(*) from post p where p.embed_record_uri = i.uri)
        from i where ${BULK_NOT_TOMBSTONED}
        on conflict (uri) do nothing
        returning uri, author_did, sort_at, reply_parent_uri, embed_record_uri
      ), items as (
        -- post_uri null: a post item shows itself (readers take coalesce(post_uri, uri)).
        insert into feed_item (uri, type, post_uri, originator_did, sort_at)
        select uri, 'post', null, author_did, sort_at from ins
        on conflict (uri) do nothing
      ), authors as (
        insert into actor (did, posts_count) select author_did, count(*)::int from ins group by author_did
        on conflict (did) do update set posts_count = actor.posts_count + excluded.posts_count
      )
      select uri, reply_parent_uri, embed_record_uri from ins
    `.execute(tx)
    await bumpMany(tx, 'reply_count', inserted.map((r) => r.reply_parent_uri))
    await bumpMany(tx, 'quote_count', inserted.map((r) => r.embed_record_uri))
    return new Set(inserted.map((r) => r.uri))
  },

  async remove(tx, uri, _did, rev, _env, opts) {
    // Feed items go with the post, and so do those of reposts of it; when the post was never
    // stored, reposts of it still leave the feeds. A replaced post keeps its reposts' items.
    const reposts = opts?.replacing ? sql`false` : sql`true`
    const stored = await tx
      .selectFrom('post')
      .select(['reply_parent_uri', 'embed_record_uri'])
      .where('uri', '=', uri)
      .executeTakeFirst()
    if (stored) await lockPostCounters(tx, [stored.reply_parent_uri, stored.embed_record_uri])
    const { rows } = await sql<{ n: number }>`
      with del as (
        delete from post where uri = ${uri} and ${revAllowsRemoval(rev)}
        returning author_did, reply_parent_uri, embed_record_uri
      ), parent as (
        update post set reply_count = greatest(reply_count - 1, 0)
        where uri = (select reply_parent_uri from del)
      ), quoted as (
        update post set quote_count = greatest(quote_count - 1, 0)
        where uri = (select embed_record_uri from del)
      ), author as (
        update actor set posts_count = greatest(posts_count - 1, 0) where did = (select author_did from del)
      ), items as (
        -- The post's own item by its uri; its reposts' items by theirs, the reposts found by
        -- subject (repost_subject_sort_idx; a repost and its item are written and removed
        -- together, so no index of feed_item by post_uri is kept). One array of uris, so the
        -- delete is index probes: "uri = $1 or uri in (subquery)" cannot use the primary key
        -- and scanned all of feed_item for every deleted post.
        delete from feed_item
        where uri = any(array(
          select ${uri}::text
          union all
          select r.uri from repost r where ${reposts} and r.subject_uri = ${uri}
        ))
          and (exists (select 1 from del) or not exists (select 1 from post where uri = ${uri}))
      )
      select count(*)::int as n from del
    `.execute(tx)
    if (rows[0]!.n === 0) return false
    await deleteNotifications(tx, uri)
    return true
  },
}

/** Add one per occurrence to a counter of the stored posts among `uris` (nulls ignored). */
async function bumpMany(tx: DbTx, column: 'reply_count' | 'quote_count', uris: Array<string | null>) {
  const targets = uris.filter((u): u is string => u !== null)
  if (targets.length === 0) return
  await sql`
    update post p set ${sql.ref(column)} = p.${sql.ref(column)} + c.n
    from (select u, count(*)::int as n from unnest(${targets}::text[]) u group by u) c
    where p.uri = c.u and p.uri = any(${targets}::text[])
  `.execute(tx)
}
