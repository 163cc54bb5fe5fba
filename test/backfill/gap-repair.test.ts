// An outage longer than Jetstream's retention: ingest records a gap; the backfill role
// backfills every tracked DID back to the gap's start and closes the gap when all are done.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFollow, createPost, seedPosts, waitFor, type SeededRecord, type TestAccount } from '../_util/network.js'
import { startBackfillEnv, type BackfillEnv } from './harness.js'

const HOUR = 3600 * 1000

describe('gap repair', () => {
  let env: BackfillEnv
  let reader: TestAccount
  let author: TestAccount
  let quiet: TestAccount
  let old: SeededRecord[]

  beforeAll(async () => {
    env = await startBackfillEnv({ faultProxy: true, gapCheckMs: 100, env: { BACKFILL_DAYS: '30' } })
    reader = await env.net.createAccount('gapreader')
    author = await env.net.createAccount('gapauthor')
    quiet = await env.net.createAccount('gapquiet')
    // 250 posts from 3–13 days ago: three listRecords pages of history.
    old = await seedPosts(author, 250, { start: new Date(Date.now() - 13 * 24 * HOUR), stepMs: HOUR })
    await seedPosts(quiet, 3, { start: new Date(Date.now() - 5 * 24 * HOUR) })
    expect(await env.app.ctx.onboarding.admit(reader.did, 'operator')).toMatchObject({ admitted: true })
    await createFollow(reader, author.did)
    await createFollow(reader, quiet.did)
    await env.settle()
  })
  afterAll(async () => {
    await env?.close()
  })

  it('fills exactly the posts missed during an outage of more than 24 hours, then closes the gap', async () => {
    const db = env.app.db
    expect(await db.selectFrom('post').select('uri').where('author_did', '=', author.did).execute()).toHaveLength(250)

    // The outage: 30 hours the stream never delivered.
    env.stream.deliver = false
    const missed = [
      await createPost(author, 'missed 1', { createdAt: new Date(Date.now() - 29 * HOUR).toISOString() }),
      await createPost(author, 'missed 2', { createdAt: new Date(Date.now() - 20 * HOUR).toISOString() }),
      await createPost(author, 'missed 3', { createdAt: new Date(Date.now() - 1 * HOUR).toISOString() }),
    ]
    await env.bridge.caughtUp()
    expect(await db.selectFrom('post').select('uri').where('uri', 'in', missed.map((p) => p.uri)).execute()).toHaveLength(0)
    env.stream.deliver = true

    // What ingest writes when its stored cursor is older than Jetstream's retention.
    const nowUs = Date.now() * 1000
    await sql`insert into ingest_gap (from_time_us, to_time_us) values (${nowUs - 30 * HOUR * 1000}, ${nowUs})`.execute(db)
    const listBefore = env.net.proxy!.count(`listRecords?repo=${encodeURIComponent(author.did)}&collection=app.bsky.feed.post`)

    const gap = await waitFor(
      async () => {
        const g = await db.selectFrom('ingest_gap').selectAll().executeTakeFirst()
        return g?.closed_at ? g : undefined
      },
      { timeoutMs: 30_000, message: 'the gap was never closed' },
    )
    expect(gap.repair_started_at).toBeInstanceOf(Date)
    await env.settle()

    const posts = await db.selectFrom('post').select('uri').where('author_did', '=', author.did).execute()
    expect(posts.map((p) => p.uri).sort()).toEqual([...old, ...missed].map((p) => p.uri).sort())
    const items = await db.selectFrom('feed_item').select('uri').where('originator_did', '=', author.did).execute()
    expect(items).toHaveLength(253)
    const actor = await db.selectFrom('actor').select('posts_count').where('did', '=', author.did).executeTakeFirst()
    expect(actor?.posts_count).toBe(253)
    // Back to the gap's start only: one page, not the whole 3-page history again.
    const listAfter = env.net.proxy!.count(`listRecords?repo=${encodeURIComponent(author.did)}&collection=app.bsky.feed.post`)
    expect(listAfter - listBefore).toBe(1)
    // Every DID tracked when the repair began owed it, and all are done.
    const owed = await db.selectFrom('gap_repair').select(['did', 'state']).where('gap_id', '=', gap.id).execute()
    expect(owed.map((r) => r.did).sort()).toEqual([reader.did, author.did, quiet.did].sort())
    expect(owed.every((r) => r.state === 'complete')).toBe(true)
  })

  it('a followee backfill stops at the BACKFILL_DAYS horizon', async () => {
    const db = env.app.db
    const veteran = await env.net.createAccount('gapveteran')
    const ages = [50, 40, 31, 29, 20, 10, 1] // days
    const posts = []
    for (const days of ages) {
      posts.push(await createPost(veteran, `${days} days ago`, { createdAt: new Date(Date.now() - days * 24 * HOUR).toISOString() }))
    }
    await createFollow(reader, veteran.did)
    await env.settle()
    const stored = await db.selectFrom('post').select('uri').where('author_did', '=', veteran.did).execute()
    expect(stored.map((p) => p.uri).sort()).toEqual(posts.filter((_, i) => ages[i]! < 30).map((p) => p.uri).sort())
    const state = await db.selectFrom('tracked_did').selectAll().where('did', '=', veteran.did).executeTakeFirstOrThrow()
    expect(state.backfill_state).toBe('complete')
    const horizonAgeDays = (Date.now() - state.backfill_horizon!.getTime()) / (24 * HOUR)
    expect(horizonAgeDays).toBeGreaterThan(29.9)
    expect(horizonAgeDays).toBeLessThan(30.1)
  })
})
