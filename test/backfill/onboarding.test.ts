// Admission: who becomes a local user (REGISTRATION, ALLOWED_DIDS, MAX_USERS), and what a new
// user gets (local + tracked, onboarding queued at the highest priority). No worker runs here,
// so the queued jobs stay visible.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BACKFILL_PRIORITY } from '../../src/backfill/enqueue.js'
import { createTestApp, type TestApp } from '../_util/app.js'

const did = (n: number) => `did:plc:admission${String(n).padStart(15, '0')}`

describe('admission (allowlist)', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await createTestApp({ REGISTRATION: 'allowlist', ALLOWED_DIDS: `${did(1)},${did(2)}`, MAX_USERS: '10' })
  })
  afterAll(async () => {
    await app?.close()
  })

  it('admits a listed DID on request: local, tracked, onboarding queued first in line', async () => {
    expect(await app.ctx.onboarding.admit(did(1), 'request')).toEqual({ admitted: true, created: true })
    const user = await app.db.selectFrom('local_user').selectAll().where('did', '=', did(1)).executeTakeFirstOrThrow()
    expect(user.added_by).toBe('request')
    expect(user.onboarding_state).toBe('pending')
    expect(app.ctx.liveFilter.isLocalUser(did(1))).toBe(true)
    expect(app.ctx.liveFilter.isTracked(did(1))).toBe(true)
    const job = await app.ctx.backfillQueue.getJob(encodeURIComponent(did(1)))
    expect(job?.data).toEqual({ did: did(1), reason: 'onboarding' })
    expect(job?.opts.priority).toBe(BACKFILL_PRIORITY.onboarding)
    // Already local: admitted at once, nothing queued twice.
    expect(await app.ctx.onboarding.admit(did(1), 'request')).toEqual({ admitted: true, created: false })
    const jobs = (await app.ctx.backfillQueue.getJobs(['prioritized', 'waiting'])).filter((j) => j.data.did === did(1))
    expect(jobs).toHaveLength(1)
  })

  it('refuses an unlisted DID on request, with a reason, and stores nothing', async () => {
    const res = await app.ctx.onboarding.admit(did(3), 'request')
    expect(res).toEqual({ admitted: false, reason: expect.stringMatching(/invitation only.*REGISTRATION=allowlist/) })
    expect(await app.db.selectFrom('local_user').select('did').where('did', '=', did(3)).executeTakeFirst()).toBeUndefined()
    expect(await app.db.selectFrom('tracked_did').select('did').where('did', '=', did(3)).executeTakeFirst()).toBeUndefined()
  })

  it('lets the operator add an unlisted DID', async () => {
    expect(await app.ctx.onboarding.admit(did(4), 'operator')).toEqual({ admitted: true, created: true })
  })

  it('refuses what is not a DID', async () => {
    expect(await app.ctx.onboarding.admit('alice.example.com', 'operator')).toEqual({
      admitted: false,
      reason: 'not a valid DID: alice.example.com',
    })
  })
})

describe('admission (MAX_USERS)', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await createTestApp({ REGISTRATION: 'open', MAX_USERS: '3' })
  })
  afterAll(async () => {
    await app?.close()
  })

  it('admits up to MAX_USERS even when many arrive at once, then refuses with a reason', async () => {
    const results = await Promise.all([10, 11, 12, 13, 14, 15].map((n) => app.ctx.onboarding.admit(did(n), 'request')))
    expect(results.filter((r) => r.admitted)).toHaveLength(3)
    const refused = results.filter((r) => !r.admitted)
    expect(refused).toHaveLength(3)
    for (const r of refused) expect(r).toEqual({ admitted: false, reason: 'this instance is full (3 users, MAX_USERS)' })
    const { count } = await app.db
      .selectFrom('local_user')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow()
    expect(Number(count)).toBe(3)
    // The operator is bound by the cap too; an existing user still gets in.
    expect((await app.ctx.onboarding.admit(did(20), 'operator')).admitted).toBe(false)
    const admittedDid = [10, 11, 12, 13, 14, 15].map(did).find((_, i) => results[i]!.admitted)!
    expect(await app.ctx.onboarding.admit(admittedDid, 'request')).toEqual({ admitted: true, created: false })
  })
})
