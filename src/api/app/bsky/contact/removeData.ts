// app.bsky.contact.removeData: this instance never holds contact data, so there is nothing to remove: success.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.contact.removeData', {
    auth: 'required',
    handler: async () => ({ body: {} }),
  })
}
