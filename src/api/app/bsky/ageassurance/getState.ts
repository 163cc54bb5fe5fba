// app.bsky.ageassurance.getState: age assurance is Bluesky's regulatory process (KWS); this
// instance runs none, so every account's state is "unknown" with full access. The app awaits
// this at login (allSettled), so it must answer, and validly.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.ageassurance.getState', {
    auth: 'optional',
    handler: async () => ({ body: { state: { status: 'unknown', access: 'full' }, metadata: {} } }),
  })
}
