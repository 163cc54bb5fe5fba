// app.bsky.graph.getSuggestedFollowsByActor: "similar accounts" after a follow need a network-wide graph: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.graph.getSuggestedFollowsByActor', {
    auth: 'optional',
    handler: async () => ({ body: { suggestions: [] } }),
  })
}
