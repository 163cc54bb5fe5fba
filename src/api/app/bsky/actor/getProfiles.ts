// app.bsky.actor.getProfiles: profileViewDetailed for up to 25 actors; unknown or hidden
// ones are left out.
import type { HydrationState } from '../../../../hydration/state.js'
import { createPipeline } from '../../../../pipeline.js'
import type { ReadContext } from '../../../context.js'
import { resolveActorDids } from '../../../util.js'

const NSID = 'app.bsky.actor.getProfiles'

export default function register(ctx: ReadContext) {
  const profiles = createPipeline(skeleton, hydration, rules, presentation)
  ctx.router.add<Params>(NSID, {
    auth: 'optional',
    handler: async ({ params, viewer }) => ({ body: await profiles({ ctx, params, viewer: viewer?.did ?? null }) }),
  })
}

async function skeleton({ ctx, params }: In): Promise<string[]> {
  return [...new Set(await resolveActorDids(ctx, params.actors))]
}

function hydration({ ctx, skeleton, viewer }: In & { skeleton: string[] }) {
  return ctx.hydrator.hydrateProfiles(skeleton, viewer)
}

function rules({ ctx, skeleton, state }: In & { skeleton: string[]; state: HydrationState }) {
  return skeleton.filter((did) => ctx.views.actorIsActive(state, did))
}

function presentation({ ctx, skeleton, state }: In & { skeleton: string[]; state: HydrationState }) {
  return { profiles: skeleton.map((did) => ctx.views.profileViewDetailed(state, did)).filter((v) => v !== undefined) }
}

type Params = { actors: string[] }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
