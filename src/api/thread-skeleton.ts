// The shape of a thread around an anchor post, shared by getPostThread (v1) and
// getPostThreadV2: ancestors up the reply chain and the reply tree below. Ancestors we do
// not store (a reply to an untracked account) are fetched from their PDS, a bounded number
// of hops, so the thread shows its context.
import { getAncestorUris, getDescendants } from '../dataplane/threads.js'
import type { ThreadSkeleton } from '../views/index.js'
import type { ReadContext } from './context.js'

const MAX_FETCH_HOPS = 8
const MAX_DESCENDANTS = 2000

export async function loadThreadSkeleton(
  ctx: ReadContext,
  anchor: string,
  opts: { parentHeight: number; depth: number },
): Promise<ThreadSkeleton> {
  await ctx.hydrator.ensureStored([anchor])
  const want = opts.parentHeight + 1 // one more than shown tells us whether there are more
  let ancestors = await getAncestorUris(ctx.db, anchor, want)
  for (let hop = 0; hop < MAX_FETCH_HOPS && ancestors.length > 0 && ancestors.length < want; hop++) {
    const last = ancestors[ancestors.length - 1]!
    const before = ancestors.length
    await ctx.hydrator.ensureStored([last])
    ancestors = await getAncestorUris(ctx.db, anchor, want)
    if (ancestors.length === before) break // the chain really ends here (root, or gone)
  }
  const moreParents = ancestors.length > opts.parentHeight
  const descendants = await getDescendants(ctx.db, anchor, opts.depth, MAX_DESCENDANTS)
  return { anchor, ancestors: ancestors.slice(0, opts.parentHeight), moreParents, descendants }
}

export function threadUris(skel: ThreadSkeleton): string[] {
  return [skel.anchor, ...skel.ancestors, ...skel.descendants.map((d) => d.uri)]
}
