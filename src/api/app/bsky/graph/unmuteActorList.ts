// app.bsky.graph.unmuteActorList: removes a list mute (a no-op when there was none).
import type { AppContext } from '../../../../app.js'
import { unmuteList } from '../../../../state/mutes.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.graph.unmuteActorList', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      await unmuteList(ctx.db.db, viewer!.did, (input as { list: string }).list)
    },
  })
}
