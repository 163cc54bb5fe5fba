// app.bsky.graph.getStarterPack: a starter pack screen: the record, its list (members
// sample) and feeds, read from the creator's repo.
import { InvalidRequestError } from '@atproto/xrpc-server'
import { loadLexicons } from '../../../../lexicon/lexicons.js'
import { iso } from '../../../../views/util.js'
import type { SurfaceContext } from '../../../app-surface/context.js'
import { generatorViews } from '../../../app-surface/generator-views.js'
import { itemsOfList, listItemView, listViewBasic } from '../../../app-surface/list-views.js'
import { getRepoRecords, listAllRepoRecords } from '../../../app-surface/repo-records.js'

type Params = { starterPack: string }

export default function register(ctx: SurfaceContext) {
  ctx.router.add<Params>('app.bsky.graph.getStarterPack', {
    auth: 'optional',
    handler: async ({ params, viewer }) => {
      const creator = params.starterPack.split('/')[2] ?? ''
      if (params.starterPack.split('/')[3] !== 'app.bsky.graph.starterpack') {
        throw new InvalidRequestError('starterPack must be an app.bsky.graph.starterpack record URI')
      }
      const rec = (await getRepoRecords(ctx, [params.starterPack], 'app.bsky.graph.starterpack')).get(params.starterPack)
      if (!rec) throw new InvalidRequestError('Starter pack not found', 'NotFound')
      const viewerDid = viewer?.did ?? null
      const listUri = typeof rec.value.list === 'string' ? rec.value.list : undefined
      const feedUris = (Array.isArray(rec.value.feeds) ? rec.value.feeds : [])
        .map((f) => (f as { uri?: unknown })?.uri)
        .filter((u): u is string => typeof u === 'string')
        .slice(0, 3)
      const [lists, listitems, gens] = await Promise.all([
        listUri ? getRepoRecords(ctx, [listUri], 'app.bsky.graph.list') : Promise.resolve(new Map()),
        listUri ? listAllRepoRecords(ctx, creator, 'app.bsky.graph.listitem') : Promise.resolve([]),
        generatorViews(ctx, feedUris, viewerDid),
      ])
      const members = listUri ? itemsOfList(listUri, listitems) : []
      const sample = members.slice(0, 12)
      const state = await ctx.hydrator.hydrateProfiles([creator, ...sample.map((i) => String(i.value.subject))], viewerDid)
      const listRec = listUri ? lists.get(listUri) : undefined
      const list = listRec ? listViewBasic(ctx, listRec, undefined, members.length) : undefined
      const view: Record<string, unknown> = {
        uri: rec.uri,
        cid: rec.cid,
        record: rec.value,
        creator: ctx.views.profileViewBasic(state, creator) ?? { did: creator, handle: 'handle.invalid' },
        ...(list ? { list } : {}),
        listItemsSample: sample.map((i) => listItemView(ctx, state, i)).filter((v) => v !== undefined),
        feeds: feedUris.map((u) => gens.views.get(u)).filter((v) => v !== undefined),
        labels: [],
        indexedAt: iso(typeof rec.value.createdAt === 'string' ? rec.value.createdAt : undefined) ?? new Date(0).toISOString(),
      }
      if (!loadLexicons().validate('app.bsky.graph.defs#starterPackView', view).success) {
        throw new InvalidRequestError('Starter pack not found', 'NotFound')
      }
      return { body: { starterPack: view } }
    },
  })
}
