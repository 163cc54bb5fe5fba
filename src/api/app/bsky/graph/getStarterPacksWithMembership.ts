// app.bsky.graph.getStarterPacksWithMembership: starter packs are not indexed by this instance, so none can list the actor: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.graph.getStarterPacksWithMembership', {
    auth: 'optional',
    handler: async () => ({ body: { starterPacksWithMembership: [] } }),
  })
}
