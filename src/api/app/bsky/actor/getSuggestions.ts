// app.bsky.actor.getSuggestions: account suggestions need a network-wide graph: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.actor.getSuggestions', {
    auth: 'optional',
    handler: async () => ({ body: { actors: [] } }),
  })
}
