// app.bsky.graph.follow: the follow row, follows_count/followers_count, a notification for a
// followed local user, and tracking: a local user's follow makes the followee tracked (in the
// same transaction); when no local user follows a DID any more it stops being tracked.
import { sql } from 'kysely'
import type { DbTx } from '../../db/database.js'
import { trackInTx, untrackIfUnfollowed } from '../tracking.js'
import {
  BULK_NOT_TOMBSTONED,
  baseColumns,
  deleteNotifications,
  findStoredIn,
  insertNotifications,
  notTombstoned,
  revAllowsRemoval,
  times,
  type IndexEnv,
  type NotificationInput,
  type RecordProcessor,
  type WriteInput,
} from './processor.js'

async function bump(tx: DbTx, did: string, column: 'follows_count' | 'followers_count', by: 1 | -1) {
  // Separate statements for author and subject: a self-follow touches one row twice.
  if (by === 1) {
    await sql`
      insert into actor (did, ${sql.ref(column)}) values (${did}, 1)
      on conflict (did) do update set ${sql.ref(column)} = actor.${sql.ref(column)} + 1
    `.execute(tx)
  } else {
    await sql`
      update actor set ${sql.ref(column)} = greatest(${sql.ref(column)} - 1, 0) where did = ${did}
    `.execute(tx)
  }
}

async function trackFollowee(tx: DbTx, subject: string, env: IndexEnv) {
  if (await trackInTx(tx, env.channel, subject)) {
    env.effects.newlyTracked.add(subject)
    env.effects.changes.push({ t: 'track', did: subject })
  }
}

export const followProcessor: RecordProcessor = {
  collection: 'app.bsky.graph.follow',

  findStored: (tx, uri) => findStoredIn(tx, 'follow', uri),

  notify(input: WriteInput): NotificationInput[] {
    return [{ recipient: input.record.subject as string, reason: 'follow', reasonSubject: null }]
  },

  async insertMany(tx, inputs, env) {
    const c = baseColumns(inputs)
    const subjects = inputs.map((i) => i.record.subject as string)
    const { rows } = await sql<{ uri: string; author_did: string; subject_did: string }>`
      with i as (
        select * from unnest(
          ${c.uris}::text[], ${c.cids}::text[], ${c.dids}::text[], ${c.revs}::text[], ${subjects}::text[],
          ${c.createdAt}::timestamptz[], ${c.indexedAt}::timestamptz[], ${c.sortAt}::timestamptz[]
        ) as t(uri, cid, author_did, rev, subject_did, created_at, indexed_at, sort_at)
      )
      insert into follow (uri, cid, author_did, rev, subject_did, created_at, indexed_at, sort_at)
      select i.* from i where ${BULK_NOT_TOMBSTONED}
      on conflict (uri) do nothing
      returning uri, author_did, subject_did
    `.execute(tx)
    // Author and subject counters in separate statements: A→B and B→A in one run touch the
    // same two rows from both sides.
    await bumpMany(tx, 'follows_count', rows.map((r) => r.author_did))
    await bumpMany(tx, 'followers_count', rows.map((r) => r.subject_did))
    const inserted = new Set(rows.map((r) => r.uri))
    const localAuthors = await localUsersAmong(tx, inputs.map((i) => i.did))
    const local = inputs.filter((i) => localAuthors.has(i.did))
    if (local.length > 0) {
      const stored = new Set(
        (await tx.selectFrom('follow').select('uri').where('uri', 'in', local.map((i) => i.uri)).execute()).map(
          (r) => r.uri,
        ),
      )
      for (const i of local) if (stored.has(i.uri)) await trackFollowee(tx, i.record.subject as string, env)
    }
    return inserted
  },

  async insert(tx, input, env) {
    const subject = input.record.subject as string
    const t = times(input)
    const { rows } = await sql<{ uri: string }>`
      insert into follow (uri, cid, author_did, rev, subject_did, created_at, indexed_at, sort_at)
      select ${input.uri}, ${input.cid}, ${input.did}, ${input.rev}, ${subject}, ${t.createdAt}, ${t.indexedAt}, ${t.sortAt}
      where ${notTombstoned(input.uri, input.rev)}
      on conflict (uri) do nothing
      returning uri
    `.execute(tx)
    const inserted = rows.length > 0
    if (inserted) {
      await bump(tx, input.did, 'follows_count', 1)
      await bump(tx, subject, 'followers_count', 1)
      await insertNotifications(tx, input, this.notify!(input), env)
    }
    // A local user's follow tracks the followee even when the row was already stored (the
    // user's follows were indexed before they became local): then onboarding's backfill of
    // their follows is what tracks their followees.
    const isLocal = (await localUsersAmong(tx, [input.did])).has(input.did)
    if (isLocal && (inserted || (await findStoredIn(tx, 'follow', input.uri)))) {
      await trackFollowee(tx, subject, env)
    }
    return inserted
  },

  async removeMany(tx, targets, env) {
    const { rows } = await sql<{ uri: string; author_did: string; subject_did: string }>`
      with i as (
        select * from unnest(${targets.map((t) => t.uri)}::text[], ${targets.map((t) => t.rev)}::text[]) as t(uri, rev)
      )
      delete from follow f using i
      where f.uri = i.uri and (i.rev is null or f.rev is null or f.rev < i.rev)
      returning f.uri, f.author_did, f.subject_did
    `.execute(tx)
    if (rows.length === 0) return new Set()
    await dropMany(tx, 'follows_count', rows.map((r) => r.author_did))
    await dropMany(tx, 'followers_count', rows.map((r) => r.subject_did))
    await tx.deleteFrom('notification').where('record_uri', 'in', rows.map((r) => r.uri)).execute()
    // Local users' unfollows normally come one by one (the indexer keeps their order); one
    // whose author became local in another process meanwhile is still honoured here.
    const local = await localUsersAmong(tx, rows.map((r) => r.author_did))
    for (const r of rows) {
      if (local.has(r.author_did) && (await untrackIfUnfollowed(tx, env.channel, r.subject_did))) {
        env.effects.changes.push({ t: 'untrack', did: r.subject_did })
      }
    }
    return new Set(rows.map((r) => r.uri))
  },

  async remove(tx, uri, did, rev, env, opts) {
    const { rows } = await sql<{ subject_did: string }>`
      delete from follow where uri = ${uri} and ${revAllowsRemoval(rev)} returning subject_did
    `.execute(tx)
    const subject = rows[0]?.subject_did
    if (subject === undefined) return false
    await bump(tx, did, 'follows_count', -1)
    await bump(tx, subject, 'followers_count', -1)
    await deleteNotifications(tx, uri)
    if (opts?.replacing || !(await localUsersAmong(tx, [did])).has(did)) return true
    if (await untrackIfUnfollowed(tx, env.channel, subject)) {
      env.effects.changes.push({ t: 'untrack', did: subject })
    }
    return true
  },
}

/** +1 per occurrence of each DID (actor rows created as needed). */
async function bumpMany(tx: DbTx, column: 'follows_count' | 'followers_count', dids: string[]) {
  if (dids.length === 0) return
  await sql`
    insert into actor (did, ${sql.ref(column)})
    select d, count(*)::int from unnest(${dids}::text[]) d group by d
    on conflict (did) do update set ${sql.ref(column)} = actor.${sql.ref(column)} + excluded.${sql.ref(column)}
  `.execute(tx)
}

/** −1 per occurrence of each DID, never below zero. */
async function dropMany(tx: DbTx, column: 'follows_count' | 'followers_count', dids: string[]) {
  await sql`
    update actor a set ${sql.ref(column)} = greatest(a.${sql.ref(column)} - c.n, 0)
    from (select d, count(*)::int as n from unnest(${dids}::text[]) d group by d) c
    where a.did = c.d and a.did = any(${dids}::text[])
  `.execute(tx)
}

/**
 * Which of these DIDs are local users, asked of Postgres rather than the in-memory filter:
 * tracking must not depend on how soon this process heard of a user added elsewhere (the
 * onboarding backfill of a brand-new user's follows may run in another process).
 */
async function localUsersAmong(tx: DbTx, dids: string[]): Promise<Set<string>> {
  const unique = [...new Set(dids)]
  if (unique.length === 0) return new Set()
  const rows = await tx.selectFrom('local_user').select('did').where('did', 'in', unique).execute()
  return new Set(rows.map((r) => r.did))
}
