// app.bsky.bookmark.createBookmark: bookmarks are private AppView state
// (src/state/bookmarks.ts), shown by getBookmarks and as viewer.bookmarked on posts.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { AppContext } from '../../../../app.js'
import { createBookmark } from '../../../../state/bookmarks.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.bookmark.createBookmark', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const { uri, cid } = input as { uri: string; cid: string }
      if (!uri.includes('/app.bsky.feed.post/')) {
        throw new InvalidRequestError('Only posts can be bookmarked', 'UnsupportedCollection')
      }
      await createBookmark(ctx.db.db, viewer!.did, uri, cid)
    },
  })
}
