// app.bsky.graph.getKnownFollowers: followers of an account whom the viewer follows
// ("followed by X and Y you know"), from the follow records we hold.
import { getKnownFollowersPage } from '../../../../dataplane/graph-state.js'
import type { ReadContext } from '../../../context.js'
import { decodeCursor, paginate, requireActorDid } from '../../../util.js'

type Params = { actor: string; limit: number; cursor?: string }

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>('app.bsky.graph.getKnownFollowers', {
    auth: 'required',
    handler: async ({ params, viewer }) => {
      const subject = await requireActorDid(ctx, params.actor)
      const rows = await getKnownFollowersPage(ctx.db, viewer!.did, subject, params.limit, decodeCursor(params.cursor))
      const page = paginate(rows, params.limit)
      const state = await ctx.hydrator.hydrateProfiles([subject, ...page.items.map((i) => i.did)], viewer!.did)
      const subjectView = ctx.views.profileView(state, subject) ?? { did: subject, handle: 'handle.invalid' }
      const followers = page.items
        .filter((i) => !ctx.views.isBlocked(state, i.did))
        .map((i) => ctx.views.profileView(state, i.did))
        .filter((v) => v !== undefined)
      return { body: { subject: subjectView, followers, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
