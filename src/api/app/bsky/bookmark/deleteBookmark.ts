// app.bsky.bookmark.deleteBookmark: removes a bookmark (a no-op when there was none).
import type { AppContext } from '../../../../app.js'
import { deleteBookmark } from '../../../../state/bookmarks.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.bookmark.deleteBookmark', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      await deleteBookmark(ctx.db.db, viewer!.did, (input as { uri: string }).uri)
    },
  })
}
