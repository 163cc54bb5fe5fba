// app.bsky.graph.getActorStarterPacks: starter packs an account created (profile tab), read
// from its repo.
import type { SurfaceContext } from '../../../app-surface/context.js'
import { starterPackViewBasic } from '../../../app-surface/list-views.js'
import { listRepoRecords } from '../../../app-surface/repo-records.js'
import { requireActorDid } from '../../../util.js'

type Params = { actor: string; limit: number; cursor?: string }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.graph.getActorStarterPacks', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      const did = await requireActorDid(ctx, params.actor)
      const page = await listRepoRecords(ctx, did, 'app.bsky.graph.starterpack', params.limit, params.cursor)
      const state = await ctx.hydrator.hydrateProfiles([did], viewer?.did ?? null)
      const starterPacks = page.records.map((r) => starterPackViewBasic(ctx, state, r)).filter((v) => v !== undefined)
      return { body: { starterPacks, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
