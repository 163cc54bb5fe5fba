// app.bsky.actor.putPreferences: replaces the stored preferences (fallback for app builds
// that proxy preferences to the AppView). Each item must name its type.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { AppContext } from '../../../../app.js'
import { putActorPreferences } from '../../../../state/preferences.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.actor.putPreferences', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const prefs = (input as { preferences: unknown[] }).preferences
      for (const p of prefs) {
        const type = (p as { $type?: unknown })?.$type
        if (typeof type !== 'string' || !type.startsWith('app.bsky.actor.defs#')) {
          throw new InvalidRequestError('Every preference needs an app.bsky.actor.defs#… $type')
        }
      }
      await putActorPreferences(ctx.db.db, viewer!.did, prefs)
    },
  })
}
