// app.bsky.contact.getMatches: contact matching (phone numbers) is a Bluesky service: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.contact.getMatches', {
    auth: 'optional',
    handler: async () => ({ body: { matches: [] } }),
  })
}
