// app.bsky.feed.getPosts: postViews for up to 25 URIs, in the order asked; posts we do not
// have (or may not show) are left out, as the lexicon allows.
import { createPipeline, noRules } from '../../../../pipeline.js'
import type { HydrationState } from '../../../../hydration/state.js'
import type { ReadContext } from '../../../context.js'

const NSID = 'app.bsky.feed.getPosts'

export default function register(ctx: ReadContext) {
  const getPosts = createPipeline(skeleton, hydration, noRules, presentation)
  ctx.router.add<Params>(NSID, {
    auth: 'optional',
    handler: async ({ params, viewer }) => ({ body: await getPosts({ ctx, params, viewer: viewer?.did ?? null }) }),
  })
}

async function skeleton({ params }: In): Promise<string[]> {
  return [...new Set(params.uris)]
}

function hydration({ ctx, skeleton, viewer }: In & { skeleton: string[] }) {
  // Notifications and quote resolution ask for posts of accounts we do not track.
  return ctx.hydrator.hydratePosts(skeleton, viewer, { fetchMissing: true })
}

function presentation({ ctx, skeleton, state }: In & { skeleton: string[]; state: HydrationState }) {
  const posts = []
  for (const uri of skeleton) {
    const author = state.posts.value(uri)?.author_did
    if (!author || ctx.views.isBlocked(state, author)) continue
    const view = ctx.views.postView(state, uri)
    if (view) posts.push(view)
  }
  return { posts }
}

type Params = { uris: string[] }
type In = { ctx: ReadContext; params: Params; viewer: string | null }
