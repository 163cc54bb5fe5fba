// app.bsky.notification.putPreferences (v1): only `priority`, which the reference AppView
// no longer uses either; accepted and ignored.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.notification.putPreferences', {
    auth: 'required',
    handler: async () => {},
  })
}
