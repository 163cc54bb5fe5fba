// app.bsky.feed.getLikes: who liked a post, newest first.
import { getLikesPage, type LikePageItem } from '../../../../dataplane/interactions.js'
import type { HydrationState } from '../../../../hydration/state.js'
import { createPipeline } from '../../../../pipeline.js'
import type { ReadContext } from '../../../context.js'
import { decodeCursor, paginate } from '../../../util.js'
import { iso } from '../../../../views/util.js'

const NSID = 'app.bsky.feed.getLikes'

export default function register(ctx: ReadContext) {
  const likes = createPipeline(skeleton, hydration, rules, presentation)
  ctx.router.add<Params>(NSID, {
    auth: 'optional',
    handler: async ({ params, viewer }) => ({ body: await likes({ ctx, params, viewer: viewer?.did ?? null }) }),
  })
}

async function skeleton({ ctx, params }: In): Promise<Skeleton> {
  const rows = await getLikesPage(ctx.db, params.uri, params.limit, decodeCursor(params.cursor))
  return paginate(rows, params.limit)
}

function hydration({ ctx, skeleton, viewer }: In & { skeleton: Skeleton }) {
  return ctx.hydrator.hydrateProfiles(skeleton.items.map((i) => i.did), viewer)
}

function rules({ ctx, skeleton, state }: In & { skeleton: Skeleton; state: HydrationState }): Skeleton {
  const items = skeleton.items.filter((i) => ctx.views.actorIsActive(state, i.did) && !ctx.views.isBlocked(state, i.did))
  return { ...skeleton, items }
}

function presentation({ ctx, params, skeleton, state }: In & { skeleton: Skeleton; state: HydrationState }) {
  const likes = []
  for (const item of skeleton.items) {
    const actor = ctx.views.profileView(state, item.did)
    if (actor) likes.push({ actor, createdAt: iso(item.createdAt)!, indexedAt: iso(item.indexedAt)! })
  }
  return { uri: params.uri, ...(params.cid ? { cid: params.cid } : {}), likes, ...(skeleton.cursor ? { cursor: skeleton.cursor } : {}) }
}

type Params = { uri: string; cid?: string; limit: number; cursor?: string }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
type Skeleton = { items: LikePageItem[]; cursor?: string }
