// app.bsky.unspecced.getSuggestedUsersForExplore: suggested users are Bluesky's curation: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.unspecced.getSuggestedUsersForExplore', {
    auth: 'optional',
    handler: async () => ({ body: { actors: [] } }),
  })
}
