// Admission and onboarding of local users.
//
// admit(did, addedBy): who may become a local user — REGISTRATION=open|allowlist (with
// ALLOWED_DIDS) for DIDs arriving by request; the operator bypasses the allowlist; MAX_USERS
// caps both. A new user becomes local + tracked (through the indexer's tracking module) and
// an onboarding job is queued at the highest priority.
//
// onboardUser(did) (run by the backfill worker): list every follow record of the user
// (every page) and index them — the indexer tracks each followee and queues its backfill —
// then lift those followees' jobs to onboarding priority, and backfill the user's own posts.
// So the first timeline request shows whatever is ready and fills within seconds.
import type { Queue } from 'bullmq'
import { sql } from 'kysely'
import type { Config } from '../config.js'
import type { Db } from '../db/database.js'
import type { Logger } from '../logger.js'
import type { IndexOp, OpContext } from '../ingest/ops.js'
import { jobIdForDid } from '../queue.js'
import { BACKFILL_PRIORITY, enqueueBackfill, type BackfillRetryOptions } from './enqueue.js'
import { backfillRepo, toWriteOp, type BackfillRepoDeps, type BackfillOutcome } from './backfill-repo.js'

export type AdmitResult = { admitted: true; created: boolean } | { admitted: false; reason: string }

/** What onboarding needs of the indexer/tracking module (ctx.indexer). */
export interface LocalUserTracker {
  trackLocalUser(did: string, addedBy: 'request' | 'operator'): Promise<{ created: boolean }>
}

export interface OnboardingOptions {
  db: Db
  admission: Config['admission']
  tracker: LocalUserTracker
  queue: Queue
  log: Logger
  retry?: BackfillRetryOptions
}

const DID_RE = /^did:[a-z]+:[a-zA-Z0-9._:%-]{1,2048}$/
/** pg advisory lock key serialising admissions (count + insert) across processes. */
const ADMISSION_LOCK = 0x61707076 // 'appv'

export class Onboarding {
  constructor(private readonly opts: OnboardingOptions) {}

  async admit(did: string, addedBy: 'request' | 'operator'): Promise<AdmitResult> {
    if (!DID_RE.test(did)) return { admitted: false, reason: `not a valid DID: ${did}` }
    const { db, admission } = this.opts
    const existing = await db.selectFrom('local_user').select('did').where('did', '=', did).executeTakeFirst()
    if (existing) return { admitted: true, created: false }

    if (addedBy === 'request' && admission.registration === 'allowlist' && !admission.allowedDids.includes(did)) {
      return { admitted: false, reason: 'registration on this instance is by invitation only (REGISTRATION=allowlist)' }
    }

    // Count and insert under one lock so concurrent first requests cannot overshoot MAX_USERS.
    const result = await db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${ADMISSION_LOCK})`.execute(conn)
      try {
        const again = await conn.selectFrom('local_user').select('did').where('did', '=', did).executeTakeFirst()
        if (again) return { admitted: true as const, created: false }
        const { count } = await conn
          .selectFrom('local_user')
          .select((eb) => eb.fn.countAll<string>().as('count'))
          .executeTakeFirstOrThrow()
        if (Number(count) >= admission.maxUsers) {
          return {
            admitted: false as const,
            reason: `this instance is full (${admission.maxUsers} users, MAX_USERS)`,
          }
        }
        const res = await this.opts.tracker.trackLocalUser(did, addedBy)
        return { admitted: true as const, created: res.created }
      } finally {
        await sql`select pg_advisory_unlock(${ADMISSION_LOCK})`.execute(conn)
      }
    })
    if (result.admitted && result.created) {
      await this.enqueueOnboarding(did)
      this.opts.log.info({ did, addedBy }, 'local user admitted; onboarding queued')
    }
    return result
  }

  /** Queue (again) the onboarding of an existing local user. */
  async enqueueOnboarding(did: string): Promise<void> {
    await this.opts.db
      .updateTable('local_user')
      .set({ onboarding_state: 'pending', onboarding_error: null })
      .where('did', '=', did)
      .execute()
    await enqueueBackfill({ queue: this.opts.queue, db: this.opts.db }, { did, reason: 'onboarding' }, this.opts.retry)
  }
}

export interface OnboardUserDeps extends BackfillRepoDeps {
  queue: Queue
  indexer: BackfillRepoDeps['indexer'] & {
    applyBatch(items: Array<{ op: IndexOp; ctx: OpContext }>): Promise<{
      indexed: number
      unchanged: number
      skipped: number
      newlyTracked?: string[]
    }>
  }
}

export interface OnboardOutcome {
  did: string
  follows: number
  followeesQueued: number
  own: BackfillOutcome
}

const FOLLOW_COLLECTION = 'app.bsky.graph.follow'

export async function onboardUser(deps: OnboardUserDeps, did: string, signal?: AbortSignal): Promise<OnboardOutcome> {
  const { db } = deps
  await db
    .updateTable('local_user')
    .set({ onboarding_state: 'running', onboarding_error: null })
    .where('did', '=', did)
    .execute()
  // The user's follows made while we list arrive through the stream: track before list.
  await deps.liveFilter.waitForLiveFilter(did, { signal })

  let cursor: string | undefined
  let follows = 0
  const followees = new Set<string>()
  do {
    signal?.throwIfAborted()
    const page = await deps.pds.listRecords(did, FOLLOW_COLLECTION, { cursor, limit: 100 })
    const items: Array<{ op: IndexOp; ctx: OpContext }> = []
    for (const rec of page.records) {
      const op = toWriteOp(did, rec)
      if (!op) continue
      items.push({ op, ctx: { source: 'backfill' } })
      const subject = (rec.value as { subject?: unknown }).subject
      if (typeof subject === 'string') followees.add(subject)
    }
    if (items.length) {
      const res = await deps.indexer.applyBatch(items)
      follows += res.indexed + res.unchanged
      deps.metrics?.recordsIndexed.inc({ collection: FOLLOW_COLLECTION }, res.indexed)
    }
    cursor = page.records.length + page.malformed >= 100 ? page.cursor : undefined
  } while (cursor)

  // The indexer queued a 'follow' backfill for each newly tracked followee; a new user's
  // first timeline is what people wait for, so lift those to onboarding priority.
  const followeesQueued = await raisePriority(deps.queue, [...followees], BACKFILL_PRIORITY.onboarding)

  const own = await backfillRepo(deps, { did }, signal)
  await db
    .updateTable('local_user')
    .set({ onboarding_state: 'complete', onboarding_error: null, onboarded_at: new Date() })
    .where('did', '=', did)
    .execute()
  return { did, follows, followeesQueued, own }
}

async function raisePriority(queue: Queue, dids: string[], priority: number): Promise<number> {
  let raised = 0
  for (const did of dids) {
    const job = await queue.getJob(jobIdForDid(did))
    if (!job) continue
    try {
      if ((await job.getState()) === 'prioritized' || (await job.isWaiting())) {
        await job.changePriority({ priority })
        raised++
      }
    } catch {
      // Picked up meanwhile: nothing to raise.
    }
  }
  return raised
}
