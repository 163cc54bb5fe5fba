// app.bsky.feed.getListFeed: a pinned list as a feed: posts by the list's members (read
// from the creator's repo) that this instance stores, newest first. Members nobody here
// follows are not tracked, so their posts are not stored: the feed shows what we hold.
import { InvalidRequestError } from '@atproto/xrpc-server'
import { getListFeedSkeleton } from '../../../../dataplane/list-feed.js'
import type { SurfaceContext } from '../../../app-surface/context.js'
import { itemsOfList } from '../../../app-surface/list-views.js'
import { listAllRepoRecords } from '../../../app-surface/repo-records.js'
import { feedItemsRules } from '../../../rules.js'
import { decodeCursor, paginate } from '../../../util.js'

type Params = { list: string; limit: number; cursor?: string }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.feed.getListFeed', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      const [, , creator, collection] = params.list.split('/')
      if (collection !== 'app.bsky.graph.list' || !creator) {
        throw new InvalidRequestError('list must be an app.bsky.graph.list record URI')
      }
      const cursor = decodeCursor(params.cursor)
      const members = itemsOfList(params.list, await listAllRepoRecords(ctx, creator, 'app.bsky.graph.listitem')).map((i) =>
        String(i.value.subject),
      )
      const page = paginate(await getListFeedSkeleton(ctx.db, [...new Set(members)], params.limit, cursor), params.limit)
      const state = await ctx.hydrator.hydrateFeedItems(page.items, viewer?.did ?? null)
      const visible = feedItemsRules({ skeleton: page, state }).items
      const feed = visible.map((item) => ctx.views.feedViewPost(state, item)).filter((v) => v !== undefined)
      return { body: { feed, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
