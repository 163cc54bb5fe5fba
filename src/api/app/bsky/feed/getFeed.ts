// app.bsky.feed.getFeed: a custom feed. skeleton from the generator (the caller's
// Authorization forwarded unchanged, its cursor passed on) → hydrate (posts we do not store
// fetched from their PDSes) → rules (blocks, mutes) → feedViewPosts. A failing generator
// gives a valid empty feed in bounded time (src/feeds/feeds.ts); only a malformed request
// is an error.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { FeedItemRow } from '../../../../dataplane/feeds.js'
import { getReposts } from '../../../../dataplane/posts.js'
import { parseGeneratorUri } from '../../../../feeds/generator-records.js'
import type { SurfaceContext } from '../../../app-surface/context.js'
import { feedItemsRules } from '../../../rules.js'

type Params = { feed: string; limit: number; cursor?: string }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.feed.getFeed', {
    auth: 'optional',
    handler: async ({ params, viewer, req }) => {
      if (!parseGeneratorUri(params.feed)) {
        throw new InvalidRequestError('feed must be an app.bsky.feed.generator record URI')
      }
      const header = (name: string) => {
        const v = req.headers[name]
        return typeof v === 'string' ? v : undefined
      }
      // skeleton
      const skel = await ctx.feeds.skeleton({
        feed: params.feed,
        limit: params.limit,
        cursor: params.cursor,
        headers: {
          authorization: viewer?.authorization,
          'accept-language': header('accept-language'),
          'x-bsky-topics': header('x-bsky-topics'),
        },
      })
      // A repost reason counts only for a repost we hold of that very post.
      const reposts = await getReposts(
        ctx.db,
        skel.items.flatMap((i) => (i.repost ? [i.repost] : [])),
      )
      const repostOf = new Map(reposts.map((r) => [r.uri, r]))
      const items: Array<FeedItemRow & { feedContext?: string }> = skel.items.map((i) => {
        const repost = i.repost ? repostOf.get(i.repost) : undefined
        return repost && repost.subject_uri === i.post
          ? { uri: repost.uri, type: 'repost', postUri: i.post, originatorDid: repost.author_did, sortKey: '', feedContext: i.feedContext }
          : { uri: i.post, type: 'post', postUri: i.post, originatorDid: '', sortKey: '', feedContext: i.feedContext }
      })
      // hydrate
      const viewerDid = viewer?.did ?? null
      const state = await ctx.hydrator.hydrateFeedItems(items, viewerDid, { fetchMissing: true })
      // rules
      const visible = feedItemsRules({ skeleton: { items }, state }).items
      // present
      const feed = visible
        .map((item) => {
          const view = ctx.views.feedViewPost(state, item)
          if (!view) return undefined
          return {
            ...view,
            ...(item.feedContext ? { feedContext: item.feedContext } : {}),
            ...(skel.reqId ? { reqId: skel.reqId } : {}),
          }
        })
        .filter((v) => v !== undefined)
      return { body: { feed, ...(skel.cursor ? { cursor: skel.cursor } : {}) } }
    },
  })
}
