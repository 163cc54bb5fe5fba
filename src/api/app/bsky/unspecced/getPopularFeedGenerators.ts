// app.bsky.unspecced.getPopularFeedGenerators: feed popularity needs network-wide like counts of generators: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.unspecced.getPopularFeedGenerators', {
    auth: 'optional',
    handler: async () => ({ body: { feeds: [] } }),
  })
}
