// app.bsky.feed.getAuthorFeed: one account's posts and reposts for its profile tabs, with
// the app's filters and an optional pinned post on the first page.
import { InvalidRequestError } from '@atproto/xrpc-server'
import { getActors } from '../../../../dataplane/actors.js'
import { type AuthorFeedFilter, type FeedItemRow, getAuthorFeedSkeleton } from '../../../../dataplane/feeds.js'
import { getRelationships } from '../../../../dataplane/graph.js'
import type { HydrationState } from '../../../../hydration/state.js'
import { createPipeline } from '../../../../pipeline.js'
import type { ReadContext } from '../../../context.js'
import { feedItemsRules } from '../../../rules.js'
import { decodeCursor, paginate, requireActorDid } from '../../../util.js'

const NSID = 'app.bsky.feed.getAuthorFeed'

export default function register(ctx: ReadContext) {
  const authorFeed = createPipeline(skeleton, hydration, feedItemsRules, presentation)
  ctx.router.add<Params>(NSID, {
    auth: 'optional',
    handler: async ({ params, viewer }) => ({ body: await authorFeed({ ctx, params, viewer: viewer?.did ?? null }) }),
  })
}

const FILTERS: AuthorFeedFilter[] = [
  'posts_with_replies',
  'posts_no_replies',
  'posts_with_media',
  'posts_and_author_threads',
  'posts_with_video',
]

async function skeleton({ ctx, params, viewer }: In): Promise<Skeleton> {
  if (!FILTERS.includes(params.filter)) {
    throw new InvalidRequestError(`filter must be one of ${FILTERS.join(', ')}; got "${params.filter}"`)
  }
  const did = await requireActorDid(ctx, params.actor)
  const cursor = decodeCursor(params.cursor)
  const [[actor], rel, rows] = await Promise.all([
    getActors(ctx.db, [did]),
    viewer && viewer !== did ? getRelationships(ctx.db, viewer, [did]).then((m) => m.get(did)) : undefined,
    getAuthorFeedSkeleton(ctx.db, did, params.filter, params.limit, cursor),
  ])
  if (actor && actor.status !== 'active') {
    throw new InvalidRequestError(`Profile not found: the account is ${actor.status}`)
  }
  if (rel?.blocking) throw new InvalidRequestError('You are blocking this account', 'BlockedActor')
  if (rel?.blockedBy) throw new InvalidRequestError('This account is blocking you', 'BlockedByActor')
  const page: Skeleton = paginate(rows, params.limit)
  if (params.includePins && !cursor && actor?.pinned_post_uri?.startsWith(`at://${did}/app.bsky.feed.post/`)) {
    const pin = actor.pinned_post_uri
    page.items = [
      { uri: pin, type: 'post', postUri: pin, originatorDid: did, sortKey: '', pinned: true },
      ...page.items.filter((i) => i.uri !== pin),
    ]
  }
  return page
}

function hydration({ ctx, skeleton, viewer }: In & { skeleton: Skeleton }) {
  return ctx.hydrator.hydrateFeedItems(skeleton.items, viewer)
}

function presentation({ ctx, skeleton, state }: In & { skeleton: Skeleton; state: HydrationState }) {
  const feed = skeleton.items.map((item) => ctx.views.feedViewPost(state, item)).filter((v) => v !== undefined)
  return { feed, ...(skeleton.cursor ? { cursor: skeleton.cursor } : {}) }
}

type Params = { actor: string; limit: number; cursor?: string; filter: AuthorFeedFilter; includePins: boolean }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
type Skeleton = { items: Array<FeedItemRow & { pinned?: boolean }>; cursor?: string }
