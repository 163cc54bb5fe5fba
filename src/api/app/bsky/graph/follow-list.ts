// getFollows and getFollowers are the same pipeline over the two directions of the follow
// graph: a subject's profile plus one page of profiles, newest follow first.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { FollowPageItem, getFollowsPage } from '../../../../dataplane/graph.js'
import type { HydrationState } from '../../../../hydration/state.js'
import { createPipeline } from '../../../../pipeline.js'
import type { ReadContext } from '../../../context.js'
import { decodeCursor, paginate, requireActorDid } from '../../../util.js'

type PageQuery = typeof getFollowsPage

/** Registers `nsid`, answering `{subject, [listKey]: profileView[], cursor?}`. */
export function registerFollowList(ctx: ReadContext, nsid: string, page: PageQuery, listKey: 'follows' | 'followers') {
  async function skeleton({ ctx, params }: In): Promise<Skeleton> {
    const subject = await requireActorDid(ctx, params.actor)
    const rows = await page(ctx.db, subject, params.limit, decodeCursor(params.cursor))
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
    const profiles = skeleton.items.map((i) => ctx.views.profileView(state, i.did)).filter((v) => v !== undefined)
    return { subject, [listKey]: profiles, ...(skeleton.cursor ? { cursor: skeleton.cursor } : {}) }
  }

  const list = createPipeline(skeleton, hydration, rules, presentation)
  ctx.router.add<Params>(nsid, {
    auth: 'optional',
    handler: async ({ params, viewer }) => ({ body: await list({ ctx, params, viewer: viewer?.did ?? null }) }),
  })
}

type Params = { actor: string; limit: number; cursor?: string }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
type Skeleton = { subject: string; items: FollowPageItem[]; cursor?: string }
