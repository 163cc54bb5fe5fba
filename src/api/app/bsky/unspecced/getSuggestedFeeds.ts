// app.bsky.unspecced.getSuggestedFeeds: feed suggestions are Bluesky's curation: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.unspecced.getSuggestedFeeds', {
    auth: 'optional',
    handler: async () => ({ body: { feeds: [] } }),
  })
}
