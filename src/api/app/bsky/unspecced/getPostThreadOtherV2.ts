// app.bsky.unspecced.getPostThreadOtherV2 ("show hidden replies"): replies hidden by a
// threadgate. This instance does not apply threadgate hides, so no reply is ever hidden
// that way and the list is empty by design.
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.unspecced.getPostThreadOtherV2', {
    auth: 'optional',
    handler: async () => ({ body: { thread: [] } }),
  })
}
