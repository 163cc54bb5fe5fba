// app.bsky.feed.getFeedGenerator: the feed screen's header. isValid: the generator's DID
// document names a feed service; isOnline: and it has not failed lately.
import { InvalidRequestError } from '@atproto/xrpc-server'
import { parseGeneratorUri } from '../../../../feeds/generator-records.js'
import type { SurfaceContext } from '../../../app-surface/context.js'
import { generatorViews } from '../../../app-surface/generator-views.js'

type Params = { feed: string }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.feed.getFeedGenerator', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      if (!parseGeneratorUri(params.feed)) {
        throw new InvalidRequestError('feed must be an app.bsky.feed.generator record URI')
      }
      const { views, records } = await generatorViews(ctx, [params.feed], viewer?.did ?? null)
      const view = views.get(params.feed)
      const rec = records.get(params.feed)
      if (!view || !rec) throw new InvalidRequestError('could not find feed', 'UnknownFeed')
      const status = await ctx.feeds.status(rec)
      return { body: { view, ...status } }
    },
  })
}
