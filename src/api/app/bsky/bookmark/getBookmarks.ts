// app.bsky.bookmark.getBookmarks: the viewer's bookmarks, newest first, each with the post
// (fetched from its author's PDS when we do not store it), #blockedPost when either blocks
// the other, #notFoundPost when it is gone.
import { didFromUri } from '../../../../hydration/util.js'
import { listBookmarks } from '../../../../state/bookmarks.js'
import type { ReadContext } from '../../../context.js'

type Params = { limit: number; cursor?: string }

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>('app.bsky.bookmark.getBookmarks', {
    auth: 'required',
    handler: async ({ params, viewer }) => {
      const page = await listBookmarks(ctx.db, viewer!.did, params.limit, params.cursor)
      const uris = page.items.map((b) => b.uri)
      const state = await ctx.hydrator.hydratePosts(uris, viewer!.did, { fetchMissing: true })
      const bookmarks = page.items.map((b) => {
        const author = state.posts.value(b.uri)?.author_did ?? didFromUri(b.uri) ?? ''
        let item: Record<string, unknown> | undefined
        if (state.posts.value(b.uri) && ctx.views.isBlocked(state, author)) {
          item = { $type: 'app.bsky.feed.defs#blockedPost', uri: b.uri, blocked: true, author: { did: author } }
        } else {
          const view = ctx.views.postView(state, b.uri)
          item = view
            ? { $type: 'app.bsky.feed.defs#postView', ...view }
            : { $type: 'app.bsky.feed.defs#notFoundPost', uri: b.uri, notFound: true }
        }
        return { subject: { uri: b.uri, cid: b.cid }, createdAt: b.createdAt.toISOString(), item }
      })
      return { body: { bookmarks, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
