// app.bsky.actor.searchActors: accounts this instance knows whose handle or display name
// starts with the query, accounts the viewer follows first. Offset-paged.
import { decodeOffsetCursor, encodeOffsetCursor, normalizeActorTerm, searchActorDids } from '../../../../dataplane/search.js'
import type { ReadContext } from '../../../context.js'

type Params = { q?: string; term?: string; limit: number; cursor?: string }

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>('app.bsky.actor.searchActors', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      const term = normalizeActorTerm(params.q ?? params.term ?? '')
      const offset = decodeOffsetCursor(params.cursor)
      const dids = await searchActorDids(ctx.db, term, viewer?.did ?? null, params.limit + 1, offset)
      const page = dids.slice(0, params.limit)
      const state = await ctx.hydrator.hydrateProfiles(page, viewer?.did ?? null)
      const actors = page
        .filter((did) => !ctx.views.isBlocked(state, did))
        .map((did) => ctx.views.profileView(state, did))
        .filter((v) => v !== undefined)
      const cursor = dids.length > params.limit ? encodeOffsetCursor(offset + params.limit) : undefined
      return { body: { actors, ...(cursor ? { cursor } : {}) } }
    },
  })
}
