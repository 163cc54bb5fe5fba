// app.bsky.unspecced.getPostThreadV2: the thread screen of the app. A flat list of items
// with depth (parents negative, anchor 0, replies positive); the composer also polls it
// right after posting, so an anchor we do not hold yet answers with #threadItemNotFound.
import type { HydrationState } from '../../../../hydration/state.js'
import { createPipeline, noRules } from '../../../../pipeline.js'
import type { ReplySort, ThreadSkeleton } from '../../../../views/index.js'
import type { ReadContext } from '../../../context.js'
import { loadThreadSkeleton, threadUris } from '../../../thread-skeleton.js'

const NSID = 'app.bsky.unspecced.getPostThreadV2'
// how far up the app's thread screen goes; more parents are flagged with moreParents
const MAX_PARENTS = 50

export default function register(ctx: ReadContext) {
  const thread = createPipeline(skeleton, hydration, noRules, presentation)
  ctx.router.add<Params>(NSID, {
    auth: 'optional',
    handler: async ({ params, viewer }) => ({ body: await thread({ ctx, params, viewer: viewer?.did ?? null }) }),
  })
}

function skeleton({ ctx, params }: In): Promise<ThreadSkeleton> {
  return loadThreadSkeleton(ctx, params.anchor, {
    parentHeight: params.above ? MAX_PARENTS : 0,
    depth: params.below,
  })
}

function hydration({ ctx, skeleton, viewer }: In & { skeleton: ThreadSkeleton }) {
  return ctx.hydrator.hydrateThreadPosts(threadUris(skeleton), viewer)
}

function presentation({ ctx, params, skeleton, state }: In & { skeleton: ThreadSkeleton; state: HydrationState }) {
  const sort: ReplySort = params.sort === 'newest' || params.sort === 'top' ? params.sort : 'oldest'
  const thread = ctx.views.threadV2(state, skeleton, {
    above: params.above,
    below: params.below,
    branchingFactor: params.branchingFactor,
    sort,
  })
  return { thread, hasOtherReplies: false }
}

type Params = { anchor: string; above: boolean; below: number; branchingFactor: number; sort: string }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
