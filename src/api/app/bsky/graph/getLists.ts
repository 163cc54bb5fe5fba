// app.bsky.graph.getLists: the lists an account created (profile "Lists" tab, my lists),
// read from its repo; purposes filters modlist / curatelist.
import { mutedListsAmong } from '../../../../state/mutes.js'
import type { SurfaceContext } from '../../../app-surface/context.js'
import { listView, PURPOSES } from '../../../app-surface/list-views.js'
import { listRepoRecords } from '../../../app-surface/repo-records.js'
import { requireActorDid } from '../../../util.js'

type Params = { actor: string; limit: number; cursor?: string; purposes?: string[] }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.graph.getLists', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      const did = await requireActorDid(ctx, params.actor)
      const page = await listRepoRecords(ctx, did, 'app.bsky.graph.list', params.limit, params.cursor)
      const wanted = params.purposes?.length ? new Set(params.purposes.map((p) => PURPOSES[p] ?? p)) : undefined
      const records = page.records.filter((r) => !wanted || wanted.has(String(r.value.purpose)))
      const viewerDid = viewer?.did ?? null
      const [state, muted] = await Promise.all([
        ctx.hydrator.hydrateProfiles([did], viewerDid),
        viewerDid ? mutedListsAmong(ctx.db, viewerDid, records.map((r) => r.uri)) : Promise.resolve(new Set<string>()),
      ])
      const lists = records
        .map((r) => listView(ctx, state, r, viewerDid ? { muted: muted.has(r.uri) } : undefined))
        .filter((v) => v !== undefined)
      return { body: { lists, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
