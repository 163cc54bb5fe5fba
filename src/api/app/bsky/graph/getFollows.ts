// app.bsky.graph.getFollows: accounts an actor follows, newest follow first.
import { InvalidRequestError } from '@atproto/xrpc-server'
import { type FollowPageItem, getFollowsPage } from '../../../../dataplane/graph.js'
import type { HydrationState } from '../../../../hydration/state.js'
import { createPipeline } from '../../../../pipeline.js'
import type { ReadContext } from '../../../context.js'
import { decodeCursor, paginate, requireActorDid } from '../../../util.js'

const NSID = 'app.bsky.graph.getFollows'

export default function register(ctx: ReadContext) {
  const follows = createPipeline(skeleton, hydration, rules, presentation)
  ctx.router.add<Params>(NSID, {
    auth: 'optional',
    handler: async ({ params, viewer }) => ({ body: await follows({ ctx, params, viewer: viewer?.did ?? null }) }),
  })
}

async function skeleton({ ctx, params }: In): Promise<Skeleton> {
  const subject = await requireActorDid(ctx, params.actor)
  const rows = await getFollowsPage(ctx.db, subject, params.limit, decodeCursor(params.cursor))
  return { subject, ...paginate(rows, params.limit) }
}

function hydration({ ctx, skeleton, viewer }: In & { skeleton: Skeleton }) {
  return ctx.hydrator.hydrateProfiles([skeleton.subject, ...skeleton.items.map((i) => i.did)], viewer)
}

function rules({ ctx, skeleton, state }: In & { skeleton: Skeleton; state: HydrationState }): Skeleton {
  const items = skeleton.items.filter((i) => ctx.views.actorIsActive(state, i.did) && !ctx.views.isBlocked(state, i.did))
  return { ...skeleton, items }
}

function presentation({ ctx, params, skeleton, state }: In & { skeleton: Skeleton; state: HydrationState }) {
  const subject = ctx.views.actorIsActive(state, skeleton.subject) ? ctx.views.profileView(state, skeleton.subject) : undefined
  if (!subject) throw new InvalidRequestError(`Profile not found: ${params.actor}`)
  const follows = skeleton.items.map((i) => ctx.views.profileView(state, i.did)).filter((v) => v !== undefined)
  return { subject, follows, ...(skeleton.cursor ? { cursor: skeleton.cursor } : {}) }
}

type Params = { actor: string; limit: number; cursor?: string }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
type Skeleton = { subject: string; items: FollowPageItem[]; cursor?: string }
