// Helpers shared by the read handlers: actor parameters, cursors, response headers.
import { InvalidRequestError } from '@atproto/xrpc-server'
import { getDidsByHandles } from '../dataplane/actors.js'
import type { ReadContext } from './context.js'

export { decodeCursor, paginate } from '../dataplane/pagination.js'

/**
 * The DID for an at-identifier parameter (a DID, or a handle we hold or can resolve).
 * Format errors were already answered by the router (400); an unknown handle is the
 * lexicon-level "not found" the reference AppView gives.
 */
export async function resolveActorDid(ctx: ReadContext, actor: string): Promise<string | undefined> {
  if (actor.startsWith('did:')) return actor
  const handle = actor.toLowerCase()
  const known = (await getDidsByHandles(ctx.db, [handle])).get(handle)
  if (known) return known
  try {
    return await ctx.resolveHandle(handle)
  } catch {
    return undefined
  }
}

export async function requireActorDid(ctx: ReadContext, actor: string): Promise<string> {
  const did = await resolveActorDid(ctx, actor)
  if (!did) throw new InvalidRequestError(`Profile not found: ${actor}`)
  return did
}

/** Resolves many at-identifiers at once (handles in one query); unknown ones are dropped. */
export async function resolveActorDids(ctx: ReadContext, actors: string[]): Promise<string[]> {
  const handles = actors.filter((a) => !a.startsWith('did:')).map((a) => a.toLowerCase())
  const known = await getDidsByHandles(ctx.db, handles)
  const out: string[] = []
  for (const a of actors) {
    if (a.startsWith('did:')) out.push(a)
    else {
      const did = known.get(a.toLowerCase()) ?? (await ctx.resolveHandle(a.toLowerCase()).catch(() => undefined))
      if (did) out.push(did)
    }
  }
  return out
}
