// app.bsky.graph.muteActorList: records the list mute (listed in getListMutes, viewer.muted
// on list views). Members of lists are not indexed here, so a list mute does not hide its
// members' posts; mute the accounts themselves for that (README).
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { AppContext } from '../../../../app.js'
import { muteList } from '../../../../state/mutes.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.graph.muteActorList', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const list = (input as { list: string }).list
      if (!list.includes('/app.bsky.graph.list/')) throw new InvalidRequestError('list must be an app.bsky.graph.list record URI')
      await muteList(ctx.db.db, viewer!.did, list)
    },
  })
}
