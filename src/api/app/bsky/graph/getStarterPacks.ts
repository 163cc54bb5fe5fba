// app.bsky.graph.getStarterPacks: starter packs by URI, read from their creators' repos;
// ones that cannot be read are left out.
import type { SurfaceContext } from '../../../app-surface/context.js'
import { starterPackViewBasic } from '../../../app-surface/list-views.js'
import { getRepoRecords } from '../../../app-surface/repo-records.js'

type Params = { uris: string[] }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.graph.getStarterPacks', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      const records = await getRepoRecords(ctx, params.uris, 'app.bsky.graph.starterpack')
      const state = await ctx.hydrator.hydrateProfiles(
        [...records.values()].map((r) => r.uri.split('/')[2] ?? ''),
        viewer?.did ?? null,
      )
      const starterPacks = params.uris
        .map((u) => records.get(u))
        .map((r) => (r ? starterPackViewBasic(ctx, state, r) : undefined))
        .filter((v) => v !== undefined)
      return { body: { starterPacks } }
    },
  })
}
