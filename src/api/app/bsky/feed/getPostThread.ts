// app.bsky.feed.getPostThread (v1): the anchor post with its parents (nested upwards) and
// replies (nested downwards). Used by older app builds, the PDS's read-after-write and curl.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { HydrationState } from '../../../../hydration/state.js'
import { createPipeline, noRules } from '../../../../pipeline.js'
import type { ThreadSkeleton } from '../../../../views/index.js'
import type { ReadContext } from '../../../context.js'
import { loadThreadSkeleton, threadUris } from '../../../thread-skeleton.js'

const NSID = 'app.bsky.feed.getPostThread'

export default function register(ctx: ReadContext) {
  const thread = createPipeline(skeleton, hydration, noRules, presentation)
  ctx.router.add<Params>(NSID, {
    auth: 'optional',
    handler: async ({ params, viewer }) => ({ body: await thread({ ctx, params, viewer: viewer?.did ?? null }) }),
  })
}

function skeleton({ ctx, params }: In): Promise<ThreadSkeleton> {
  return loadThreadSkeleton(ctx, params.uri, { parentHeight: params.parentHeight, depth: params.depth })
}

function hydration({ ctx, skeleton, viewer }: In & { skeleton: ThreadSkeleton }) {
  return ctx.hydrator.hydrateThreadPosts(threadUris(skeleton), viewer)
}

function presentation({ ctx, params, skeleton, state }: In & { skeleton: ThreadSkeleton; state: HydrationState }) {
  const thread = ctx.views.threadV1(state, skeleton, params.depth)
  if (!thread) throw new InvalidRequestError(`Post not found: ${params.uri}`, 'NotFound')
  return { thread }
}

type Params = { uri: string; depth: number; parentHeight: number }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
