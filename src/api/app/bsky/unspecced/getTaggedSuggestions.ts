// app.bsky.unspecced.getTaggedSuggestions: tagged suggestions are Bluesky's curation: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.unspecced.getTaggedSuggestions', {
    auth: 'optional',
    handler: async () => ({ body: { suggestions: [] } }),
  })
}
