// app.bsky.actor.getProfile: profileViewDetailed with counts and the viewer's relationship.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { HydrationState } from '../../../../hydration/state.js'
import { createPipeline, noRules } from '../../../../pipeline.js'
import type { ReadContext } from '../../../context.js'
import { requireActorDid } from '../../../util.js'

const NSID = 'app.bsky.actor.getProfile'

export default function register(ctx: ReadContext) {
  const profile = createPipeline(skeleton, hydration, noRules, presentation)
  ctx.router.add<Params>(NSID, {
    auth: 'optional',
    handler: async ({ params, viewer }) => ({ body: await profile({ ctx, params, viewer: viewer?.did ?? null }) }),
  })
}

async function skeleton({ ctx, params }: In): Promise<string> {
  return requireActorDid(ctx, params.actor)
}

function hydration({ ctx, skeleton, viewer }: In & { skeleton: string }) {
  return ctx.hydrator.hydrateProfiles([skeleton], viewer)
}

function presentation({ ctx, params, skeleton, state }: In & { skeleton: string; state: HydrationState }) {
  const actor = state.actors.value(skeleton)
  if (actor && actor.status !== 'active') {
    const name = actor.status === 'takendown' ? 'AccountTakedown' : 'AccountDeactivated'
    throw new InvalidRequestError(`Account is ${actor.status}`, name)
  }
  const view = ctx.views.profileViewDetailed(state, skeleton)
  if (!view) throw new InvalidRequestError(`Profile not found: ${params.actor}`)
  return view
}

type Params = { actor: string }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
