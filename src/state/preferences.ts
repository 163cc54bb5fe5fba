// Per-local-user preferences held by the AppView: app.bsky.actor preferences (the fallback
// for app builds that proxy get/putPreferences to us), notification preferences and the
// notifications seen-at time. They live on local_user; this module is their only writer.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { Db } from '../db/database.js'

export type NotificationPreferences = Record<string, unknown>

// Defaults of the reference AppView (bsky `notification/getPreferences`): list and push
// everything from everyone; chat is deprecated and always answers its default.
const FILTERABLE = { include: 'all', list: true, push: true }
const PLAIN = { list: true, push: true }
export const DEFAULT_NOTIFICATION_PREFERENCES: NotificationPreferences = {
  chat: { include: 'all', push: true },
  follow: FILTERABLE,
  like: FILTERABLE,
  likeViaRepost: FILTERABLE,
  mention: FILTERABLE,
  quote: FILTERABLE,
  reply: FILTERABLE,
  repost: FILTERABLE,
  repostViaRepost: FILTERABLE,
  starterpackJoined: PLAIN,
  subscribedPost: PLAIN,
  unverified: PLAIN,
  verified: PLAIN,
}

function notLocal(did: string): InvalidRequestError {
  return new InvalidRequestError(`${did} is not a user of this AppView`, 'NotLocalUser')
}

export async function getActorPreferences(db: Db, did: string): Promise<unknown[]> {
  const row = await db.selectFrom('local_user').select('preferences').where('did', '=', did).executeTakeFirst()
  return Array.isArray(row?.preferences) ? (row.preferences as unknown[]) : []
}

export async function putActorPreferences(db: Db, did: string, preferences: unknown[]): Promise<void> {
  const res = await db
    .updateTable('local_user')
    .set({ preferences: JSON.stringify(preferences) })
    .where('did', '=', did)
    .executeTakeFirst()
  if (Number(res.numUpdatedRows) === 0) throw notLocal(did)
}

export async function getNotificationPreferences(db: Db, did: string): Promise<NotificationPreferences> {
  const row = await db
    .selectFrom('local_user')
    .select('notification_preferences')
    .where('did', '=', did)
    .executeTakeFirst()
  const stored = (row?.notification_preferences ?? {}) as NotificationPreferences
  // chat is deprecated: setting it "won't stick" (lexicon), so it always answers the default.
  return { ...DEFAULT_NOTIFICATION_PREFERENCES, ...stored, chat: DEFAULT_NOTIFICATION_PREFERENCES.chat }
}

/** Merges the given keys into the stored preferences; returns the full result. */
export async function putNotificationPreferences(
  db: Db,
  did: string,
  changes: NotificationPreferences,
): Promise<NotificationPreferences> {
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .selectFrom('local_user')
      .select('notification_preferences')
      .where('did', '=', did)
      .forUpdate()
      .executeTakeFirst()
    if (!row) throw notLocal(did)
    const { chat: _chat, ...rest } = changes
    const merged = { ...((row.notification_preferences ?? {}) as NotificationPreferences), ...rest }
    await tx
      .updateTable('local_user')
      .set({ notification_preferences: JSON.stringify(merged) })
      .where('did', '=', did)
      .execute()
    return { ...DEFAULT_NOTIFICATION_PREFERENCES, ...merged, chat: DEFAULT_NOTIFICATION_PREFERENCES.chat }
  })
}

export async function getNotificationsSeenAt(db: Db, did: string): Promise<Date | undefined> {
  const row = await db
    .selectFrom('local_user')
    .select('notifications_seen_at')
    .where('did', '=', did)
    .executeTakeFirst()
  return row?.notifications_seen_at ?? undefined
}

/** Seen-at only moves forward: an older updateSeen (another device) does not un-read. */
export async function updateNotificationsSeen(db: Db, did: string, seenAt: Date): Promise<void> {
  const res = await db
    .updateTable('local_user')
    .set((eb) => ({
      notifications_seen_at: eb.fn('greatest', [eb.ref('notifications_seen_at'), eb.val(seenAt)]),
    }))
    .where('did', '=', did)
    .executeTakeFirst()
  if (Number(res.numUpdatedRows) === 0) throw notLocal(did)
}
