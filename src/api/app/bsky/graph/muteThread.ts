// app.bsky.graph.muteThread: mutes the thread the given post belongs to. Mutes are keyed by
// the thread root, so muting any post of a thread mutes all of it (as the reference does).
import type { AppContext } from '../../../../app.js'
import { muteThread } from '../../../../state/mutes.js'
import { getThreadRoot } from '../../../../dataplane/graph-state.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.graph.muteThread', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const root = await getThreadRoot(ctx.db.db, (input as { root: string }).root)
      await muteThread(ctx.db.db, viewer!.did, root)
    },
  })
}
