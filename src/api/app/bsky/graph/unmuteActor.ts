// app.bsky.graph.unmuteActor: removes a mute (a no-op when there was none).
import type { AppContext } from '../../../../app.js'
import { unmuteActor } from '../../../../state/mutes.js'
import { resolveActorDid } from '../../../app-surface/actor-ref.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.graph.unmuteActor', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const did = await resolveActorDid(ctx, (input as { actor: string }).actor)
      await unmuteActor(ctx.db.db, viewer!.did, did)
    },
  })
}
