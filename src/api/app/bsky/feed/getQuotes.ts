// app.bsky.feed.getQuotes: posts quoting a post, newest first.
import { getQuotesPage, type UriPageItem } from '../../../../dataplane/interactions.js'
import type { HydrationState } from '../../../../hydration/state.js'
import { createPipeline } from '../../../../pipeline.js'
import type { ReadContext } from '../../../context.js'
import { feedItemVisible } from '../../../rules.js'
import { decodeCursor, paginate } from '../../../util.js'

const NSID = 'app.bsky.feed.getQuotes'

export default function register(ctx: ReadContext) {
  const quotes = createPipeline(skeleton, hydration, rules, presentation)
  ctx.router.add<Params>(NSID, {
    auth: 'optional',
    handler: async ({ params, viewer }) => ({ body: await quotes({ ctx, params, viewer: viewer?.did ?? null }) }),
  })
}

async function skeleton({ ctx, params }: In): Promise<Skeleton> {
  const rows = await getQuotesPage(ctx.db, params.uri, params.limit, decodeCursor(params.cursor))
  return paginate(rows, params.limit)
}

function hydration({ ctx, skeleton, viewer }: In & { skeleton: Skeleton }) {
  return ctx.hydrator.hydratePosts(skeleton.items.map((i) => i.uri), viewer)
}

function rules({ skeleton, state }: In & { skeleton: Skeleton; state: HydrationState }): Skeleton {
  const items = skeleton.items.filter((i) => feedItemVisible(state, { uri: i.uri, type: 'post', postUri: i.uri }))
  return { ...skeleton, items }
}

function presentation({ ctx, params, skeleton, state }: In & { skeleton: Skeleton; state: HydrationState }) {
  const posts = skeleton.items.map((i) => ctx.views.postView(state, i.uri)).filter((v) => v !== undefined)
  return {
    uri: params.uri,
    ...(params.cid ? { cid: params.cid } : {}),
    posts,
    ...(skeleton.cursor ? { cursor: skeleton.cursor } : {}),
  }
}

type Params = { uri: string; cid?: string; limit: number; cursor?: string }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
type Skeleton = { items: UriPageItem[]; cursor?: string }
