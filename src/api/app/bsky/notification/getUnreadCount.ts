// app.bsky.notification.getUnreadCount: notifications indexed after the seen-at time, with
// the same filters as the list (so the badge never counts what the list hides).
import { countUnread } from '../../../../dataplane/notifications.js'
import { getNotificationsSeenAt } from '../../../../state/preferences.js'
import { notificationFilterFor } from '../../../app-surface/notification-filter.js'
import type { ReadContext } from '../../../context.js'

type Params = { seenAt?: string }

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>('app.bsky.notification.getUnreadCount', {
    auth: 'required',
    handler: async ({ params, viewer }) => {
      const did = viewer!.did
      const [filter, stored] = await Promise.all([notificationFilterFor(ctx.db, did), getNotificationsSeenAt(ctx.db, did)])
      const seenAt = params.seenAt ? new Date(params.seenAt) : stored
      return { body: { count: await countUnread(ctx.db, did, seenAt, filter) } }
    },
  })
}
