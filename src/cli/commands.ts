// Operator commands (scripts/cli.ts parses the arguments): users add / users list /
// backfill / status. They work on the same Postgres + Redis as the service through an App
// built without roles' components, so the policy (admission, tracking, job ids) is the
// service's own.
import { sql } from 'kysely'
import type { AppContext } from '../app.js'
import { enqueueBackfill } from '../backfill/enqueue.js'
import { INVALID_HANDLE } from '../identity/identity.js'
import type { ProgressReporter } from './progress.js'

export class CliError extends Error {
  override name = 'CliError'
}

export interface CliIo {
  out(line: string): void
  progress: ProgressReporter
}

export interface WaitOptions {
  wait: boolean
  timeoutMs: number
}

/** A DID as given, or the DID a handle resolves to (verified both ways). */
export async function resolveTarget(ctx: AppContext, target: string): Promise<string> {
  if (target.startsWith('did:')) {
    if (!/^did:[a-z]+:[a-zA-Z0-9._:%-]+$/.test(target)) throw new CliError(`not a valid DID: ${target}`)
    return target
  }
  const did = await ctx.identity.resolveHandle(target)
  if (!did) throw new CliError(`the handle ${target} does not resolve to a DID (or the DID does not claim it back)`)
  return did
}

export async function usersAdd(ctx: AppContext, io: CliIo, target: string, opts: WaitOptions): Promise<void> {
  const did = await resolveTarget(ctx, target)
  const res = await ctx.onboarding.admit(did, 'operator')
  if (!res.admitted) throw new CliError(`not admitted: ${res.reason}`)
  io.out(res.created ? `added ${did}; onboarding queued` : `${did} is already a local user`)
  if (!res.created && opts.wait) {
    const user = await ctx.db.db.selectFrom('local_user').select('onboarding_state').where('did', '=', did).executeTakeFirst()
    if (user?.onboarding_state === 'complete') return
  }
  if (opts.wait && (await workerRunning(ctx, io))) await watchOnboarding(ctx, io, did, opts.timeoutMs)
}

export async function usersList(ctx: AppContext, io: CliIo): Promise<void> {
  const rows = await ctx.db.db
    .selectFrom('local_user as u')
    .leftJoin('actor as a', 'a.did', 'u.did')
    .select([
      'u.did',
      'a.handle',
      'u.added_by',
      'u.onboarding_state',
      'u.onboarding_error',
      'u.created_at',
      (eb) =>
        eb
          .selectFrom('follow as f')
          .select((e) => e.fn.countAll<string>().as('n'))
          .whereRef('f.author_did', '=', 'u.did')
          .as('follows'),
    ])
    .orderBy('u.created_at')
    .execute()
  if (rows.length === 0) {
    io.out('no local users')
    return
  }
  io.out(['did', 'handle', 'added by', 'onboarding', 'follows', 'since'].join('\t'))
  for (const r of rows) {
    const state = r.onboarding_error ? `${r.onboarding_state} (${r.onboarding_error})` : r.onboarding_state
    io.out(
      [r.did, r.handle ?? INVALID_HANDLE, r.added_by, state, String(r.follows ?? 0), r.created_at.toISOString()].join('\t'),
    )
  }
}

export async function backfill(ctx: AppContext, io: CliIo, target: string, opts: WaitOptions): Promise<void> {
  const did = await resolveTarget(ctx, target)
  const tracked = await ctx.db.db.selectFrom('tracked_did').select('did').where('did', '=', did).executeTakeFirst()
  if (!tracked) {
    throw new CliError(
      `${did} is not tracked (nobody local follows it), so its posts would not be kept; add it with "users add" or follow it from a local account`,
    )
  }
  // enqueueBackfill shows the DID as queued (and clears an old failure)
  await enqueueBackfill({ queue: ctx.backfillQueue, db: ctx.db.db }, { did, reason: 'operator' })
  io.out(`backfill of ${did} queued`)
  if (opts.wait && (await workerRunning(ctx, io))) await watchBackfill(ctx, io, did, opts.timeoutMs)
}

export async function status(ctx: AppContext, io: CliIo): Promise<void> {
  const db = ctx.db.db
  const users = await db
    .selectFrom('local_user')
    .select(['onboarding_state', (eb) => eb.fn.countAll<string>().as('n')])
    .groupBy('onboarding_state')
    .execute()
  const tracked = await db
    .selectFrom('tracked_did')
    .select(['backfill_state', (eb) => eb.fn.countAll<string>().as('n'), (eb) => eb.fn.sum<string>('records_indexed').as('records')])
    .groupBy('backfill_state')
    .execute()
  const counts = await ctx.backfillQueue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed')
  const workers = await ctx.backfillQueue.getWorkersCount()
  const cursor = await db.selectFrom('ingest_state').select(['cursor_time_us', 'updated_at']).where('id', '=', 'jetstream').executeTakeFirst()
  const { rows: gaps } = await sql<{ n: string }>`select count(*)::text as n from ingest_gap where closed_at is null`.execute(db)
  const sum = (rows: Array<{ n: string }>) => rows.reduce((a, r) => a + Number(r.n), 0)

  io.out(`local users: ${sum(users)}${users.length ? ` (${users.map((u) => `${u.onboarding_state} ${u.n}`).join(', ')})` : ''}`)
  io.out(
    `tracked DIDs: ${sum(tracked)}${tracked.length ? ` (${tracked.map((t) => `${t.backfill_state} ${t.n}`).join(', ')})` : ''}; records backfilled: ${tracked.reduce((a, t) => a + Number(t.records ?? 0), 0)}`,
  )
  io.out(
    `backfill queue: ${counts.waiting + counts.prioritized} waiting, ${counts.active} active, ${counts.delayed} delayed (retrying), ${counts.failed} failed, ${counts.completed} completed; ${workers} worker connection(s)`,
  )
  if (cursor?.cursor_time_us) {
    const lagS = Math.max(0, Date.now() / 1000 - Number(cursor.cursor_time_us) / 1e6)
    io.out(`ingest cursor: ${new Date(Number(cursor.cursor_time_us) / 1000).toISOString()} (${lagS.toFixed(1)} s behind now)`)
  } else io.out('ingest cursor: none yet')
  io.out(`open stream gaps: ${gaps[0]?.n ?? 0}`)
}

async function workerRunning(ctx: AppContext, io: CliIo): Promise<boolean> {
  if ((await ctx.backfillQueue.getWorkersCount()) > 0) return true
  io.out('no backfill worker is running (start the service with ROLES including backfill); the job waits for it')
  return false
}

async function watchOnboarding(ctx: AppContext, io: CliIo, did: string, timeoutMs: number): Promise<void> {
  const db = ctx.db.db
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const user = await db.selectFrom('local_user').select(['onboarding_state', 'onboarding_error']).where('did', '=', did).executeTakeFirst()
    const { rows } = await sql<{ total: string; done: string; failed: string; records: string }>`
      select count(*)::text as total,
             count(*) filter (where t.backfill_state in ('complete', 'failed'))::text as done,
             count(*) filter (where t.backfill_state = 'failed')::text as failed,
             coalesce(sum(t.records_indexed), 0)::text as records
      from (select distinct subject_did from follow where author_did = ${did}) f
      join tracked_did t on t.did = f.subject_did
    `.execute(db)
    const r = rows[0]!
    const state = user?.onboarding_state ?? 'unknown'
    const ownDone = state === 'complete' || state === 'failed' ? 1 : 0
    const total = Number(r.total) + 1
    const done = Number(r.done) + ownDone
    io.progress.update({
      label: `onboarding ${did}`,
      done,
      total,
      detail: `${r.records} records · ${state}${Number(r.failed) ? ` · ${r.failed} followee(s) failed` : ''}`,
    })
    if (state === 'failed') {
      io.progress.finish(`onboarding of ${did} failed: ${user?.onboarding_error ?? 'unknown reason'}`)
      throw new CliError(`onboarding failed: ${user?.onboarding_error ?? 'unknown reason'}`)
    }
    if (ownDone && done >= total) {
      io.progress.finish(`onboarding of ${did} complete: ${r.total} followees, ${r.records} records backfilled`)
      return
    }
    if (Date.now() > deadline) {
      io.progress.finish(`still running after ${timeoutMs / 1000} s (${done}/${total}); it continues in the background`)
      return
    }
    await new Promise((res) => setTimeout(res, 250))
  }
}

async function watchBackfill(ctx: AppContext, io: CliIo, did: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const t = await ctx.db.db
      .selectFrom('tracked_did')
      .select(['backfill_state', 'backfill_error', 'records_indexed'])
      .where('did', '=', did)
      .executeTakeFirst()
    const state = t?.backfill_state ?? 'unknown'
    const finished = state === 'complete' || state === 'failed'
    io.progress.update({ label: `backfill ${did}`, done: finished ? 1 : 0, total: 1, detail: `${t?.records_indexed ?? 0} records · ${state}` })
    if (state === 'failed') {
      io.progress.finish(`backfill of ${did} failed: ${t?.backfill_error ?? 'unknown reason'}`)
      throw new CliError(`backfill failed: ${t?.backfill_error ?? 'unknown reason'}`)
    }
    if (state === 'complete') {
      io.progress.finish(`backfill of ${did} complete: ${t?.records_indexed ?? 0} records in total`)
      return
    }
    if (Date.now() > deadline) {
      io.progress.finish(`still running after ${timeoutMs / 1000} s; it continues in the background`)
      return
    }
    await new Promise((res) => setTimeout(res, 250))
  }
}
