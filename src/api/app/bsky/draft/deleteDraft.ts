// app.bsky.draft.deleteDraft: removes one of the viewer's drafts (a no-op when gone).
import type { AppContext } from '../../../../app.js'
import { deleteDraft } from '../../../../state/drafts.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.draft.deleteDraft', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      await deleteDraft(ctx.db.db, viewer!.did, (input as { id: string }).id)
    },
  })
}
