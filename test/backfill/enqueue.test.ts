// Whoever asks for a backfill (the indexer on a local user's new follow, onboarding, the
// operator, gap repair), tracked_did says `queued` once the job is in the queue, so operators
// (`cli status`, /metrics readers) see work waiting rather than a DID nobody will touch.
// No backfill worker runs here (ROLES=ingest): queued jobs stay queued.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { enqueueBackfill } from '../../src/backfill/enqueue.js'
import { jobIdForDid } from '../../src/queue.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { follow, items, newDid } from '../_util/index-ops.js'

describe('backfill state when a job is enqueued', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp({ ROLES: 'ingest' })
  })
  afterAll(async () => {
    await t?.close()
  })

  const tracked = (did: string) =>
    t.db.selectFrom('tracked_did').select(['backfill_state', 'backfill_error']).where('did', '=', did).executeTakeFirst()
  const target = () => ({ queue: t.ctx.backfillQueue, db: t.db })

  it("a local user's new follow: the indexer's job is in the queue and the followee shows queued", async () => {
    const local = newDid()
    const followee = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    const res = await t.ctx.indexer.applyBatch(items([follow(local, followee)]))
    expect(res.newlyTracked).toEqual([followee])

    const job = await t.ctx.backfillQueue.getJob(jobIdForDid(followee))
    expect(job?.data).toMatchObject({ did: followee, reason: 'follow' })
    expect(await tracked(followee)).toEqual({ backfill_state: 'queued', backfill_error: null })
  })

  it("a new user's onboarding shows the user queued", async () => {
    const user = newDid()
    expect(await t.ctx.onboarding.admit(user, 'operator')).toMatchObject({ admitted: true })
    expect((await t.ctx.backfillQueue.getJob(jobIdForDid(user)))?.data).toMatchObject({ did: user, reason: 'onboarding' })
    expect((await tracked(user))?.backfill_state).toBe('queued')
  })

  it('a new request after a failed backfill queues it again and clears the old reason; a running one keeps its state', async () => {
    const local = newDid()
    const followee = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    await t.ctx.indexer.applyBatch(items([follow(local, followee)]))
    // The worker gave up on it earlier (its job is gone from the queue).
    await (await t.ctx.backfillQueue.getJob(jobIdForDid(followee)))!.remove()
    await t.db
      .updateTable('tracked_did')
      .set({ backfill_state: 'failed', backfill_error: 'RepoNotFound' })
      .where('did', '=', followee)
      .execute()

    await enqueueBackfill(target(), { did: followee, reason: 'operator' })
    expect(await tracked(followee)).toEqual({ backfill_state: 'queued', backfill_error: null })

    // A worker took the job: a second request is a no-op on that job and must not claim
    // the backfill is still waiting.
    await t.db.updateTable('tracked_did').set({ backfill_state: 'running' }).where('did', '=', followee).execute()
    await enqueueBackfill(target(), { did: followee, reason: 'follow' })
    expect((await tracked(followee))?.backfill_state).toBe('running')
    const jobs = (await t.ctx.backfillQueue.getJobs(['waiting', 'prioritized'])).filter((j) => j.data.did === followee)
    expect(jobs).toHaveLength(1)
  })
})
