// app.bsky.feed.getTimeline: the viewer's Following timeline. Posts and reposts by everyone
// the viewer follows and the viewer's own, newest first by sort_at, keyset-paged.
import { type FeedItemRow, getTimelineSkeleton } from '../../../../dataplane/feeds.js'
import type { HydrationState } from '../../../../hydration/state.js'
import { createPipeline } from '../../../../pipeline.js'
import type { ReadContext } from '../../../context.js'
import { feedItemsRules } from '../../../rules.js'
import { decodeCursor, paginate } from '../../../util.js'

const NSID = 'app.bsky.feed.getTimeline'

export default function register(ctx: ReadContext) {
  const timeline = createPipeline(skeleton, hydration, feedItemsRules, presentation)
  ctx.router.add<Params>(NSID, {
    auth: 'required',
    handler: async ({ params, viewer }) => {
      const did = viewer!.did
      const [body, rev] = await Promise.all([timeline({ ctx, params, viewer: did }), ctx.hydrator.repoRev(did)])
      // Lets the PDS splice in the viewer's own records newer than what we indexed.
      return { body, headers: rev ? { 'atproto-repo-rev': rev } : undefined }
    },
  })
}

async function skeleton({ ctx, params, viewer }: In): Promise<Skeleton> {
  const rows = await getTimelineSkeleton(
    ctx.db,
    viewer!,
    params.limit,
    decodeCursor(params.cursor),
    ctx.hydrator.timelineSources,
  )
  return paginate(rows, params.limit)
}

function hydration({ ctx, skeleton, viewer }: In & { skeleton: Skeleton }) {
  return ctx.hydrator.hydrateFeedItems(skeleton.items, viewer)
}

function presentation({ ctx, skeleton, state }: In & { skeleton: Skeleton; state: HydrationState }) {
  const feed = skeleton.items.map((item) => ctx.views.feedViewPost(state, item)).filter((v) => v !== undefined)
  return { feed, ...(skeleton.cursor ? { cursor: skeleton.cursor } : {}) }
}

type Params = { limit: number; cursor?: string; algorithm?: string }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
type Skeleton = { items: FeedItemRow[]; cursor?: string }
