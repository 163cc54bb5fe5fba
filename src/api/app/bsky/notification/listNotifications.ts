// app.bsky.notification.listNotifications: the viewer's notifications (like, repost,
// follow, mention, reply, quote) newest first, with isRead against their seen-at time.
// skeleton (filtered in SQL: mutes, blocks, muted threads, preferences) → hydrate authors
// → present; an item whose author or record is gone is left out.
import {
  encodeNotificationCursor,
  getNotificationRecords,
  listNotificationRows,
  type NotificationRow,
} from '../../../../dataplane/notifications.js'
import { getNotificationsSeenAt } from '../../../../state/preferences.js'
import { notificationFilterFor } from '../../../app-surface/notification-filter.js'
import type { ReadContext } from '../../../context.js'

const NSID = 'app.bsky.notification.listNotifications'

type Params = { limit: number; cursor?: string; reasons?: string[] }

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>(NSID, {
    auth: 'required',
    handler: async ({ params, viewer }) => {
      const did = viewer!.did
      // skeleton
      const [filter, seenAt] = await Promise.all([
        notificationFilterFor(ctx.db, did, params.reasons),
        getNotificationsSeenAt(ctx.db, did),
      ])
      const rows = await listNotificationRows(ctx.db, did, params.limit, params.cursor, filter)
      const page = rows.slice(0, params.limit)
      const cursor = rows.length > params.limit ? encodeNotificationCursor(page[page.length - 1]!) : undefined
      // hydrate
      const [state, records] = await Promise.all([
        ctx.hydrator.hydrateProfiles(
          page.map((r) => r.authorDid),
          did,
        ),
        getNotificationRecords(ctx.db, page),
      ])
      // present
      const notifications = page
        .map((row) => present(ctx, state, records, row, seenAt))
        .filter((n) => n !== undefined)
      return {
        body: {
          notifications,
          ...(cursor ? { cursor } : {}),
          ...(seenAt ? { seenAt: seenAt.toISOString() } : {}),
        },
      }
    },
  })
}

function present(
  ctx: ReadContext,
  state: Awaited<ReturnType<ReadContext['hydrator']['hydrateProfiles']>>,
  records: Map<string, unknown>,
  row: NotificationRow,
  seenAt: Date | undefined,
) {
  if (!ctx.views.actorIsActive(state, row.authorDid)) return undefined
  const author = ctx.views.profileView(state, row.authorDid)
  const record = records.get(row.recordUri)
  if (!author || !record) return undefined
  return {
    uri: row.recordUri,
    cid: row.recordCid,
    author,
    reason: row.reason,
    ...(row.reasonSubject?.startsWith('at://') ? { reasonSubject: row.reasonSubject } : {}),
    record,
    isRead: !!seenAt && row.indexedAt.getTime() <= seenAt.getTime(),
    indexedAt: row.sortKey,
    labels: [],
  }
}
