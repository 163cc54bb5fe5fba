// Thread views: v1 app.bsky.feed.defs#threadViewPost (nested) and v2
// app.bsky.unspecced.getPostThreadV2#threadItem (flat, with depth). Both are built from the
// same skeleton: the anchor, its ancestors (nearest first) and its reply tree.
import { didFromUri } from '../hydration/util.js'
import { actorIsActive, isBlocked, profileViewerState, type ViewInput } from './actor.js'
import { blockedPost, notFoundPost, postView } from './post.js'

export interface ThreadSkeleton {
  anchor: string
  /** ancestors, nearest first */
  ancestors: string[]
  /** the farthest ancestor loaded still has a parent we did not load */
  moreParents: boolean
  /** replies below the anchor: uri, parent uri, depth (1 = direct reply) */
  descendants: Array<{ uri: string; parent: string; depth: number }>
}

export type ReplySort = 'oldest' | 'newest' | 'top'

type Visibility = 'visible' | 'blocked' | 'notFound'

function visibility(input: ViewInput, uri: string): Visibility {
  const did = didFromUri(uri)
  if (did && isBlocked(input.state, did)) return 'blocked'
  const post = input.state.posts.value(uri)
  if (!post || !actorIsActive(input.state, post.author_did)) return 'notFound'
  return 'visible'
}

/** Children of each post in the skeleton, visible ones only, ordered for display. */
function childrenOf(input: ViewInput, skel: ThreadSkeleton, sort: ReplySort, opDid: string | undefined) {
  const children = new Map<string, string[]>()
  for (const d of skel.descendants) {
    if (visibility(input, d.uri) !== 'visible') continue
    const list = children.get(d.parent) ?? []
    list.push(d.uri)
    children.set(d.parent, list)
  }
  const posts = input.state.posts
  const key = (uri: string) => posts.value(uri)!.sort_at.getTime()
  for (const list of children.values()) {
    list.sort((a, b) => {
      // the original poster's own replies first (they continue the thread)
      const opA = posts.value(a)!.author_did === opDid ? 0 : 1
      const opB = posts.value(b)!.author_did === opDid ? 0 : 1
      if (opA !== opB) return opA - opB
      if (sort === 'top') {
        const d = posts.value(b)!.like_count - posts.value(a)!.like_count
        if (d !== 0) return d
      }
      if (sort === 'newest') return key(b) - key(a) || (a < b ? 1 : -1)
      return key(a) - key(b) || (a < b ? -1 : 1)
    })
  }
  return children
}

// ---- v1 ------------------------------------------------------------------------------

/** The v1 thread, or undefined when the anchor itself is not visible. */
export function threadV1(input: ViewInput, skel: ThreadSkeleton, depth: number): Record<string, unknown> | undefined {
  const anchorVis = visibility(input, skel.anchor)
  if (anchorVis === 'blocked') return blockedPost(input, skel.anchor, didFromUri(skel.anchor)!)
  const post = postView(input, skel.anchor)
  if (!post) return undefined
  const root = input.state.posts.value(skel.anchor)!.reply_root_uri ?? skel.anchor
  const children = childrenOf(input, skel, 'oldest', didFromUri(root))
  const out: Record<string, unknown> = { $type: 'app.bsky.feed.defs#threadViewPost', post }
  const parent = parentChainV1(input, skel.ancestors, 0)
  if (parent) out.parent = parent
  if (depth > 0) out.replies = repliesV1(input, children, skel.anchor, depth)
  return out
}

function parentChainV1(input: ViewInput, ancestors: string[], i: number): Record<string, unknown> | undefined {
  const uri = ancestors[i]
  if (!uri) return undefined
  const vis = visibility(input, uri)
  if (vis === 'blocked') return blockedPost(input, uri, didFromUri(uri)!)
  const post = vis === 'visible' ? postView(input, uri) : undefined
  if (!post) return notFoundPost(uri)
  const out: Record<string, unknown> = { $type: 'app.bsky.feed.defs#threadViewPost', post }
  const parent = parentChainV1(input, ancestors, i + 1)
  if (parent) out.parent = parent
  return out
}

function repliesV1(input: ViewInput, children: Map<string, string[]>, uri: string, depth: number): unknown[] {
  const out = []
  for (const child of children.get(uri) ?? []) {
    const post = postView(input, child)
    if (!post) continue
    const node: Record<string, unknown> = { $type: 'app.bsky.feed.defs#threadViewPost', post }
    if (depth > 1) node.replies = repliesV1(input, children, child, depth - 1)
    out.push(node)
  }
  return out
}

// ---- v2 ------------------------------------------------------------------------------

export interface ThreadV2Opts {
  above: boolean
  below: number
  branchingFactor: number
  sort: ReplySort
}

/** The flat v2 thread: parents (negative depth), the anchor (0), replies (positive). */
export function threadV2(input: ViewInput, skel: ThreadSkeleton, opts: ThreadV2Opts): Array<Record<string, unknown>> {
  const items: Array<Record<string, unknown>> = []
  const anchorPost = input.state.posts.value(skel.anchor)
  const rootUri = anchorPost?.reply_root_uri ?? skel.ancestors[skel.ancestors.length - 1] ?? skel.anchor
  const opDid = didFromUri(rootUri)

  // opThread: a contiguous chain of OP posts from the root down.
  const chainTopDown = [...skel.ancestors].reverse().concat(skel.anchor)
  const opChain = new Set<string>()
  if (!skel.moreParents) {
    for (const uri of chainTopDown) {
      if (input.state.posts.value(uri)?.author_did !== opDid || visibility(input, uri) !== 'visible') break
      opChain.add(uri)
    }
  }

  if (opts.above) {
    const n = skel.ancestors.length
    for (let i = n - 1; i >= 0; i--) {
      const uri = skel.ancestors[i]!
      items.push(item(input, uri, -(i + 1), { moreParents: i === n - 1 && skel.moreParents, opThread: opChain.has(uri) }))
    }
  }
  items.push(item(input, skel.anchor, 0, { moreParents: !opts.above && skel.moreParents, opThread: opChain.has(skel.anchor) }))
  if (visibility(input, skel.anchor) !== 'visible') return items

  const children = childrenOf(input, skel, opts.sort, opDid)
  const walk = (parent: string, depth: number, parentOp: boolean) => {
    if (depth > opts.below) return
    const all = children.get(parent) ?? []
    const shown = depth === 1 ? all : all.slice(0, opts.branchingFactor)
    for (const uri of shown) {
      const post = input.state.posts.value(uri)!
      const isOp = parentOp && post.author_did === opDid
      const kids = children.get(uri) ?? []
      const willShow = depth + 1 > opts.below ? 0 : Math.min(kids.length, opts.branchingFactor)
      const moreReplies = Math.max(0, post.reply_count - willShow)
      items.push(item(input, uri, depth, { moreParents: false, opThread: isOp, moreReplies }))
      walk(uri, depth + 1, isOp)
    }
  }
  walk(skel.anchor, 1, opChain.has(skel.anchor))
  return items
}

function item(
  input: ViewInput,
  uri: string,
  depth: number,
  meta: { moreParents: boolean; opThread: boolean; moreReplies?: number },
): Record<string, unknown> {
  const vis = visibility(input, uri)
  if (vis === 'blocked') {
    const did = didFromUri(uri)!
    const author: Record<string, unknown> = { did }
    const viewer = profileViewerState(input.state, did)
    if (viewer) author.viewer = viewer
    return { uri, depth, value: { $type: 'app.bsky.unspecced.defs#threadItemBlocked', author } }
  }
  const post = vis === 'visible' ? postView(input, uri) : undefined
  if (!post) return { uri, depth, value: { $type: 'app.bsky.unspecced.defs#threadItemNotFound' } }
  const authorDid = input.state.posts.value(uri)!.author_did
  return {
    uri,
    depth,
    value: {
      $type: 'app.bsky.unspecced.defs#threadItemPost',
      post,
      moreParents: meta.moreParents,
      moreReplies: meta.moreReplies ?? 0,
      opThread: meta.opThread,
      hiddenByThreadgate: false,
      mutedByViewer: input.state.profileViewers.value(authorDid)?.muted ?? false,
    },
  }
}
