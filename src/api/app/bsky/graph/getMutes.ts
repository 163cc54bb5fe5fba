// app.bsky.graph.getMutes: accounts the viewer muted (AppView state), most recent first.
import { listMutedActors } from '../../../../state/mutes.js'
import type { ReadContext } from '../../../context.js'

type Params = { limit: number; cursor?: string }

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>('app.bsky.graph.getMutes', {
    auth: 'required',
    handler: async ({ params, viewer }) => {
      const page = await listMutedActors(ctx.db, viewer!.did, params.limit, params.cursor)
      const state = await ctx.hydrator.hydrateProfiles(page.items, viewer!.did)
      const mutes = page.items.map((did) => ctx.views.profileView(state, did)).filter((v) => v !== undefined)
      return { body: { mutes, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
