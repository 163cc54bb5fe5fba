// app.bsky.notification.putPreferencesV2: merges the given keys into the stored preferences
// and answers the full result.
import type { AppContext } from '../../../../app.js'
import { putNotificationPreferences } from '../../../../state/preferences.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.notification.putPreferencesV2', {
    auth: 'required',
    handler: async ({ input, viewer }) => ({
      body: { preferences: await putNotificationPreferences(ctx.db.db, viewer!.did, input as Record<string, unknown>) },
    }),
  })
}
