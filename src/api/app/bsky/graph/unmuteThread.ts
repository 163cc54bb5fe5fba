// app.bsky.graph.unmuteThread: unmutes the thread the given post belongs to.
import type { AppContext } from '../../../../app.js'
import { unmuteThread } from '../../../../state/mutes.js'
import { getThreadRoot } from '../../../../dataplane/graph-state.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.graph.unmuteThread', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const root = await getThreadRoot(ctx.db.db, (input as { root: string }).root)
      await unmuteThread(ctx.db.db, viewer!.did, root)
    },
  })
}
