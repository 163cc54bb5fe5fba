// app.bsky.feed.getActorFeeds: the feed generators an account created (profile "Feeds"
// tab), read from its repo.
import type { SurfaceContext } from '../../../app-surface/context.js'
import { generatorViews } from '../../../app-surface/generator-views.js'
import { listRepoRecords } from '../../../app-surface/repo-records.js'
import { requireActorDid } from '../../../util.js'

type Params = { actor: string; limit: number; cursor?: string }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.feed.getActorFeeds', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      const did = await requireActorDid(ctx, params.actor)
      const page = await listRepoRecords(ctx, did, 'app.bsky.feed.generator', params.limit, params.cursor)
      const uris = page.records.map((r) => r.uri)
      const { views } = await generatorViews(ctx, uris, viewer?.did ?? null, page.records)
      const feeds = uris.map((u) => views.get(u)).filter((v) => v !== undefined)
      return { body: { feeds, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
