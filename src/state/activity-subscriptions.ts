// "Notify me about this account" (app.bsky.notification.putActivitySubscription). The only
// writer of `activity_subscription`.
import type { Db } from '../db/database.js'
import { packCursor, unpackCursor, type Page } from './cursor.js'

export interface ActivitySubscription {
  subject: string
  post: boolean
  reply: boolean
}

/** Both flags false removes the subscription (the app's "off"). */
export async function putActivitySubscription(db: Db, subscriber: string, sub: ActivitySubscription): Promise<void> {
  if (!sub.post && !sub.reply) {
    await db
      .deleteFrom('activity_subscription')
      .where('subscriber_did', '=', subscriber)
      .where('subject_did', '=', sub.subject)
      .execute()
    return
  }
  const now = new Date()
  await db
    .insertInto('activity_subscription')
    .values({ subscriber_did: subscriber, subject_did: sub.subject, post: sub.post, reply: sub.reply, created_at: now, updated_at: now })
    .onConflict((oc) =>
      oc.columns(['subscriber_did', 'subject_did']).doUpdateSet({ post: sub.post, reply: sub.reply, updated_at: now }),
    )
    .execute()
}

export async function listActivitySubscriptions(
  db: Db,
  subscriber: string,
  limit: number,
  cursor?: string,
): Promise<Page<ActivitySubscription>> {
  let q = db
    .selectFrom('activity_subscription')
    .select(['subject_did', 'post', 'reply', 'created_at'])
    .where('subscriber_did', '=', subscriber)
    .orderBy('created_at', 'desc')
    .orderBy('subject_did', 'desc')
    .limit(limit)
  const c = unpackCursor(cursor)
  if (c) {
    q = q.where((eb) =>
      eb.or([eb('created_at', '<', c.at), eb.and([eb('created_at', '=', c.at), eb('subject_did', '<', c.key)])]),
    )
  }
  const rows = await q.execute()
  const last = rows.at(-1)
  return {
    items: rows.map((r) => ({ subject: r.subject_did, post: r.post, reply: r.reply })),
    cursor: rows.length === limit && last ? packCursor(last.created_at, last.subject_did) : undefined,
  }
}

/** viewer.activitySubscription on profiles: the viewer's subscriptions among `subjects`. */
export async function activitySubscriptionsAmong(
  db: Db,
  subscriber: string,
  subjects: string[],
): Promise<Map<string, ActivitySubscription>> {
  if (subjects.length === 0) return new Map()
  const rows = await db
    .selectFrom('activity_subscription')
    .select(['subject_did', 'post', 'reply'])
    .where('subscriber_did', '=', subscriber)
    .where('subject_did', 'in', [...new Set(subjects)])
    .execute()
  return new Map(rows.map((r) => [r.subject_did, { subject: r.subject_did, post: r.post, reply: r.reply }]))
}
