// app.bsky.notification.unregisterPush: push notifications need Bluesky's push gateway (APNs/FCM
// credentials of the official app), which a self-hosted AppView cannot use. The call is
// accepted so the app's settings flow does not error, and no push is ever sent.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.notification.unregisterPush', {
    auth: 'required',
    handler: async () => {},
  })
}
