// app.bsky.draft.updateDraft: replaces the content of one of the viewer's drafts.
import type { AppContext } from '../../../../app.js'
import { updateDraft } from '../../../../state/drafts.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.draft.updateDraft', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const { id, draft } = (input as { draft: { id: string; draft: unknown } }).draft
      await updateDraft(ctx.db.db, viewer!.did, id, draft)
    },
  })
}
