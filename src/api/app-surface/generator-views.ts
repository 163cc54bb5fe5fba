// generatorViews for a set of generator URIs, in the order asked, leaving out those whose
// record cannot be had: records (cached, time-bounded) → creators (hydrator) → like counts
// and the viewer's like (what we hold) → views.
import { getSubjectLikes } from '../../dataplane/graph-state.js'
import { generatorView } from '../../feeds/generator-view.js'
import { toGeneratorRecord, type GeneratorRecord } from '../../feeds/generator-records.js'
import type { SurfaceContext } from './context.js'

export async function generatorViews(
  ctx: SurfaceContext,
  uris: string[],
  viewer: string | null,
  /** records already read (getActorFeeds lists them from the repo) instead of fetching */
  known?: Array<{ uri: string; cid: string; value: Record<string, unknown> }>,
): Promise<{ views: Map<string, Record<string, unknown>>; records: Map<string, GeneratorRecord> }> {
  const records = known ? fromKnown(known) : await ctx.feeds.records.getMany(uris)
  const found = [...records.values()]
  const views = new Map<string, Record<string, unknown>>()
  if (found.length === 0) return { views, records }
  const foundUris = found.map((r) => r.uri)
  const [state, likes] = await Promise.all([
    ctx.hydrator.hydrateProfiles(
      found.map((r) => r.creatorDid),
      viewer,
    ),
    getSubjectLikes(ctx.db, foundUris, viewer),
  ])
  for (const rec of found) {
    if (ctx.views.isBlocked(state, rec.creatorDid)) continue
    views.set(
      rec.uri,
      generatorView(ctx.views.cdn, rec, {
        creator: ctx.views.profileView(state, rec.creatorDid),
        likeCount: likes.counts.get(rec.uri) ?? 0,
        viewerLike: likes.viewerLikes.get(rec.uri),
      }),
    )
  }
  return { views, records }
}

function fromKnown(known: Array<{ uri: string; cid: string; value: Record<string, unknown> }>) {
  const out = new Map<string, GeneratorRecord>()
  for (const r of known) {
    const rec = toGeneratorRecord(r)
    if (rec) out.set(rec.uri, rec)
  }
  return out
}
