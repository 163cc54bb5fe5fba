// app.bsky.feed.getFeedGenerators: the Home tab bar waits on this for the pinned feeds
// ("fail the whole query if it fails"), so it answers for any list of URIs: generators
// whose record cannot be fetched (in time) are left out, never an error.
import type { SurfaceContext } from '../../../app-surface/context.js'
import { generatorViews } from '../../../app-surface/generator-views.js'

type Params = { feeds: string[] }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.feed.getFeedGenerators', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      const { views } = await generatorViews(ctx, params.feeds, viewer?.did ?? null)
      const feeds = params.feeds.map((uri) => views.get(uri)).filter((v) => v !== undefined)
      return { body: { feeds } }
    },
  })
}
