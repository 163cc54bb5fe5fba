// The walk of backfillRepo against an in-memory PDS and the real indexer: listed pages that
// queue up are written several to a transaction, each transaction saves the progress after
// its last page, a listing failure leaves every page read before it stored (and the progress
// there, so a retry resumes), and a slow PDS still gets each page written as it comes.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backfillRepo, PAGES_PER_TRANSACTION, type BackfillIndexer, type BackfillRepoDeps } from '../../src/backfill/backfill-repo.js'
import type { ListRecordsPage } from '../../src/backfill/pds-client.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { cidOf, newDid } from '../_util/index-ops.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ ROLES: 'ingest' })
})
afterAll(async () => {
  await t?.close()
})

/** n in base32-sortable digits, 11 of them: a valid, ordered record key suffix. */
function sortable(n: number): string {
  const digits = '234567abcdefghijklmnopqrstuvwxyz'
  let out = ''
  for (let i = 0; i < 11; i++, n = Math.floor(n / 32)) out = digits[n % 32] + out
  return out
}

/** `pages` pages of 100 posts by `did`, newest first; cursor i → page i. */
function listing(did: string, pages: number): ListRecordsPage[] {
  const out: ListRecordsPage[] = []
  const start = Date.parse('2025-06-01T00:00:00.000Z')
  let n = pages * 100
  for (let p = 0; p < pages; p++) {
    const records = []
    for (let j = 0; j < 100; j++, n--) {
      const createdAt = new Date(start + n * 60_000).toISOString()
      const rkey = `3l${sortable(n)}`
      records.push({ uri: `at://${did}/app.bsky.feed.post/${rkey}`, cid: cidOf(`${did}${n}`), value: { $type: 'app.bsky.feed.post', text: `post ${n}`, createdAt } })
    }
    out.push({ records, malformed: 0, cursor: p < pages - 1 ? String(p + 1) : undefined })
  }
  return out
}

interface Recorded {
  /** Records per applyBatch call (one transaction each). */
  batches: number[]
  /** The posts cursor saved by each transaction. */
  cursors: Array<string | undefined>
  /** Cursors listRecords was asked for. */
  asked: Array<string | undefined>
}

function deps(did: string, pages: ListRecordsPage[], opts: { delayMs?: number; failAt?: number } = {}): { deps: BackfillRepoDeps; rec: Recorded } {
  const rec: Recorded = { batches: [], cursors: [], asked: [] }
  const indexer = t.ctx.indexer
  const recording: BackfillIndexer = {
    prepareBatch: (items) => indexer.prepareBatch(items),
    applyBatch: (items, o) =>
      indexer.applyBatch(items, {
        ...o,
        inTransaction: async (tx, counts) => {
          await o!.inTransaction!(tx, counts)
          const row = await tx.selectFrom('tracked_did').select('backfill_progress').where('did', '=', did).executeTakeFirstOrThrow()
          const progress = (typeof row.backfill_progress === 'string' ? JSON.parse(row.backfill_progress) : row.backfill_progress) as {
            collections: Record<string, { cursor?: string }>
          }
          rec.cursors.push(progress.collections['app.bsky.feed.post']?.cursor)
          rec.batches.push(Array.isArray(items) ? items.length : items.size)
        },
      }),
  }
  return {
    rec,
    deps: {
      db: t.db,
      indexer: recording,
      liveFilter: { waitForLiveFilter: async () => 'in-process' },
      log: t.ctx.log,
      days: 0,
      pds: {
        async listRecords(_did, collection, o) {
          if (collection !== 'app.bsky.feed.post') return { records: [], malformed: 0 }
          rec.asked.push(o?.cursor)
          const i = Number(o?.cursor ?? 0)
          await new Promise((resolve) => setTimeout(resolve, opts.delayMs ?? 0))
          if (opts.failAt === i) throw new Error(`page ${i} failed`)
          return JSON.parse(JSON.stringify(pages[i])) as ListRecordsPage
        },
        getRecord: async () => null,
      },
    },
  }
}

async function track(did: string) {
  await sql`insert into tracked_did (did, backfill_state) values (${did}, 'queued')`.execute(t.db)
}
async function stored(did: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from post where author_did = ${did}`.execute(t.db)
  return rows[0]!.n
}

describe('backfillRepo walk', () => {
  it('writes queued pages several to a transaction, each saving the progress after its last page', async () => {
    const did = newDid()
    await track(did)
    const pages = listing(did, 9)
    const { deps: d, rec } = deps(did, pages)
    const out = await backfillRepo(d, { did })
    expect(out).toMatchObject({ status: 'complete', indexed: 900, pages: 10 }) // and the reposts' empty page
    expect(await stored(did)).toBe(900)
    // The PDS answers at once, so pages queue: fewer transactions than pages, none too big.
    expect(rec.batches.reduce((a, b) => a + b, 0)).toBe(900)
    expect(rec.batches.length).toBeLessThan(9)
    expect(Math.max(...rec.batches)).toBeLessThanOrEqual(PAGES_PER_TRANSACTION * 100)
    // Each transaction's progress names the cursor after its last page.
    let pagesSoFar = 0
    rec.batches.forEach((n, i) => {
      pagesSoFar += n / 100
      expect(rec.cursors[i]).toBe(pagesSoFar < 9 ? String(pagesSoFar) : undefined)
    })
    expect(rec.asked).toEqual([undefined, '1', '2', '3', '4', '5', '6', '7', '8'])
    const row = await t.db.selectFrom('tracked_did').selectAll().where('did', '=', did).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ backfill_state: 'complete', backfill_progress: null, records_indexed: 900 })
  })

  it('a listing failure leaves the pages read before it stored, with their progress; the retry resumes there', async () => {
    const did = newDid()
    await track(did)
    const pages = listing(did, 7)
    const failing = deps(did, pages, { failAt: 4 })
    await expect(backfillRepo(failing.deps, { did })).rejects.toThrow('page 4 failed')
    expect(await stored(did)).toBe(400)
    expect(failing.rec.cursors.at(-1)).toBe('4')
    // Nothing was asked past the page that failed.
    expect(failing.rec.asked).toEqual([undefined, '1', '2', '3', '4'])

    const retry = deps(did, pages)
    const out = await backfillRepo(retry.deps, { did })
    expect(retry.rec.asked).toEqual(['4', '5', '6'])
    expect(out).toMatchObject({ status: 'complete', pages: 4 })
    expect(await stored(did)).toBe(700)
    const row = await t.db.selectFrom('tracked_did').select('records_indexed').where('did', '=', did).executeTakeFirstOrThrow()
    expect(row.records_indexed).toBe(700)
  })

  it('a slow PDS: each page is written as it comes, not held back for the next one', async () => {
    const did = newDid()
    await track(did)
    const { deps: d, rec } = deps(did, listing(did, 4), { delayMs: 80 })
    await backfillRepo(d, { did })
    expect(rec.batches).toEqual([100, 100, 100, 100])
    expect(await stored(did)).toBe(400)
  })
})
