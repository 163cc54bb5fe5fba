// app.bsky.unspecced.getAgeAssuranceState: the pre-ageassurance.* form older app builds
// call; no age assurance runs here, so the status is always "unknown".
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.unspecced.getAgeAssuranceState', {
    auth: 'optional',
    handler: async () => ({ body: { status: 'unknown' } }),
  })
}
