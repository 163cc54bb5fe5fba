// Hydrate → rules → present for post search hits: posts by accounts the viewer blocks (or
// who block them) or mutes are left out, like everywhere else.
import type { ReadContext } from '../context.js'

export async function presentSearchPosts(
  ctx: ReadContext,
  uris: string[],
  viewer: string | null,
  requiredTags?: string[],
): Promise<Record<string, unknown>[]> {
  const state = await ctx.hydrator.hydratePosts(uris, viewer)
  const out: Record<string, unknown>[] = []
  for (const uri of uris) {
    const post = state.posts.value(uri)
    if (!post) continue
    const author = post.author_did
    if (!ctx.views.actorIsActive(state, author) || ctx.views.isBlocked(state, author)) continue
    if (author !== viewer && state.profileViewers.value(author)?.muted) continue
    if (requiredTags?.length && !hasAllTags(post.record, requiredTags)) continue
    const view = ctx.views.postView(state, uri)
    if (view) out.push(view)
  }
  return out
}

function hasAllTags(record: unknown, tags: string[]): boolean {
  const found = new Set<string>()
  const r = record as { tags?: unknown; facets?: Array<{ features?: Array<{ $type?: string; tag?: unknown }> }> }
  if (Array.isArray(r?.tags)) for (const t of r.tags) if (typeof t === 'string') found.add(t.toLowerCase())
  for (const f of Array.isArray(r?.facets) ? r.facets : []) {
    for (const feat of Array.isArray(f?.features) ? f.features : []) {
      if (feat?.$type === 'app.bsky.richtext.facet#tag' && typeof feat.tag === 'string') found.add(feat.tag.toLowerCase())
    }
  }
  return tags.every((t) => found.has(t.toLowerCase()))
}
