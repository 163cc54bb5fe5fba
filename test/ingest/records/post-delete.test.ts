// Deleting a post (src/ingest/records/post.ts remove): its feed item and its reposts' items
// leave every feed, and they are found by index — a delete used to read all of feed_item
// ("uri = $1 or uri in (subquery)" cannot use the primary key), a full scan per deleted post
// that grows with the instance.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IndexOp } from '../../../src/ingest/ops.js'
import { emptyEffects, type IndexEnv } from '../../../src/ingest/records/processor.js'
import { postProcessor } from '../../../src/ingest/records/post.js'
import { createTestApp, type TestApp } from '../../_util/app.js'
import { items, newDid, post, repost, tid } from '../../_util/index-ops.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ ROLES: 'ingest' })
})
afterAll(async () => {
  await t?.close()
})

const apply = (list: IndexOp[]) => t.ctx.indexer.applyBatch(items(list, { startUs: Date.now() * 1000 }))
const feedItemUris = async (uris: string[]) =>
  (await t.db.selectFrom('feed_item').select('uri').where('uri', 'in', uris).execute()).map((r) => r.uri).sort()

describe('post delete', () => {
  it('takes the post and its reposts out of the feeds through the feed index, without a scan', async () => {
    const alice = newDid()
    const p = post(alice, { text: 'soon gone' })
    const reposts = [repost(newDid(), p), repost(newDid(), p)]
    const bystander = post(alice, { text: 'stays' })
    await apply([p, ...reposts, bystander])
    const all = [p.uri, ...reposts.map((r) => r.uri), bystander.uri]
    expect(await feedItemUris(all)).toEqual([...all].sort())

    const env: IndexEnv = { isLocalUser: () => false, channel: t.ctx.liveFilter.channel, effects: emptyEffects() }
    const { removed, feedItemScans } = await t.db.transaction().execute(async (tx) => {
      // a table this small would be scanned anyway; with scans priced out, one still taken
      // means the statement has no other way to find the rows
      await sql`set local enable_seqscan = off`.execute(tx)
      const removed = await postProcessor.remove(tx, p.uri, alice, tid(), env)
      const stats = await sql<{ seq_scan: string }>`
        select seq_scan from pg_stat_xact_user_tables where relid = 'feed_item'::regclass`.execute(tx)
      return { removed, feedItemScans: Number(stats.rows[0]!.seq_scan) }
    })
    expect(removed).toBe(true)
    expect(feedItemScans).toBe(0)
    expect(await feedItemUris(all)).toEqual([bystander.uri])
  })
})
