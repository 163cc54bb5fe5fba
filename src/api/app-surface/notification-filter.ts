// Turns a user's stored notification preferences into the list filter: a reason with
// list:false is not listed, include:'follows' lists it only from accounts the user follows.
import type { Db } from '../../db/database.js'
import type { NotificationFilter } from '../../dataplane/notifications.js'
import { getNotificationPreferences } from '../../state/preferences.js'

const PREF_OF_REASON: Record<string, string> = {
  like: 'like',
  repost: 'repost',
  follow: 'follow',
  mention: 'mention',
  reply: 'reply',
  quote: 'quote',
  'subscribed-post': 'subscribedPost',
}

export async function notificationFilterFor(db: Db, did: string, reasons?: string[]): Promise<NotificationFilter> {
  const prefs = await getNotificationPreferences(db, did)
  const perReason: Record<string, 'off' | 'follows'> = {}
  for (const [reason, key] of Object.entries(PREF_OF_REASON)) {
    const p = prefs[key] as { list?: boolean; include?: string } | undefined
    if (p?.list === false) perReason[reason] = 'off'
    else if (p?.include === 'follows') perReason[reason] = 'follows'
  }
  return { reasons, perReason }
}
