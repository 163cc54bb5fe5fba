// app.bsky.feed.searchPostsV2 (the app's Search → posts): full-text search over the posts
// this instance stores, with the structured filters of the lexicon; sort recent|top.
import { hasCriteria, parseSearchTime, searchPostUris, type PostSearch } from '../../../../dataplane/search.js'
import { InvalidRequestError } from '@atproto/xrpc-server'
import { presentSearchPosts } from '../../../app-surface/search-posts.js'
import type { ReadContext } from '../../../context.js'
import { resolveActorDids } from '../../../util.js'

type Params = Omit<PostSearch, 'sort' | 'since' | 'until' | 'followedBy'> & {
  limit: number
  cursor?: string
  sort?: string
  since?: string
  until?: string
  following?: boolean
  allTime?: boolean
  queryLanguage?: string
}

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>('app.bsky.feed.searchPostsV2', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      if (params.excludeReplies && params.repliesOnly) {
        throw new InvalidRequestError('excludeReplies and repliesOnly are mutually exclusive', 'BadQueryString')
      }
      if (params.following && !viewer) throw new InvalidRequestError('following requires authentication', 'BadQueryString')
      const ids = async (xs?: string[]) => (xs && xs.length ? resolveActorDids(ctx, xs) : undefined)
      const [authors, excludeAuthors, mentions, excludeMentions] = await Promise.all([
        ids(params.authors),
        ids(params.excludeAuthors),
        ids(params.mentions),
        ids(params.excludeMentions),
      ])
      // Authors or mentions asked for but none resolved: nothing can match.
      if ((params.authors?.length && !authors?.length) || (params.mentions?.length && !mentions?.length)) {
        return { body: { posts: [] } }
      }
      const search: PostSearch = {
        ...params,
        query: params.query?.trim() || undefined,
        sort: params.sort === 'top' ? 'top' : 'recent',
        authors,
        excludeAuthors,
        mentions,
        excludeMentions,
        since: parseSearchTime('since', params.since),
        until: parseSearchTime('until', params.until),
        followedBy: params.following ? viewer!.did : undefined,
      }
      if (!hasCriteria(search)) throw new InvalidRequestError('A query or at least one filter is required', 'BadQueryString')
      const page = await searchPostUris(ctx.db, search, params.limit, params.cursor)
      const posts = await presentSearchPosts(ctx, page.uris, viewer?.did ?? null)
      return { body: { posts, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
