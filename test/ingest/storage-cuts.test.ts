// What migrations/0100 stopped storing twice is still answered: post text and langs (search),
// a like's subject CID (its notification's record), a post item's post URI (feeds).
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getAuthorFeedSkeleton } from '../../src/dataplane/feeds.js'
import { getListFeedSkeleton } from '../../src/dataplane/list-feed.js'
import { getNotificationRecords, listNotificationRows } from '../../src/dataplane/notifications.js'
import { searchPostUris } from '../../src/dataplane/search.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { cidOf, items, like, newDid, post, ref, repost } from '../_util/index-ops.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ ROLES: 'ingest' })
})
afterAll(async () => {
  await t?.close()
})

const apply = (ops: Parameters<typeof items>[0]) => t.ctx.indexer.applyBatch(items(ops, { startUs: Date.now() * 1000 }))

describe('storage cuts (migrations/0100)', () => {
  it('searches post text and languages read from the record', async () => {
    const alice = newDid()
    const de = post(alice, { text: 'Eichhörnchen sammeln Nüsse im Herbst', langs: ['de'] })
    const en = post(alice, { text: 'squirrels gather nuts in autumn', langs: ['en', 'de'] })
    const none = post(alice, { text: 'squirrels without a language' })
    await apply([de, en, none])
    const search = async (s: Parameters<typeof searchPostUris>[1]) => (await searchPostUris(t.db, s, 25)).uris.sort()

    expect(await search({ query: 'eichhörnchen', sort: 'recent' })).toEqual([de.uri])
    expect(await search({ query: 'squirrels', sort: 'top' })).toEqual([en.uri, none.uri].sort())
    expect(await search({ authors: [alice], languages: ['de'], sort: 'recent' })).toEqual([de.uri, en.uri].sort())
    expect(await search({ authors: [alice], languages: ['en'], sort: 'recent' })).toEqual([en.uri])
    // a post without langs is not excluded by a language it does not claim
    expect(await search({ authors: [alice], excludeLanguages: ['de'], sort: 'recent' })).toEqual([none.uri])
    // the index matches the search's expression (a table this small would be scanned anyway)
    const plan = await t.db.transaction().execute(async (tx) => {
      await sql`set local enable_seqscan = off`.execute(tx)
      return sql<{ 'QUERY PLAN': string }>`explain select uri from post
        where to_tsvector('simple', record->>'text') @@ websearch_to_tsquery('simple', 'eichhörnchen')`.execute(tx)
    })
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('post_text_fts_idx')
  })

  it('rebuilds a like notification record with the subject CID the like named', async () => {
    const local = newDid()
    const stranger = newDid()
    await t.ctx.indexer.trackLocalUser(local, 'operator')
    const mine = post(local, { text: 'mine' })
    const other = post(stranger, { text: 'theirs' })
    await apply([mine, other])
    // The like names an older version's CID of the post: the record shows what the like said.
    const olderCid = cidOf('older version')
    const liked = like(stranger, { ...mine, cid: olderCid })
    const byLocal = like(local, other)
    await apply([liked, byLocal])

    const rows = await listNotificationRows(t.db, local, 10, undefined, {})
    const likeRow = rows.find((r) => r.reason === 'like')!
    expect(likeRow.recordUri).toBe(liked.uri)
    const records = await getNotificationRecords(t.db, rows)
    expect(records.get(liked.uri)).toEqual({
      $type: 'app.bsky.feed.like',
      subject: { uri: mine.uri, cid: olderCid },
      createdAt: expect.any(String),
    })
    // A like that notifies nobody keeps no subject CID (nothing reads it).
    const stored = await t.db.selectFrom('like').select(['uri', 'subject_cid']).where('uri', 'in', [liked.uri, byLocal.uri]).orderBy('uri').execute()
    expect(Object.fromEntries(stored.map((r) => [r.uri, r.subject_cid]))).toEqual({ [liked.uri]: olderCid, [byLocal.uri]: null })
  })

  it("feeds show a post item's own post and a repost item's subject", async () => {
    const alice = newDid()
    const bob = newDid()
    const p = post(alice, { text: 'an original' })
    const r = repost(alice, post(bob, { text: 'reposted' }))
    const subject = (r.record as { subject: ReturnType<typeof ref> }).subject.uri
    await apply([p, r])
    const feed = await getAuthorFeedSkeleton(t.db, alice, 'posts_no_replies', 10)
    expect(feed.map((f) => [f.uri, f.type, f.postUri]).sort()).toEqual(
      [
        [p.uri, 'post', p.uri],
        [r.uri, 'repost', subject],
      ].sort(),
    )
    const list = await getListFeedSkeleton(t.db, [alice], 10)
    expect(list.map((f) => [f.uri, f.postUri])).toEqual([[p.uri, p.uri]])
  })
})
