// Embed views (app.bsky.embed.*#view) from a post's raw record embed. Every union member
// carries $type. Media point at the configured CDNs; a blob without a readable CID is left
// out rather than given a broken URL.
import { didFromUri } from '../hydration/util.js'
import { actorIsActive, isBlocked, profileViewBasic, profileViewerState, type ViewInput } from './actor.js'
import { aspectRatio, blobCid, imageUrl, iso, isObject, videoPlaylistUrl, videoThumbnailUrl } from './util.js'

/**
 * The embed view of `embed` in a post by `did`. `depth` counts quote nesting: a quoted
 * post's own embeds are shown one level down, and no deeper (as the official AppView).
 */
export function embedView(input: ViewInput, did: string, embed: unknown, depth = 0): Record<string, unknown> | undefined {
  if (!isObject(embed)) return undefined
  switch (embed.$type) {
    case 'app.bsky.embed.images':
      return imagesView(input, did, embed)
    case 'app.bsky.embed.video':
      return videoView(input, did, embed)
    case 'app.bsky.embed.external':
      return externalView(input, did, embed)
    case 'app.bsky.embed.gallery':
      return galleryView(input, did, embed)
    case 'app.bsky.embed.record':
      return recordView(input, embed.record, depth)
    case 'app.bsky.embed.recordWithMedia': {
      const record = isObject(embed.record) ? recordView(input, embed.record.record, depth) : undefined
      const media = embedView(input, did, embed.media, depth)
      if (!record || !media) return record ?? undefined
      return { $type: 'app.bsky.embed.recordWithMedia#view', record, media }
    }
    default:
      return undefined
  }
}

function imagesView(input: ViewInput, did: string, embed: Record<string, unknown>) {
  const images = Array.isArray(embed.images) ? embed.images : []
  const out = []
  for (const img of images.slice(0, 4)) {
    if (!isObject(img)) continue
    const cid = blobCid(img.image)
    if (!cid) continue
    const view: Record<string, unknown> = {
      thumb: imageUrl(input.cdn, 'feed_thumbnail', did, cid),
      fullsize: imageUrl(input.cdn, 'feed_fullsize', did, cid),
      alt: typeof img.alt === 'string' ? img.alt : '',
    }
    const ar = aspectRatio(img.aspectRatio)
    if (ar) view.aspectRatio = ar
    out.push(view)
  }
  return { $type: 'app.bsky.embed.images#view', images: out }
}

function galleryView(input: ViewInput, did: string, embed: Record<string, unknown>) {
  const items = Array.isArray(embed.items) ? embed.items : []
  const out = []
  for (const item of items.slice(0, 20)) {
    if (!isObject(item)) continue
    const cid = blobCid(item.image)
    const ar = aspectRatio(item.aspectRatio)
    if (!cid || !ar) continue
    out.push({
      $type: 'app.bsky.embed.gallery#viewImage',
      thumbnail: imageUrl(input.cdn, 'feed_thumbnail', did, cid),
      fullsize: imageUrl(input.cdn, 'feed_fullsize', did, cid),
      alt: typeof item.alt === 'string' ? item.alt : '',
      aspectRatio: ar,
    })
  }
  return { $type: 'app.bsky.embed.gallery#view', items: out }
}

function videoView(input: ViewInput, did: string, embed: Record<string, unknown>) {
  const cid = blobCid(embed.video)
  if (!cid) return undefined
  const view: Record<string, unknown> = {
    $type: 'app.bsky.embed.video#view',
    cid,
    playlist: videoPlaylistUrl(input.cdn, did, cid),
    thumbnail: videoThumbnailUrl(input.cdn, did, cid),
  }
  if (typeof embed.alt === 'string') view.alt = embed.alt
  const ar = aspectRatio(embed.aspectRatio)
  if (ar) view.aspectRatio = ar
  if (typeof embed.presentation === 'string') view.presentation = embed.presentation
  return view
}

function externalView(input: ViewInput, did: string, embed: Record<string, unknown>) {
  const ext = embed.external
  if (!isObject(ext) || typeof ext.uri !== 'string') return undefined
  const external: Record<string, unknown> = {
    uri: ext.uri,
    title: typeof ext.title === 'string' ? ext.title : '',
    description: typeof ext.description === 'string' ? ext.description : '',
  }
  const thumb = blobCid(ext.thumb)
  if (thumb) external.thumb = imageUrl(input.cdn, 'feed_thumbnail', did, thumb)
  return { $type: 'app.bsky.embed.external#view', external }
}

/** app.bsky.embed.record#view for a strongRef: the quoted post, or why it is not shown. */
function recordView(input: ViewInput, ref: unknown, depth: number): Record<string, unknown> | undefined {
  if (!isObject(ref) || typeof ref.uri !== 'string') return undefined
  return { $type: 'app.bsky.embed.record#view', record: quotedRecord(input, ref.uri, depth) }
}

function quotedRecord(input: ViewInput, uri: string, depth: number): Record<string, unknown> {
  const notFound = { $type: 'app.bsky.embed.record#viewNotFound', uri, notFound: true }
  const authorDid = didFromUri(uri)
  if (!authorDid) return notFound
  if (!uri.includes('/app.bsky.feed.post/')) {
    // a feed generator, list, starter pack or labeler: its view comes from an extension
    if (isBlocked(input.state, authorDid)) return blocked(input, uri, authorDid)
    return input.state.embedRecords.value(uri) ?? notFound
  }
  if (isBlocked(input.state, authorDid)) return blocked(input, uri, authorDid)
  const post = input.state.posts.value(uri)
  if (!post || !actorIsActive(input.state, post.author_did)) return notFound
  const author = profileViewBasic(input, post.author_did)
  if (!author) return notFound
  const view: Record<string, unknown> = {
    $type: 'app.bsky.embed.record#viewRecord',
    uri: post.uri,
    cid: post.cid,
    author,
    value: post.record,
    labels: [],
    replyCount: post.reply_count,
    repostCount: post.repost_count,
    likeCount: post.like_count,
    quoteCount: post.quote_count,
    indexedAt: iso(post.sort_at),
  }
  if (depth < 1 && isObject(post.record)) {
    const inner = embedView(input, post.author_did, post.record.embed, depth + 1)
    if (inner) view.embeds = [inner]
  }
  return view
}

function blocked(input: ViewInput, uri: string, authorDid: string): Record<string, unknown> {
  const author: Record<string, unknown> = { did: authorDid }
  const viewer = profileViewerState(input.state, authorDid)
  if (viewer) author.viewer = viewer
  return { $type: 'app.bsky.embed.record#viewBlocked', uri, blocked: true, author }
}
