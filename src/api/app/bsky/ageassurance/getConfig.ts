// app.bsky.ageassurance.getConfig: no age assurance runs here, so no region has rules (the app asks Bluesky's public API for this; answered for older builds and curl).
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.ageassurance.getConfig', {
    auth: 'optional',
    handler: async () => ({ body: { regions: [] } }),
  })
}
