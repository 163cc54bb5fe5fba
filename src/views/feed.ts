// app.bsky.feed.defs#feedViewPost: the post, why it is in the feed (repost, pin) and, for
// replies, the parent and root with full postViews (the app drops replies without them).
import type { FeedItemRow } from '../dataplane/feeds.js'
import { didFromUri } from '../hydration/util.js'
import { actorIsActive, isBlocked, profileViewBasic, type ViewInput } from './actor.js'
import { maybePost, postView } from './post.js'
import { iso } from './util.js'

export interface FeedItemInput {
  uri: string
  type: FeedItemRow['type']
  postUri: string
  /** pinned item of an author feed (includePins) */
  pinned?: boolean
}

/**
 * The feedViewPost for a skeleton item, or undefined when it must not be shown: the post or
 * repost is gone, its author or reposter is hidden, or the viewer and either block each other.
 */
export function feedViewPost(input: ViewInput, item: FeedItemInput): Record<string, unknown> | undefined {
  const { state } = input
  const post = state.posts.value(item.postUri)
  if (!post) return undefined
  if (isBlocked(state, post.author_did)) return undefined
  const view = postView(input, item.postUri)
  if (!view) return undefined
  const out: Record<string, unknown> = { post: view }

  if (item.type === 'repost') {
    const repost = state.reposts.value(item.uri)
    if (!repost || !actorIsActive(state, repost.author_did) || isBlocked(state, repost.author_did)) return undefined
    const by = profileViewBasic(input, repost.author_did)
    if (!by) return undefined
    out.reason = {
      $type: 'app.bsky.feed.defs#reasonRepost',
      by,
      uri: repost.uri,
      cid: repost.cid,
      indexedAt: iso(repost.sort_at),
    }
  } else if (item.pinned) {
    out.reason = { $type: 'app.bsky.feed.defs#reasonPin' }
  }

  const reply = replyRef(input, item.postUri)
  if (reply) out.reply = reply
  return out
}

/** reply {root, parent, grandparentAuthor?} for a reply, undefined for a top-level post. */
export function replyRef(input: ViewInput, uri: string): Record<string, unknown> | undefined {
  const post = input.state.posts.value(uri)
  if (!post?.reply_parent_uri) return undefined
  const parentUri = post.reply_parent_uri
  const rootUri = post.reply_root_uri ?? parentUri
  const parent = maybePost(input, parentUri, didFromUri(parentUri))
  const root = maybePost(input, rootUri, didFromUri(rootUri))
  const out: Record<string, unknown> = { root, parent }
  const parentPost = input.state.posts.value(parentUri)
  const gpDid = parentPost?.reply_parent_uri ? didFromUri(parentPost.reply_parent_uri) : undefined
  if (gpDid && actorIsActive(input.state, gpDid) && !isBlocked(input.state, gpDid)) {
    const gp = profileViewBasic(input, gpDid)
    if (gp) out.grandparentAuthor = gp
  }
  return out
}
