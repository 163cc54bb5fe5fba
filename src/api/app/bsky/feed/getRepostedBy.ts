// app.bsky.feed.getRepostedBy: who reposted a post, newest first.
import { getRepostsPage, type SubjectPageItem } from '../../../../dataplane/interactions.js'
import type { HydrationState } from '../../../../hydration/state.js'
import { createPipeline } from '../../../../pipeline.js'
import type { ReadContext } from '../../../context.js'
import { decodeCursor, paginate } from '../../../util.js'

const NSID = 'app.bsky.feed.getRepostedBy'

export default function register(ctx: ReadContext) {
  const repostedBy = createPipeline(skeleton, hydration, rules, presentation)
  ctx.router.add<Params>(NSID, {
    auth: 'optional',
    handler: async ({ params, viewer }) => ({ body: await repostedBy({ ctx, params, viewer: viewer?.did ?? null }) }),
  })
}

async function skeleton({ ctx, params }: In): Promise<Skeleton> {
  const rows = await getRepostsPage(ctx.db, params.uri, params.limit, decodeCursor(params.cursor))
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
  const repostedBy = skeleton.items.map((i) => ctx.views.profileView(state, i.did)).filter((v) => v !== undefined)
  return {
    uri: params.uri,
    ...(params.cid ? { cid: params.cid } : {}),
    repostedBy,
    ...(skeleton.cursor ? { cursor: skeleton.cursor } : {}),
  }
}

type Params = { uri: string; cid?: string; limit: number; cursor?: string }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
type Skeleton = { items: SubjectPageItem[]; cursor?: string }
