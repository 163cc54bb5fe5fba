// app.bsky.feed.searchPosts: full-text search over the posts this instance stores
// (sort latest|top, author, mentions, lang, domain, url, tag, since/until).
import { InvalidRequestError } from '@atproto/xrpc-server'
import { parseSearchTime, searchPostUris } from '../../../../dataplane/search.js'
import { presentSearchPosts } from '../../../app-surface/search-posts.js'
import type { ReadContext } from '../../../context.js'
import { resolveActorDid } from '../../../util.js'

type Params = {
  q: string
  sort?: string
  since?: string
  until?: string
  mentions?: string
  author?: string
  lang?: string
  domain?: string
  url?: string
  tag?: string[]
  limit: number
  cursor?: string
}

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>('app.bsky.feed.searchPosts', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      if (!params.q.trim()) throw new InvalidRequestError('q must not be empty', 'BadQueryString')
      const [author, mention] = await Promise.all([
        params.author ? resolveActorDid(ctx, params.author) : undefined,
        params.mentions ? resolveActorDid(ctx, params.mentions) : undefined,
      ])
      // An author or mention that does not resolve matches nothing.
      if ((params.author && !author) || (params.mentions && !mention)) return { body: { posts: [] } }
      const page = await searchPostUris(
        ctx.db,
        {
          query: params.q,
          sort: params.sort === 'top' ? 'top' : 'recent',
          authors: author ? [author] : undefined,
          mentions: mention ? [mention] : undefined,
          languages: params.lang ? [params.lang] : undefined,
          domains: params.domain ? [params.domain] : undefined,
          urls: params.url ? [params.url] : undefined,
          since: parseSearchTime('since', params.since),
          until: parseSearchTime('until', params.until),
        },
        params.limit,
        params.cursor,
      )
      // tag: AND matching; filtered after the query on the page (rare in practice).
      const posts = await presentSearchPosts(ctx, page.uris, viewer?.did ?? null, params.tag)
      return { body: { posts, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
