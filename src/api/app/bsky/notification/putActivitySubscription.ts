// app.bsky.notification.putActivitySubscription: the bell on a profile. post/reply both
// false removes the subscription.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { AppContext } from '../../../../app.js'
import { putActivitySubscription } from '../../../../state/activity-subscriptions.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.notification.putActivitySubscription', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const { subject, activitySubscription: sub } = input as {
        subject: string
        activitySubscription: { post: boolean; reply: boolean }
      }
      if (subject === viewer!.did) throw new InvalidRequestError('Cannot subscribe to oneself')
      await putActivitySubscription(ctx.db.db, viewer!.did, { subject, post: sub.post, reply: sub.reply })
      return { body: { subject, activitySubscription: { post: sub.post, reply: sub.reply } } }
    },
  })
}
