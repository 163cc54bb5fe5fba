// app.bsky.graph.getBlocks: accounts the viewer blocks (their block records), newest first.
import { getBlocksPage } from '../../../../dataplane/graph-state.js'
import type { ReadContext } from '../../../context.js'
import { decodeCursor, paginate } from '../../../util.js'

type Params = { limit: number; cursor?: string }

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>('app.bsky.graph.getBlocks', {
    auth: 'required',
    handler: async ({ params, viewer }) => {
      const rows = await getBlocksPage(ctx.db, viewer!.did, params.limit, decodeCursor(params.cursor))
      const page = paginate(rows, params.limit)
      const state = await ctx.hydrator.hydrateProfiles(page.items.map((i) => i.did), viewer!.did)
      const blocks = page.items.map((i) => ctx.views.profileView(state, i.did)).filter((v) => v !== undefined)
      return { body: { blocks, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
