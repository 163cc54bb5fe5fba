// app.bsky.unspecced.getTrendingTopics: trending topics need network-wide statistics this instance does not collect: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.unspecced.getTrendingTopics', {
    auth: 'optional',
    handler: async () => ({ body: { topics: [], suggested: [] } }),
  })
}
