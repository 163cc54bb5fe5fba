// app.bsky.contact.dismissMatch: this instance never produces contact matches, so there is nothing to dismiss: success.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.contact.dismissMatch', {
    auth: 'required',
    handler: async () => ({ body: {} }),
  })
}
