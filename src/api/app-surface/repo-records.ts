// Lists, feed generators and starter packs are records in their creators' repos that this
// instance does not index; the screens that show them read them from the creator's PDS
// (listRecords / getRecord), each call inside the feed time budget. A PDS that fails or is
// slow gives an empty answer (logged), never an error: these are profile tabs and dialogs,
// and a failure there must not break the screen.
import { errorMessage } from '../../errors.js'
import type { SurfaceContext } from './context.js'
import { withTimeout } from '../../util/with-timeout.js'

export interface RepoRecord {
  uri: string
  cid: string
  value: Record<string, unknown>
}

async function timed<T>(ctx: SurfaceContext, what: string, fn: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await withTimeout(fn(), ctx.cfg.feedGen.timeoutMs)
  } catch (err) {
    ctx.log.info({ what, err: errorMessage(err) }, 'repo record read failed; answering without it')
    return fallback
  }
}

function isRecord(r: { uri: string; cid: string; value: unknown }): r is RepoRecord {
  return !!r.value && typeof r.value === 'object' && !Array.isArray(r.value)
}

/** One page of `collection` in `did`'s repo, records of the expected $type only. */
export async function listRepoRecords(
  ctx: SurfaceContext,
  did: string,
  collection: string,
  limit: number,
  cursor?: string,
): Promise<{ records: RepoRecord[]; cursor?: string }> {
  const page = await timed(
    ctx,
    `${did} ${collection}`,
    () => ctx.pds.listRecords(did, collection, { limit, cursor }),
    { records: [], malformed: 0, cursor: undefined },
  )
  return {
    records: page.records.filter(isRecord).filter((r) => r.value.$type === collection),
    cursor: page.cursor,
  }
}

/** Every record of `collection` in `did`'s repo up to `max` (pages of 100), in repo order. */
export async function listAllRepoRecords(
  ctx: SurfaceContext,
  did: string,
  collection: string,
  max = 1000,
): Promise<RepoRecord[]> {
  const out: RepoRecord[] = []
  let cursor: string | undefined
  const deadline = Date.now() + ctx.cfg.feedGen.timeoutMs
  do {
    const page = await listRepoRecords(ctx, did, collection, 100, cursor)
    out.push(...page.records)
    cursor = page.cursor
  } while (cursor && out.length < max && Date.now() < deadline)
  return out
}

/** Records by URI (each from its repo's PDS); missing or failing ones are left out. */
export async function getRepoRecords(ctx: SurfaceContext, uris: string[], collection: string): Promise<Map<string, RepoRecord>> {
  const out = new Map<string, RepoRecord>()
  const found = await Promise.all(
    [...new Set(uris)].map((uri) =>
      uri.split('/')[3] === collection ? timed(ctx, uri, () => ctx.pds.getRecord(uri), null) : Promise.resolve(null),
    ),
  )
  for (const r of found) if (r && isRecord(r) && r.value.$type === collection) out.set(r.uri, r)
  return out
}
