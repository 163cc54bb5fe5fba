// app.bsky.draft.getDrafts: the viewer's drafts, most recently updated first.
import type { AppContext } from '../../../../app.js'
import { listDrafts } from '../../../../state/drafts.js'

type Params = { limit: number; cursor?: string }

export default function register(ctx: AppContext): void {
  ctx.router.add<Params>('app.bsky.draft.getDrafts', {
    auth: 'required',
    handler: async ({ params, viewer }) => {
      const page = await listDrafts(ctx.db.db, viewer!.did, params.limit, params.cursor)
      const drafts = page.items.map((d) => ({
        id: d.id,
        draft: d.draft,
        createdAt: d.createdAt.toISOString(),
        updatedAt: d.updatedAt.toISOString(),
      }))
      return { body: { drafts, ...(page.cursor ? { cursor: page.cursor } : {}) } }
    },
  })
}
