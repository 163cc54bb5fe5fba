// app.bsky.actor.getPreferences: since app v1.132 preferences stay on the PDS; older builds
// proxy them to the AppView, so we keep a per-local-user copy as the fallback.
import type { AppContext } from '../../../../app.js'
import { getActorPreferences } from '../../../../state/preferences.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.actor.getPreferences', {
    auth: 'required',
    handler: async ({ viewer }) => ({ body: { preferences: await getActorPreferences(ctx.db.db, viewer!.did) } }),
  })
}
