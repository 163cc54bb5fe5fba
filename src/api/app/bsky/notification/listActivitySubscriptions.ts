// app.bsky.notification.listActivitySubscriptions: accounts the viewer rang the bell for.
import { listActivitySubscriptions } from '../../../../state/activity-subscriptions.js'
import type { ReadContext } from '../../../context.js'

type Params = { limit: number; cursor?: string }

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>('app.bsky.notification.listActivitySubscriptions', {
    auth: 'required',
    handler: async ({ params, viewer }) => {
      const page = await listActivitySubscriptions(ctx.db, viewer!.did, params.limit, params.cursor)
      const dids = page.items.map((s) => s.subject)
      const state = await ctx.hydrator.hydrateProfiles(dids, viewer!.did)
      const subscriptions = dids.map((did) => ctx.views.profileView(state, did)).filter((v) => v !== undefined)
      return { body: { subscriptions, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
