// app.bsky.graph.getListsWithMembership ("add to list" dialog): the viewer's own lists,
// each with the viewer's listitem for `actor` when the actor is on it (read from the
// viewer's repo).
import type { SurfaceContext } from '../../../app-surface/context.js'
import { listItemView, listView, PURPOSES } from '../../../app-surface/list-views.js'
import { listAllRepoRecords, listRepoRecords } from '../../../app-surface/repo-records.js'
import { requireActorDid } from '../../../util.js'

type Params = { actor: string; limit: number; cursor?: string; purposes?: string[] }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.graph.getListsWithMembership', {
    auth: 'required',
    handler: async ({ params, viewer }) => {
      const me = viewer!.did
      const actor = await requireActorDid(ctx, params.actor)
      const [page, listitems] = await Promise.all([
        listRepoRecords(ctx, me, 'app.bsky.graph.list', params.limit, params.cursor),
        listAllRepoRecords(ctx, me, 'app.bsky.graph.listitem'),
      ])
      const wanted = new Set((params.purposes?.length ? params.purposes : ['modlist', 'curatelist']).map((p) => PURPOSES[p] ?? p))
      const records = page.records.filter((r) => wanted.has(String(r.value.purpose)))
      const state = await ctx.hydrator.hydrateProfiles([me, actor], me)
      const listsWithMembership = records
        .map((r) => {
          const list = listView(ctx, state, r, { muted: false })
          if (!list) return undefined
          const item = listitems.find((i) => i.value.list === r.uri && i.value.subject === actor)
          const listItem = item ? listItemView(ctx, state, item) : undefined
          return { list, ...(listItem ? { listItem } : {}) }
        })
        .filter((v) => v !== undefined)
      return { body: { listsWithMembership, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
