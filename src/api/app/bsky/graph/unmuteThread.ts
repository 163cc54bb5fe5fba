// app.bsky.graph.unmuteThread: unmutes the thread the given post belongs to.
import type { AppContext } from '../../../../app.js'
import { unmuteThread } from '../../../../state/mutes.js'
import { threadRootOf } from '../../../app-surface/thread-root.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.graph.unmuteThread', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const root = await threadRootOf(ctx.db.db, (input as { root: string }).root)
      await unmuteThread(ctx.db.db, viewer!.did, root)
    },
  })
}
