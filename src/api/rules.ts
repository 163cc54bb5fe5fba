// Rules steps shared by feed handlers: what the viewer must not see is dropped from the
// skeleton before presentation. Hidden actors (not active), blocks in either direction, and
// mutes (viewer state from the app-surface extension) on the author or the reposter;
// replies in a thread the viewer muted.
import type { FeedItemRow } from '../dataplane/feeds.js'
import type { HydrationState } from '../hydration/state.js'
import { actorIsActive, isBlocked } from '../views/actor.js'

export function feedItemVisible(state: HydrationState, item: Pick<FeedItemRow, 'uri' | 'type' | 'postUri'>): boolean {
  const post = state.posts.value(item.postUri)
  if (!post) return false
  if (!visibleActor(state, post.author_did)) return false
  if (state.postViewers.value(item.postUri)?.threadMuted) return false
  if (item.type === 'repost') {
    const repost = state.reposts.value(item.uri)
    if (!repost || !visibleActor(state, repost.author_did)) return false
  }
  return true
}

function visibleActor(state: HydrationState, did: string): boolean {
  if (!actorIsActive(state, did) || isBlocked(state, did)) return false
  // The viewer's own content is never hidden by their own mutes.
  if (did !== state.viewer && state.profileViewers.value(did)?.muted) return false
  return true
}

/** Rules step for skeletons of feed items ({items, cursor}). */
export function feedItemsRules<S extends { items: Array<Pick<FeedItemRow, 'uri' | 'type' | 'postUri'>> }>(input: {
  skeleton: S
  state: HydrationState
}): S {
  return { ...input.skeleton, items: input.skeleton.items.filter((i) => feedItemVisible(input.state, i)) }
}
