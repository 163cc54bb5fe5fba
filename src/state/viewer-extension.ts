// Viewer state held by the app-surface module, plugged into the read API's hydrator
// (Hydrator.extend): profile viewer.muted, post viewer.bookmarked and viewer.threadMuted.
// Each is one batched query per request, whatever the number of items.
import type { Db } from '../db/database.js'
import type { ViewerStateExtension } from '../hydration/hydrator.js'
import type { PostViewerState, ProfileViewerState } from '../hydration/state.js'
import { bookmarkedAmong } from './bookmarks.js'
import { mutedActorsAmong, mutedThreadsAmong } from './mutes.js'

export function appSurfaceViewerState(db: Db): ViewerStateExtension {
  return {
    async profiles(viewer, dids) {
      const muted = await mutedActorsAmong(db, viewer, dids)
      const out = new Map<string, Partial<ProfileViewerState>>()
      for (const did of dids) out.set(did, { muted: muted.has(did) })
      return out
    },
    async posts(viewer, uris) {
      if (uris.length === 0) return new Map()
      const [bookmarked, roots] = await Promise.all([
        bookmarkedAmong(db, viewer, uris),
        db.selectFrom('post').select(['uri', 'reply_root_uri']).where('uri', 'in', uris).execute(),
      ])
      // A thread is muted by its root: the root itself and every reply under it.
      const rootOf = new Map(roots.map((r) => [r.uri, r.reply_root_uri ?? r.uri]))
      const mutedRoots = await mutedThreadsAmong(db, viewer, [...new Set(rootOf.values())])
      const out = new Map<string, Partial<PostViewerState>>()
      for (const uri of uris) {
        const root = rootOf.get(uri) ?? uri
        out.set(uri, { bookmarked: bookmarked.has(uri), threadMuted: mutedRoots.has(root) })
      }
      return out
    },
  }
}
