// Turns an at-identifier parameter (DID or handle) into a DID: handles we hold first, then
// the identity module (DNS / well-known). An unknown handle is the caller's mistake: 400.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { AppContext } from '../../app.js'
import { getDidsByHandles } from '../../dataplane/actors.js'

export async function resolveActorDid(ctx: AppContext, actor: string): Promise<string> {
  if (actor.startsWith('did:')) return actor
  const handle = actor.toLowerCase()
  const known = await getDidsByHandles(ctx.db.db, [handle])
  const did = known.get(handle)
  if (did) return did
  const resolved = await ctx.identity.resolveHandle(handle).catch(() => undefined)
  if (resolved) return resolved
  throw new InvalidRequestError(`Unable to resolve handle: ${actor}`, 'ActorNotFound')
}
