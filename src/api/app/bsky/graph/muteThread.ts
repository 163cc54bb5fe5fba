// app.bsky.graph.muteThread: mutes the thread the given post belongs to. Mutes are keyed by
// the thread root, so muting any post of a thread mutes all of it (as the reference does).
import type { AppContext } from '../../../../app.js'
import { muteThread } from '../../../../state/mutes.js'
import { threadRootOf } from '../../../app-surface/thread-root.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.graph.muteThread', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const root = await threadRootOf(ctx.db.db, (input as { root: string }).root)
      await muteThread(ctx.db.db, viewer!.did, root)
    },
  })
}
