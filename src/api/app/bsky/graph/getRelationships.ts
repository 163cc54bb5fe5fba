// app.bsky.graph.getRelationships: follow/block edges between one account and others, from
// the follow and block records we hold (public data: no auth needed).
import { InvalidRequestError } from '@atproto/xrpc-server'
import { getRelationships } from '../../../../dataplane/graph.js'
import { getBlockUrisBy } from '../../../../dataplane/graph-state.js'
import type { ReadContext } from '../../../context.js'
import { resolveActorDid } from '../../../util.js'

type Params = { actor: string; others?: string[] }

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>('app.bsky.graph.getRelationships', {
    auth: 'optional',
    handler: async ({ params }) => {
      const actor = await resolveActorDid(ctx, params.actor)
      if (!actor) throw new InvalidRequestError(`Actor not found: ${params.actor}`, 'ActorNotFound')
      const others = params.others ?? []
      const dids = await Promise.all(others.map((o) => resolveActorDid(ctx, o)))
      const known = dids.filter((d): d is string => !!d)
      const [rels, blockedByUri] = await Promise.all([
        getRelationships(ctx.db, actor, known),
        getBlockUrisBy(ctx.db, actor, known),
      ])
      const relationships = others.map((other, i) => {
        const did = dids[i]
        if (!did) return { $type: 'app.bsky.graph.defs#notFoundActor', actor: other, notFound: true }
        const r = rels.get(did) ?? {}
        return {
          $type: 'app.bsky.graph.defs#relationship',
          did,
          ...(r.following ? { following: r.following } : {}),
          ...(r.followedBy ? { followedBy: r.followedBy } : {}),
          ...(r.blocking ? { blocking: r.blocking } : {}),
          ...(blockedByUri.get(did) ? { blockedBy: blockedByUri.get(did) } : {}),
        }
      })
      return { body: { actor, relationships } }
    },
  })
}
