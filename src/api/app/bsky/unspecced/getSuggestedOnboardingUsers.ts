// app.bsky.unspecced.getSuggestedOnboardingUsers: onboarding suggestions are Bluesky's curation: empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.unspecced.getSuggestedOnboardingUsers', {
    auth: 'optional',
    handler: async () => ({ body: { actors: [] } }),
  })
}
