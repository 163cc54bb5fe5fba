// app.bsky.notification.updateSeen: everything up to seenAt is read (isRead, unread count).
// Seen-at only moves forward, so an older device's call cannot un-read notifications.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { AppContext } from '../../../../app.js'
import { updateNotificationsSeen } from '../../../../state/preferences.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.notification.updateSeen', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const seenAt = new Date((input as { seenAt: string }).seenAt)
      if (Number.isNaN(seenAt.getTime())) throw new InvalidRequestError('seenAt must be a datetime')
      await updateNotificationsSeen(ctx.db.db, viewer!.did, seenAt)
    },
  })
}
