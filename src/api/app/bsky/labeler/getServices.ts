// app.bsky.labeler.getServices: labeler service views need labeler records and label
// subscriptions, which this instance does not index; no views means the app has no custom
// label definitions (it still works). Empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.labeler.getServices', {
    auth: 'optional',
    handler: async () => ({ body: { views: [] } }),
  })
}
