// The shape every collection's processor has (the bsky RecordProcessor pattern, trimmed):
// find what is stored, insert idempotently, remove. The indexer owns the policy around them
// (validation, stale-rev guard, update = remove + insert, tombstones); a processor owns its
// table, the counters it moves, its feed items and the notifications it writes.
import { sql, type RawBuilder } from 'kysely'
import type { DbTx } from '../../db/database.js'
import { PREPARED } from '../../db/prepared.js'
import type { TrackingChange } from '../tracking.js'
import { didOfUri } from './subjects.js'

/** A validated record write, with its times already decided. */
export interface WriteInput {
  uri: string
  did: string
  rkey: string
  cid: string
  /** null for backfilled/fetched records (listRecords reports no rev). */
  rev: string | null
  record: Record<string, unknown>
  /** As claimed by the record; first-seen when unparseable or absurd. */
  createdAt: Date
  /** First seen: the Jetstream time_us of the event, else now (kept across updates). */
  indexedAt: Date
  /** least(createdAt, indexedAt). */
  sortAt: Date
}

/** What one transaction did beyond its own rows; applied or announced after commit. */
export interface BatchEffects {
  notifications: number
  /** DIDs that became tracked: a backfill is enqueued for each after commit. */
  newlyTracked: Set<string>
  /** Membership changes to apply to this process's live filter after commit, in order. */
  changes: TrackingChange[]
  /** Untracked authors who stored a record touching a local user (their deletes matter). */
  interactors: Set<string>
}

export function emptyEffects(): BatchEffects {
  return { notifications: 0, newlyTracked: new Set(), changes: [], interactors: new Set() }
}

/** What a processor may consult besides the transaction. */
export interface IndexEnv {
  isLocalUser(did: string): boolean
  /** NOTIFY channel for tracking changes. */
  channel: string
  effects: BatchEffects
}

export interface StoredRecord {
  rev: string | null
  indexedAt: Date
}

export interface RemoveOptions {
  /**
   * The record is being replaced by a newer version (an update): remove only what the
   * insert puts back. Reposts of a replaced post stay in feeds; a replaced follow does not
   * untrack its subject.
   */
  replacing?: boolean
}

export interface RecordProcessor {
  readonly collection: string
  /** Profiles live at rkey "self" only; others accept any valid record key. */
  readonly rkey?: string
  findStored(tx: DbTx, uri: string, did: string): Promise<StoredRecord | undefined>
  /** Insert unless stored or tombstoned; true when a row really was inserted. */
  insert(tx: DbTx, input: WriteInput, env: IndexEnv): Promise<boolean>
  /**
   * Bulk form of insert for a run of creates on distinct URIs (a few statements for the whole
   * run instead of a few per record). Returns the URIs really inserted. Notifications are
   * not written here: the indexer writes those of the whole run at once from `notify`.
   */
  insertMany?(tx: DbTx, inputs: WriteInput[], env: IndexEnv): Promise<Set<string>>
  /**
   * Bulk form of remove for a run of deletes on distinct URIs (no tombstones: the indexer
   * writes those). Returns the URIs really removed.
   */
  removeMany?(tx: DbTx, targets: Array<{ uri: string; rev: string | null }>, env: IndexEnv): Promise<Set<string>>
  /** Whom an inserted record may notify (filtered to local users, minus the author, later). */
  notify?(input: WriteInput): NotificationInput[]
  /**
   * Remove the stored record unless it was written by a newer rev than `rev`; true when it
   * really was removed. Tombstones are the indexer's job (an update removes without one).
   */
  remove(
    tx: DbTx,
    uri: string,
    did: string,
    rev: string | null,
    env: IndexEnv,
    opts?: RemoveOptions,
  ): Promise<boolean>
}

/**
 * No tombstone forbids this write: a write without a rev (backfill, fetch) never passes a
 * tombstone; one with a rev passes only a tombstone left by an older rev (the same rkey
 * written again after its delete, e.g. a profile deleted and re-created).
 */
export function notTombstoned(uri: string, rev: string | null): RawBuilder<unknown> {
  return sql`not exists (
    select 1 from tombstone t
    where t.uri = ${uri} and (t.rev is null or ${rev}::text is null or t.rev >= ${rev}::text)
  )`
}

/** The stored row may be removed by an op of this rev (revs are TIDs: they sort as text). */
export function revAllowsRemoval(rev: string | null): RawBuilder<unknown> {
  return sql`(${rev}::text is null or rev is null or rev < ${rev}::text)`
}

export interface NotificationInput {
  recipient: string
  reason: 'like' | 'repost' | 'follow' | 'mention' | 'reply' | 'quote'
  reasonSubject: string | null
}

/**
 * Notifications for local users about one record: none for the author's own actions, at
 * most one per recipient (the first reason listed wins), one row per interaction (unique
 * key: a replayed record writes nothing).
 */
export async function insertNotifications(
  tx: DbTx,
  input: WriteInput,
  candidates: NotificationInput[],
  env: IndexEnv,
): Promise<void> {
  await insertNotificationsMany(tx, [{ input, candidates }], env)
}

export async function insertNotificationsMany(
  tx: DbTx,
  records: Array<{ input: WriteInput; candidates: NotificationInput[] }>,
  env: IndexEnv,
): Promise<void> {
  const rows = []
  for (const { input, candidates } of records) {
    const seen = new Set<string>([input.did])
    for (const c of candidates) {
      if (seen.has(c.recipient) || !env.isLocalUser(c.recipient)) continue
      seen.add(c.recipient)
      env.effects.interactors.add(input.did)
      rows.push({
        recipient_did: c.recipient,
        author_did: input.did,
        reason: c.reason,
        reason_subject: c.reasonSubject,
        record_uri: input.uri,
        record_cid: input.cid,
        sort_at: input.sortAt,
        indexed_at: input.indexedAt,
      })
    }
  }
  if (rows.length === 0) return
  const inserted = await tx
    .insertInto('notification')
    .values(rows)
    .onConflict((oc) => oc.columns(['recipient_did', 'record_uri', 'reason']).doNothing())
    .returning('id')
    .execute()
  env.effects.notifications += inserted.length
}

export async function deleteNotifications(tx: DbTx, uri: string): Promise<void> {
  await tx.deleteFrom('notification').where('record_uri', '=', uri).execute()
}

/** created_at/indexed_at/sort_at of a record row, as SQL parameters. */
export function times(input: WriteInput) {
  return {
    createdAt: sql`${input.createdAt.toISOString()}::timestamptz`,
    indexedAt: sql`${input.indexedAt.toISOString()}::timestamptz`,
    sortAt: sql`${input.sortAt.toISOString()}::timestamptz`,
  }
}

/**
 * Post counters are kept by two kinds of statement: inserting a post counts what already
 * points at it, and inserting (or deleting) a like, repost, reply or quote moves the count of
 * the post if it is stored. Two concurrent transactions (live ingest and a backfill) doing
 * one each would each miss the other's uncommitted row. A transaction-scoped advisory lock,
 * taken before either statement, puts them in order (the later statement then sees the
 * earlier transaction's row). Taken in key order so one statement never deadlocks.
 *
 * The lock is per post *author* (the DID of the post's URI), not per post: a backfilled page
 * is 100 posts by one author, so it takes one lock instead of 100 — Postgres's lock table
 * work for them and their release at commit was ≈0.5–1 ms a page. Transactions moving the
 * counters of different posts by one author now wait for each other too; they are short.
 */
export async function lockPostCounters(tx: DbTx, uris: Array<string | null | undefined>): Promise<void> {
  const keys = [...new Set(uris.filter((u): u is string => typeof u === 'string').map((u) => didOfUri(u) ?? u))]
  if (keys.length === 0) return
  await sql`${PREPARED}
    select pg_advisory_xact_lock(k)
    from (select distinct hashtextextended(u, 0) as k from unnest(${keys}::text[]) u order by 1) x
  `.execute(tx)
}

/** Column arrays of a run of inputs, for `unnest(...)` bulk statements. */
export function baseColumns(inputs: WriteInput[]) {
  return {
    uris: inputs.map((i) => i.uri),
    cids: inputs.map((i) => i.cid),
    dids: inputs.map((i) => i.did),
    revs: inputs.map((i) => i.rev),
    createdAt: inputs.map((i) => i.createdAt.toISOString()),
    indexedAt: inputs.map((i) => i.indexedAt.toISOString()),
    sortAt: inputs.map((i) => i.sortAt.toISOString()),
  }
}

/**
 * by_local (migrations/0070): the author is a local user, read from local_user in the inserting
 * statement (authoritative, unlike a process's in-memory filter). A DID that becomes local
 * later has the flag set on what is stored by addLocalUserInTx (src/ingest/tracking.ts).
 */
export const BY_LOCAL = (authorDid: RawBuilder<unknown>) =>
  sql`exists (select 1 from local_user lu where lu.did = ${authorDid})`

/** The same tombstone rule as notTombstoned, for a bulk input row aliased `i`. */
export const BULK_NOT_TOMBSTONED = sql`not exists (
  select 1 from tombstone t
  where t.uri = i.uri and (t.rev is null or i.rev is null or t.rev >= i.rev)
)`

/**
 * Remove a run of likes or reposts (same shape): each row unless written by a newer rev, the
 * subjects' counters (locked first, see lockPostCounters), their notifications.
 */
export async function removeSubjectRecords(
  tx: DbTx,
  table: 'like' | 'repost',
  counter: 'like_count' | 'repost_count',
  targets: Array<{ uri: string; rev: string | null }>,
  extra?: (removed: string[]) => Promise<void>,
): Promise<Set<string>> {
  const uris = targets.map((t) => t.uri)
  const subjects = await tx.selectFrom(table).select('subject_uri').where('uri', 'in', uris).execute()
  if (subjects.length === 0) return new Set()
  await lockPostCounters(tx, subjects.map((r) => r.subject_uri))
  const { rows } = await sql<{ uri: string }>`
    with i as (
      select * from unnest(${uris}::text[], ${targets.map((t) => t.rev)}::text[]) as t(uri, rev)
    ), del as (
      delete from ${sql.table(table)} r using i
      where r.uri = i.uri and (i.rev is null or r.rev is null or r.rev < i.rev)
      returning r.uri, r.subject_uri
    ), counted as (
      update post p set ${sql.ref(counter)} = greatest(p.${sql.ref(counter)} - c.n, 0)
      from (select subject_uri, count(*)::int as n from del group by subject_uri) c
      where p.uri = c.subject_uri and p.uri = any(array(select subject_uri from del))
    ), notifications as (
      delete from notification where record_uri = any(array(select uri from del))
    )
    select uri from del
  `.execute(tx)
  const removed = rows.map((r) => r.uri)
  if (extra && removed.length > 0) await extra(removed)
  return new Set(removed)
}

/** The stored rev and first-seen time of a row keyed by uri in one of the record tables. */
export async function findStoredIn(
  tx: DbTx,
  table: 'post' | 'repost' | 'like' | 'follow' | 'block',
  uri: string,
): Promise<StoredRecord | undefined> {
  const row = await tx.selectFrom(table).select(['rev', 'indexed_at']).where('uri', '=', uri).executeTakeFirst()
  return row ? { rev: row.rev, indexedAt: row.indexed_at } : undefined
}
