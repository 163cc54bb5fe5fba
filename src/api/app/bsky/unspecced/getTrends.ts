// app.bsky.unspecced.getTrends: trends need network-wide statistics this instance does not collect: empty by design (the app hides the section).
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.unspecced.getTrends', {
    auth: 'optional',
    handler: async () => ({ body: { trends: [] } }),
  })
}
