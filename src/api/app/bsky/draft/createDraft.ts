// app.bsky.draft.createDraft: stores a post draft for the viewer (src/state/drafts.ts);
// the router validated it against app.bsky.draft.defs#draft.
import type { AppContext } from '../../../../app.js'
import { createDraft } from '../../../../state/drafts.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.draft.createDraft', {
    auth: 'required',
    handler: async ({ input, viewer }) => {
      const id = await createDraft(ctx.db.db, viewer!.did, (input as { draft: unknown }).draft)
      return { body: { id } }
    },
  })
}
