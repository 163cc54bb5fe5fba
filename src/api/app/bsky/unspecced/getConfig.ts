// app.bsky.unspecced.getConfig: service configuration the app reads at start; we have no email checks and no live-now badges.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.unspecced.getConfig', {
    auth: 'optional',
    handler: async () => ({ body: { checkEmailConfirmed: false, liveNow: [] } }),
  })
}
