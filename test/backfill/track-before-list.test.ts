// Track before list, with ingest in a separate process (the real `src/bin.ts`, ROLES=ingest)
// and api + backfill in this one: a backfill lists nothing until the ingest process's live
// filter has acknowledged the DID, so a post created between tracking and listing is kept by
// the stream (and stored once).
import type { ChildProcess } from 'node:child_process'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backfillComponent } from '../../src/backfill/component.js'
import type { BackfillComponent } from '../../src/backfill/worker.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { TEST_DATABASE_URL, TEST_REDIS_URL, uniqueSchema } from '../_util/config.js'
import { TestJetstream } from '../_util/jetstream-server.js'
import { TestNetwork, createFollow, createPost, seedPosts, waitFor, type FirehoseBridge } from '../_util/network.js'
import { spawnAppview, waitForOutput, type Exited } from '../_util/spawn-appview.js'

describe('track before list across processes', () => {
  let net: TestNetwork
  let js: TestJetstream
  let bridge: FirehoseBridge
  let app: TestApp
  let backfill: BackfillComponent
  let ingest: { child: ChildProcess; exited: Promise<Exited> }
  const schema = uniqueSchema('tbl')

  beforeAll(async () => {
    net = await TestNetwork.start({ faultProxy: true })
    js = await TestJetstream.start()
    bridge = await net.startBridge((e) => void js.push(e))
    app = await createTestApp(
      { DATABASE_SCHEMA: schema, PLC_URL: net.plcUrl, DEV_LOCAL_NETWORK: 'true', ROLES: 'api,backfill', BACKFILL_DAYS: '0' },
      { components: [(ctx) => (backfill = backfillComponent(ctx, { gapCheckMs: 60_000 }))] },
    )
    ingest = spawnAppview({
      ROLES: 'ingest',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema,
      REDIS_URL: TEST_REDIS_URL,
      JETSTREAM_URL: js.url,
      INGEST_BATCH_MS: '10',
      PLC_URL: net.plcUrl,
      DEV_LOCAL_NETWORK: 'true',
    })
    await waitForOutput(ingest.child, 'appview started', 60_000)
    await waitFor(() => js.openConnections > 0, { message: 'the ingest process did not connect' })
    await waitFor(
      async () => (await sql`select 1 from live_filter_ack where role = 'ingest'`.execute(app.db)).rows.length > 0,
      { message: 'the ingest process never wrote its live filter heartbeat' },
    )
  })
  afterAll(async () => {
    if (ingest) {
      ingest.child.kill('SIGCONT')
      ingest.child.kill('SIGTERM')
      await ingest.exited
    }
    await app?.close()
    await js?.close()
    await net?.close()
  })

  const ackedSeq = async () =>
    BigInt((await sql<{ s: string }>`select acked_seq::text as s from live_filter_ack where role = 'ingest'`.execute(app.db)).rows[0]?.s ?? '0')
  const trackedSeq = async (did: string) =>
    BigInt(
      (await app.db.selectFrom('tracked_did').select('tracked_seq').where('did', '=', did).executeTakeFirstOrThrow())
        .tracked_seq,
    )

  it('waits for the ingest process before listing, and keeps what was posted in between', async () => {
    const author = await net.createAccount('tblauthor')
    await seedPosts(author, 30)
    const newbie = await net.createAccount('tblnewbie')
    await createFollow(newbie, author.did)
    await bridge.caughtUp()

    const followsListed = net.proxy!.hold(`listRecords?repo=${encodeURIComponent(newbie.did)}`, 'request')
    const authorListed = net.proxy!.hold(`listRecords?repo=${encodeURIComponent(author.did)}`, 'request')

    // The ingest process is frozen: its filter cannot acknowledge anything.
    ingest.child.kill('SIGSTOP')
    let resumed = false
    try {
      expect(await app.ctx.onboarding.admit(newbie.did, 'request')).toEqual({ admitted: true, created: true })
      await waitFor(async () => {
        const u = await app.db.selectFrom('local_user').select('onboarding_state').where('did', '=', newbie.did).executeTakeFirst()
        return u?.onboarding_state === 'running'
      })
      // Tracked here, not yet acknowledged there: nothing may be listed.
      expect(await ackedSeq()).toBeLessThan(await trackedSeq(newbie.did))
      expect(net.proxy!.count(`listRecords?repo=${encodeURIComponent(newbie.did)}`)).toBe(0)
    } finally {
      ingest.child.kill('SIGCONT')
      resumed = true
    }
    await followsListed.arrived
    expect(resumed).toBe(true)
    expect(await ackedSeq()).toBeGreaterThanOrEqual(await trackedSeq(newbie.did))
    followsListed.release()

    // The followee became tracked by the onboarding (this process); its backfill lists only
    // after the ingest process acknowledged it too.
    await authorListed.arrived
    expect(await ackedSeq()).toBeGreaterThanOrEqual(await trackedSeq(author.did))
    const between = await createPost(author, 'between tracking and listing')
    await bridge.caughtUp()
    // The ingest process keeps it from the stream …
    await waitFor(async () => app.db.selectFrom('post').select('uri').where('uri', '=', between.uri).executeTakeFirst(), {
      message: 'the ingest process did not store the post made after tracking',
    })
    // … and the listing, released now, sees it again: stored once.
    authorListed.release()
    await backfill.idle()
    const posts = await app.db.selectFrom('post').select('uri').where('author_did', '=', author.did).execute()
    expect(posts).toHaveLength(31)
    const items = await app.db.selectFrom('feed_item').select('uri').where(sql`coalesce(post_uri, uri)`, '=', between.uri).execute()
    expect(items).toHaveLength(1)
    expect(
      (await app.db.selectFrom('tracked_did').select('backfill_state').where('did', '=', author.did).executeTakeFirst())
        ?.backfill_state,
    ).toBe('complete')
  })
})
