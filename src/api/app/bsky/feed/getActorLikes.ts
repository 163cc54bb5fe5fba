// app.bsky.feed.getActorLikes: the posts an account liked, newest like first. Likes are
// private to their author in the app, so only the viewer's own are served.
import { InvalidRequestError } from '@atproto/xrpc-server'
import { getActorLikesPage } from '../../../../dataplane/interactions.js'
import type { HydrationState } from '../../../../hydration/state.js'
import { createPipeline } from '../../../../pipeline.js'
import type { ReadContext } from '../../../context.js'
import { feedItemsRules } from '../../../rules.js'
import { decodeCursor, paginate, requireActorDid } from '../../../util.js'

const NSID = 'app.bsky.feed.getActorLikes'

export default function register(ctx: ReadContext) {
  const actorLikes = createPipeline(skeleton, hydration, feedItemsRules, presentation)
  ctx.router.add<Params>(NSID, {
    auth: 'required',
    handler: async ({ params, viewer }) => ({ body: await actorLikes({ ctx, params, viewer: viewer!.did }) }),
  })
}

async function skeleton({ ctx, params, viewer }: In): Promise<Skeleton> {
  const did = await requireActorDid(ctx, params.actor)
  if (did !== viewer) throw new InvalidRequestError('Likes are only visible to the account that made them')
  const rows = await getActorLikesPage(ctx.db, did, params.limit, decodeCursor(params.cursor))
  const page = paginate(rows, params.limit)
  return {
    cursor: page.cursor,
    items: page.items.map((r) => ({ uri: r.postUri, type: 'post' as const, postUri: r.postUri })),
  }
}

function hydration({ ctx, skeleton, viewer }: In & { skeleton: Skeleton }) {
  return ctx.hydrator.hydrateFeedItems(
    skeleton.items.map((i) => ({ ...i, originatorDid: '', sortKey: '' })),
    viewer,
  )
}

function presentation({ ctx, skeleton, state }: In & { skeleton: Skeleton; state: HydrationState }) {
  const feed = skeleton.items.map((item) => ctx.views.feedViewPost(state, item)).filter((v) => v !== undefined)
  return { feed, ...(skeleton.cursor ? { cursor: skeleton.cursor } : {}) }
}

type Params = { actor: string; limit: number; cursor?: string }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
type Skeleton = { items: Array<{ uri: string; type: 'post'; postUri: string }>; cursor?: string }
