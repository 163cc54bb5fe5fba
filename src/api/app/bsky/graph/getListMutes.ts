// app.bsky.graph.getListMutes: lists the viewer muted (AppView state), with their records
// read from the creators' repos; a list whose record is gone is left out.
import { listMutedLists } from '../../../../state/mutes.js'
import type { SurfaceContext } from '../../../app-surface/context.js'
import { listView } from '../../../app-surface/list-views.js'
import { getRepoRecords } from '../../../app-surface/repo-records.js'

type Params = { limit: number; cursor?: string }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.graph.getListMutes', {
    auth: 'required',
    handler: async ({ params, viewer }) => {
      const page = await listMutedLists(ctx.db, viewer!.did, params.limit, params.cursor)
      const records = await getRepoRecords(ctx, page.items, 'app.bsky.graph.list')
      const state = await ctx.hydrator.hydrateProfiles(
        [...records.values()].map((r) => r.uri.split('/')[2] ?? ''),
        viewer!.did,
      )
      const lists = page.items
        .map((uri) => records.get(uri))
        .map((r) => (r ? listView(ctx, state, r, { muted: true }) : undefined))
        .filter((v) => v !== undefined)
      return { body: { lists, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
