// app.bsky.graph.muteActor: mutes are private AppView state (src/state/mutes.ts); a muted
// account disappears from the viewer's timelines, threads and notifications.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { AppContext } from '../../../../app.js'
import { muteActor } from '../../../../state/mutes.js'
import { resolveActorDid } from '../../../app-surface/actor-ref.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.graph.muteActor', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const did = await resolveActorDid(ctx, (input as { actor: string }).actor)
      if (did === viewer!.did) throw new InvalidRequestError('Cannot mute oneself')
      await muteActor(ctx.db.db, viewer!.did, did)
    },
  })
}
