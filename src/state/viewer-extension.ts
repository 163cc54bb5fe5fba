// Viewer state held by the app-surface module, plugged into the read API's hydrator
// (Hydrator.extend): profile viewer.muted and viewer.activitySubscription, post
// viewer.bookmarked and viewer.threadMuted.
// Each is one batched query per request, whatever the number of items.
import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import type { ViewerStateExtension } from '../hydration/hydrator.js'
import type { PostViewerState, ProfileViewerState } from '../hydration/state.js'
import { activitySubscriptionsAmong } from './activity-subscriptions.js'
import { bookmarkedAmong } from './bookmarks.js'
import { listMutedActorsAmong, mutedActorsAmong } from './mutes.js'

export function appSurfaceViewerState(db: Db): ViewerStateExtension {
  return {
    async profiles(viewer, dids) {
      const [muted, byList, subscriptions] = await Promise.all([
        mutedActorsAmong(db, viewer, dids),
        listMutedActorsAmong(db, viewer, dids),
        activitySubscriptionsAmong(db, viewer, dids),
      ])
      const out = new Map<string, Partial<ProfileViewerState>>()
      for (const did of dids) {
        const sub = subscriptions.get(did)
        out.set(did, {
          // muted directly or through a list the viewer muted
          muted: muted.has(did) || byList.has(did),
          ...(sub ? { activitySubscription: { post: sub.post, reply: sub.reply } } : {}),
        })
      }
      return out
    },
    async posts(viewer, uris) {
      if (uris.length === 0) return new Map()
      // A thread is muted by its root: the root itself and every reply under it (posts we
      // do not store can only be muted as roots).
      const [bookmarked, muted] = await Promise.all([
        bookmarkedAmong(db, viewer, uris),
        sql<{ uri: string }>`
          select u.uri from unnest(${uris}::text[]) u(uri)
          left join post p on p.uri = u.uri
          where exists (select 1 from mute_thread mt
            where mt.muter_did = ${viewer} and mt.root_uri = coalesce(p.reply_root_uri, u.uri))`.execute(db),
      ])
      const threadMuted = new Set(muted.rows.map((r) => r.uri))
      const out = new Map<string, Partial<PostViewerState>>()
      for (const uri of uris) out.set(uri, { bookmarked: bookmarked.has(uri), threadMuted: threadMuted.has(uri) })
      return out
    },
  }
}
