// app.bsky.graph.getList: a list and its members, read from the creator's repo (the list
// record, and its listitem records: a bounded scan of the creator's listitems, paged here).
import { InvalidRequestError } from '@atproto/xrpc-server'
import { mutedListsAmong } from '../../../../state/mutes.js'
import type { SurfaceContext } from '../../../app-surface/context.js'
import { itemsOfList, listItemView, listView } from '../../../app-surface/list-views.js'
import { getRepoRecords, listAllRepoRecords } from '../../../app-surface/repo-records.js'

type Params = { list: string; limit: number; cursor?: string }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.graph.getList', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      const creator = params.list.split('/')[2] ?? ''
      if (params.list.split('/')[3] !== 'app.bsky.graph.list') {
        throw new InvalidRequestError('list must be an app.bsky.graph.list record URI')
      }
      const offset = params.cursor === undefined ? 0 : Number(params.cursor)
      if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidRequestError('cursor is malformed')
      const [lists, listitems] = await Promise.all([
        getRepoRecords(ctx, [params.list], 'app.bsky.graph.list'),
        listAllRepoRecords(ctx, creator, 'app.bsky.graph.listitem'),
      ])
      const rec = lists.get(params.list)
      if (!rec) throw new InvalidRequestError('List not found', 'NotFound')
      const all = itemsOfList(params.list, listitems)
      const page = all.slice(offset, offset + params.limit)
      const viewerDid = viewer?.did ?? null
      const [state, muted] = await Promise.all([
        ctx.hydrator.hydrateProfiles([creator, ...page.map((i) => String(i.value.subject))], viewerDid),
        viewerDid ? mutedListsAmong(ctx.db, viewerDid, [params.list]) : Promise.resolve(new Set<string>()),
      ])
      const list = listView(ctx, state, rec, viewerDid ? { muted: muted.has(params.list) } : undefined, all.length)
      if (!list) throw new InvalidRequestError('List not found', 'NotFound')
      const items = page.map((i) => listItemView(ctx, state, i)).filter((v) => v !== undefined)
      const next = offset + params.limit < all.length ? String(offset + params.limit) : undefined
      return { body: { list, items, ...(next ? { cursor: next } : {}) } }
    },
  })
}
