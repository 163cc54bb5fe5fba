// app.bsky.unspecced.getOnboardingSuggestedStarterPacks: onboarding starter packs are Bluesky's curation: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.unspecced.getOnboardingSuggestedStarterPacks', {
    auth: 'optional',
    handler: async () => ({ body: { starterPacks: [] } }),
  })
}
