// app.bsky.graph.searchStarterPacksV2: starter packs are not indexed by this instance: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.graph.searchStarterPacksV2', {
    auth: 'optional',
    handler: async () => ({ body: { starterPacks: [] } }),
  })
}
