// app.bsky.unspecced.getSuggestedStarterPacks: starter-pack suggestions are Bluesky's curation: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.unspecced.getSuggestedStarterPacks', {
    auth: 'optional',
    handler: async () => ({ body: { starterPacks: [] } }),
  })
}
