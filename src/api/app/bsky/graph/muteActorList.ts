// app.bsky.graph.muteActorList: mutes a list and, with it, everyone on it. Lists are not
// indexed, so the list and its members are read from the owner's repo now (muting the same
// list again refreshes the members). A list that cannot be read is the caller's problem to
// know about: 400, nothing recorded.
import { InvalidRequestError } from '@atproto/xrpc-server'
import { muteList } from '../../../../state/mutes.js'
import type { SurfaceContext } from '../../../app-surface/context.js'
import { itemsOfList } from '../../../app-surface/list-views.js'
import { getRepoRecords, listAllRepoRecords } from '../../../app-surface/repo-records.js'

export default function register(ctx: SurfaceContext): void {
  ctx.router.add('app.bsky.graph.muteActorList', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const list = (input as { list: string }).list
      const [, , owner, collection] = list.split('/')
      if (collection !== 'app.bsky.graph.list' || !owner) {
        throw new InvalidRequestError('list must be an app.bsky.graph.list record URI')
      }
      const [found, listitems] = await Promise.all([
        getRepoRecords(ctx, [list], 'app.bsky.graph.list'),
        listAllRepoRecords(ctx, owner, 'app.bsky.graph.listitem'),
      ])
      if (!found.has(list)) throw new InvalidRequestError(`Could not read the list ${list}`, 'ListNotFound')
      const members = itemsOfList(list, listitems).map((i) => String(i.value.subject))
      await muteList(ctx.db, viewer!.did, list, members)
    },
  })
}
