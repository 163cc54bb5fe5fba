// app.bsky.contact.getSyncStatus: contact import is a Bluesky service; no syncStatus = "never imported".
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.contact.getSyncStatus', {
    auth: 'optional',
    handler: async () => ({ body: {} }),
  })
}
