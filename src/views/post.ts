// app.bsky.feed.defs#postView and the reply-ref members (#notFoundPost, #blockedPost).
import { actorIsActive, isBlocked, profileViewBasic, profileViewerState, type ViewInput } from './actor.js'
import { embedView } from './embed.js'
import { iso, isObject } from './util.js'

/** The post as the app shows it; undefined when it is missing or its author is hidden. */
export function postView(input: ViewInput, uri: string): Record<string, unknown> | undefined {
  const { state } = input
  const post = state.posts.value(uri)
  if (!post || !actorIsActive(state, post.author_did)) return undefined
  const author = profileViewBasic(input, post.author_did)
  if (!author) return undefined
  const view: Record<string, unknown> = {
    uri: post.uri,
    cid: post.cid,
    author,
    record: post.record,
  }
  const embed = isObject(post.record) ? embedView(input, post.author_did, post.record.embed) : undefined
  if (embed) view.embed = embed
  view.replyCount = post.reply_count
  view.repostCount = post.repost_count
  view.likeCount = post.like_count
  view.quoteCount = post.quote_count
  // the time the item sorts at (least(createdAt, first seen)): clients and the PDS's
  // read-after-write splice order by it
  view.indexedAt = iso(post.sort_at)
  if (state.viewer) {
    const pv = state.postViewers.value(uri) ?? {}
    const viewer: Record<string, unknown> = {}
    if (pv.like) viewer.like = pv.like
    if (pv.repost) viewer.repost = pv.repost
    viewer.bookmarked = pv.bookmarked ?? false
    viewer.threadMuted = pv.threadMuted ?? false
    if (pv.pinned !== undefined) viewer.pinned = pv.pinned
    view.viewer = viewer
  }
  view.labels = []
  return view
}

export function notFoundPost(uri: string) {
  return { $type: 'app.bsky.feed.defs#notFoundPost', uri, notFound: true as const }
}

export function blockedPost(input: ViewInput, uri: string, authorDid: string) {
  const author: Record<string, unknown> = { did: authorDid }
  const viewer = profileViewerState(input.state, authorDid)
  if (viewer) author.viewer = viewer
  return { $type: 'app.bsky.feed.defs#blockedPost', uri, blocked: true as const, author }
}

/** A reply-ref member: the postView, or #blockedPost / #notFoundPost saying why not. */
export function maybePost(input: ViewInput, uri: string, authorDid: string | undefined): Record<string, unknown> {
  if (authorDid && isBlocked(input.state, authorDid)) return blockedPost(input, uri, authorDid)
  const view = postView(input, uri)
  return view ? { $type: 'app.bsky.feed.defs#postView', ...view } : notFoundPost(uri)
}
