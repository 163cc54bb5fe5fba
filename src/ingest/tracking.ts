// Tracking: which DIDs' posts we keep (local users and everyone they follow). Every change is
// written to tracked_did / local_user and announced with pg_notify inside the same
// transaction, so other processes hear of it exactly when it commits (and in commit order).
import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import type { Db, DbTx } from '../db/database.js'

export type TrackingChange =
  | { t: 'track' | 'untrack' | 'local' | 'unlocal'; did: string }
  /** A waiter's marker: see LiveFilter.waitForLiveFilter and migrations/0010_live_filter.sql. */
  | { t: 'mark'; seq: string }

/** NOTIFY channels are database-wide; each schema (test files, deployments) gets its own. */
export function notifyChannel(schema: string): string {
  const name = `appview_tracking_${schema}`
  if (name.length <= 63) return name
  return `appview_tracking_${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`
}

export function parseTrackingChange(payload: string): TrackingChange | undefined {
  try {
    const v = JSON.parse(payload) as Record<string, unknown>
    if (v.t === 'mark' && typeof v.seq === 'string' && /^\d+$/.test(v.seq)) return { t: 'mark', seq: v.seq }
    if (['track', 'untrack', 'local', 'unlocal'].includes(v.t as string) && typeof v.did === 'string') {
      return { t: v.t as 'track', did: v.did }
    }
  } catch {
    // fall through
  }
  return undefined
}

async function notify(tx: DbTx | Db, channel: string, change: TrackingChange): Promise<void> {
  await sql`select pg_notify(${channel}, ${JSON.stringify(change)})`.execute(tx)
}

/** Draw a fresh tracked_seq after the caller's changes committed and announce it. */
export async function sendMark(db: Db, channel: string): Promise<bigint> {
  const { rows } = await sql<{ seq: string }>`select nextval('tracked_seq')::text as seq`.execute(db)
  const seq = rows[0]!.seq
  await notify(db, channel, { t: 'mark', seq })
  return BigInt(seq)
}

/** Start tracking `did`. True when it was not tracked before (then a backfill is due). */
export async function trackInTx(tx: DbTx, channel: string, did: string): Promise<boolean> {
  const inserted = await tx
    .insertInto('tracked_did')
    .values({ did })
    .onConflict((oc) => oc.column('did').doNothing())
    .returning('did')
    .executeTakeFirst()
  if (!inserted) return false
  await notify(tx, channel, { t: 'track', did })
  return true
}

/**
 * Stop tracking `did` when it is not a local user and no local user follows it any more.
 * Its stored records stay (retention removes them). True when it was untracked.
 */
export async function untrackIfUnfollowed(tx: DbTx, channel: string, did: string): Promise<boolean> {
  const { rows } = await sql<{ did: string }>`
    delete from tracked_did t
    where t.did = ${did}
      and not exists (select 1 from local_user l where l.did = t.did)
      and not exists (
        select 1 from follow f join local_user l on l.did = f.author_did where f.subject_did = t.did
      )
    returning t.did
  `.execute(tx)
  if (rows.length === 0) return false
  await notify(tx, channel, { t: 'untrack', did })
  return true
}

/**
 * Make `did` a local user (and tracked). Idempotent. The caller (onboarding, the operator
 * CLI) enqueues the onboarding backfill; following the user's follows through the indexer
 * then tracks each followee.
 */
export async function addLocalUserInTx(
  tx: DbTx,
  channel: string,
  did: string,
  addedBy: 'request' | 'operator',
): Promise<{ created: boolean; newlyTracked: boolean }> {
  const inserted = await tx
    .insertInto('local_user')
    .values({ did, added_by: addedBy })
    .onConflict((oc) => oc.column('did').doNothing())
    .returning('did')
    .executeTakeFirst()
  const newlyTracked = await trackInTx(tx, channel, did)
  // Views need an actor row for every local user, even before their profile is indexed.
  await tx
    .insertInto('actor')
    .values({ did })
    .onConflict((oc) => oc.column('did').doNothing())
    .execute()
  if (inserted) {
    // What the DID liked and reposted while it was not local (as a tracked account) becomes
    // readable by its author: viewer.like/repost and getActorLikes read only by_local rows
    // (migrations/0070). Found through the indexes of non-local rows by author.
    await sql`update "like" set by_local = true where author_did = ${did} and not by_local`.execute(tx)
    await sql`update repost set by_local = true where author_did = ${did} and not by_local`.execute(tx)
    await notify(tx, channel, { t: 'local', did })
  }
  return { created: inserted !== undefined, newlyTracked }
}
