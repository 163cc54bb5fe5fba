// app.bsky.graph.getListBlocks: mod lists the viewer blocks: their app.bsky.graph.listblock
// records (read from the viewer's repo) and the lists they name.
import type { SurfaceContext } from '../../../app-surface/context.js'
import { listView } from '../../../app-surface/list-views.js'
import { getRepoRecords, listRepoRecords } from '../../../app-surface/repo-records.js'

type Params = { limit: number; cursor?: string }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.graph.getListBlocks', {
    auth: 'required',
    handler: async ({ params, viewer }) => {
      const page = await listRepoRecords(ctx, viewer!.did, 'app.bsky.graph.listblock', params.limit, params.cursor)
      const blockOf = new Map(
        page.records.flatMap((b) => (typeof b.value.subject === 'string' ? [[b.value.subject, b.uri] as const] : [])),
      )
      const records = await getRepoRecords(ctx, [...blockOf.keys()], 'app.bsky.graph.list')
      const state = await ctx.hydrator.hydrateProfiles(
        [...records.values()].map((r) => r.uri.split('/')[2] ?? ''),
        viewer!.did,
      )
      const lists = [...blockOf.entries()]
        .map(([listUri, blockUri]) => {
          const r = records.get(listUri)
          return r ? listView(ctx, state, r, { muted: false, blocked: blockUri }) : undefined
        })
        .filter((v) => v !== undefined)
      return { body: { lists, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
