// app.bsky.actor.searchActorsTypeahead: @-mention autocomplete and the search box: handle
// or display-name prefix, accounts the viewer follows first.
import { normalizeActorTerm, searchActorDids } from '../../../../dataplane/search.js'
import type { ReadContext } from '../../../context.js'

type Params = { q?: string; term?: string; limit: number }

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>('app.bsky.actor.searchActorsTypeahead', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      const term = normalizeActorTerm(params.q ?? params.term ?? '')
      const dids = await searchActorDids(ctx.db, term, viewer?.did ?? null, params.limit, 0)
      const state = await ctx.hydrator.hydrateProfiles(dids, viewer?.did ?? null)
      const actors = dids
        .filter((did) => !ctx.views.isBlocked(state, did))
        .map((did) => ctx.views.profileViewBasic(state, did))
        .filter((v) => v !== undefined)
      return { body: { actors } }
    },
  })
}
