// app.bsky.notification.getPreferences: stored per local user, defaults for anything unset.
import type { AppContext } from '../../../../app.js'
import { getNotificationPreferences } from '../../../../state/preferences.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.notification.getPreferences', {
    auth: 'required',
    handler: async ({ viewer }) => ({
      body: { preferences: await getNotificationPreferences(ctx.db.db, viewer!.did) },
    }),
  })
}
